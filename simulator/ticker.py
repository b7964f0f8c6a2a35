"""Real-time driver of the engine (an edge, like the HTTP server)."""

from __future__ import annotations

import logging
import threading

from .services.context import Context
from .services.engine import run_due

log = logging.getLogger("moesim.ticker")


class Ticker:
    """Real-time driver: runs due work when woken, and at least every ``interval_s``.
    [I] A plain thread for now; the scheduling work moves this onto APScheduler."""

    def __init__(self, ctx: Context, interval_s: float = 1.0):
        self.ctx = ctx
        self.interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="moesim-ticker", daemon=True)

    def start(self) -> "Ticker":
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.ctx.woken.wait(self.interval_s)
            self.ctx.woken.clear()
            if self._stopping.is_set():
                break
            try:
                run_due(self.ctx)
            except Exception:
                log.exception("engine run failed")

    def stop(self) -> None:
        self._stopping.set()
        self.ctx.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
