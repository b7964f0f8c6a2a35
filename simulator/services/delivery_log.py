"""The delivery log under ``/_sim/deliveries``: one record per user send, secrets masked;
filtered, waited for and deleted by the assertion API."""

from __future__ import annotations

from ..core import masking
from ..core.errors import BadRequest
from ..core.record_filters import DeliveryFilter, Wait
from ..core.timestamps import iso
from ..store import deliveries
from . import secrets
from .context import Context


def find(ctx: Context, match: DeliveryFilter, *, limit: int | None = None,
         after: int = 0) -> dict:
    size = 100 if limit is None else limit
    if not 1 <= size <= 1000:
        raise BadRequest("limit must be between 1 and 1000", path="limit")
    with ctx.store.read() as db:
        rows = deliveries.find(db, match, limit=size, after_id=after)
    known = secrets.known(ctx)
    for row in rows:
        row["time"] = iso(row.pop("ts"))
        row["status"] = row.pop("outcome")
        # recorded masked with the sending campaign's secrets; shown masked with every secret
        # the workspace holds (a partner may echo one that campaign did not know)
        for key in ("request", "response"):
            if row.get(key) is not None:
                row[key] = masking.mask_structure(row[key], known)
    return {"deliveries": rows, "next": str(rows[-1]["id"]) if len(rows) == size else None}


def count(ctx: Context, match: DeliveryFilter) -> int:
    with ctx.store.read() as db:
        return deliveries.count(db, match)


def wait(ctx: Context, match: DeliveryFilter, wait: Wait, *, limit: int | None = None) -> dict:
    """Long-poll until ``wait.count`` deliveries match or ``wait.timeout_s`` passes; answers
    the first page of them either way, with ``timed_out``."""
    matched, timed_out = ctx.wait_until(lambda: count(ctx, match),
                                        lambda n: n >= wait.count, wait.timeout_s)
    return {"timed_out": timed_out, "count": wait.count, "matched": matched,
            **find(ctx, match, limit=limit)}


def delete(ctx: Context, match: DeliveryFilter) -> int:
    """Test-only: the rows go, and with them what stats and the re-send bookkeeping count."""
    with ctx.store.write() as db:
        return deliveries.delete(db, match)
