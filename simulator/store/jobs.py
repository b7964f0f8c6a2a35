"""SQL for scheduled work: rows with a due time, taken in ``(due_at, id)`` order."""

from __future__ import annotations

import json

from sqlite_utils import Database


def add(db: Database, due_at: int, kind: str, campaign_id: str | None,
        payload: dict | None = None) -> int:
    return db.execute("INSERT INTO jobs (due_at, kind, campaign_id, payload) VALUES (?, ?, ?, ?)",
                      [due_at, kind, campaign_id, json.dumps(payload or {})]).lastrowid


def next_due(db: Database, now_ms: int) -> dict | None:
    row = db.execute("SELECT id, due_at, kind, campaign_id, payload FROM jobs "
                     "WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT 1",
                     [now_ms]).fetchone()
    if row is None:
        return None
    return {"id": row[0], "due_at": row[1], "kind": row[2], "campaign_id": row[3],
            "payload": json.loads(row[4])}


def due_with(db: Database, first: dict, limit: int) -> list[dict]:
    """The jobs right after ``first`` in ``(due_at, id)`` order that are due at the same time
    for the same campaign and kind: they run as one batch."""
    together = []
    for row in db.execute("SELECT id, due_at, kind, campaign_id, payload FROM jobs "
                          "WHERE status = 'pending' AND due_at = ? AND id > ? ORDER BY id LIMIT ?",
                          [first["due_at"], first["id"], limit]):
        if row[2] != first["kind"] or row[3] != first["campaign_id"]:
            break
        together.append({"id": row[0], "due_at": row[1], "kind": row[2], "campaign_id": row[3],
                         "payload": json.loads(row[4])})
    return together


def cancel_for(db: Database, campaign_id: str, now_ms: int) -> int:
    return db.execute("UPDATE jobs SET status = 'cancelled', finished_at = ? "
                      "WHERE campaign_id = ? AND status = 'pending'",
                      [now_ms, campaign_id]).rowcount


def start_many(db: Database, job_ids: list[int]) -> None:
    db.conn.executemany("UPDATE jobs SET status = 'running' WHERE id = ?",
                        [[i] for i in job_ids])


def finish_many(db: Database, job_ids: list[int], status: str, now_ms: int) -> None:
    db.conn.executemany("UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?",
                        [[status, now_ms, i] for i in job_ids])


def requeue_running(db: Database) -> int:
    return db.execute("UPDATE jobs SET status = 'pending' WHERE status = 'running'").rowcount


def next_due_at(db: Database) -> int | None:
    row = db.execute("SELECT min(due_at) FROM jobs WHERE status = 'pending'").fetchone()
    return row[0]


def queued_together(db: Database, kind: str, campaign_id: str, customer_id: str,
                    release_ms: int) -> list[int]:
    """Ids of a user's sends of one campaign queued for the same DND release."""
    return [row[0] for row in db.execute(
        "SELECT id FROM jobs WHERE kind = ? AND campaign_id = ? AND due_at = ? "
        "AND json_extract(payload, '$.customer_id') = ? AND json_extract(payload, '$.dnd') = ?",
        [kind, campaign_id, release_ms, customer_id, release_ms])]
