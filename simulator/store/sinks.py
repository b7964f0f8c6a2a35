"""SQL for the built-in capture sinks."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ..core.sinks import SinkBehaviour, SinkState


def state(db: Database, name: str) -> SinkState:
    row = db.execute("SELECT behaviour, served, fail_next_left FROM sinks WHERE name = ?",
                     [name]).fetchone()
    if row is None:
        return SinkState()
    return SinkState(SinkBehaviour.from_dict(json.loads(row[0])), row[1], row[2])


def save(db: Database, name: str, new: SinkState) -> None:
    db.execute(
        "INSERT INTO sinks (name, behaviour, served, fail_next_left) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET behaviour = excluded.behaviour, "
        "served = excluded.served, fail_next_left = excluded.fail_next_left",
        [name, json.dumps(new.behaviour.as_dict()), new.served, new.fail_next_left])


def add_request(db: Database, name: str, seq: int, received_at: int, record: dict) -> None:
    db.execute("INSERT INTO sink_requests (sink, seq, received_at, record) VALUES (?, ?, ?, ?)",
               [name, seq, received_at, json.dumps(record)])


def requests(db: Database, name: str) -> list[dict]:
    return [json.loads(r[0]) for r in db.execute(
        "SELECT record FROM sink_requests WHERE sink = ? ORDER BY seq", [name])]


def clear(db: Database, name: str) -> None:
    db.execute("DELETE FROM sink_requests WHERE sink = ?", [name])
    db.execute("DELETE FROM sinks WHERE name = ?", [name])
