"""When a campaign sends (spec §5.3, campaign-api.md §1.6 ``scheduling_details``).

Pure: ``now`` and the previous fire come in as arguments, like APScheduler's
``get_next_fire_time(previous, now)``. Every datetime returned is aware UTC.

How a schedule is read:

- ``start_time`` is a wall clock in the campaign ``timezone`` (IANA; UTC when absent), to
  the second. A value carrying ``Z`` or an offset names an instant; its wall clock in
  ``timezone`` is used.
- Recurrences are computed on wall clocks with ``dateutil.rrule`` (stack-findings §2) and
  turned into instants afterwards, so DST nights follow PEP 495 ``fold=0``: a time in the
  spring-forward gap is read with the offset in force before the gap (02:30 in New York on
  2026-03-08 sends at 03:30 EDT, 07:30 UTC); a repeated time on the fall-back night sends
  once, at its first occurrence (01:30 EDT).
- ``expiry_time`` ends a periodic campaign (a fire exactly at it still sends) and closes
  an event-triggered campaign's active window; ``no_of_occurences`` counts real sends,
  which the caller keeps (``fired_count``), so occurrences missed before creation do not
  count.

The functions here expect a body that passed ``schedule_checks.check_schedule`` and raise
``ValueError`` otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule as rr

ONE_TIME, PERIODIC, EVENT_TRIGGERED = "ONE_TIME", "PERIODIC", "EVENT_TRIGGERED"
ASAP, AT_FIXED_TIME = "ASAP", "AT_FIXED_TIME"
SEND_IN_BTS, SEND_IN_USER_TIMEZONE = "SEND_IN_BTS", "SEND_IN_USER_TIMEZONE"
SCHEDULE_TYPES = (ASAP, AT_FIXED_TIME, SEND_IN_BTS, SEND_IN_USER_TIMEZONE)
# Which scheduling_details.delivery_type each campaign_delivery_type takes (spec §5.3).
ALLOWED = {ONE_TIME: SCHEDULE_TYPES,
           PERIODIC: (AT_FIXED_TIME, SEND_IN_USER_TIMEZONE, SEND_IN_BTS),
           EVENT_TRIGGERED: (AT_FIXED_TIME, ASAP)}
FREQUENCIES = {"DAILY": rr.DAILY, "WEEKLY": rr.WEEKLY, "MONTHLY": rr.MONTHLY}
WEEKDAYS = {"MONDAY": rr.MO, "TUESDAY": rr.TU, "WEDNESDAY": rr.WE, "THURSDAY": rr.TH,
            "FRIDAY": rr.FR, "SATURDAY": rr.SA, "SUNDAY": rr.SU}
# FIFTH is not in the API's enum; the UI offers it (spec §5.3 "a missing fifth Saturday").
GRANULARITY = {"FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4, "FIFTH": 5, "LAST": -1}
# The UTC offsets in use (Etc/GMT+12 .. Pacific/Kiritimati): nobody's wall clock is further
# ahead than MAX_UTC_OFFSET.
MIN_UTC_OFFSET, MAX_UTC_OFFSET = timedelta(hours=-12), timedelta(hours=14)

_WALL_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
                      r"(?:Z|[+-]\d{2}:?\d{2})?$")
_CLOCK_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*(?:([ap])\.?m\.?)?$",
                       re.IGNORECASE)


# ---- reading values (one reader each, shared with schedule_checks) ----------------------

def schedule_zone(scheduling: dict) -> ZoneInfo | timezone:
    name = scheduling.get("timezone")
    if name is None:
        return UTC
    if not isinstance(name, str) or not name.strip():
        raise ValueError("must be an IANA time zone name such as 'Asia/Kolkata'")
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # not found, a path, a folder ('America')
        raise ValueError(f"{name!r} is not a known IANA time zone") from None


def wall_clock(value: Any, zone: ZoneInfo | timezone) -> datetime:
    """A date-time string as a naive wall clock in ``zone``, to the second."""
    if not isinstance(value, str) or not _WALL_RE.match(value.strip()):
        raise ValueError("must be an ISO 8601 date-time such as '2026-07-15T09:00:00'")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def parse_clock(value: Any) -> time:
    """A clock time as the UI writes it: '6:43 am', '12:00 PM', '18:30'."""
    match = _CLOCK_RE.match(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
        if match[4] and 1 <= hour <= 12:
            hour = hour % 12 + (12 if match[4].lower() == "p" else 0)
        elif match[4] or match[2] is None:
            hour = 99  # a bare '6' could be morning or evening
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise ValueError("must be a clock time such as '6:43 am' or '18:43'")


def to_utc(wall: datetime, zone: ZoneInfo | timezone) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: see the module docstring


def _wall_of(instant: datetime, zone: ZoneInfo | timezone) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- periodic and one-time fire times -----------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    zone: ZoneInfo | timezone
    start: datetime  # aware UTC
    expiry: datetime | None  # aware UTC
    rule: rr.rruleset | None  # on wall clocks; None for a one-time send
    occurrences: int | None


def _plan(scheduling: dict) -> _Plan:
    zone = schedule_zone(scheduling)
    start_wall = wall_clock(scheduling["start_time"], zone)
    expiry = scheduling.get("expiry_time")
    expiry = None if expiry is None else to_utc(wall_clock(expiry, zone), zone)
    periodic = scheduling.get("periodic_details")
    if not isinstance(periodic, dict) or not periodic:
        return _Plan(zone, to_utc(start_wall, zone), expiry, None, None)
    return _Plan(zone, to_utc(start_wall, zone), expiry, _rule(periodic, start_wall),
                 periodic.get("no_of_occurences"))


def _rule(periodic: dict, start: datetime) -> rr.rruleset:
    frequency = periodic["sending_frequency"]
    common = {"dtstart": start, "interval": periodic.get("repeat_frequency") or 1, "wkst": rr.MO}
    weekdays = [WEEKDAYS[d] for d in periodic.get("repeat_on_days_of_week") or ()]
    rules = rr.rruleset()
    if frequency != "MONTHLY":  # weekdays are WEEKLY's; none means start_time's weekday
        rules.rrule(rr.rrule(FREQUENCIES[frequency], byweekday=weekdays or None, **common))
    else:
        weekdays += [WEEKDAYS[d](GRANULARITY[item["week_granularity"]])
                     for item in periodic.get("repeat_on_days_of_week_for_month") or ()
                     for d in item["repeat_on_days_of_week"]]
        dates = periodic.get("repeat_on_date_of_month") or ([] if weekdays else [start.day])
        for day in sorted(set(dates)):
            # A date missing from a short month falls back to the month's last day: the
            # last of 28..day that exists. The rruleset merges the sends that coincide.
            by_day = {"bymonthday": day} if day <= 28 else \
                {"bymonthday": list(range(28, day + 1)), "bysetpos": -1}
            rules.rrule(rr.rrule(rr.MONTHLY, **by_day, **common))
        if weekdays:
            rules.rrule(rr.rrule(rr.MONTHLY, byweekday=weekdays, **common))
    return rules


def _occurrences(plan: _Plan, after: datetime | None = None,
                 inclusive: bool = False) -> Iterator[datetime]:
    """Periodic fire instants from start_time, ascending, later than ``after``."""
    if after is None or after < plan.start:
        walls = iter(plan.rule)
    else:  # two days of slack covers any DST shift between wall clock and UTC
        walls = plan.rule.xafter(_wall_of(after, plan.zone) - timedelta(days=2), inc=True)
    last = None
    for wall in walls:
        fire = to_utc(wall, plan.zone)
        if fire < plan.start or (last and fire <= last) or \
                (after and (fire < after if inclusive else fire <= after)):
            continue
        if plan.expiry and fire > plan.expiry:
            return
        last = fire
        yield fire


def first_fire(scheduling: dict, delivery_type: str, now: datetime) -> datetime | None:
    """When a new campaign first sends; ``delivery_type`` is ``campaign_delivery_type``.

    ONE_TIME: ASAP now; AT_FIXED_TIME and SEND_IN_BTS at start_time (no BTS send is earlier);
    SEND_IN_USER_TIMEZONE at the earliest moment any user can be due (start_time's wall
    clock at UTC+14:00). PERIODIC: the first occurrence at or after both start_time and
    ``now``. EVENT_TRIGGERED: None (events fire it; see ``active_window``).
    """
    if delivery_type == EVENT_TRIGGERED:
        return None
    if scheduling.get("delivery_type") == ASAP:
        return now
    plan = _plan(scheduling)
    if delivery_type == PERIODIC:
        return next(_occurrences(plan, now, inclusive=True), None)
    if scheduling.get("delivery_type") == SEND_IN_USER_TIMEZONE:
        return to_utc(_wall_of(plan.start, plan.zone), timezone(MAX_UTC_OFFSET))
    return plan.start


def next_fire(scheduling: dict, previous_fire: datetime, fired_count: int) -> datetime | None:
    """The periodic send after ``previous_fire``, ``fired_count`` sends so far; None when ended."""
    plan = _plan(scheduling)
    if plan.rule is None or (plan.occurrences and fired_count >= plan.occurrences):
        return None
    return next(_occurrences(plan, previous_fire), None)


def fire_times(scheduling: dict, count: int, after: datetime | None = None,
               fired_count: int = 0) -> list[datetime]:
    """The next ``count`` campaign-level sends after ``after`` (from start_time when None).

    A schedule with ``periodic_details`` is periodic; otherwise it is one send at start_time
    (none for ASAP, which has no planned time).
    """
    if count <= 0 or scheduling.get("delivery_type") == ASAP:
        return []
    plan = _plan(scheduling)
    if plan.rule is None:
        due = fired_count == 0 and (after is None or plan.start > after)
        return [plan.start] if due else []
    if plan.occurrences:
        count = min(count, plan.occurrences - fired_count)
    fires = _occurrences(plan, after)
    return [fire for _, fire in zip(range(count), fires)]


def campaign_day(scheduling: dict, fire: datetime) -> date:
    """The date of ``fire`` in the campaign time zone (the ``on`` of the per-user variants)."""
    return fire.astimezone(schedule_zone(scheduling)).date()


def active_window(scheduling: dict) -> tuple[datetime | None, datetime | None]:
    """An event-triggered campaign's active window: start_time and expiry_time, either open."""
    zone = schedule_zone(scheduling)
    start, end = scheduling.get("start_time"), scheduling.get("expiry_time")
    if scheduling.get("delivery_type") == ASAP:
        start = None  # active from creation
    return (None if start is None else to_utc(wall_clock(start, zone), zone),
            None if end is None else to_utc(wall_clock(end, zone), zone))


