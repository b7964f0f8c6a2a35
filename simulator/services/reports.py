"""MoEngage's read APIs over moesim's campaigns: the Campaign Stats API (campaign-api.md §3)
and V1 campaign search (§4), with MoEngage's auth, request checks, limits and nesting, so
tools written for MoEngage read moesim unchanged. Decisions: docs/decisions.md, "Stats and
conversions"."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ..core import gates as gate_rules
from ..core.errors import BadRequest, FieldError, Unauthorized, ValidationFailed
from ..core.timestamps import to_ms
from ..store import campaigns as table
from ..store import conversions as store
from .context import Context
from .conversions import CONTROL_GROUPS, goal_stats

ATTRIBUTION_TYPES = ("VIEW_THROUGH", "CLICK_THROUGH", "IN_SESSION", "TOTAL_CONVERSIONS",
                     "CLICK_CONVERSIONS")
METRIC_TYPES = ("TOTAL", "UNIQUE")
MAX_CAMPAIGN_IDS = 10      # §3: "up to 10 max per call"
MAX_SPAN_DAYS = 30         # §3: "should not exceed 30 days"
MAX_STATS_LIMIT = 10       # §3: "The default and max limit is up to 10 campaigns"
MAX_SEARCH_LIMIT = 15      # §4.1: limit 1-15
# [I] Connector and Connected App sends have no device platform: the schema's UNKNOWN, in the
# lowercase the response example uses for its keys ("android").
PLATFORM = "unknown"
SEARCH_CHANNELS = ("PUSH", "EMAIL", "SMS", "CONNECTED_APP", "CONNECTOR")
SEARCH_DELIVERY_TYPES = ("ONE_TIME", "PERIODIC", "EVENT_TRIGGERED", "BUSINESS_EVENT_TRIGGERED",
                         "DEVICE_TRIGGERED", "LOCATION_TRIGGERED", "BROADCAST_LIVE_ACTIVITY")
# §2.4 V1 search filter, plus moesim's EXPIRED (campaigns past their expiry_time)
SEARCH_STATUSES = ("ACTIVE", "SCHEDULED", "PAUSED", "SENT", "STOPPED", "ARCHIVED", "EXPIRED")
SEARCH_FIELDS = ("channels", "created_by", "created_date", "delivery_type", "id", "name",
                 "status", "tags")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# failure_breakdown keys of a 'removed' delivery's reason; the campaign control group key keeps
# MoEngage's spelling ("campaing", campaign-api.md §3).
REMOVED_KEYS = {
    "campaign_control_group": "user_removed_due_to_campaing_control_group",
    "global_control_group": "user_removed_due_to_global_control_group",
    "frequency_capping": "user_removed_due_to_frequency_capping",
    "limit_per_user": "user_removed_due_to_campaign_frequency_limit",   # spec §4.2, S17
    "audience_limit": "user_removed_due_to_campaign_audience_limit",    # spec §4.2, S16
    "duplicate": "user_removed_due_to_duplicate",
    "dnd": "user_removed_due_to_dnd",
}


# -- auth --------------------------------------------------------------------------------------

def authenticate(ctx: Context, authorization: str | None, app_key: str | None) -> None:
    """Basic auth with the workspace id and the campaign-report key (``report_api_key``, else
    the Data API key) and the ``MOE-APPKEY`` header, which must name the same workspace."""
    settings = ctx.settings
    username = password = ""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(encoded.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            pass
    if not username or not password:
        raise Unauthorized("Invalid identity information found.")
    if app_key is None:
        raise BadRequest("Some of the field values are invalid: app_key : None", path="app_key")
    key = settings.report_api_key or settings.data_api_key
    if app_key != username or username != settings.workspace_id or not hmac.compare_digest(
            password.encode(), key.encode()):
        raise Unauthorized("Invalid identity information found.")


# -- request checks ----------------------------------------------------------------------------

def _int(body: dict, key: str, errors: list[FieldError], *, low: int, high: int | None,
         default: int | None) -> int | None:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        errors.append(FieldError(key, f"must be an integer {bounds}"))
        return None
    return value


def _date(value: Any, path: str, errors: list[FieldError]) -> date | None:
    if not isinstance(value, str) or not _DATE.match(value):
        errors.append(FieldError(path, "must be a date YYYY-MM-DD"))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(path, f"{value!r} is not a calendar date"))
        return None


def _strings(value: Any, path: str, errors: list[FieldError], *, max_items: int | None = None,
             allowed: tuple[str, ...] | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or (
            max_items is not None and len(value) > max_items):
        most = f" (at most {max_items})" if max_items is not None else ""
        errors.append(FieldError(path, f"must be a list of strings{most}"))
        return []
    for i, item in enumerate(value):
        if allowed is not None and item not in allowed:
            errors.append(FieldError(f"{path}[{i}]", f"must be one of {', '.join(allowed)}"))
    return value


def _request_id(body: dict, errors: list[FieldError]) -> None:
    if not isinstance(body.get("request_id"), str) or not body["request_id"].strip():
        errors.append(FieldError("request_id", "is a mandatory field (a non-empty string)"))


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ValidationFailed("body must be a JSON object", path="body")
    return body


# -- campaign stats (§3) -----------------------------------------------------------------------

def _day_start_ms(day: date, zone: ZoneInfo) -> int:
    return to_ms(datetime.combine(day, time(0), tzinfo=zone))


def campaign_stats(ctx: Context, body: Any) -> dict:
    body = _object(body)
    errors: list[FieldError] = []
    _request_id(body, errors)
    ids = body.get("campaign_ids")
    if ids is not None:
        ids = _strings(ids, "campaign_ids", errors, max_items=MAX_CAMPAIGN_IDS)
    start = _date(body.get("start_date"), "start_date", errors)
    end = _date(body.get("end_date"), "end_date", errors)
    if start and end and end < start:
        errors.append(FieldError("end_date", "must not be before start_date"))
    elif start and end and (end - start).days > MAX_SPAN_DAYS:
        errors.append(FieldError("end_date", f"the days between start_date and end_date must "
                                             f"not exceed {MAX_SPAN_DAYS}"))
    for key, allowed in (("attribution_type", ATTRIBUTION_TYPES), ("metric_type", METRIC_TYPES)):
        if body.get(key) not in allowed:
            errors.append(FieldError(key, f"must be one of {', '.join(allowed)}"))
    offset = _int(body, "offset", errors, low=0, high=None, default=0)
    limit = _int(body, "limit", errors, low=1, high=MAX_STATS_LIMIT, default=MAX_STATS_LIMIT)
    if errors:
        raise ValidationFailed("invalid campaign stats request", errors=errors)
    zone = ZoneInfo(ctx.settings.app_timezone)
    time_range = (_day_start_ms(start, zone), _day_start_ms(end + timedelta(days=1), zone))
    unique = body["metric_type"] == "UNIQUE"
    with ctx.store.read() as db:
        if ids:
            chosen = list(dict.fromkeys(ids))
        else:
            chosen = store.active_between(db, *time_range)
        page = chosen[offset:offset + limit]
        # stats-report.yaml's "With Campaign IDs" example asks for ids the workspace need not
        # have and documents no error for them: an unknown id counts in total_campaigns (the
        # ids "requested in the payload") and has no entry in data (docs/decisions.md)
        data = {campaign_id: [{"platforms": {PLATFORM: {"locales": {"all_locales": {
            "variations": _variations(db, campaign_id, time_range, unique)}}}}}]
            for campaign_id in page if not ids or table.get(db, campaign_id) is not None}
    return {"response_id": body["request_id"], "total_campaigns": len(chosen),
            "current_page": offset // limit + 1,
            "total_pages": math.ceil(len(chosen) / limit), "data": data}


def _snake(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _failure_key(reason: str | None) -> str:
    """A failed delivery's ``kind:detail`` reason as a snake_case breakdown key."""
    kind, _, detail = (reason or "unknown:").partition(":")
    if kind == "http":
        return f"http_status_{detail}"
    if kind == "personalization":
        return f"personalization_failed_{_snake(detail)}"
    if kind == "not_send":
        return "moe_not_send"   # the reasons are free text, written by the template
    return _snake(f"{kind}_{detail}") or "unknown"


