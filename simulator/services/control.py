"""The sandbox controls behind ``/_sim/``."""

from __future__ import annotations

from .context import Context


def reset(ctx: Context) -> None:
    """Back to the state the server started in: the stored data (users, events, sinks) and
    the in-memory Data API log."""
    ctx.store.reset()
    ctx.data_api_log.clear()
