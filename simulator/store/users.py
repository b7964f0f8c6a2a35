"""SQL for users."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ..core.jsontext import loads

_CHUNK = 500  # stays under SQLite's bound-parameter limit

def find(db: Database, customer_ids) -> dict[str, tuple[int, dict]]:
    """``customer_id -> (row id, attrs)`` for the ones that exist."""
    wanted = list(customer_ids)
    found: dict[str, tuple[int, dict]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row_id, cid, attrs in db.execute(
                f"SELECT id, customer_id, attrs FROM users WHERE customer_id IN ({marks})", chunk):
            found[cid] = (row_id, loads(attrs))
    return found


def insert(db: Database, rows: list[tuple[str, dict]], now_ms: int) -> dict[str, int]:
    """New users ``(customer_id, attrs)``; returns their row ids."""
    ids = {}
    for cid, attrs in rows:
        cursor = db.execute(
            "INSERT INTO users (customer_id, attrs, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (cid, json.dumps(attrs, separators=(",", ":")), now_ms, now_ms))
        ids[cid] = cursor.lastrowid
    return ids


def update(db: Database, rows: list[tuple[int, dict]], now_ms: int) -> None:
    db.conn.executemany(
        "UPDATE users SET attrs = ?, updated_at = ? WHERE id = ?",
        [(json.dumps(attrs, separators=(",", ":")), now_ms, row_id) for row_id, attrs in rows])


_SELECT = "SELECT id, customer_id, attrs, created_at, updated_at FROM users "


def get(db: Database, customer_id: str) -> dict | None:
    row = db.execute(_SELECT + "WHERE customer_id = ?", [customer_id]).fetchone()
    return None if row is None else _row(row)


def by_row_id(db: Database, row_id: int) -> dict | None:
    row = db.execute(_SELECT + "WHERE id = ?", [row_id]).fetchone()
    return None if row is None else _row(row)


def page(db: Database, limit: int, after_id: int) -> list[dict]:
    rows = db.execute(_SELECT + "WHERE id > ? ORDER BY id LIMIT ?", [after_id, limit]).fetchall()
    return [_row(r) for r in rows]


def count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM users").fetchone()[0]


def count_where(db: Database, where: str, params: list) -> int:
    """How many users a compiled audience has."""
    return db.execute(f"SELECT count(*) FROM users WHERE {where}", params).fetchone()[0]


def _row(row) -> dict:
    row_id, cid, attrs, created, updated = row
    return {"id": row_id, "customer_id": cid, "attrs": json.loads(attrs),
            "created_at": created, "updated_at": updated}


def audience_page(db: Database, where: str, params: list, after_id: int, limit: int,
                  skip_campaign: str | None = None) -> list[tuple[int, str, dict]]:
    """``(row id, customer_id, attrs)`` of the next users matching ``where`` (a compiled
    audience), in id order; with ``skip_campaign``, users that campaign already reached are left
    out (a send resumed after a restart sends nobody twice)."""
    skip = ("AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = ? "
            "AND d.user_id = users.id) " if skip_campaign else "")
    rows = db.execute(f"SELECT id, customer_id, attrs FROM users WHERE id > ? AND {where} "
                      f"{skip}ORDER BY id LIMIT ?",
                      [after_id, *params, *([skip_campaign] if skip_campaign else []), limit])
    return [(row_id, cid, loads(attrs)) for row_id, cid, attrs in rows]


def find_by(db: Database, key: str, value: str) -> tuple[int, str, dict] | None:
    """A user by customer id or by one stored attribute (email, mobile, GAID, ...)."""
    if key == "customer_id":
        row = db.execute("SELECT id, customer_id, attrs FROM users WHERE customer_id = ?",
                         [value]).fetchone()
    elif key in ("u_em", "u_mb"):
        column = "email" if key == "u_em" else "mobile"
        row = db.execute(f"SELECT id, customer_id, attrs FROM users WHERE {column} = ? "
                         "ORDER BY id LIMIT 1", [value]).fetchone()
    else:
        row = db.execute("SELECT id, customer_id, attrs FROM users WHERE "
                         "json_extract(attrs, '$.' || ?) = ? ORDER BY id LIMIT 1",
                         [key, value]).fetchone()
    return None if row is None else (row[0], row[1], loads(row[2]))


def in_audience(db: Database, customer_id: str, where: str, params: list) -> bool:
    """Whether one user matches a compiled audience (checked at trigger time)."""
    return db.execute(f"SELECT 1 FROM users WHERE customer_id = ? AND {where}",
                      [customer_id, *params]).fetchone() is not None
