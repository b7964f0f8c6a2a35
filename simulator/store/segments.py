"""SQL for saved segments (``custom_segments``), audience counts, the ``moe_median``
aggregate that compiled aggregations call and ``moe_distance_m`` for geopoint filters."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import statistics

from sqlite_utils import Database

from ..core.segment_sql import distance_m

_SELECT = "SELECT id, name, segmentation, created_at, updated_at FROM segments "


class _Median:
    """``moe_median(x)``: the median of the numeric values (NULL and text are skipped)."""

    def __init__(self):
        self.values: list[float] = []

    def step(self, value) -> None:
        if isinstance(value, (int, float)):
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_aggregate("moe_median", 1, _Median)
    # a Python function, not SQLite's math functions: those are a compile-time option
    conn.create_function("moe_distance_m", 3, distance_m, deterministic=True)


def insert(db: Database, name: str, segmentation: dict, now_ms: int) -> int:
    cursor = db.execute("INSERT INTO segments (name, segmentation, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?)", [name, json.dumps(segmentation), now_ms, now_ms])
    return cursor.lastrowid


def get(db: Database, segment_id: int) -> dict | None:
    row = db.execute(_SELECT + "WHERE id = ?", [segment_id]).fetchone()
    return None if row is None else _row(row)


def by_name(db: Database, name: str) -> dict | None:
    row = db.execute(_SELECT + "WHERE name = ?", [name]).fetchone()
    return None if row is None else _row(row)


def all_(db: Database) -> list[dict]:
    return [_row(r) for r in db.execute(_SELECT + "ORDER BY id").fetchall()]


def ids(db: Database) -> frozenset[int]:
    return frozenset(r[0] for r in db.execute("SELECT id FROM segments"))


def delete(db: Database, segment_id: int) -> bool:
    return db.execute("DELETE FROM segments WHERE id = ?", [segment_id]).rowcount > 0


def _row(row) -> dict:
    segment_id, name, segmentation, created, updated = row
    return {"id": segment_id, "name": name, "segmentation_details": json.loads(segmentation),
            "created_at": created, "updated_at": updated}


def event_types(db: Database) -> dict[str, dict[str, str]]:
    """The attribute type catalogue of every event name: ``{event: {key: type}}``."""
    found: dict[str, dict[str, str]] = {}
    for scope, key, type_ in db.execute(
            "SELECT scope, key, type FROM attribute_types WHERE entity = 'event'"):
        found.setdefault(scope, {})[key] = type_
    return found


def campaign_bodies_naming(db: Database, statuses: tuple[str, ...]) -> list[tuple[str, dict]]:
    """``(campaign id, body)`` of campaigns in ``statuses`` whose body names a saved segment."""
    marks = ",".join("?" * len(statuses))
    return [(cid, json.loads(body)) for cid, body in db.execute(
        f"SELECT id, body FROM campaigns WHERE status IN ({marks}) "
        "AND body LIKE '%custom_segments%'", list(statuses))]


def ensure_attribute_index(db: Database, path: str, nocase: bool) -> None:
    """An expression index on one custom user attribute, as segment filters compare it
    (``path`` is the SQL literal from ``core.segments.index_hints``)."""
    name = "ix_users_attr_" + hashlib.sha1(f"{path}|{nocase}".encode()).hexdigest()[:12]
    collate = " COLLATE NOCASE" if nocase else ""
    db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON users(json_extract(attrs, {path}){collate})")
