"""MoEngage's custom Jinja filters (spec §2.4) and the time-zone names they read.

``dateFormatter``, ``dateTimeFormatter``, ``days``, ``today``, the SHA-256, base64 and URL
filters, collected in ``FILTERS`` for ``templating.environment()``. ``zone()`` turns an IANA
name, a common abbreviation (``EST`` = New York's local time) or an offset into a tzinfo; the
trigger filters read zone names with it too.

Time comes in: ``days`` and ``today`` read now from the render context's ``NOW_SLOT``, which
``templating.Renderer.context`` fills.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import warnings
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import quote, unquote, urlencode
from zoneinfo import ZoneInfo

from dateutil import parser as date_parser
from jinja2 import Undefined, pass_context

from .timestamps import epoch_to_ms, from_ms, parse_iso

NOW_SLOT = "_moesim_now"  # the render-context slot the time-dependent filters read

# Abbreviations people write for zones, mapped to the region they usually mean (so "EST" in
# July is New York's daylight time, not a fixed UTC-5). Anything else goes to zoneinfo as is.
ZONE_ABBREVIATIONS = {
    "UTC": "UTC", "GMT": "UTC", "Z": "UTC",
    "EST": "America/New_York", "EDT": "America/New_York", "ET": "America/New_York",
    "CST": "America/Chicago", "CDT": "America/Chicago", "CT": "America/Chicago",
    "MST": "America/Denver", "MDT": "America/Denver", "MT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "IST": "Asia/Kolkata", "BST": "Europe/London", "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin", "EET": "Europe/Athens", "MSK": "Europe/Moscow",
    "GST": "Asia/Dubai", "PKT": "Asia/Karachi", "WIB": "Asia/Jakarta", "ICT": "Asia/Bangkok",
    "SGT": "Asia/Singapore", "HKT": "Asia/Hong_Kong", "JST": "Asia/Tokyo", "KST": "Asia/Seoul",
    "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney", "NZST": "Pacific/Auckland",
    "BRT": "America/Sao_Paulo",
}
_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")
NO_OFFSET = -1000  # dateTimeFormatter's "tzOffset not available"
# jinja-templating-language.mdx, "Date and Time Formatter Function": the method's default.
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %p"


@functools.lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """A zone from an IANA name, a common abbreviation, or an offset (``+05:30``, ``UTC-4``)."""
    text = name.strip()
    if text.upper() in ZONE_ABBREVIATIONS:
        return ZoneInfo(ZONE_ABBREVIATIONS[text.upper()])
    match = _OFFSET_RE.match(text.upper())
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta)
    return ZoneInfo(text)


def _moment(value: Any, from_format: str | None = None) -> datetime:
    """A date value as an aware datetime: ISO text, epoch seconds/ms, ``fromFormat`` text
    (read as UTC unless it carries a zone), a date/datetime, or other date text read day first
    (``14/10/2020``, ``2012-01-19 17:21:00 CST``)."""
    if isinstance(value, Undefined):
        str(value)  # fails with the value's own category
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_ms(epoch_to_ms(value))
    text = str(value).strip()
    if from_format:
        parsed = datetime.strptime(text, from_format)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    parsed = parse_iso(text)
    if parsed is None and re.fullmatch(r"-?\d+(\.\d+)?", text):
        parsed = from_ms(epoch_to_ms(float(text)))
    if parsed is None:
        parsed = _loose_date(text)
    if parsed is None:
        raise ValueError(f"{text!r} is not a date (ISO 8601, epoch or a day-first date "
                         f"expected)")
    return parsed


def _loose_date(text: str) -> datetime | None:
    """Date text that is not ISO 8601, read day first as MoEngage's examples are
    (``'14/10/2020'`` is 14 October). A zone name the parser does not know (``CST``, ``IST``:
    they are ambiguous) is ignored and the time read as UTC, which is what gives the documented
    outputs of ``dateTimeFormatter`` (docs/decisions.md); ``UTC``, ``Z`` and numeric offsets
    are honoured."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
            parsed = date_parser.parse(text, dayfirst=True)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _text(value: Any) -> str:
    return str(value)  # an undefined value fails here with its own category


def date_formatter(value, toFormat: str = "%Y-%m-%d", fromFormat: str | None = None) -> str:
    return _moment(value, fromFormat).astimezone(timezone.utc).strftime(toFormat)


def date_time_formatter(value, toFormat: str = DATE_TIME_FORMAT, tzOffset: Any = NO_OFFSET,
                        timeZone: str | None = None, fromFormat: str | None = None) -> str:
    moment = _moment(value, fromFormat)
    offset = NO_OFFSET if isinstance(tzOffset, Undefined) else int(float(tzOffset))
    if offset != NO_OFFSET:
        target: tzinfo = timezone(timedelta(minutes=offset))
    else:
        target = zone(timeZone) if timeZone else timezone.utc
    return moment.astimezone(target).strftime(toFormat)


@pass_context
def days(context, value, other: Any = None) -> int:
    """Whole calendar days (UTC) from ``value`` to ``other`` (default: now):
    ``'12/10/2020'|days('14/10/2020')`` is 2 (jinja-templating-language.mdx, "Date
    Difference"), so a past date's ``days`` is positive."""
    until = context[NOW_SLOT] if other is None else _moment(other)
    return (until.astimezone(timezone.utc).date()
            - _moment(value).astimezone(timezone.utc).date()).days


@pass_context
def today(context, value, tz: str = "UTC") -> str:
    """``'%m/%d/%Y'|today('EST')``: now in ``tz``, formatted by the piped format."""
    fmt = _text(value) or "%Y-%m-%d"
    return context[NOW_SLOT].astimezone(zone(tz)).strftime(fmt)


def convert_to_sha256(value, secret: str = "") -> str:
    """HMAC-SHA256 (RFC 2104) of the value with ``secret`` as the key, lower-case hex. The docs
    say only "SHA256 with a secret key" (docs/decisions.md says why HMAC)."""
    return hmac.new(_text(secret).encode(), _text(value).encode(), hashlib.sha256).hexdigest()


def convert_to_sha256_no_salt(value) -> str:
    """Plain SHA-256 of the value's UTF-8 bytes, lower-case hex."""
    return hashlib.sha256(_text(value).encode()).hexdigest()


def base64_encode(value) -> str:
    return base64.b64encode(_text(value).encode()).decode("ascii")


def base64_decode(value) -> str:
    try:
        return base64.b64decode(_text(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"base64decode: {exc}") from None


def url_encode(value) -> str:
    """Percent-encodes everything but unreserved characters (space -> %20); a mapping becomes
    ``k=v&...``."""
    if isinstance(value, Mapping):
        return urlencode([(str(k), str(v)) for k, v in value.items()], quote_via=quote)
    return quote(_text(value), safe="")


def url_decode(value) -> str:
    return unquote(_text(value))


FILTERS = {
    "dateFormatter": date_formatter, "dateTimeFormatter": date_time_formatter, "days": days,
    "today": today, "convertToSHA256": convert_to_sha256,
    "convertToSHA256NoSalt": convert_to_sha256_no_salt, "base64encode": base64_encode,
    "base64decode": base64_decode, "urlencode": url_encode, "urldecode": url_decode,
}
