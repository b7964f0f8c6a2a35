"""Checking ``scheduling_details`` (spec §5.3, campaign-api.md §1.6) before a campaign is
created: every problem, each with its JSON path.

Values are read by the same readers ``recurrence`` computes with, so a body that passes
``check_schedule`` is one the fire-time functions accept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .errors import FieldError
from .recurrence import (
    ALLOWED,
    ASAP,
    AT_FIXED_TIME,
    EVENT_TRIGGERED,
    FREQUENCIES,
    GRANULARITY,
    ONE_TIME,
    PERIODIC,
    SCHEDULE_TYPES,
    SEND_IN_BTS,
    SEND_IN_USER_TIMEZONE,
    WEEKDAYS,
    is_int,
    parse_clock,
    schedule_zone,
    to_utc,
    wall_clock,
)
from .timestamps import iso

NOT_AVAILABLE_POLICIES = ("send_at_start_time", "send_at_app_bts", "do_not_send")
OUTSIDE_WINDOW_POLICIES = ("send_at_window_end", "send_at_start_time", "do_not_send")


def check_schedule(scheduling: Any, campaign_delivery_type: str, now: datetime,
                   path: str = "scheduling_details") -> list[FieldError]:
    """Every problem in ``scheduling_details``, each with its JSON path."""
    if not isinstance(scheduling, dict):
        return [FieldError(path, "is required (an object)")]
    errors: list[FieldError] = []

    def fail(key: str, message: str) -> None:
        errors.append(FieldError(f"{path}.{key}", message))

    kind = scheduling.get("delivery_type")
    allowed = ALLOWED.get(campaign_delivery_type, SCHEDULE_TYPES)
    if kind not in allowed:
        kind = None  # no checks that hang on a delivery type we reject
        fail("delivery_type", f"must be one of {', '.join(allowed)}"
             + (f" for {campaign_delivery_type} campaigns" if allowed != SCHEDULE_TYPES else ""))
    try:
        zone, zone_known = schedule_zone(scheduling), True
    except ValueError as problem:
        fail("timezone", str(problem))
        zone, zone_known = UTC, False
    instants: dict[str, datetime] = {}
    for key in ("start_time", "expiry_time"):
        if scheduling.get(key) is not None:
            try:
                instants[key] = to_utc(wall_clock(scheduling[key], zone), zone)
            except ValueError as problem:
                fail(key, str(problem))
    start, expiry = instants.get("start_time"), instants.get("expiry_time")
    if scheduling.get("start_time") is None and kind in SCHEDULE_TYPES and kind != ASAP \
            and campaign_delivery_type != EVENT_TRIGGERED:
        fail("start_time", f"is required for delivery_type {kind}")
    if zone_known and start and start < now and campaign_delivery_type == ONE_TIME \
            and kind in (AT_FIXED_TIME, SEND_IN_BTS):
        fail("start_time", f"is in the past ({iso(start)}; now is {iso(now)})")
    if zone_known and expiry and start and expiry <= start:
        fail("expiry_time", "must be after start_time")
    elif zone_known and expiry and expiry < now and campaign_delivery_type != ONE_TIME:
        fail("expiry_time", f"is in the past ({iso(expiry)}; now is {iso(now)})")

    periodic = scheduling.get("periodic_details")
    if campaign_delivery_type == PERIODIC:
        if isinstance(periodic, dict):
            _check_periodic(periodic, f"{path}.periodic_details", errors)
        else:
            fail("periodic_details", "is required (an object) for PERIODIC campaigns")
    elif periodic not in (None, {}) and campaign_delivery_type in ALLOWED:
        fail("periodic_details", "applies only to PERIODIC campaigns")
    if kind == SEND_IN_BTS:
        _check_bts(scheduling.get("bts_details"), f"{path}.bts_details", errors)
    if kind == SEND_IN_USER_TIMEZONE:
        details = scheduling.get("user_timezone_details")
        where = f"{path}.user_timezone_details"
        if not isinstance(details, dict):
            errors.append(FieldError(where, "is required (an object) for SEND_IN_USER_TIMEZONE"))
        else:
            for key in ("send_in_user_timezone", "send_if_user_timezone_has_passed"):
                if details.get(key) is not None and not isinstance(details[key], bool):
                    errors.append(FieldError(f"{where}.{key}", "must be true or false"))
    return errors


def _check_weekdays(value: Any, where: str, errors: list[FieldError], required: bool) -> None:
    if value is None or value == []:
        if required:
            errors.append(FieldError(where, "is required (a non-empty list of weekdays)"))
    elif not isinstance(value, list):
        errors.append(FieldError(where, "must be a list of weekdays (MONDAY ... SUNDAY)"))
    else:
        errors += [FieldError(f"{where}[{i}]", f"must be one of {', '.join(WEEKDAYS)}")
                   for i, day in enumerate(value) if day not in WEEKDAYS]


def _check_periodic(periodic: dict, where: str, errors: list[FieldError]) -> None:
    frequency = periodic.get("sending_frequency")
    if frequency not in FREQUENCIES:
        errors.append(FieldError(f"{where}.sending_frequency",
                                 f"is required: one of {', '.join(FREQUENCIES)}"))
    for key in ("repeat_frequency", "no_of_occurences"):
        value = periodic.get(key)
        if value is not None and not (is_int(value) and value >= 1):
            errors.append(FieldError(f"{where}.{key}", "must be an integer >= 1"))
    applies = {"repeat_on_date_of_month": ("MONTHLY",),
               "repeat_on_days_of_week": ("WEEKLY", "MONTHLY"),
               "repeat_on_days_of_week_for_month": ("MONTHLY",)}
    for key, frequencies in applies.items():
        value = periodic.get(key)
        if value in (None, []):
            continue
        if frequency in FREQUENCIES and frequency not in frequencies:
            errors.append(FieldError(f"{where}.{key}",
                                     f"applies only to {' and '.join(frequencies)} schedules"))
        elif key == "repeat_on_days_of_week":
            _check_weekdays(value, f"{where}.{key}", errors, required=False)
        elif not isinstance(value, list):
            errors.append(FieldError(f"{where}.{key}", "must be a list"))
        elif key == "repeat_on_date_of_month":
            errors += [FieldError(f"{where}.{key}[{i}]", "must be a day of the month, 1-31")
                       for i, day in enumerate(value) if not (is_int(day) and 1 <= day <= 31)]
        else:
            for i, item in enumerate(value):
                at = f"{where}.{key}[{i}]"
                if not isinstance(item, dict):
                    errors.append(FieldError(at, "must be an object"))
                    continue
                if item.get("week_granularity") not in GRANULARITY:
                    errors.append(FieldError(f"{at}.week_granularity",
                                             f"must be one of {', '.join(GRANULARITY)}"))
                _check_weekdays(item.get("repeat_on_days_of_week"),
                                f"{at}.repeat_on_days_of_week", errors, required=True)


def _check_bts(details: Any, where: str, errors: list[FieldError]) -> None:
    if not isinstance(details, dict):
        errors.append(FieldError(where, "is required (an object) for SEND_IN_BTS"))
        return
    try:
        parse_clock(details.get("window_end_time"))
    except ValueError as problem:
        errors.append(FieldError(f"{where}.window_end_time", str(problem)))
    for key, policies in (("if_user_bts_is_not_available", NOT_AVAILABLE_POLICIES),
                          ("if_user_bts_outside_time_window", OUTSIDE_WINDOW_POLICIES)):
        if details.get(key) is not None and details[key] not in policies:
            errors.append(FieldError(f"{where}.{key}", f"must be one of {', '.join(policies)}"))
    if details.get("send_in_bts") is not None and not isinstance(details["send_in_bts"], bool):
        errors.append(FieldError(f"{where}.send_in_bts", "must be true or false"))
