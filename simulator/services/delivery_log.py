"""The delivery log under ``/_sim/deliveries``: one record per user send, secrets masked."""

from __future__ import annotations

from ..core.errors import BadRequest
from ..core.timestamps import iso
from ..store import deliveries
from .context import Context

OUTCOMES = ("sent", "failed")


def find(ctx: Context, *, campaign_id: str | None, outcome: str | None,
         customer_id: str | None, limit: int | None, after: int) -> dict:
    if outcome is not None and outcome not in OUTCOMES:
        raise BadRequest(f"status must be one of {', '.join(OUTCOMES)}", path="status")
    size = limit or 100
    if not 1 <= size <= 1000:
        raise BadRequest("limit must be between 1 and 1000", path="limit")
    with ctx.store.read() as db:
        rows = deliveries.find(db, campaign_id=campaign_id, outcome=outcome,
                               customer_id=customer_id, limit=size, after_id=after)
    for row in rows:
        row["time"] = iso(row.pop("ts"))
        row["status"] = row.pop("outcome")
    return {"deliveries": rows, "next": str(rows[-1]["id"]) if len(rows) == size else None}
