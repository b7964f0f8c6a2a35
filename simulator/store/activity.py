"""SQL for the dashboard's read models: counts, the latest events and deliveries, the next
jobs, the sinks. Filters of the delivery log are ``deliveries``' own."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ..core.record_filters import DeliveryFilter
from .deliveries import _where as delivery_where

_DELIVERY = "id, campaign_id, customer_id, outcome, reason, http_status, elapsed_ms, ts"


def user_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM users").fetchone()[0]


def event_count(db: Database) -> int:
    """Events are only ever added (reset and restore replace the whole file), so the largest
    row id is their number, read from the end of the table instead of counting 10M rows."""
    return db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


def campaign_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM campaigns WHERE parent_id IS NULL").fetchone()[0]


def deliveries_since(db: Database, since_ms: int) -> dict[str, int]:
    """Every delivery belongs to a campaign (or a periodic instance, also a campaigns row), so
    naming them all lets ``ix_deliveries_campaign_ts`` range over each one's recent rows."""
    return dict(db.execute("SELECT outcome, count(*) FROM deliveries WHERE campaign_id IN "
                           "(SELECT id FROM campaigns) AND ts >= ? GROUP BY outcome",
                           [since_ms]).fetchall())


def latest_events(db: Database, limit: int) -> list[dict]:
    rows = db.execute("SELECT e.id, u.customer_id, e.name, e.ts FROM events e "
                      "JOIN users u ON u.id = e.user_id ORDER BY e.id DESC LIMIT ?",
                      [limit]).fetchall()
    return [{"id": r[0], "customer_id": r[1], "name": r[2], "ts": r[3]} for r in rows]


def deliveries_before(db: Database, match: DeliveryFilter, before_id: int | None,
                      limit: int, reason: str | None = None) -> list[dict]:
    """Deliveries matching ``match`` (and whose reason is ``reason`` or starts with it and a
    colon: ``http`` matches ``http:503``), newest first, without their request and response."""
    where, params = delivery_where(match)
    if reason:
        where, params = [*where, "(reason = ? OR reason LIKE ? ESCAPE '\\')"], [
            *params, reason, reason.replace("%", "\\%").replace("_", "\\_") + ":%"]
    if before_id is not None:
        where, params = ["id < ?", *where], [before_id, *params]
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = db.execute(f"SELECT {_DELIVERY} FROM deliveries {clause}ORDER BY id DESC LIMIT ?",
                      [*params, limit]).fetchall()
    return [dict(zip(_DELIVERY.split(", "), r)) for r in rows]


def delivery(db: Database, delivery_id: int) -> dict | None:
    row = db.execute(f"SELECT {_DELIVERY}, request, response FROM deliveries WHERE id = ?",
                     [delivery_id]).fetchone()
    if row is None:
        return None
    record = dict(zip([*_DELIVERY.split(", "), "request", "response"], row))
    for key in ("request", "response"):
        record[key] = json.loads(record[key]) if record[key] else None
    return record


def sends_per_minute(db: Database, campaign_ids: list[str]) -> list[tuple]:
    """``(campaign_id, minute start ms, outcome, count)`` of the campaigns' deliveries."""
    marks = ", ".join("?" * len(campaign_ids))
    return db.execute(f"SELECT campaign_id, (ts / 60000) * 60000, outcome, count(*) "
                      f"FROM deliveries WHERE campaign_id IN ({marks}) GROUP BY 1, 2, 3",
                      campaign_ids).fetchall()


def pending_jobs(db: Database, limit: int) -> list[dict]:
    rows = db.execute("SELECT j.id, j.due_at, j.kind, j.campaign_id, c.name FROM jobs j "
                      "LEFT JOIN campaigns c ON c.id = j.campaign_id "
                      "WHERE j.status = 'pending' ORDER BY j.due_at, j.id LIMIT ?",
                      [limit]).fetchall()
    return [{"id": r[0], "due_at": r[1], "kind": r[2], "campaign_id": r[3], "campaign": r[4]}
            for r in rows]


def pending_job_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM jobs WHERE status = 'pending'").fetchone()[0]


def sinks(db: Database) -> list[dict]:
    """Every sink that has a behaviour or has received a request, with its request count."""
    rows = db.execute(
        "SELECT name, sum(n), max(last) FROM ("
        " SELECT name, 0 AS n, NULL AS last FROM sinks"
        " UNION ALL SELECT sink, count(*), max(received_at) FROM sink_requests GROUP BY sink)"
        " GROUP BY name ORDER BY name").fetchall()
    return [{"name": r[0], "requests": r[1], "last_ms": r[2]} for r in rows]


def sink_requests(db: Database, name: str, limit: int, before_seq: int | None) -> list[dict]:
    """A sink's recorded requests, newest first."""
    where, params = "sink = ?", [name]
    if before_seq is not None:
        where, params = where + " AND seq < ?", [name, before_seq]
    return [json.loads(r[0]) for r in db.execute(
        f"SELECT record FROM sink_requests WHERE {where} ORDER BY seq DESC LIMIT ?",
        [*params, limit])]
