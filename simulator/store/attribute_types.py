"""SQL for the attribute type catalogue (first type seen wins, like MoEngage's data types)."""

from __future__ import annotations

from sqlite_utils import Database

USER, EVENT = "user", "event"


def register(db: Database, rows: list[tuple[str, str, str, str]]) -> None:
    """``(entity, scope, key, type)`` rows; existing keys keep their type."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO attribute_types (entity, scope, key, type) VALUES (?, ?, ?, ?)",
        rows)


def of(db: Database, entity: str, scope: str = "") -> dict[str, str]:
    return dict(db.execute("SELECT key, type FROM attribute_types WHERE entity = ? AND scope = ?",
                           [entity, scope]).fetchall())


def all_keys(db: Database) -> set[tuple[str, str, str]]:
    return {tuple(r) for r in db.execute("SELECT entity, scope, key FROM attribute_types")}
