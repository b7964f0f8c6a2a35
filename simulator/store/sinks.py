"""SQL for the built-in capture sinks."""

from __future__ import annotations

import json
from typing import Iterator

from sqlite_utils import Database

from ..core.record_filters import TimeRange
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


def trim(db: Database, name: str, through_seq: int) -> None:
    """Drop the sink's requests numbered up to ``through_seq`` (the oldest)."""
    if through_seq > 0:
        db.execute("DELETE FROM sink_requests WHERE sink = ? AND seq <= ?", [name, through_seq])


def requests(db: Database, name: str) -> list[dict]:
    return [json.loads(r[0]) for r in db.execute(
        "SELECT record FROM sink_requests WHERE sink = ? ORDER BY seq", [name])]


def _timed(name: str, times: TimeRange) -> tuple[str, list]:
    where, params = ["sink = ?"], [name]
    if times.since_ms is not None:
        where.append("received_at >= ?")
        params.append(times.since_ms)
    if times.until_ms is not None:
        where.append("received_at < ?")
        params.append(times.until_ms)
    return " AND ".join(where), params


def matching(db: Database, name: str, times: TimeRange) -> Iterator[tuple[int, dict]]:
    """``(row id, record)`` of the sink's requests received in ``times``, in ``seq`` order."""
    where, params = _timed(name, times)
    for row_id, record in db.execute(
            f"SELECT id, record FROM sink_requests WHERE {where} ORDER BY seq", params):
        yield row_id, json.loads(record)


def delete_requests(db: Database, ids: list[int]) -> int:
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        deleted += db.execute(f"DELETE FROM sink_requests WHERE id IN "
                              f"({', '.join('?' * len(chunk))})", chunk).rowcount
    return deleted


def clear(db: Database, name: str) -> None:
    db.execute("DELETE FROM sink_requests WHERE sink = ?", [name])
    db.execute("DELETE FROM sinks WHERE name = ?", [name])


def listing(db: Database) -> list[dict]:
    """Every sink that has a behaviour or recorded requests: name, requests kept, served, the
    time of the last one (epoch ms)."""
    rows = db.execute(
        "SELECT name, coalesce(max(served), 0), sum(kept), max(last) FROM ("
        " SELECT name, served, 0 AS kept, NULL AS last FROM sinks"
        " UNION ALL SELECT sink, NULL, count(*), max(received_at) FROM sink_requests"
        " GROUP BY sink) GROUP BY name ORDER BY name").fetchall()
    return [{"name": name, "served": served, "requests": kept, "last_ms": last}
            for name, served, kept, last in rows]


def last_id(db: Database) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM sink_requests").fetchone()[0]


def recent(db: Database, after_id: int, limit: int, sink: str | None = None
           ) -> list[tuple[int, str, dict]]:
    """``(row id, sink, record)`` of the requests recorded after row ``after_id``, oldest first."""
    where, params = "id > ?", [after_id]
    if sink is not None:
        where, params = where + " AND sink = ?", params + [sink]
    return [(row_id, name, json.loads(record)) for row_id, name, record in db.execute(
        f"SELECT id, sink, record FROM sink_requests WHERE {where} ORDER BY id LIMIT ?",
        params + [limit])]