def is_active(scheduling: dict, now: datetime) -> bool:
    start, end = active_window(scheduling)
    return (start is None or start <= now) and (end is None or now <= end)


# ---- one-time per-user variants -------------------------------------------------------

def _send_day_start(scheduling: dict, on: date | None) -> tuple[ZoneInfo | timezone, datetime]:
    zone = schedule_zone(scheduling)
    wall = wall_clock(scheduling["start_time"], zone)
    return zone, wall if on is None else datetime.combine(on, wall.time())


def user_timezone_fire(scheduling: dict, user_offset_minutes: int | None, now: datetime,
                       *, on: date | None = None) -> datetime | None:
    """SEND_IN_USER_TIMEZONE: start_time's wall clock at the user's UTC offset.

    Without a usable offset (None, or outside UTC-12:00..UTC+14:00, the offsets in use)
    the campaign time zone is used. A moment already passed at ``now`` sends now when ``send_if_user_timezone_has_passed``
    is true, else not at all (None). ``on`` replaces start_time's date (periodic sends).
    """
    zone, wall = _send_day_start(scheduling, on)
    if is_int(user_offset_minutes) and MIN_UTC_OFFSET <= timedelta(
            minutes=user_offset_minutes) <= MAX_UTC_OFFSET:
        zone = timezone(timedelta(minutes=user_offset_minutes))
    fire = to_utc(wall, zone)
    if fire >= now:
        return fire
    details = scheduling.get("user_timezone_details") or {}
    return now if details.get("send_if_user_timezone_has_passed") is True else None


