"""Date windows of segment filters (spec §5.4), read in the app time zone.

Pure: ``now`` (aware) and the zone come in. A window is ``[start, end)`` as aware datetimes;
``segment_sql`` turns it into bounds on the stored form (canonical ISO text for datetime
attributes, epoch ms for event times). Units are hours, days, Monday-start weeks and months
(``time_windows``, shared with response evaluation).

Decisions where MoEngage is silent ([I], docs/decisions.md "Audiences"):
- An absolute value designates a calendar date: its first ten characters (``YYYY-MM-DD``) read
  in the app zone, whatever time or zone follows (MoEngage normalises absolute values to
  ``T00:00:00.000Z``/``T23:59:59.999Z``, which would land on another day east of UTC).
- ``between``: from the start of the earlier window to the end of the later one.
- Date parts use the app zone's UTC offset at ``now`` (SQLite has no zone database).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from .time_windows import UNITS, floor, relative_window, shift
from .timestamps import parse_iso

Window = tuple[datetime, datetime]
_ONE_MS = timedelta(milliseconds=1)

VALUE_TYPES = ("absolute", "relative_past", "relative_future")
WINDOW_OPERATORS = ("on", "in", "between", "before", "after", "inTheLast", "inTheNext", "today")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def calendar_date(value: Any) -> date | None:
    """``YYYY-MM-DD`` from the start of an ISO text, or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def is_count(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 \
        and float(value).is_integer()


def day(when: date, zone: tzinfo) -> Window:
    start = datetime.combine(when, time(), tzinfo=zone)
    return start, datetime.combine(when + timedelta(days=1), time(), tzinfo=zone)


def unit_window(value: Any, value_type: str, unit: str, now: datetime, zone: tzinfo) -> Window:
    """The window one value designates: a whole unit ``value`` units ago/ahead, or a date."""
    if value_type == "absolute":
        return day(calendar_date(value), zone)
    count = int(value)
    return relative_window(now.astimezone(zone), -count if value_type == "relative_past"
                           else count, unit)


def window(operator: str, item: dict, now: datetime, zone: tzinfo, *,
           value_key: str = "value", value1_key: str = "value1",
           default_type: str = "absolute") -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` of a datetime operator (None = unbounded on that side); ``inTheLast``
    ends at ``now`` inclusive, ``inTheNext`` starts there."""
    unit = UNITS[item.get("period_unit") or "days"]
    local_now = now.astimezone(zone)
    value_type = item.get("value_type") or default_type
    if operator == "inTheLast":
        return floor(shift(local_now, -int(item[value_key]), unit), unit), now + _ONE_MS
    if operator == "inTheNext":
        end = shift(floor(shift(local_now, int(item[value_key]), unit), unit), 1, unit)
        return now, end
    if operator == "today":
        return relative_window(local_now, 0, "days")
    first = unit_window(item[value_key], value_type, unit, now, zone)
    if operator == "before":
        return None, first[0]
    if operator == "after":
        return first[1], None
    if operator == "between":
        last = unit_window(item[value1_key], value_type, unit, now, zone)
        return min(first[0], last[0]), max(first[1], last[1])
    return first  # on


def utc_offset_minutes(now: datetime, zone: tzinfo) -> int:
    return int(now.astimezone(zone).utcoffset().total_seconds() // 60)


def instant(value: Any) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) else None
