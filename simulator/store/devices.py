"""SQL for devices (Track Device) and for moving or removing a user's rows (merge, delete)."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ..core.jsontext import loads


def upsert(db: Database, user_id: int, device_id: str, attrs: dict, now_ms: int) -> None:
    """A device's attributes, merged over what it had; a device tracked for another user
    moves to this one."""
    row = db.execute("SELECT attrs FROM devices WHERE device_id = ?", [device_id]).fetchone()
    if row is None:
        db.execute("INSERT INTO devices (device_id, user_id, attrs, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?)", [device_id, user_id, json.dumps(attrs), now_ms,
                                              now_ms])
        return
    db.execute("UPDATE devices SET user_id = ?, attrs = ?, updated_at = ? WHERE device_id = ?",
               [user_id, json.dumps({**loads(row[0]), **attrs}), now_ms, device_id])


def of_user(db: Database, user_id: int) -> list[dict]:
    rows = db.execute("SELECT device_id, attrs, created_at, updated_at FROM devices "
                      "WHERE user_id = ? ORDER BY created_at, device_id", [user_id]).fetchall()
    return [{"device_id": d, "attributes": loads(a), "created_at": c, "updated_at": u}
            for d, a, c, u in rows]


def move_user_rows(db: Database, from_user: int, to_user: int) -> int:
    """A merged user's events and devices become the retained user's; the number of events."""
    moved = db.execute("UPDATE events SET user_id = ? WHERE user_id = ?",
                       [to_user, from_user]).rowcount
    db.execute("UPDATE devices SET user_id = ? WHERE user_id = ?", [to_user, from_user])
    return moved


def delete_user(db: Database, user_id: int) -> None:
    """A user and what hangs off them (events, devices). Delivery logs and stats keep their
    rows: they are the campaigns' history."""
    db.execute("DELETE FROM events WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM devices WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM users WHERE id = ?", [user_id])
