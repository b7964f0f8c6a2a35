"""Test campaigns (spec §5.2; campaign-api.md §2.1 ``POST /campaigns/test``): send a campaign's
content to up to 10 chosen users for real and answer with each rendered request and response
inline, the way a partner debugs a config. Test sends are not campaign stats."""

from __future__ import annotations

import json
from typing import Any

from ..core import masking
from ..core.errors import FieldError, ValidationFailed
from ..store import users
from . import campaigns, delivery, secrets
from .context import Context

# test_campaign_meta.identifier -> how the user is found (spec §5.2: unique id, email, mobile,
# GAID, IDFA). Push tokens and custom segments (Connector test sends) need device data and
# saved segments moesim does not hold yet.
IDENTIFIERS = {
    "USER_ATTRIBUTE_UNIQUE_ID": "customer_id", "ID": "customer_id",
    "USER_ATTRIBUTE_USER_EMAIL": "u_em", "EMAIL": "u_em",
    "USER_ATTRIBUTE_USER_MOBILE": "u_mb", "MOBILE_NUMBER": "u_mb",
    "MOE_GAID": "moe_gaid", "ADVERTISING_IDENTIFIER": "advertising_identifier",
}


def send(ctx: Context, body: Any) -> dict:
    if not isinstance(body, dict):
        raise ValidationFailed("body must be a JSON object", path="body")
    meta = body.get("test_campaign_meta")
    errors: list[FieldError] = []
    if not isinstance(meta, dict):
        errors.append(FieldError("test_campaign_meta", "is required (an object)"))
        meta = {}
    identifier, values = meta.get("identifier"), meta.get("identifier_values")
    if meta and identifier not in IDENTIFIERS:
        errors.append(FieldError("test_campaign_meta.identifier",
                                 f"must be one of {', '.join(IDENTIFIERS)}"))
    if meta and (not isinstance(values, list) or not 1 <= len(values) <= 10
                 or not all(isinstance(v, str) for v in values)):
        errors.append(FieldError("test_campaign_meta.identifier_values",
                                 "must be 1-10 strings"))
    # Only what a test needs: scheduling and audience do not apply to a test send.
    full = {"campaign_delivery_type": "ONE_TIME", "created_by": "test@moesim.local",
            "segmentation_details": {"is_all_user_campaign": True},
            "scheduling_details": {"delivery_type": "ASAP"}, **body}
    with ctx.store.read() as db:
        connector = campaigns.check(db, full, errors, ctx.clock.now())
    if errors:
        raise ValidationFailed("invalid test campaign", errors=errors)
    campaign = {"id": "test", "name": full["basic_details"]["name"], "channel": full["channel"],
                "body": full, "connector_id": connector["id"] if connector else None,
                "connector_version": connector["version"] if connector else None,
                "connection_id": full["campaign_content"]["content"].get(
                    "connected_app", {}).get("connection_id")}
    plan = delivery.prepare(ctx, campaign)
    send = delivery.Send(plan, ctx.clock.now(), ctx.clock.now_ms())
    data = {}
    for value in values:
        with ctx.store.read() as db:
            found = users.find_by(db, IDENTIFIERS[identifier], value)
        if found is None:
            # campaigns.yaml /campaigns/test 200 "partial_success" example, verbatim
            data[value] = {"status": "failed", "failure_reason": "User not found"}
            continue
        data[value] = _one(ctx, send, found)
    return {"data": data, "message": "Test campaign created successfully"}  # campaigns.yaml


def _one(ctx: Context, send: delivery.Send, found: tuple) -> dict:
    """A test send is not recorded: its row is the answer."""
    row_id, cid, attrs = found
    (rows, _), = send.groups(ctx.sender(), [(row_id, cid, attrs)])
    (_, _, _, outcome, reason, status, request, response, elapsed, _) = rows[0]
    answer: dict[str, Any] = {"status": "success" if outcome == "sent" else "failed"}
    if reason:
        answer["failure_reason"] = reason
    answer["customer_id"] = cid
    known = secrets.known(ctx)
    answer["request"] = masking.mask_structure(json.loads(request), known) if request else None
    answer["response"] = masking.mask_structure(json.loads(response), known) \
        if response else None
    return answer



