"""SQL for connections (a customer's integration of a connector)."""

from __future__ import annotations

import json

from sqlite_utils import Database

_SELECT = ("SELECT id, connector_id, connector_version, name, field_values, status, created_at "
           "FROM connections ")


def _row(row) -> dict:
    return {"id": row[0], "connector_id": row[1], "connector_version": row[2], "name": row[3],
            "values": json.loads(row[4]), "status": row[5], "created_at": row[6]}


def insert(db: Database, connector_id: int, version: int, name: str, values: dict, status: str,
           now_ms: int) -> int | None:
    """The new connection's id, or None when the connector already has one by that name."""
    cursor = db.execute(
        "INSERT INTO connections (connector_id, connector_version, name, field_values, status, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(connector_id, name) DO NOTHING",
        [connector_id, version, name, json.dumps(values), status, now_ms])
    return cursor.lastrowid if cursor.rowcount else None


def get(db: Database, connection_id: int) -> dict | None:
    row = db.execute(_SELECT + "WHERE id = ?", [connection_id]).fetchone()
    return None if row is None else _row(row)


def all_(db: Database, connector_id: int | None = None) -> list[dict]:
    if connector_id is None:
        return [_row(r) for r in db.execute(_SELECT + "ORDER BY id")]
    return [_row(r) for r in db.execute(_SELECT + "WHERE connector_id = ? ORDER BY id",
                                        [connector_id])]


def set_oauth_state(db: Database, connection_id: int, state: str) -> None:
    db.execute("UPDATE connections SET oauth_state = ? WHERE id = ?", [state, connection_id])


def by_oauth_state(db: Database, state: str) -> dict | None:
    row = db.execute(_SELECT + "WHERE oauth_state = ?", [state]).fetchone()
    return None if row is None else _row(row)


def tokens(db: Database, connection_id: int) -> dict | None:
    row = db.execute("SELECT tokens FROM connections WHERE id = ?", [connection_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def save_tokens(db: Database, connection_id: int, tokens: dict, status: str) -> None:
    db.execute("UPDATE connections SET tokens = ?, status = ?, oauth_state = NULL WHERE id = ?",
               [json.dumps(tokens), status, connection_id])
