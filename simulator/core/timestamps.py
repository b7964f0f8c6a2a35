"""Parsing and formatting of the time values MoEngage payloads carry.

Stored form: event times are epoch milliseconds (UTC); datetime attributes are ISO 8601
strings in one canonical shape, ``YYYY-MM-DDTHH:MM:SS.mmmZ``, so they compare correctly as
text in SQL.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

# MoEngage documents `YYYY-MM-DDTHH:mm:ssZ` and `YYYY-MM-DD` (spec §7.5). We also read
# fractional seconds and numeric offsets, which ISO 8601 allows and partners send.
_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_EPOCH_MS_THRESHOLD = 100_000_000_000  # epoch seconds reach this in the year 5138

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)


def to_ms(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - _EPOCH) // _ONE_MS


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def iso(when: datetime | int) -> str:
    """Canonical ISO form, UTC with milliseconds: ``2026-11-22T10:00:00.000Z``."""
    if isinstance(when, int):
        when = from_ms(when)
    when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime | None:
    """An ISO 8601 date or datetime as an aware UTC datetime, or None if ``text`` is not one.

    A value without a zone is read as UTC (MoEngage's documented form ends in ``Z``).
    Invalid calendar values (2026-02-30) are not datetimes: MoEngage stores them as strings.
    """
    if len(text) < 10 or not _ISO_RE.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def canonical_datetime(text: str) -> str | None:
    parsed = parse_iso(text)
    return None if parsed is None else iso(parsed)


def epoch_to_ms(value: int | float) -> int:
    """Epoch seconds or milliseconds (MoEngage examples show both) as milliseconds."""
    if abs(value) >= _EPOCH_MS_THRESHOLD:
        return int(value)
    return int(round(value * 1000))
