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


def fallback_counts(db: Database, campaign_id: str) -> dict[str, int]:
    """``outcome -> count`` of a campaign's sends that no response entry decided (spec §2.7
    fallback; the response record says ``"decided_by": "fallback"``)."""
    return dict(db.execute("SELECT outcome, count(*) FROM deliveries WHERE campaign_id = ? "
                           "AND json_extract(response, '$.decided_by') = 'fallback' "
                           "GROUP BY outcome", [campaign_id]).fetchall())


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


_NARROW = ("id", "campaign_id", "user_id", "customer_id", "outcome", "reason", "http_status",
           "elapsed_ms", "ts")


def prune_payloads(db: Database, before_ms: int, from_id: int, limit: int = 2000) -> int:
    """Drop the logged request and response of up to ``limit`` deliveries with ``ts <
    before_ms`` and ``id >= from_id``; the rows, and so every count, stay. Each row is deleted
    and written again with the same id and no payload: SQLite does not free the pages of rows
    that only shrink, so new rows would never reuse that space; emptied pages go to the free
    list and the log stops growing. Returns how many rows were pruned."""
    rows = db.execute(f"SELECT {', '.join(_NARROW)} FROM deliveries WHERE id >= ? AND ts < ? "
                      "AND (request IS NOT NULL OR response IS NOT NULL) ORDER BY id LIMIT ?",
                      [from_id, before_ms, limit]).fetchall()
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    db.execute(f"DELETE FROM deliveries WHERE id IN ({', '.join('?' * len(ids))})", ids)
    db.conn.executemany(f"INSERT INTO deliveries ({', '.join(_NARROW)}) VALUES "
                        f"({', '.join('?' * len(_NARROW))})", rows)
    return len(rows)


def lowest_with_payload(db: Database, from_id: int) -> int:
    """The lowest id at or above ``from_id`` that still has a payload (past the end if none)."""
    low = db.execute("SELECT min(id) FROM deliveries WHERE id >= ? AND (request IS NOT NULL "
                     "OR response IS NOT NULL)", [from_id]).fetchone()[0]
    if low is None:
        low = (db.execute("SELECT max(id) FROM deliveries").fetchone()[0] or 0) + 1
    return low
