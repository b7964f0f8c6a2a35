"""SQL for campaigns."""

from __future__ import annotations

import json

from sqlite_utils import Database

_SELECT = ("SELECT id, request_id, channel, delivery_type, name, status, body, connector_id, "
           "connector_version, connection_id, created_at, updated_at, sent_at FROM campaigns ")
_KEYS = ("id", "request_id", "channel", "delivery_type", "name", "status", "body", "connector_id",
         "connector_version", "connection_id", "created_at", "updated_at", "sent_at")


def _row(row) -> dict:
    record = dict(zip(_KEYS, row))
    record["body"] = json.loads(record["body"])
    return record


def insert(db: Database, record: dict) -> None:
    values = {**record, "body": json.dumps(record["body"])}
    db.execute(f"INSERT INTO campaigns ({', '.join(values)}) VALUES "
               f"({', '.join('?' * len(values))})", list(values.values()))


def get(db: Database, campaign_id: str) -> dict | None:
    row = db.execute(_SELECT + "WHERE id = ?", [campaign_id]).fetchone()
    return None if row is None else _row(row)


def by_request_id(db: Database, request_id: str) -> dict | None:
    row = db.execute(_SELECT + "WHERE request_id = ?", [request_id]).fetchone()
    return None if row is None else _row(row)


def all_(db: Database) -> list[dict]:
    return [_row(r) for r in db.execute(_SELECT + "ORDER BY created_at, id")]


def set_status(db: Database, campaign_id: str, status: str, now_ms: int,
               sent: bool = False) -> None:
    db.execute("UPDATE campaigns SET status = ?, updated_at = ?"
               + (", sent_at = ?" if sent else "") + " WHERE id = ?",
               [status, now_ms, *([now_ms] if sent else []), campaign_id])
