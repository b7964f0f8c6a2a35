"""Datetimes in response and event-attribute filters (spec §2.7, §5.4): a filter value read as
an instant in the filter's time zone, and the calendar windows the operators compare it with.

Pure: ``now`` comes in. Reading a value: ``datetime_format`` (strftime), else ISO 8601, else an
HTTP date; numbers are epoch s/ms; zone-less text is in the given zone unless it ends in ``Z``.
Windows are whole units ``[start, end)`` on the wall clock of ``now``'s zone: hours, days,
Monday-start weeks and months (``UNITS`` maps the spelling a filter uses to one of these).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from .timestamps import epoch_to_ms, from_ms

UNITS = {"hour": "hours", "hours": "hours", "day": "days", "days": "days",
         "week": "weeks", "weeks": "weeks", "month": "months", "months": "months"}


@lru_cache(maxsize=64)
def filter_zone(name: str | None) -> tzinfo | None:
    """A filter's ``timezone``: UTC when absent, None when not a known IANA name."""
    if name is None:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


@lru_cache(maxsize=4096)
def _parse_text(text: str, datetime_format: str | None, zone: tzinfo) -> datetime | None:
    parsed = None
    if datetime_format and "%" in datetime_format:
        try:
            parsed = datetime.strptime(text, datetime_format)
        except ValueError:
            pass
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if parsed.tzinfo:
        return parsed
    # A literal Z in the pattern (the spec §2.9 example's "%Y-%m-%dT%H:%M:%SZ") still means UTC.
    return parsed.replace(tzinfo=timezone.utc if text.endswith("Z") else zone)


def instant(value: Any, datetime_format: str | None, zone: tzinfo) -> datetime | None:
    """``value`` (text or epoch s/ms) as an aware datetime; None when it is not a datetime."""
    if type(value) is str:
        return _parse_text(value, datetime_format, zone)
    if type(value) in (int, float):
        return from_ms(epoch_to_ms(value))
    return None


def shift(moment: datetime, count: float, unit: str) -> datetime:
    if unit == "months":
        return moment + relativedelta(months=int(count))
    return moment + timedelta(**{unit: count})


def floor(moment: datetime, unit: str) -> datetime:
    if unit == "hours":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "weeks":
        return day - timedelta(days=day.weekday())  # Monday-start weeks (spec §5.4)
    return day.replace(day=1) if unit == "months" else day


def relative_window(now: datetime, count: float, unit: str) -> tuple[datetime, datetime]:
    """The whole unit ``count`` units from ``now`` (negative: in the past), [start, end)."""
    start = floor(shift(now, count, unit), unit)
    return start, shift(start, 1, unit)


def day_window(moment: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The day of ``moment`` in ``zone``, [start, end)."""
    start = floor(moment.astimezone(zone), "days")
    return start, shift(start, 1, "days")