def _variations(db, campaign_id: str, time_range: tuple[int, int], unique: bool) -> dict:
    """``all_variations``, ``campaign_control_group`` and ``global_control_group`` of one
    campaign (a periodic parent adds up its instances), from the delivery log in range."""
    children = [c["id"] for c in table.instances(db, campaign_id)]
    counts: dict[tuple[str, str | None], int] = {}
    for (_, outcome, reason), n in store.touches(db, children or [campaign_id],
                                                 time_range=time_range).items():
        counts[outcome, reason] = counts.get((outcome, reason), 0) + n
    sent = sum(n for (outcome, _), n in counts.items() if outcome == "sent")
    failed = sum(n for (outcome, _), n in counts.items() if outcome == "failed")
    attempted = sent + failed
    removed = {reason: n for (outcome, reason), n in counts.items() if outcome == "removed"}
    breakdown: dict[str, int] = {}
    for (outcome, reason), n in sorted(counts.items(), key=lambda kv: str(kv[0])):
        if outcome == "failed":
            key = _failure_key(reason)
        elif outcome == "removed" and reason not in CONTROL_GROUPS:
            key = REMOVED_KEYS.get(reason) or f"user_removed_due_to_{_snake(reason or '')}"
        else:
            continue
        breakdown[key] = breakdown.get(key, 0) + n
    funnel = gate_rules.funnel(counts)
    goals = goal_stats(db, campaign_id, time_range=time_range).get(campaign_id, {})

    def goal_node(figures: dict, uplift: float, gcg_uplift: float) -> dict:
        return {"goal_name": figures["name"],
                "conversions": figures["converted_users"] if unique else figures["conversions"],
                "total": figures["conversions"], "unique": figures["converted_users"],
                "cvr": figures["cvr"], "uplift": uplift, "gcg_uplift": gcg_uplift,
                "revenue": figures["revenue"], "average_order_value": figures["aov"],
                "average_revenue_per_user": figures["arpu"]}

    variations = {"all_variations": {
        "performance_stats": {
            "attempted": attempted, "sent": sent, "failed": failed,
            "sent_rate": round(sent / attempted * 100, 2) if attempted else 0.0,
            "failure_rate": round((attempted - sent) / attempted * 100, 2) if attempted else 0.0},
        "conversion_goal_stats": {name: goal_node({"name": name, **g}, g["uplift"],
                                                  g["gcg_uplift"]) for name, g in goals.items()},
        "delivery_funnel": {"reachable_users_in_segment": funnel["in_segment"],
                            "after_fc": funnel["after_gates"],
                            "users_after_dup": funnel["after_duplicate_removal"],
                            "after_personalization_removal": funnel["after_personalization"],
                            "sent": sent},
        "failure_breakdown": breakdown}}
    for group in CONTROL_GROUPS:
        size = removed.get(group, 0)
        variations[group] = {
            "conversion_goal_stats": {name: goal_node({"name": name, **g[group]}, 0.0, 0.0)
                                      for name, g in goals.items()},
            "delivery_funnel": {"reachable_users_in_segment": size},
            "failure_breakdown": {REMOVED_KEYS[group]: size} if size else {}}
    return variations


