"""The built-in capture sinks, kept in the store so reset and snapshots cover them."""

from __future__ import annotations

from ..core import sinks as rules
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
    return reply


def configure(ctx: Context, name: str, payload) -> dict:
    behaviour = rules.SinkBehaviour.parse(payload)
    with ctx.store.write() as db:
        table.save(db, name, rules.configure(behaviour, table.state(db, name)))
    return view(ctx, name)


def view(ctx: Context, name: str) -> dict:
    with ctx.store.read() as db:
        state = table.state(db, name)
        recorded = table.requests(db, name)
    return {"name": name, "behaviour": state.behaviour.as_dict(), "served": state.served,
            "fail_next_left": state.fail_next_left, "requests": recorded}


def clear(ctx: Context, name: str) -> None:
    with ctx.store.write() as db:
        table.clear(db, name)
