"""SQL for events."""

from __future__ import annotations

import contextlib
import json
from typing import Iterator, Sequence

from sqlite_utils import Database

from . import bulk

# received_at is the same for a whole batch.
_INSERT_HEAD = ("INSERT OR FAIL INTO events (user_id, name, ts, attrs, platform, app_version, "
                "user_time, tz_offset, received_at)")
_INSERT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, {received_at:d})"
_COLUMNS = "e.id, u.customer_id, e.name, e.ts, e.attrs, e.platform, e.app_version, " \
           "e.user_time, e.tz_offset"


def insert(db: Database, rows: list[Sequence], received_at: int) -> None:
    """``TrackedEvent.row()`` rows with the user's row id in place of the customer id. The
    ids must come from ``users.find``/``users.insert`` in the same transaction: a bulk write
    (``Store.write(ForeignKeys.TRUSTED)``) does not check them again row by row."""
    bulk.insert(db.conn, _INSERT_HEAD, _INSERT_ROW.format(received_at=int(received_at)), rows)


@contextlib.contextmanager
def bulk_load(db: Database, expected_rows: int) -> Iterator[None]:
    """Drop the secondary events index for a load at least as large as the table, and build
    it again afterwards, in the same transaction: one sorted build beats a million random
    B-tree inserts (stack-findings §4.4, "late indexes")."""
    existing = count(db)
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                      "AND tbl_name = 'events' AND sql IS NOT NULL").fetchall()
    if expected_rows < max(existing, 100_000) or not rows:
        yield
        return
    for name, _ in rows:
        db.execute(f"DROP INDEX {name}")
    yield
    for _, sql in rows:
        db.execute(sql)


def for_user(db: Database, user_id: int, limit: int, after: tuple[int, int] | None) -> list[dict]:
    """A user's events in time order; ``after`` is the ``(ts, id)`` of the last one seen."""
    ts, last_id = after or (-(2 ** 62), 0)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM events e JOIN users u ON u.id = e.user_id "
        "WHERE e.user_id = ? AND (e.ts, e.id) > (?, ?) ORDER BY e.ts, e.id LIMIT ?",
        [user_id, ts, last_id, limit]).fetchall()
    return [_row(r) for r in rows]


def page(db: Database, limit: int, after_id: int, name: str | None = None) -> list[dict]:
    """All events in arrival order, optionally of one name."""
    where, params = "e.id > ?", [after_id]
    if name is not None:
        where += " AND e.name = ?"
        params.append(name)
    rows = db.execute(f"SELECT {_COLUMNS} FROM events e JOIN users u ON u.id = e.user_id "
                      f"WHERE {where} ORDER BY e.id LIMIT ?", [*params, limit]).fetchall()
    return [_row(r) for r in rows]


def count(db: Database, name: str | None = None) -> int:
    """Events stored, or of one name (served by the ``(name, user_id, ts)`` index)."""
    if name is None:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]
    return db.execute("SELECT count(*) FROM events WHERE name = ?", [name]).fetchone()[0]


def _row(row) -> dict:
    row_id, cid, name, ts, attrs, platform, version, user_time, offset = row
    return {"id": row_id, "customer_id": cid, "name": name, "ts": ts, "attrs": json.loads(attrs),
            "platform": platform, "app_version": version, "user_time": user_time,
            "tz_offset": offset}


def between(db: Database, user_id: int, names: list[str], after_ms: int, until_ms: int
            ) -> list[tuple[str, int, dict]]:
    """A user's events of the given names in ``(after_ms, until_ms]``: the "has not executed"
    check (served by the ``(name, user_id, ts)`` index)."""
    marks = ",".join("?" * len(names))
    return [(name, ts, json.loads(attrs)) for name, ts, attrs in db.execute(
        f"SELECT name, ts, attrs FROM events WHERE name IN ({marks}) AND user_id = ? "
        "AND ts > ? AND ts <= ? ORDER BY ts", [*names, user_id, after_ms, until_ms])]
