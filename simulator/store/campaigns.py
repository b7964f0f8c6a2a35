"""SQL for campaigns."""

from __future__ import annotations

import json

from sqlite_utils import Database

_KEYS = ("id", "request_id", "channel", "delivery_type", "name", "status", "body", "connector_id",
         "connector_version", "connection_id", "created_at", "updated_at", "sent_at", "version",
         "parent_id", "instance")
_SELECT = f"SELECT {', '.join(_KEYS)} FROM campaigns "


def _row(row) -> dict:
    record = dict(zip(_KEYS, row))
    record["body"] = json.loads(record["body"])
    return record


def insert(db: Database, record: dict) -> None:
    values = {**record, "body": json.dumps(record["body"])}
    db.execute(f"INSERT INTO campaigns ({', '.join(values)}) VALUES "
               f"({', '.join('?' * len(values))})", list(values.values()))


def new_id(db: Database, ids) -> str:
    """The next id of the id source that is not taken (ids are unique by construction,
    ``core.ids``; a snapshot from another database could still hold one)."""
    while True:
        candidate = ids.campaign_id()
        if db.execute("SELECT 1 FROM campaigns WHERE id = ?", [candidate]).fetchone() is None:
            return candidate


def get(db: Database, campaign_id: str) -> dict | None:
    row = db.execute(_SELECT + "WHERE id = ?", [campaign_id]).fetchone()
    return None if row is None else _row(row)


def by_request_id(db: Database, request_id: str) -> dict | None:
    row = db.execute(_SELECT + "WHERE request_id = ?", [request_id]).fetchone()
    return None if row is None else _row(row)


def all_(db: Database) -> list[dict]:
    """Campaigns, not their periodic instances."""
    return [_row(r) for r in db.execute(_SELECT + "WHERE parent_id IS NULL "
                                        "ORDER BY created_at, id")]


def instances(db: Database, parent_id: str) -> list[dict]:
    return [_row(r) for r in db.execute(_SELECT + "WHERE parent_id = ? ORDER BY instance",
                                        [parent_id])]


def triggered_active(db: Database) -> list[dict]:
    return [_row(r) for r in db.execute(
        _SELECT + "WHERE delivery_type = 'EVENT_TRIGGERED' AND status IN ('ACTIVE', 'SCHEDULED')")]


def replace_body(db: Database, campaign_id: str, body: dict, version: int, now_ms: int) -> None:
    db.execute("UPDATE campaigns SET body = ?, version = ?, updated_at = ? WHERE id = ?",
               [json.dumps(body), version, now_ms, campaign_id])


def set_status(db: Database, campaign_id: str, status: str, now_ms: int,
               sent: bool = False) -> None:
    db.execute("UPDATE campaigns SET status = ?, updated_at = ?"
               + (", sent_at = ?" if sent else "") + " WHERE id = ?",
               [status, now_ms, *([now_ms] if sent else []), campaign_id])
