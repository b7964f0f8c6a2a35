"""Campaign bodies (campaign-api.md §1, MoEngage's V1 create shape with the channels
``CONNECTED_APP`` and ``CONNECTOR``): structural checks, every problem with its path.

References (connector, connection) and campaign-field values are checked by the service,
which can look them up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import conversions, gates, recurrence, schedule_checks, segments, triggers
from .errors import FieldError

CONNECTED_APP, CONNECTOR = "CONNECTED_APP", "CONNECTOR"
CHANNELS = (CONNECTED_APP, CONNECTOR)
DELIVERY_TYPES = (recurrence.ONE_TIME, recurrence.PERIODIC, recurrence.EVENT_TRIGGERED)
# Delivery type x scheduling delivery_type combinations that run. [I] Periodic campaigns start
# at a fixed time in the campaign zone (user-time-zone and best-time periodic starts are not
# emulated); event-triggered campaigns are ASAP (active from creation) or AT_FIXED_TIME (active
# from start_time).
RUNNABLE = {("ONE_TIME", "ASAP"), ("ONE_TIME", "AT_FIXED_TIME"),
            ("ONE_TIME", "SEND_IN_USER_TIMEZONE"), ("ONE_TIME", "SEND_IN_BTS"),
            ("PERIODIC", "AT_FIXED_TIME"),
            ("EVENT_TRIGGERED", "ASAP"), ("EVENT_TRIGGERED", "AT_FIXED_TIME")}

# Statuses (campaign-api.md §2.4)
SCHEDULED, ACTIVE, SENT, STOPPED, PAUSED, EXPIRED = (
    "SCHEDULED", "ACTIVE", "SENT", "STOPPED", "PAUSED", "EXPIRED")


def _need_object(body: dict, key: str, path: str, errors: list[FieldError]) -> dict:
    value = body.get(key)
    if not isinstance(value, dict):
        errors.append(FieldError(path, "is required (an object)"))
        return {}
    return value


def check_create(body: Any, now: datetime) -> list[FieldError]:
    if not isinstance(body, dict):
        return [FieldError("body", "must be a JSON object")]
    errors: list[FieldError] = []
    for key in ("request_id", "created_by"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            errors.append(FieldError(key, "is required (a non-empty string)"))
    channel = body.get("channel")
    if channel not in CHANNELS:
        errors.append(FieldError("channel", f"must be one of {', '.join(CHANNELS)}"))
    delivery = body.get("campaign_delivery_type")
    if delivery not in DELIVERY_TYPES:
        errors.append(FieldError("campaign_delivery_type",
                                 f"must be one of {', '.join(DELIVERY_TYPES)}"))
    basic = _need_object(body, "basic_details", "basic_details", errors)
    name = basic.get("name")
    # spec §5.1 (S4, S6): campaign name 5-256 characters, at most 5 tags
    if isinstance(body.get("basic_details"), dict) and (
            not isinstance(name, str) or not 5 <= len(name.strip()) <= 256):
        errors.append(FieldError("basic_details.name", "is required (5-256 characters)"))
    tags = basic.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 5 or not all(isinstance(t, str) for t in tags):
        errors.append(FieldError("basic_details.tags", "must be at most 5 strings"))
    holder = _need_object(body, "campaign_content", "campaign_content", errors)
    content = _need_object(holder, "content", "campaign_content.content", errors) \
        if isinstance(body.get("campaign_content"), dict) else {}
    if channel == CONNECTED_APP and content:
        app = content.get("connected_app")
        where = "campaign_content.content.connected_app"
        if not isinstance(app, dict):
            errors.append(FieldError(where, "is required for channel CONNECTED_APP"))
        else:
            for key in ("connector_id", "connection_id"):
                if isinstance(app.get(key), bool) or not isinstance(app.get(key), int):
                    errors.append(FieldError(f"{where}.{key}", "is required (an integer)"))
            if not isinstance(app.get("inputs", {}), dict):
                errors.append(FieldError(f"{where}.inputs", "must be an object"))
    elif channel == CONNECTOR and content and not isinstance(content.get("connector"), dict):
        errors.append(FieldError("campaign_content.content.connector",
                                 "is required for channel CONNECTOR"))
    errors += segments.check(body.get("segmentation_details"))
    if delivery in DELIVERY_TYPES:
        problems = schedule_checks.check_schedule(body.get("scheduling_details"), delivery, now)
        errors += problems
        kind = (body.get("scheduling_details") or {}).get("delivery_type")
        if not problems and (delivery, kind) not in RUNNABLE:
            errors.append(FieldError("scheduling_details.delivery_type",
                                     f"{delivery} campaigns with {kind} are not supported"))
    if delivery == "EVENT_TRIGGERED":
        errors += triggers.check_trigger(body.get("trigger_condition"))
    errors += conversions.check(body.get("conversion_goal_details"))
    errors += gates.check_campaign(body)
    return errors
