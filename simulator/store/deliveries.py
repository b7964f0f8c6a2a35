"""SQL for the delivery log: one row per user send, the source of campaign stats."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ..core.record_filters import DeliveryFilter
from . import bulk

_INSERT_HEAD = ("INSERT OR FAIL INTO deliveries (campaign_id, user_id, customer_id, outcome, "
                "reason, http_status, request, response, elapsed_ms, ts)")
_INSERT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_KEYS = ("id", "campaign_id", "customer_id", "outcome", "reason", "http_status", "request",
         "response", "elapsed_ms", "ts")


def insert(db: Database, rows: list[tuple]) -> None:
    """Rows in ``_INSERT_HEAD`` column order; request and response already JSON text."""
    bulk.insert(db.conn, _INSERT_HEAD, _INSERT_ROW, rows)


def any_for(db: Database, campaign_id: str) -> bool:
    """Whether the campaign has reached anyone yet."""
    return db.execute("SELECT 1 FROM deliveries WHERE campaign_id = ? LIMIT 1",
                      [campaign_id]).fetchone() is not None


def counts(db: Database, campaign_id: str) -> list[tuple[str, str | None, int]]:
    """``(outcome, reason, count)`` for a campaign."""
    return db.execute("SELECT outcome, reason, count(*) FROM deliveries WHERE campaign_id = ? "
                      "GROUP BY outcome, reason ORDER BY outcome, reason",
                      [campaign_id]).fetchall()


def _where(match: DeliveryFilter) -> tuple[list[str], list]:
    where, params = [], []
    for column, value in (("campaign_id", match.campaign_id), ("outcome", match.status),
                          ("customer_id", match.customer_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if match.times.since_ms is not None:
        where.append("ts >= ?")
        params.append(match.times.since_ms)
    if match.times.until_ms is not None:
        where.append("ts < ?")
        params.append(match.times.until_ms)
    return where, params


def find(db: Database, match: DeliveryFilter, *, limit: int, after_id: int) -> list[dict]:
    where, params = _where(match)
    rows = db.execute(f"SELECT {', '.join(_KEYS)} FROM deliveries WHERE "
                      f"{' AND '.join(['id > ?', *where])} ORDER BY id LIMIT ?",
                      [after_id, *params, limit]).fetchall()
    result = []
    for row in rows:
        record = dict(zip(_KEYS, row))
        record["request"] = json.loads(record["request"]) if record["request"] else None
        record["response"] = json.loads(record["response"]) if record["response"] else None
        result.append(record)
    return result


def count(db: Database, match: DeliveryFilter) -> int:
    where, params = _where(match)
    return db.execute("SELECT count(*) FROM deliveries"
                      + (f" WHERE {' AND '.join(where)}" if where else ""), params).fetchone()[0]


def delete(db: Database, match: DeliveryFilter) -> int:
    where, params = _where(match)
    return db.execute("DELETE FROM deliveries"
                      + (f" WHERE {' AND '.join(where)}" if where else ""), params).rowcount


def prune_payloads(db: Database, before_ms: int, from_id: int) -> tuple[int, int]:
    """Drop the logged request and response of deliveries with ``ts < before_ms`` and
    ``id >= from_id`` (rows below ``from_id`` have none left); the row, and so every count,
    stays. Returns how many rows were pruned and the lowest id still holding a payload."""
    pruned = db.execute("UPDATE deliveries SET request = NULL, response = NULL "
                        "WHERE id >= ? AND ts < ? AND (request IS NOT NULL OR "
                        "response IS NOT NULL)", [from_id, before_ms]).rowcount
    low = db.execute("SELECT min(id) FROM deliveries WHERE id >= ? AND (request IS NOT NULL "
                     "OR response IS NOT NULL)", [from_id]).fetchone()[0]
    if low is None:
        low = (db.execute("SELECT max(id) FROM deliveries").fetchone()[0] or 0) + 1
    return pruned, low
