"""The built-in capture sinks, kept in the store so reset and snapshots cover them. Each sink
keeps its newest ``sink_max_records`` requests; its ``served`` counter counts them all."""

from __future__ import annotations

from ..core import sinks as rules
from ..core.errors import BadRequest
from ..core.record_filters import RequestFilter, Wait
from ..core.timestamps import iso
from ..store import sinks as table
from .context import Context


def receive(ctx: Context, name: str, request: rules.ReceivedRequest) -> rules.SinkAnswer:
    """Answer one request per the sink's behaviour and record it (the caller waits
    ``delay_ms`` before replying, outside the store lock)."""
    now = ctx.clock.now_ms()
    with ctx.store.write() as db:
        reply, after = rules.answer(table.state(db, name), name, ctx.settings.seed)
        table.save(db, name, after)
        table.add_request(db, name, reply.seq, now, rules.record(request, reply, iso(now)))
        # keep the newest sink_max_records; ``served`` still counts every request
        table.trim(db, name, reply.seq - ctx.settings.sink_max_records)
    return reply


def configure(ctx: Context, name: str, payload) -> dict:
    behaviour = rules.SinkBehaviour.parse(payload)
    with ctx.store.write() as db:
        table.save(db, name, rules.configure(behaviour, table.state(db, name)))
    return view(ctx, name)


def view(ctx: Context, name: str, match: RequestFilter = RequestFilter()) -> dict:
    """The sink's behaviour and the recorded requests that ``match``."""
    with ctx.store.read() as db:
        state = table.state(db, name)
        recorded = table.requests(db, name) if match.is_empty() else _matching(db, name, match)
    return {"name": name, "behaviour": state.behaviour.as_dict(), "served": state.served,
            "fail_next_left": state.fail_next_left, "requests": recorded}


def listing(ctx: Context) -> dict:
    """The sinks there are, with how many requests each holds."""
    with ctx.store.read() as db:
        found = table.listing(db)
    for sink in found:
        last = sink.pop("last_ms")
        sink["last_request"] = iso(last) if last is not None else None
    return {"sinks": found}


def recent(ctx: Context, after: int | None = 0, limit: int = 100, sink: str | None = None
           ) -> dict:
    """Requests of every sink (or one) recorded after the cursor ``after`` (None: none yet,
    only the cursor of the latest), oldest first; ``next`` is the cursor to pass on
    (``moesim tail`` follows it)."""
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be between 1 and 1000", path="limit")
    with ctx.store.read() as db:
        if after is None:
            return {"requests": [], "next": table.last_id(db)}
        rows = table.recent(db, after, limit, sink)
    return {"requests": [{"id": row_id, "sink": name, **record} for row_id, name, record in rows],
            "next": rows[-1][0] if rows else after}


def _matching(db, name: str, match: RequestFilter, ids: list | None = None) -> list[dict]:
    found = []
    for row_id, record in table.matching(db, name, match.times):
        if match.matches(record):
            found.append(record)
            if ids is not None:
                ids.append(row_id)
    return found


def wait(ctx: Context, name: str, match: RequestFilter, wait: Wait) -> dict:
    """Long-poll until ``wait.count`` recorded requests match or ``wait.timeout_s`` passes
    (requests arriving in real time; a virtual clock is not advanced)."""
    def check() -> list[dict]:
        with ctx.store.read() as db:
            return _matching(db, name, match)

    found, timed_out = ctx.wait_until(check, lambda r: len(r) >= wait.count, wait.timeout_s)
    return {"timed_out": timed_out, "count": wait.count, "matched": len(found),
            "requests": found}


def delete(ctx: Context, name: str, match: RequestFilter) -> int:
    """Delete the recorded requests that ``match``; the behaviour and counters stay."""
    with ctx.store.write() as db:
        ids: list[int] = []
        _matching(db, name, match, ids)
        return table.delete_requests(db, ids)


def clear(ctx: Context, name: str) -> None:
    with ctx.store.write() as db:
        table.clear(db, name)