def _best_hour_send(start: datetime, hour: int) -> datetime:
    """The first wall-clock moment at or after ``start`` inside the hour ``hour``:00-59."""
    slot = start.replace(hour=hour, minute=0, second=0)
    if slot <= start < slot + timedelta(hours=1):
        return start
    return slot if slot > start else slot + timedelta(days=1)


def bts_fire(scheduling: dict, user_best_hour: int | None, app_best_hour: int | None,
             now: datetime, *, on: date | None = None) -> datetime | None:
    """SEND_IN_BTS: the user's best hour within [start_time, window end], by policy.

    Best hours are 0-23 in the campaign time zone; anything else counts as unavailable.
    The window ends at ``window_end_time`` on start_time's date, or on the next day when
    that clock time is not after start_time's. The send is the first moment at or after
    start_time inside the best hour (start_time itself when that hour is under way).
    Later than the window end: ``if_user_bts_outside_time_window`` (default
    send_at_window_end). No best hour: ``if_user_bts_is_not_available`` (default
    send_at_start_time; send_at_app_bts uses ``app_best_hour`` the same way, or start_time
    when the app has none). A send time already past at ``now`` becomes ``now``.
    """
    details = scheduling["bts_details"]
    zone, start_wall = _send_day_start(scheduling, on)
    start = to_utc(start_wall, zone)
    end_wall = datetime.combine(start_wall.date(), parse_clock(details["window_end_time"]))
    end = to_utc(end_wall if end_wall > start_wall else end_wall + timedelta(days=1), zone)

    def usable(hour: Any) -> bool:
        return is_int(hour) and 0 <= hour <= 23

    hour = user_best_hour if usable(user_best_hour) else None
    if hour is None:
        policy = details.get("if_user_bts_is_not_available") or "send_at_start_time"
        if policy == "do_not_send":
            return None
        if policy != "send_at_app_bts" or not usable(app_best_hour):
            return max(start, now)
        hour = app_best_hour
    fire = to_utc(_best_hour_send(start_wall, hour), zone)
    if fire > end:
        policy = details.get("if_user_bts_outside_time_window") or "send_at_window_end"
        if policy == "do_not_send":
            return None
        fire = start if policy == "send_at_start_time" else end
    return max(fire, now)