# -- campaign search (§4, V1) ------------------------------------------------------------------

def _moe_time(ms: int | None) -> str | None:
    """§4.2: UTC with a space and microseconds, ``2024-07-04 08:00:54.847000``."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _check_search(body: dict) -> dict:
    errors: list[FieldError] = []
    _request_id(body, errors)
    _int(body, "limit", errors, low=1, high=MAX_SEARCH_LIMIT, default=None)
    _int(body, "page", errors, low=1, high=None, default=None)
    for key in ("include_archive_campaigns", "include_child_campaigns"):
        if not isinstance(body.get(key, False), bool):
            errors.append(FieldError(key, "must be true or false"))
    fields = body.get("campaign_fields", {})
    if not isinstance(fields, dict):
        errors.append(FieldError("campaign_fields", "must be an object"))
        fields = {}
    for key in fields:
        if key not in SEARCH_FIELDS:
            errors.append(FieldError(f"campaign_fields.{key}", f"is not a V1 search field: "
                                     f"{', '.join(SEARCH_FIELDS)}"))
    for key, allowed in (("channels", SEARCH_CHANNELS), ("delivery_type", SEARCH_DELIVERY_TYPES),
                         ("status", SEARCH_STATUSES), ("created_by", None), ("tags", None)):
        if key in fields:
            _strings(fields[key], f"campaign_fields.{key}", errors, allowed=allowed)
    for key in ("id", "name"):
        if key in fields and (not isinstance(fields[key], str) or not fields[key]):
            errors.append(FieldError(f"campaign_fields.{key}", "must be a non-empty string"))
    if "created_date" in fields:
        window = fields["created_date"]
        if not isinstance(window, dict) or not window:
            errors.append(FieldError("campaign_fields.created_date",
                                     "must be an object {from_date, to_date}"))
        else:
            days = {key: _date(window[key], f"campaign_fields.created_date.{key}", errors)
                    for key in ("from_date", "to_date") if key in window}
            if days.get("from_date") and days.get("to_date") and \
                    days["to_date"] < days["from_date"]:
                errors.append(FieldError("campaign_fields.created_date.to_date",
                                         "must not be before from_date"))
    if errors:
        raise ValidationFailed("invalid campaign search", errors=errors)
    return fields


def _matches(row: dict, fields: dict) -> bool:
    body = row["body"]
    created = datetime.fromtimestamp(row["created_at"] / 1000, tz=timezone.utc).date()
    window = fields.get("created_date", {})
    tags = (body.get("basic_details") or {}).get("tags") or []
    return all((
        "channels" not in fields or row["channel"] in fields["channels"],
        "delivery_type" not in fields or row["delivery_type"] in fields["delivery_type"],
        "status" not in fields or row["status"] in fields["status"],
        "created_by" not in fields or str(body.get("created_by", "")).lower() in
        {c.lower() for c in fields["created_by"]},
        "tags" not in fields or bool(set(tags) & set(fields["tags"])),
        "id" not in fields or row["id"] == fields["id"],
        "name" not in fields or fields["name"].lower() in row["name"].lower(),
        "from_date" not in window or created >= date.fromisoformat(window["from_date"]),
        "to_date" not in window or created <= date.fromisoformat(window["to_date"]),
    ))


def _item(row: dict) -> dict:
    body = row["body"]
    item = {**body, "campaign_id": row["id"], "status": shown_status(row["status"]),
            "channel": row["channel"], "campaign_delivery_type": row["delivery_type"],
            "created_by": body.get("created_by"),
            "updated_by": body.get("updated_by", body.get("created_by")),
            "created_at": _moe_time(row["created_at"]), "updated_at": _moe_time(row["updated_at"]),
            "sent_time": _moe_time(row["sent_at"])}
    if row["parent_id"] is not None:
        item["parent_id"] = row["parent_id"]
        item["basic_details"] = {**(body.get("basic_details") or {}), "name": row["name"]}
    return item


def shown_status(status: str) -> str:
    """campaign-api.md §2.4: the V1 response examples write a status in title case
    ("Active", "Scheduled", "Sent") while the search filter takes the upper-case enum."""
    return status.replace("_", " ").title()


def search(ctx: Context, body: Any) -> list[dict]:
    """V1 ``POST /campaigns/search``: a bare array, oldest first; a short page is the last."""
    body = _object(body)
    fields = _check_search(body)
    with ctx.store.read() as db:
        rows = []
        for parent in table.all_(db):
            rows.append(parent)
            if body.get("include_child_campaigns", False):
                rows += table.instances(db, parent["id"])
    chosen = [row for row in rows if _matches(row, fields)]
    first = (body["page"] - 1) * body["limit"]
    return [_item(row) for row in chosen[first:first + body["limit"]]]
