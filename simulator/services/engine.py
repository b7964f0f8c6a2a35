"""The engine: every piece of scheduled work is a ``jobs`` row with a due time, run by
``run_due`` in ``(due_at, id)`` order. In real time ``simulator.ticker`` calls it; tests and the control
plane call it directly (``POST /_sim/run-due``), so nothing waits on wall-clock time.

Restart policy: a job found ``running`` at start-up (the process died mid-run) is put back to
``pending``; a campaign send then skips the users its delivery log already has, so nobody is
sent twice.
"""

from __future__ import annotations

import logging

from ..store import jobs
from .context import Context
from .scheduling import HANDLERS

log = logging.getLogger("moesim.engine")

def recover(ctx: Context) -> int:
    with ctx.store.write() as db:
        return jobs.requeue_running(db)


def run_due(ctx: Context) -> list[dict]:
    """Run everything due now, in order; returns what ran."""
    ran = []
    with ctx.engine_lock:
        while True:
            now = ctx.clock.now_ms()
            with ctx.store.write() as db:
                job = jobs.next_due(db, now)
                if job is None:
                    break
                jobs.start(db, job["id"])
            try:
                summary, status = HANDLERS[job["kind"]](ctx, job), "done"
            except Exception:  # one bad job must not stop the engine
                log.exception("job %s (%s) failed", job["id"], job["kind"])
                summary, status = {}, "failed"
            with ctx.store.write() as db:
                jobs.finish(db, job["id"], status, ctx.clock.now_ms())
            ran.append({"job_id": job["id"], "kind": job["kind"],
                        "campaign_id": job["campaign_id"], "status": status, **summary})
    return ran
