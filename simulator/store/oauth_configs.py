"""SQL for Connector-campaign OAuth configurations."""

from __future__ import annotations

import json

from sqlite_utils import Database

_SELECT = ("SELECT id, name, spec, status, token, expires_at, detail, created_at, updated_at "
           "FROM oauth_configs ")
_KEYS = ("id", "name", "spec", "status", "token", "expires_at", "detail", "created_at",
         "updated_at")


def _row(row) -> dict:
    record = dict(zip(_KEYS, row))
    record["spec"] = json.loads(record["spec"])
    return record


def insert(db: Database, name: str, spec: dict, now_ms: int) -> int | None:
    cursor = db.execute("INSERT INTO oauth_configs (name, spec, status, created_at, updated_at) "
                        "VALUES (?, ?, 'FAILED', ?, ?) ON CONFLICT(name) DO NOTHING",
                        [name, json.dumps(spec), now_ms, now_ms])
    return cursor.lastrowid if cursor.rowcount else None


def get(db: Database, config_id: int) -> dict | None:
    row = db.execute(_SELECT + "WHERE id = ?", [config_id]).fetchone()
    return None if row is None else _row(row)


def all_(db: Database) -> list[dict]:
    return [_row(r) for r in db.execute(_SELECT + "ORDER BY id")]


def save_token(db: Database, config_id: int, status: str, token: str | None,
               expires_at: int | None, detail: str | None, now_ms: int) -> None:
    db.execute("UPDATE oauth_configs SET status = ?, token = ?, expires_at = ?, detail = ?, "
               "updated_at = ? WHERE id = ?",
               [status, token, expires_at, detail, now_ms, config_id])
