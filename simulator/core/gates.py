"""Delivery gates (spec §5.5, in the order of §5.6): the rules that hold a targeted user back,
as pure functions. Time, seeds and counts come in as arguments.

Order per user: remove duplicates (one-time, periodic) -> global control group -> limit
messages per user -> frequency capping -> campaign control group -> campaign audience limit ->
DND (event-triggered) -> throttle (pacing, removes nobody).
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from .errors import FieldError

# Reasons recorded on a held-back user's delivery row (outcome "removed"), in gate order.
DUPLICATE = "duplicate"
GLOBAL_CONTROL_GROUP = "global_control_group"
LIMIT_PER_USER = "limit_per_user"
FREQUENCY_CAPPING = "frequency_capping"
CAMPAIGN_CONTROL_GROUP = "campaign_control_group"
AUDIENCE_LIMIT = "audience_limit"
DND = "dnd"
ORDER = (DUPLICATE, GLOBAL_CONTROL_GROUP, LIMIT_PER_USER, FREQUENCY_CAPPING,
         CAMPAIGN_CONTROL_GROUP, AUDIENCE_LIMIT, DND)
CONTROL_GROUP_EVENT = "User added to control group"   # spec §5.5 (S19, S20)

THROTTLE_DEFAULT, THROTTLE_MIN, THROTTLE_MAX = 60_000, 1_000, 200_000   # spec §5.3
THROTTLE_FINISH_MINUTES = 4 * 60
LIMIT_MAX = 9_999_999_999                                               # campaign-api §1.10
WINDOW_UNITS = {"HOURS": 24 * 365, "DAYS": 365, "WEEKS": 52, "MONTHS": 12, "YEAR": 1}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# ---- campaign-level settings -------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_campaign(body: dict) -> list[FieldError]:
    """``delivery_controls``, ``control_group_details``, ``campaign_audience_limit`` and the
    dedup attribute (``basic_details.deduplication_attribute``, campaign-api §1.7 [I])."""
    errors: list[FieldError] = []
    delivery = body.get("campaign_delivery_type")
    dedup = (body.get("basic_details") or {}).get("deduplication_attribute") \
        if isinstance(body.get("basic_details"), dict) else None
    if dedup is not None:
        names = dedup if isinstance(dedup, list) else [dedup]
        if not names or not all(isinstance(n, str) and n for n in names):
            errors.append(FieldError("basic_details.deduplication_attribute",
                                     "must be an attribute name or a list of them"))
        elif delivery == "EVENT_TRIGGERED":
            errors.append(FieldError("basic_details.deduplication_attribute",
                                     "applies to one-time and periodic campaigns only"))
    errors += _check_controls(body.get("delivery_controls"), delivery)
    errors += _check_control_groups(body.get("control_group_details"))
    errors += _check_audience_limit(body.get("campaign_audience_limit"), delivery)
    return errors


def _check_controls(controls: Any, delivery: Any) -> list[FieldError]:
    if controls is None:
        return []
    where = "delivery_controls"
    if not isinstance(controls, dict):
        return [FieldError(where, "must be an object")]
    errors = [FieldError(f"{where}.{key}", "must be true or false")
              for key in ("bypass_dnd", "ignore_frequency_capping", "count_for_frequency_capping")
              if key in controls and not isinstance(controls[key], bool)]
    rpm = controls.get("campaign_throttle_rpm")
    if rpm is not None and (not _is_int(rpm) or not THROTTLE_MIN <= rpm <= THROTTLE_MAX):
        errors.append(FieldError(f"{where}.campaign_throttle_rpm",
                                 f"must be an integer {THROTTLE_MIN:,}-{THROTTLE_MAX:,}"))
    limit = controls.get("limit_send_config")
    if limit is None:
        return errors
    where += ".limit_send_config"
    if not isinstance(limit, dict):
        return errors + [FieldError(where, "must be an object")]
    if not isinstance(limit.get("enabled"), bool):
        errors.append(FieldError(f"{where}.enabled", "is required (true or false)"))
    if limit.get("enabled") is not True:
        return errors
    if delivery not in ("PERIODIC", "EVENT_TRIGGERED"):
        errors.append(FieldError(where, "applies to PERIODIC and EVENT_TRIGGERED campaigns"))
    for key in ("max_count", "window_value"):
        if not _is_int(limit.get(key)) or limit[key] < 1:
            errors.append(FieldError(f"{where}.{key}", "is required (an integer >= 1)"))
    unit = limit.get("window_unit")
    if unit not in WINDOW_UNITS:
        errors.append(FieldError(f"{where}.window_unit", f"must be one of {', '.join(WINDOW_UNITS)}"))
    else:
        if unit == "HOURS" and delivery != "EVENT_TRIGGERED":
            errors.append(FieldError(f"{where}.window_unit",
                                     "HOURS is for EVENT_TRIGGERED campaigns only"))
        if _is_int(limit.get("window_value")) and limit["window_value"] > WINDOW_UNITS[unit]:
            errors.append(FieldError(f"{where}.window_value", "the window is at most 1 year"))
    return errors


def _check_control_groups(details: Any) -> list[FieldError]:
    if details is None:
        return []
    where = "control_group_details"
    if not isinstance(details, dict):
        return [FieldError(where, "must be an object")]
    errors = [FieldError(f"{where}.{key}", "must be true or false")
              for key in ("is_campaign_control_group_enabled", "is_global_control_group_enabled")
              if key in details and not isinstance(details[key], bool)]
    percentage = details.get("campaign_control_group_percentage")
    if details.get("is_campaign_control_group_enabled") is True or percentage is not None:
        if not _is_int(percentage) or not 0 <= percentage <= 100:
            errors.append(FieldError(f"{where}.campaign_control_group_percentage",
                                     "is required (an integer 0-100)"))
    return errors


# spec §5.5 support table (+ [I] DAILY as the API's spelling of the UI's daily limit)
AUDIENCE_LIMIT_FREQUENCIES = {"ONE_TIME": ("TOTAL",), "PERIODIC": ("TOTAL", "INSTANCE"),
                              "EVENT_TRIGGERED": ("TOTAL", "DAILY")}


def _check_audience_limit(limit: Any, delivery: Any) -> list[FieldError]:
    if limit is None:
        return []
    where = "campaign_audience_limit"
    if not isinstance(limit, dict):
        return [FieldError(where, "must be an object")]
    enabled = limit.get("is_campaign_audience_limit_enabled")
    if not isinstance(enabled, bool):
        return [FieldError(f"{where}.is_campaign_audience_limit_enabled",
                           "is required (true or false)")]
    if not enabled:
        return [FieldError(f"{where}.{key}", "must be absent when the limit is disabled")
                for key in ("metric", "frequency", "limit") if key in limit]
    errors = []
    if not _is_int(limit.get("limit")) or not 1 <= limit["limit"] <= LIMIT_MAX:
        errors.append(FieldError(f"{where}.limit", f"is required (an integer 1-{LIMIT_MAX:,})"))
    if delivery == "ONE_TIME":
        # campaign-api §1.10: one-time campaigns send only the flag and the limit
        errors += [FieldError(f"{where}.{key}", "is not accepted for ONE_TIME campaigns")
                   for key in ("metric", "frequency") if key in limit]
        return errors
    if limit.get("metric") != "SENT":
        errors.append(FieldError(f"{where}.metric", "is required: SENT"))
    allowed = AUDIENCE_LIMIT_FREQUENCIES.get(delivery, ("TOTAL",))
    if limit.get("frequency") not in allowed:
        errors.append(FieldError(f"{where}.frequency",
                                 f"must be one of {', '.join(allowed)} for {delivery}"))
    return errors


def controls(body: dict) -> dict:
    return body.get("delivery_controls") or {}


def counts_for_frequency_capping(body: dict) -> bool:
    """A campaign that ignores FC still counts towards later caps when it says so."""
    c = controls(body)
    return not c.get("ignore_frequency_capping") or bool(c.get("count_for_frequency_capping"))


def dedup_keys(body: dict) -> list[str]:
    names = (body.get("basic_details") or {}).get("deduplication_attribute")
    if not names:
        return []
    return names if isinstance(names, list) else [names]


# ---- workspace settings ------------------------------------------------------------------

def check_global_control_group(config: Any) -> list[FieldError]:
    """``{"enabled", "percentage"?: 0-100 | "customer_ids"?: [...], "allow_campaign_opt_out"?}``"""
    if not isinstance(config, dict):
        return [FieldError("body", "must be an object")]
    errors = []
    if not isinstance(config.get("enabled"), bool):
        errors.append(FieldError("enabled", "is required (true or false)"))
    has_pct, has_ids = "percentage" in config, "customer_ids" in config
    if config.get("enabled") and has_pct == has_ids:
        errors.append(FieldError("percentage", "give either percentage or customer_ids"))
    if has_pct and (not isinstance(config["percentage"], (int, float)) or
                    isinstance(config["percentage"], bool) or
                    not 0 <= config["percentage"] <= 100):
        errors.append(FieldError("percentage", "must be a number 0-100"))
    if has_ids and (not isinstance(config["customer_ids"], list) or
                    not all(isinstance(c, str) and c for c in config["customer_ids"])):
        errors.append(FieldError("customer_ids", "must be a list of customer ids"))
    if "allow_campaign_opt_out" in config and not isinstance(config["allow_campaign_opt_out"],
                                                             bool):
        errors.append(FieldError("allow_campaign_opt_out", "must be true or false"))
    errors += _unknown(config, {"enabled", "percentage", "customer_ids", "allow_campaign_opt_out"})
    return errors


def check_frequency_capping(config: Any) -> list[FieldError]:
    """``{"enabled", "refresh": "app"|"user", "rules": [{"max_messages", "days",
    "delivery_types"?: [...], "tags"?: [...], "tag_match"?: "any"|"all"}]}``"""
    if not isinstance(config, dict):
        return [FieldError("body", "must be an object")]
    errors = []
    if not isinstance(config.get("enabled"), bool):
        errors.append(FieldError("enabled", "is required (true or false)"))
    if config.get("refresh", "app") not in ("app", "user"):
        errors.append(FieldError("refresh", "must be 'app' or 'user'"))
    rules = config.get("rules")
    if not isinstance(rules, list) or (config.get("enabled") and not rules):
        errors.append(FieldError("rules", "is required (a list of at least one rule)"))
        rules = []
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        if not isinstance(rule, dict):
            errors.append(FieldError(where, "must be an object"))
            continue
        for key, low, high in (("max_messages", 1, 1000), ("days", 1, 30)):
            if not _is_int(rule.get(key)) or not low <= rule[key] <= high:
                errors.append(FieldError(f"{where}.{key}", f"is required (an integer {low}-{high})"))
        kinds = rule.get("delivery_types", [])
        if not isinstance(kinds, list) or not set(kinds) <= {"ONE_TIME", "PERIODIC",
                                                              "EVENT_TRIGGERED"}:
            errors.append(FieldError(f"{where}.delivery_types",
                                     "must list ONE_TIME, PERIODIC or EVENT_TRIGGERED"))
        tags = rule.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors.append(FieldError(f"{where}.tags", "must be a list of tags"))
        if rule.get("tag_match", "any") not in ("any", "all"):
            errors.append(FieldError(f"{where}.tag_match", "must be 'any' or 'all'"))
        errors += _unknown(rule, {"max_messages", "days", "delivery_types", "tags", "tag_match"},
                           where + ".")
    errors += _unknown(config, {"enabled", "refresh", "rules"})
    return errors


def check_dnd(config: Any) -> list[FieldError]:
    """``{"enabled", "from": "HH:MM", "to": "HH:MM", "action": "discard"|"queue",
    "queue_mode"?: "all"|"one_per_campaign", "order"?: "FIFO"|"LIFO"}``"""
    if not isinstance(config, dict):
        return [FieldError("body", "must be an object")]
    errors = []
    if not isinstance(config.get("enabled"), bool):
        errors.append(FieldError("enabled", "is required (true or false)"))
    for key in ("from", "to"):
        if not isinstance(config.get(key), str) or not _HHMM.match(config[key]):
            errors.append(FieldError(key, "is required (HH:MM, 24-hour)"))
    if config.get("action") not in ("discard", "queue"):
        errors.append(FieldError("action", "must be 'discard' or 'queue'"))
    if config.get("queue_mode", "all") not in ("all", "one_per_campaign"):
        errors.append(FieldError("queue_mode", "must be 'all' or 'one_per_campaign'"))
    if config.get("order", "FIFO") not in ("FIFO", "LIFO"):
        errors.append(FieldError("order", "must be 'FIFO' or 'LIFO'"))
    errors += _unknown(config, {"enabled", "from", "to", "action", "queue_mode", "order"})
    return errors


def _unknown(config: dict, known: set, prefix: str = "") -> list[FieldError]:
    return [FieldError(prefix + key, "is not a known key") for key in sorted(set(config) - known)]


# ---- decisions ---------------------------------------------------------------------------

def unit_draw(*parts: Any) -> float:
    """A stable number in [0, 1) for the parts: seeded draws that repeat run after run."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def in_global_control_group(config: dict | None, seed: int, customer_id: str,
                            members: frozenset | None = None) -> bool:
    """Stable membership: a seeded draw per user (new users fall in at the same rate), or the
    uploaded list."""
    if not config or not config.get("enabled"):
        return False
    if "customer_ids" in config:
        return customer_id in (members if members is not None else set(config["customer_ids"]))
    return unit_draw("gcg", seed, customer_id) * 100 < config.get("percentage", 0)


