"""Merging, deleting and tracking devices of users (data.yaml /customer/merge,
/customer/delete, /device/{app_id}).

- Merge: per pair, the merged user's attributes move onto the retained user (its values win,
  ``user_requests.merged_attributes``), its events and devices become the retained user's, and
  the merged user is removed. A pair whose users are not both known is skipped ("If the
  merging of any user fails in the array, it will skip that object and continue with others").
- Delete: MoEngage hard-deletes "after a default buffer of 24 hours" during which the user is
  still active and can be updated; the deletion is a job due 24 hours on (virtual clock).
- Devices: "devices can be created for existing users only".
"""

from __future__ import annotations

import logging

from ..core.errors import BadRequest
from ..core.user_requests import MergePair, TrackedDevice, merged_attributes
from ..store import devices, jobs, users
from .context import Context

log = logging.getLogger("moesim.users")

DELETE_USER = "delete_user"          # the job that removes a user once the buffer is over
DELETE_BUFFER_MS = 24 * 3600 * 1000  # data.yaml /customer/delete: "a default buffer of 24 hours"


def _not_found(customer_id: str) -> BadRequest:
    # data.yaml /customer/delete 400 bad_request, worded as there
    return BadRequest(f"User doesn't exists with customer id {customer_id}",
                      moe_type="Not Found")


def merge(ctx: Context, pairs: list[MergePair]) -> dict:
    """Merge each pair in order; returns what was merged and skipped."""
    merged, skipped = [], []
    now_ms = ctx.clock.now_ms()
    with ctx.store.write() as db:
        for pair in pairs:
            found = users.find(db, [pair.merged_user, pair.retained_user])
            if pair.merged_user == pair.retained_user or len(found) != 2:
                skipped.append(pair)
                log.warning("merge skipped: %s -> %s (%s)", pair.merged_user, pair.retained_user,
                            "same user" if pair.merged_user == pair.retained_user
                            else "user not found")
                continue
            (gone_id, gone_attrs), (kept_id, kept_attrs) = \
                found[pair.merged_user], found[pair.retained_user]
            users.update(db, [(kept_id, merged_attributes(kept_attrs, gone_attrs))], now_ms)
            devices.move_user_rows(db, gone_id, kept_id)
            devices.delete_user(db, gone_id)
            merged.append(pair)
    return {"merged": len(merged), "skipped": len(skipped)}


def request_delete(ctx: Context, customer_id: str) -> int:
    """Schedule the user's deletion after the buffer; the job's due time (epoch ms)."""
    due = ctx.clock.now_ms() + DELETE_BUFFER_MS
    with ctx.store.write() as db:
        if users.get(db, customer_id) is None:
            raise _not_found(customer_id)
        jobs.add(db, due, DELETE_USER, None, {"customer_id": customer_id})
    return due


def delete_due(ctx: Context, job: dict) -> dict:
    """The ``delete_user`` job: the user goes, if still there."""
    customer_id = job["payload"]["customer_id"]
    with ctx.store.write() as db:
        row = users.get(db, customer_id)
        if row is not None:
            devices.delete_user(db, row["id"])
    return {"deleted": int(row is not None), "customer_id": customer_id}


def track_device(ctx: Context, device: TrackedDevice) -> None:
    with ctx.store.write() as db:
        row = users.get(db, device.customer_id)
        if row is None:
            raise _not_found(device.customer_id)
        devices.upsert(db, row["id"], device.device_id, device.attributes, ctx.clock.now_ms())
