"""The sandbox controls behind ``/_sim/``."""

from __future__ import annotations

from . import clock
from .context import Context


def reset(ctx: Context) -> None:
    """Back to the state the server started in: the stored data (users, events, sinks,
    campaigns, jobs), the in-memory Data API log, and the clock (the one time it moves back)."""
    ctx.store.reset()
    ctx.data_api_log.clear()
    clock.reload(ctx)
    ctx.renew_ids()


def empty(ctx: Context) -> None:
    """Every user, event, app, connection, campaign, job, delivery and sink request goes; the
    clock and the workspace's settings stay (``reset`` returns to the fixtures instead)."""
    with ctx.engine_lock:
        ctx.store.empty()
        ctx.data_api_log.clear()
    ctx.renew_ids()
