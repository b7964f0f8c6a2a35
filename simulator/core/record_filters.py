"""Filters of the assertion API: which deliveries and sink requests a test asks about.

Read from query parameters (``GET|DELETE /_sim/deliveries``, ``GET|DELETE /_sim/sinks/<name>``
and their ``/wait``). Every bad value is reported with its parameter name, and an unknown
parameter is an error too: a test tool that silently ignored a mistyped filter would match
everything and pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from . import json_input
from .errors import BadRequest, FieldError
from .timestamps import parse_iso, to_ms

DELIVERY_STATUSES = ("sent", "failed", "removed")
WAIT_DEFAULT_S = 10.0
WAIT_MAX_S = 60.0
_JSON_PREFIX = "json."


@dataclass(frozen=True)
class TimeRange:
    """``since`` inclusive, ``until`` exclusive, both epoch ms of the simulator's clock."""
    since_ms: int | None = None
    until_ms: int | None = None


@dataclass(frozen=True)
class DeliveryFilter:
    campaign_id: str | None = None
    customer_id: str | None = None
    status: str | None = None
    times: TimeRange = TimeRange()


@dataclass(frozen=True)
class RequestFilter:
    method: str | None = None
    path: str | None = None
    path_prefix: str | None = None
    headers: tuple[tuple[str, str | None], ...] = ()  # (name, value or None = present)
    body_contains: str | None = None
    json_fields: tuple[tuple[str, str], ...] = ()     # (dotted path, expected text)
    times: TimeRange = TimeRange()

    def is_empty(self) -> bool:
        return self == RequestFilter()

    def matches(self, record: dict) -> bool:
        """``record`` as the sinks API lists it (``core.sinks.record``); time is filtered in SQL."""
        if self.method is not None and record["method"].upper() != self.method:
            return False
        if self.path is not None and record["path"] != self.path:
            return False
        if self.path_prefix is not None and not record["path"].startswith(self.path_prefix):
            return False
        if self.body_contains is not None and self.body_contains not in (record["body"] or ""):
            return False
        headers = {k.lower(): v for k, v in record["headers"].items()}
        for name, value in self.headers:
            if name.lower() not in headers or (
                    value is not None and headers[name.lower()] != value):
                return False
        return all(_json_equals(_at(record.get("json"), path), expected)
                   for path, expected in self.json_fields)


@dataclass(frozen=True)
class Wait:
    count: int = 1
    timeout_s: float = WAIT_DEFAULT_S


_MISSING = object()


def _at(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _json_equals(value: Any, expected: str) -> bool:
    """A string field equals the text; any other value equals the text read as JSON
    (``json.count=3``, ``json.ok=true``, ``json.note=null``)."""
    if value is _MISSING:
        return False
    if isinstance(value, str):
        return value == expected
    try:
        parsed = json_input.decode(expected)
    except json_input.MalformedJson:
        return False
    if isinstance(value, bool) or isinstance(parsed, bool):
        return value is parsed
    return value == parsed


class _Params:
    """Query parameters as ``(name, value)`` pairs; collects every problem before raising."""

    def __init__(self, pairs: Iterable[tuple[str, str]], allowed: Iterable[str],
                 json_fields: bool = False):
        self.json_fields = json_fields
        self.values: dict[str, list[str]] = {}
        for name, value in pairs:
            self.values.setdefault(name, []).append(value)
        self.errors: list[FieldError] = []
        self.known = set(allowed)

    def one(self, name: str) -> str | None:
        self.known.add(name)
        given = self.values.get(name)
        if not given:
            return None
        if len(given) > 1:
            self.errors.append(FieldError(name, "give this parameter once"))
        return given[-1]

    def time(self, name: str) -> int | None:
        text = self.one(name)
        if text is None:
            return None
        moment = parse_iso(text)
        if moment is None:
            self.errors.append(FieldError(name, f"{text!r} is not an ISO 8601 time "
                                                "(e.g. 2026-11-22T12:00:00Z)"))
            return None
        return to_ms(moment)

    def times(self) -> TimeRange:
        return TimeRange(self.time("since"), self.time("until"))

    def check(self) -> None:
        for name in self.values:
            if name not in self.known and not (
                    self.json_fields and name.startswith(_JSON_PREFIX)):
                self.errors.append(FieldError(name, "unknown parameter"))
        if self.errors:
            raise BadRequest("invalid query parameters: " + ", ".join(
                e.path for e in self.errors), errors=self.errors)


def parse_delivery_filter(pairs: Iterable[tuple[str, str]],
                          allowed: Iterable[str] = ()) -> DeliveryFilter:
    """``campaign_id``, ``customer_id``, ``status`` (sent|failed|removed), ``since``, ``until``.
    ``allowed`` names the endpoint's other parameters (``limit``, ``count``, ...)."""
    params = _Params(pairs, allowed)
    status = params.one("status")
    if status is not None and status not in DELIVERY_STATUSES:
        params.errors.append(FieldError("status", "must be one of "
                                        + ", ".join(DELIVERY_STATUSES)))
    found = DeliveryFilter(params.one("campaign_id"), params.one("customer_id"), status,
                           params.times())
    params.check()
    return found


def parse_request_filter(pairs: Iterable[tuple[str, str]],
                         allowed: Iterable[str] = ()) -> RequestFilter:
    """``method``, ``path`` (exact), ``path_prefix``, ``header`` (``Name`` present or
    ``Name:value``; repeatable), ``body_contains``, ``json.<dotted.path>=value`` (repeatable
    paths), ``since``, ``until``."""
    params = _Params(pairs, allowed, json_fields=True)
    method = params.one("method")
    headers = []
    params.known.add("header")
    for given in params.values.get("header", []):
        name, sep, value = given.partition(":")
        if not name.strip():
            params.errors.append(FieldError("header", "must be Name or Name:value"))
            continue
        headers.append((name.strip(), value.strip() if sep else None))
    json_fields = []
    for name, given in params.values.items():
        if name.startswith(_JSON_PREFIX):
            path = name[len(_JSON_PREFIX):]
            if not path or "" in path.split("."):
                params.errors.append(FieldError(name, "must be json.<key>[.<key>...]"))
            for value in given:
                json_fields.append((path, value))
    found = RequestFilter(method.upper() if method else None, params.one("path"),
                          params.one("path_prefix"), tuple(headers), params.one("body_contains"),
                          tuple(json_fields), params.times())
    params.check()
    return found


def parse_wait(pairs: Iterable[tuple[str, str]]) -> Wait:
    """``count`` (>= 1, default 1) and ``timeout`` (seconds, 0 to ``WAIT_MAX_S``, default
    ``WAIT_DEFAULT_S``) of a long-poll; other parameters are the filter's."""
    params = {name: value for name, value in pairs if name in ("count", "timeout")}
    errors = []
    count, timeout = 1, WAIT_DEFAULT_S
    if "count" in params:
        try:
            count = int(params["count"])
        except ValueError:
            count = 0
        if count < 1:
            errors.append(FieldError("count", "must be an integer >= 1"))
    if "timeout" in params:
        try:
            timeout = float(params["timeout"])
        except ValueError:
            timeout = -1
        if not 0 <= timeout <= WAIT_MAX_S:
            errors.append(FieldError("timeout", f"must be seconds from 0 to {WAIT_MAX_S:g}"))
    if errors:
        raise BadRequest("invalid query parameters: " + ", ".join(e.path for e in errors),
                         errors=errors)
    return Wait(count, timeout)
