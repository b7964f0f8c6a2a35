"""The clock control plane (``/_sim/clock``): system or virtual time, kept in the database so a
restarted server resumes where it was; advancing runs, in time order, everything that falls due.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from ..core.clock import LATEST, SYSTEM, VIRTUAL, SimClock, check_bounds
from ..core.errors import BadRequest, ConfigError, Conflict
from ..core.settings import Settings
from ..core.timestamps import from_ms, iso, parse_iso, to_ms
from ..store import Store, jobs, meta
from . import engine
from .context import Context

KEY = "clock"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def load(settings: Settings, store: Store) -> SimClock:
    """The stored clock, or a new one from the settings (``start_time`` applies to a new
    database only)."""
    with store.write() as db:
        state = meta.get(db, KEY)
        if state is None:
            if settings.clock not in (SYSTEM, VIRTUAL):
                raise ConfigError("clock must be system or virtual", path="clock")
            start = parse_iso(settings.start_time) if settings.start_time else None
            if settings.start_time and start is None:
                raise ConfigError(f"start_time {settings.start_time!r} is not an ISO time",
                                  path="start_time")
            clock = SimClock(settings.clock, start)
            meta.put(db, KEY, _state(clock))
            return clock
    return SimClock(state["mode"], from_ms(state["now_ms"]) if state["mode"] == VIRTUAL else None)


def reload(ctx: Context) -> None:
    """After ``/_sim/reset``: the clock state stored with the data wins."""
    if not isinstance(ctx.clock, SimClock):
        return
    with ctx.store.read() as db:
        state = meta.get(db, KEY)
    if state:
        ctx.clock.restore(state["mode"], from_ms(state["now_ms"]))


def _state(clock: SimClock) -> dict:
    return {"mode": clock.mode, "now_ms": clock.now_ms()}


def _save(ctx: Context) -> None:
    with ctx.store.write() as db:
        meta.put(db, KEY, _state(ctx.clock))


def view(ctx: Context) -> dict:
    return {"mode": ctx.clock.mode, "now": iso(ctx.clock.now())}


def _sim_clock(ctx: Context) -> SimClock:
    if not isinstance(ctx.clock, SimClock):
        raise Conflict("this server's clock cannot be changed", path="mode")
    return ctx.clock


def change(ctx: Context, payload: Any) -> dict:
    """``{"mode": "virtual", "now": ISO}`` freezes (a later ``now`` advances to it, running what
    falls due); ``{"mode": "system"}`` returns to real time."""
    clock = _sim_clock(ctx)
    if not isinstance(payload, dict) or payload.get("mode") not in (SYSTEM, VIRTUAL):
        raise BadRequest("mode must be system or virtual", path="mode")
    summary: dict = {}
    if payload["mode"] == SYSTEM:
        clock.unfreeze()
    else:
        target = check_bounds(_time(payload["now"], "now"), "now") \
            if payload.get("now") is not None else None
        clock.freeze()
        if target is not None:
            summary = advance_to(ctx, target)
    _save(ctx)
    return {**view(ctx), **({"ran": summary["ran"]} if summary else {})}


def _time(value: Any, path: str) -> datetime:
    moment = parse_iso(value) if isinstance(value, str) else None
    if moment is None:
        raise BadRequest(f"{path} must be an ISO 8601 time", path=path)
    return moment


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``2h``, ``3d``, ``1w``."""
    match = _DURATION.match(text)
    if not match:
        raise BadRequest(f"{text!r} is not a duration such as 90s, 15m, 2h or 3d",
                         path="seconds")
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])


def advance(ctx: Context, payload: Any) -> dict:
    """``{"seconds": N}`` or ``{"to": ISO}``."""
    _sim_clock(ctx)
    if not isinstance(payload, dict) or ("seconds" in payload) == ("to" in payload):
        raise BadRequest("give exactly one of seconds or to", path="seconds")
    if "to" in payload:
        target = check_bounds(_time(payload["to"], "to"), "to")
    else:
        seconds = payload["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise BadRequest("seconds must be a number >= 0", path="seconds")
        if seconds > (LATEST - ctx.clock.now()).total_seconds():
            check_bounds(datetime.max.replace(tzinfo=LATEST.tzinfo), "seconds")
        target = ctx.clock.now() + timedelta(seconds=seconds)
    return advance_to(ctx, target)


def advance_to(ctx: Context, target: datetime) -> dict:
    clock = _sim_clock(ctx)
    if clock.mode != VIRTUAL:
        raise Conflict("the clock is not virtual: POST /_sim/clock {\"mode\": \"virtual\"} "
                       "first", path="mode")
    start = clock.now()
    if target < start:
        raise Conflict(f"time never goes backwards: {iso(target)} is before {iso(start)}",
                       path="to")
    ran: list[dict] = []
    target_ms = to_ms(target)
    while True:
        with ctx.store.read() as db:
            due = jobs.next_due_at(db)
        if due is None or due > target_ms:
            break
        if due > clock.now_ms():
            clock.set(from_ms(due))
        ran += engine.run_due(ctx)
    clock.set(target)
    ran += engine.run_due(ctx)
    _save(ctx)
    return {"from": iso(start), "to": iso(target), "ran": ran}
