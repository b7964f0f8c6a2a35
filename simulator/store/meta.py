"""SQL for small persistent settings of the simulator itself (the clock's mode and time)."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database


def get(db: Database, key: str) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else json.loads(row[0])


def put(db: Database, key: str, value: Any) -> None:
    db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
               "value = excluded.value", [key, json.dumps(value)])


ID_EPOCH = "id_epoch"


def claim_id_epoch(db: Database, at_least: int = 0) -> int:
    """The next id epoch (``core.ids``): one more than both the stored one and ``at_least``,
    stored before it is used."""
    epoch = max(get(db, ID_EPOCH) or 0, at_least) + 1
    put(db, ID_EPOCH, epoch)
    return epoch
