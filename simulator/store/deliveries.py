"""SQL for the delivery log: one row per user send, the source of campaign stats."""

from __future__ import annotations

import json

from sqlite_utils import Database

_INSERT = ("INSERT INTO deliveries (campaign_id, user_id, customer_id, outcome, reason, "
           "http_status, request, response, elapsed_ms, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_KEYS = ("id", "campaign_id", "customer_id", "outcome", "reason", "http_status", "request",
         "response", "elapsed_ms", "ts")


def insert(db: Database, rows: list[tuple]) -> None:
    """Rows in ``_INSERT`` column order; request and response already JSON text."""
    db.conn.executemany(_INSERT, rows)


def counts(db: Database, campaign_id: str) -> list[tuple[str, str | None, int]]:
    """``(outcome, reason, count)`` for a campaign."""
    return db.execute("SELECT outcome, reason, count(*) FROM deliveries WHERE campaign_id = ? "
                      "GROUP BY outcome, reason ORDER BY outcome, reason",
                      [campaign_id]).fetchall()


def find(db: Database, *, campaign_id: str | None, outcome: str | None,
         customer_id: str | None, limit: int, after_id: int) -> list[dict]:
    where, params = ["id > ?"], [after_id]
    for column, value in (("campaign_id", campaign_id), ("outcome", outcome),
                          ("customer_id", customer_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = db.execute(f"SELECT {', '.join(_KEYS)} FROM deliveries WHERE {' AND '.join(where)} "
                      "ORDER BY id LIMIT ?", [*params, limit]).fetchall()
    result = []
    for row in rows:
        record = dict(zip(_KEYS, row))
        record["request"] = json.loads(record["request"]) if record["request"] else None
        record["response"] = json.loads(record["response"]) if record["response"] else None
        result.append(record)
    return result
