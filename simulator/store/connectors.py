"""SQL for Connected Apps, their connectors and every uploaded config version."""

from __future__ import annotations

import json

from sqlite_utils import Database

_APP = "SELECT id, name, type, created_at FROM apps "
_VERSION = ("SELECT c.id, c.app_id, v.version, c.current_version, v.name, v.config, "
            "v.created_at FROM connectors c JOIN connector_versions v ON v.connector_id = c.id ")


def _app(row) -> dict:
    return {"id": row[0], "name": row[1], "type": row[2], "created_at": row[3]}


def _version(row) -> dict:
    return {"id": row[0], "app_id": row[1], "version": row[2], "current_version": row[3],
            "name": row[4], "config": json.loads(row[5]), "created_at": row[6]}


def insert_app(db: Database, name: str, type_: str, now_ms: int) -> int | None:
    """The new app's id, or None when the name is taken."""
    cursor = db.execute("INSERT INTO apps (name, type, created_at) VALUES (?, ?, ?) "
                        "ON CONFLICT(name) DO NOTHING", [name, type_, now_ms])
    return cursor.lastrowid if cursor.rowcount else None


def app(db: Database, app_id: int) -> dict | None:
    row = db.execute(_APP + "WHERE id = ?", [app_id]).fetchone()
    return None if row is None else _app(row)


def apps(db: Database) -> list[dict]:
    return [_app(r) for r in db.execute(_APP + "ORDER BY id")]


def insert_connector(db: Database, app_id: int, name: str, config: dict, now_ms: int) -> int:
    connector_id = db.execute("INSERT INTO connectors (app_id, current_version, created_at) "
                              "VALUES (?, 1, ?)", [app_id, now_ms]).lastrowid
    add_version(db, connector_id, 1, name, config, now_ms)
    return connector_id


def add_version(db: Database, connector_id: int, version: int, name: str, config: dict,
                now_ms: int) -> None:
    db.execute("INSERT INTO connector_versions (connector_id, version, name, config, created_at) "
               "VALUES (?, ?, ?, ?, ?)", [connector_id, version, name, json.dumps(config), now_ms])
    db.execute("UPDATE connectors SET current_version = ? WHERE id = ?", [version, connector_id])


def version(db: Database, connector_id: int, number: int | None = None) -> dict | None:
    """One version of a connector (the current one when ``number`` is None)."""
    if number is None:
        row = db.execute(_VERSION + "WHERE c.id = ? AND v.version = c.current_version",
                         [connector_id]).fetchone()
    else:
        row = db.execute(_VERSION + "WHERE c.id = ? AND v.version = ?",
                         [connector_id, number]).fetchone()
    return None if row is None else _version(row)


def versions(db: Database, connector_id: int) -> list[dict]:
    return [_version(r) for r in db.execute(_VERSION + "WHERE c.id = ? ORDER BY v.version",
                                            [connector_id])]


def for_app(db: Database, app_id: int) -> list[dict]:
    return [_version(r) for r in db.execute(
        _VERSION + "WHERE c.app_id = ? AND v.version = c.current_version ORDER BY c.id",
        [app_id])]