def global_control_group_applies(config: dict | None, body: dict) -> bool:
    """The campaign toggle only counts when the workspace lets marketers opt out."""
    if not config or not config.get("enabled"):
        return False
    wanted = (body.get("control_group_details") or {}).get("is_global_control_group_enabled")
    return wanted is not False or not config.get("allow_campaign_opt_out", False)


def campaign_control_group_enabled(body: dict) -> bool:
    return bool((body.get("control_group_details") or {})
                .get("is_campaign_control_group_enabled"))


def in_campaign_control_group(body: dict, seed: int, campaign_id: str, draw: Any,
                              customer_id: str) -> bool:
    """spec §5.5 (S19): not sticky, re-drawn per instance or trigger (``draw``)."""
    if not campaign_control_group_enabled(body):
        return False
    percentage = body["control_group_details"].get("campaign_control_group_percentage", 0)
    return unit_draw("ccg", seed, campaign_id, draw, customer_id) * 100 < percentage


def limit_window_start(now: datetime, limit: dict) -> datetime:
    """``limit_send_config``: a rolling window ending now."""
    value, unit = limit["window_value"], limit["window_unit"]
    if unit == "HOURS":
        return now - timedelta(hours=value)
    if unit == "DAYS":
        return now - timedelta(days=value)
    if unit == "WEEKS":
        return now - timedelta(weeks=value)
    return now - relativedelta(months=value if unit == "MONTHS" else 12 * value)


