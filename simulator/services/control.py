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
