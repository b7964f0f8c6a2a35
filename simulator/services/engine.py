"""The engine: every piece of scheduled work is a ``jobs`` row with a due time, run by
``run_due`` in ``(due_at, id)`` order. In real time ``simulator.ticker`` calls it; tests and the control
plane call it directly (``POST /_sim/run-due``), so nothing waits on wall-clock time.

Restart policy: a job found ``running`` at start-up (the process died mid-run) is put back to
``pending``; a campaign send then skips the users its delivery log already has, so nobody is
sent twice.
"""

from __future__ import annotations

import logging
import time

from ..store import jobs
from . import retention
from .context import Context
from .scheduling import BATCH_LIMIT, BATCHED, HANDLERS

log = logging.getLogger("moesim.engine")

def recover(ctx: Context) -> int:
    with ctx.store.write() as db:
        return jobs.requeue_running(db)


def run_due(ctx: Context) -> list[dict]:
    """Run everything due now, in order; returns what ran (one entry per job).

    Jobs of a kind in ``BATCHED`` that are due at the same time for the same campaign and come
    one after the other in ``(due_at, id)`` order run as one batch (up to ``BATCH_LIMIT``):
    thousands of users triggering one campaign at once are sent like an audience page."""
    ran = []
    with ctx.engine_lock:
        while True:
            now = ctx.clock.now_ms()
            with ctx.store.write() as db:
                job = jobs.next_due(db, now)
                if job is None:
                    break
                group = [job]
                if job["kind"] in BATCHED:
                    group += jobs.due_with(db, job, BATCH_LIMIT - 1)
                jobs.start_many(db, [j["id"] for j in group])
            began = time.perf_counter()
            try:
                if len(group) == 1:
                    summaries = [HANDLERS[job["kind"]](ctx, job)]
                else:
                    summaries = BATCHED[job["kind"]](ctx, group)
                status = "done"
            except Exception:  # one bad job (or batch) must not stop the engine
                log.exception("job %s (%s, %d in the batch) failed", job["id"], job["kind"],
                              len(group))
                summaries, status = [{}] * len(group), "failed"
            with ctx.store.write() as db:
                jobs.finish_many(db, [j["id"] for j in group], status, ctx.clock.now_ms())
            _log_run(job, group, summaries, status, time.perf_counter() - began)
            ran += [{"job_id": j["id"], "kind": j["kind"], "campaign_id": j["campaign_id"],
                     "status": status, **summary} for j, summary in zip(group, summaries)]
        retention.prune_due(ctx)
    return ran


def _log_run(job: dict, group: list[dict], summaries: list[dict], status: str,
             seconds: float) -> None:
    """One line per campaign run that sent (a warning when sends failed: one per burst)."""
    attempted = sum(s.get("attempted", 0) for s in summaries)
    if not attempted or status != "done":
        return
    failed = sum(s.get("failed", 0) for s in summaries)
    counts = ", ".join(f"{sum(s.get(key, 0) for s in summaries)} {key}"
                       for key in ("sent", "failed", "removed"))
    users = f" ({len(group)} triggers)" if len(group) > 1 else ""
    log.log(logging.WARNING if failed else logging.INFO, "campaign %s %s%s: %s in %.0f ms",
            job["campaign_id"], job["kind"], users, counts, seconds * 1000)