def day_start(now: datetime, zone: ZoneInfo, days_back: int = 0) -> datetime:
    """00:00 in ``zone`` of the day ``days_back`` days before ``now``'s local day."""
    local = now.astimezone(zone).date() - timedelta(days=days_back)
    return datetime.combine(local, time(0), zone)


def rule_applies(rule: dict, delivery_type: str, tags: list[str]) -> bool:
    kinds = rule.get("delivery_types") or []
    if kinds and delivery_type not in kinds:
        return False
    wanted = rule.get("tags") or []
    if not wanted:
        return True
    if rule.get("tag_match", "any") == "all":
        return set(wanted) <= set(tags)
    return bool(set(wanted) & set(tags))


def dnd_end(config: dict | None, local: datetime) -> datetime | None:
    """When ``local`` (the user's local time) falls in the DND window, the local time it ends."""
    if not config or not config.get("enabled"):
        return None
    start = time(*map(int, config["from"].split(":")))
    end = time(*map(int, config["to"].split(":")))
    now = local.timetz().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        inside = start <= now < end
        end_day = local.date()
    else:  # over midnight, e.g. 22:00-08:00
        inside = now >= start or now < end
        end_day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, local.tzinfo)


def funnel(counts: dict[tuple[str, str | None], int]) -> dict[str, int]:
    """The Connector funnel (spec §4 [I], in gate order) from delivery-log counts keyed by
    ``(outcome, reason)``: in segment = removed + attempted; personalization losses are the
    ``personalization:`` and ``not_send:`` failures."""
    sent = sum(n for (outcome, _), n in counts.items() if outcome == "sent")
    attempted = sent + sum(n for (outcome, _), n in counts.items() if outcome == "failed")
    removed = sum(n for (outcome, _), n in counts.items() if outcome == "removed")
    duplicates = counts.get(("removed", DUPLICATE), 0)
    unrendered = sum(n for (outcome, reason), n in counts.items() if outcome == "failed" and
                     (reason or "").startswith(("personalization:", "not_send:")))
    in_segment = removed + attempted
    return {"in_segment": in_segment, "after_duplicate_removal": in_segment - duplicates,
            "after_gates": attempted, "after_personalization": attempted - unrendered,
            "sent": sent}


def throttle_rpm(body: dict, audience: int) -> int:
    """spec §5.3: the campaign's rate (default 60,000/min), raised so the send finishes in 4 h."""
    rpm = controls(body).get("campaign_throttle_rpm") or THROTTLE_DEFAULT
    return max(rpm, math.ceil(audience / THROTTLE_FINISH_MINUTES))


def paced_offset_ms(position: int, rpm: int) -> int:
    """The virtual send time of the ``position``-th request after the start, at ``rpm``."""
    return position * 60_000 // rpm
