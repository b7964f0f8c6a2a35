"""Delivery retention (``delivery_retention_days``): deliveries older than the retention, on
the simulator's clock, lose their logged request and response.

The row stays: campaign stats, the stats API, frequency capping, conversion attribution and a
restarted send's "already sent" check all count rows, so they stay exact. What goes is the bulk
of the log (the rendered request and the partner's response, ~80 % of a row's bytes). The rows
are written again narrow (``store.deliveries.prune_payloads``: SQLite keeps the pages of rows
that only shrink), so their pages are freed and reused: the file then grows by the narrow rows
only. The engine calls ``prune_due`` after each run, at most once per ``EVERY_MS`` of simulator
time; each pass scans only rows from the lowest one that still has a payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import deliveries
from .context import Context

DAY_MS = 86_400_000
EVERY_MS = 3_600_000  # an hour of simulator time between passes
CHUNK = 2000  # rows pruned per write transaction


@dataclass
class RetentionState:
    last_pass_ms: int | None = None
    low_id: int = 0  # rows below it have no payload left


def prune(ctx: Context, older_than_days: float) -> int:
    """Prune the payloads of deliveries older than ``older_than_days``; how many rows. One
    transaction per ``CHUNK`` rows, so sends and requests write in between."""
    state = _state(ctx)
    now = ctx.clock.now_ms()
    before = now - round(older_than_days * DAY_MS)
    total = 0
    while True:
        with ctx.store.write() as db:
            pruned = deliveries.prune_payloads(db, before, state.low_id, CHUNK)
        total += pruned
        if pruned < CHUNK:
            break
    with ctx.store.read() as db:
        state.low_id = deliveries.lowest_with_payload(db, state.low_id)
    state.last_pass_ms = now
    return total


def prune_due(ctx: Context) -> int:
    """The setting's pass, when one is due (the engine calls this)."""
    days = ctx.settings.delivery_retention_days
    if not days:
        return 0
    state = _state(ctx)
    if state.last_pass_ms is not None and ctx.clock.now_ms() - state.last_pass_ms < EVERY_MS:
        return 0
    return prune(ctx, days)


def _state(ctx: Context) -> RetentionState:
    if ctx.retention is None:
        ctx.retention = RetentionState()
    return ctx.retention
