"""Real-time driver of the engine (an edge, like the HTTP server): APScheduler 3.x wakes
``run_due`` every second and at once when work is queued. It never runs in virtual time, where
time moves only on ``/_sim/clock/advance``.

One tick job, ``coalesce=True, max_instances=1, misfire_grace_time=None`` (stack-findings §1.5:
the 1 s default grace silently drops runs on a busy 2-core box); no job store, nothing pickled:
the work itself is rows in SQLite.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from .core.clock import VIRTUAL, SystemClock
from .services.context import Context
from .services.engine import run_due

log = logging.getLogger("moesim.ticker")
TICK = "moesim-tick"


class Ticker:
    def __init__(self, contexts: Callable[[], list[Context]], woken: threading.Event,
                 interval_s: float = 1.0):
        """``contexts`` lists the workspaces to drive (each has its own clock and jobs);
        ``woken`` is the event they share for "work was queued"."""
        self.contexts = contexts
        self.woken = woken
        self.interval_s = interval_s
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self._listener = threading.Thread(target=self._listen, name="moesim-wake", daemon=True)
        self._stopping = threading.Event()
        self._running = False
        self._again = False

    def start(self) -> "Ticker":
        self._scheduler.add_job(self._tick, "interval", seconds=self.interval_s, id=TICK,
                                coalesce=True, max_instances=1, misfire_grace_time=None)
        self._scheduler.start()
        self._listener.start()
        return self

    def _listen(self) -> None:
        """Queued work (``ctx.wake()``) runs now rather than at the next tick."""
        while not self._stopping.is_set():
            if self.woken.wait(self.interval_s):
                self.woken.clear()
                if self._stopping.is_set():
                    break
                if self._running:
                    self._again = True  # the running tick goes round once more
                else:
                    self._scheduler.modify_job(TICK, next_run_time=SystemClock().now())

    def _tick(self) -> None:
        self._running = True
        try:
            while True:
                self._again = False
                for ctx in self.contexts():
                    if ctx.clock.mode == VIRTUAL or not ctx.ready.is_set():
                        continue
                    try:
                        run_due(ctx)
                    except Exception:  # the next tick tries again
                        log.exception("engine run failed (workspace %s)",
                                      ctx.settings.workspace_id)
                if not self._again:
                    break
        finally:
            self._running = False

    def stop(self) -> None:
        self._stopping.set()
        self.woken.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        if self._listener.is_alive():
            self._listener.join(timeout=5)
