"""Response evaluation (spec §2.7): does a partner's HTTP response match a config's
``evaluation_criteria``, which events do the matching entries create, and is the send Sent or
Failed (spec §4). Connector campaigns have no criteria: 200 is Sent (spec §4.2, §6).

Pure: the caller passes the ``HttpResult``, ``now``, and how attribute templates render: a
``render`` callable (``evaluate``), or ``Actions`` built once per distinct response with a
``compile`` callable and run per user with the user's template context. The body is parsed at
most once per result, and only if a filter reads it.

Decisions where the spec is silent ([I]; the README lists them in full):

- All response entries are evaluated; each match runs its actions. Failed beats Sent; with
  neither event, HTTP 200 is Sent and anything else Failed (``fallback``). No response
  (``status`` None) matches nothing.
- A missing key, JSON ``null``, wrong type or unparsable value is false before ``negate``, so
  negated filters match key-not-set (spec §5.4). A body that is not JSON has no keys.
- Inner ``name``: a key, else a dotted path with array indexes (``items.0.id``); header names
  are case-insensitive. A flat ``response_headers`` filter tests its ``header``, or any header.
- ``double``/``bool`` filters read text ("42", "true"); ``string`` filters do not read numbers.
- Arrays ``all_of``: every listed value is matched by some element, or for bounds
  (``lessThan``, ``greaterThan``, ``between``) every element passes.
- Datetimes: ``datetime_format`` (strftime), else ISO 8601, else an HTTP date; numbers are
  epoch s/ms. Zone-less values (a trailing ``Z`` is UTC) and day boundaries use the filter's
  ``timezone`` (IANA, default UTC). Windows per spec §5.4, units hours/days/weeks/months.
"""

from __future__ import annotations

import operator as op
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import orjson

from .connectors import FAILED_EVENT, SENT_EVENT
from .http import HttpResult
from .time_windows import UNITS, day_window, filter_zone, floor, instant, relative_window, shift

# Spec §4.2 [C, S28]: Connector campaigns raise "Connector Sent" (event_code WEBHOOK_SENT).
CONNECTOR_SENT_EVENT = "Connector Sent"
CONNECTOR_SENT_CODE = "WEBHOOK_SENT"

_MISSING = object()
_UNPARSED = object()


@dataclass(slots=True)  # not frozen, as OutboundRequest (core/http.py)
class CreatedEvent:
    name: str
    attributes: dict


@dataclass(slots=True)
class Outcome:
    sent: bool
    failed: bool
    events: list[CreatedEvent] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)  # indexes of matching response entries
    fallback: bool = False  # Sent/Failed came from the HTTP status, not from an action


class _HeaderMap(dict):
    """Header names are lower-cased in ``HttpResult``; lookups lower-case the filter's name."""


class _AnyHeader(tuple):
    """All header values, for a flat ``response_headers`` filter that names no header."""


class Context:
    __slots__ = ("result", "datetime_format", "now", "_body")

    def __init__(self, result: HttpResult, datetime_format: str | None, now: datetime):
        self.result, self.datetime_format, self.now = result, datetime_format, now
        self._body = _UNPARSED

    def body(self) -> Any:
        if self._body is _UNPARSED:
            try:
                body = self.result.body
                # orjson reads UTF-8 bytes as they are; another declared charset is decoded
                self._body = orjson.loads(body if self.result.charset in (None, "utf-8")
                                          else self.result.text())
            except orjson.JSONDecodeError:
                self._body = _MISSING
        return self._body

    def source(self, item: dict) -> Any:
        name = item.get("name")
        if name == "response_code":
            return str(self.result.status) if item.get("data_type") == "string" \
                else self.result.status
        if name == "response_body":
            return self.body()
        if name == "response_headers":
            headers = self.result.headers
            if item.get("data_type") == "object":
                return _HeaderMap(headers)
            if "header" in item:
                return headers.get(str(item["header"]).lower(), _MISSING)
            return _AnyHeader(headers.values())
        return _MISSING


def matches(criteria: dict, result: HttpResult, *, datetime_format: str | None,
            now: datetime) -> bool:
    """Whether ``result`` satisfies one response entry's ``evaluation_criteria``."""
    if result.status is None:
        return False
    context = Context(result, datetime_format, now)
    return _group(criteria, context, context)


def matching(responses: list[dict], result: HttpResult, *, now: datetime) -> list[int]:
    """Indexes of the response entries whose criteria ``result`` satisfies. It depends on the
    result and ``now`` only, so a caller may reuse it for an identical response."""
    matched: list[int] = []
    if result.status is not None:
        context = Context(result, None, now)  # one context: the body is parsed once
        for index, entry in enumerate(responses):
            context.datetime_format = entry.get("datetime_format")
            if _group(entry.get("evaluation_criteria") or {}, context, context):
                matched.append(index)
    return matched


def evaluate(responses: list[dict], result: HttpResult, *, now: datetime,
             render: Callable[[str], str], matched: list[int] | None = None) -> Outcome:
    """Evaluate every response entry, run the ``CREATE_EVENT`` actions of each match and
    classify the send. ``render`` turns an attribute template into text; its errors propagate.
    ``matched``: ``matching(responses, result, now=now)`` when the caller has it already."""
    if matched is None:
        matched = matching(responses, result, now=now)
    return Actions(responses, matched, result.status,
                   lambda source: _Through(render, source)).outcome(None)


class _Through:
    """An attribute template rendered by the caller's ``render`` callable."""

    __slots__ = ("render_source", "source")

    def __init__(self, render_source: Callable[[str], str], source: str):
        self.render_source, self.source = render_source, source

    def render(self, context: Any) -> str:
        return self.render_source(self.source)


class _NoKey:
    """An attribute row without ``key``: a ``KeyError`` when a user's send reaches it, after
    the rows before it are rendered, as reading ``row["key"]`` then would."""

    def render(self, context: Any) -> str:
        raise KeyError("key")


_NO_KEY = _NoKey()


class Actions:
    """The ``CREATE_EVENT`` actions of the matched response entries, and the send's class,
    worked out once for every user with an identical response; ``outcome(context)`` renders
    the attribute templates for one user. ``compile(source)``: an object whose
    ``render(context)`` gives the text (``templating.compiled``)."""

    __slots__ = ("events", "failed", "fallback", "matched", "sent")

    def __init__(self, responses: list[dict], matched: list[int], status: int | None,
                 compile: Callable[[str], Any]):
        self.matched = matched
        # (name, [(key, compiled template or None, plain value)]) per action
        self.events: list[tuple[str, list[tuple[Any, Any, Any]]]] = []
        for index in matched:
            for action in responses[index].get("actions") or ():
                if action.get("type") == "CREATE_EVENT":
                    config = action.get("config") or {}
                    event = config.get("event") or {}
                    # The spec's example puts `attributes` in `config`; its table says
                    # `event.attributes`.
                    rows = config.get("attributes") or event.get("attributes") or ()
                    self.events.append((event.get("name", ""), [
                        (None, _NO_KEY, None) if "key" not in row else
                        (row["key"], compile(row["value"]), None) if isinstance(
                            row.get("value"), str) else (row["key"], None, row.get("value"))
                        for row in rows]))
        names = {name for name, _ in self.events}
        self.failed = FAILED_EVENT in names
        self.sent = not self.failed and SENT_EVENT in names
        self.fallback = not (self.sent or self.failed)
        if self.fallback:
            self.sent = status == 200
            self.failed = not self.sent

    def outcome(self, context: Any) -> Outcome:
        """One user's outcome; a template's error propagates."""
        events = [CreatedEvent(name, {key: value if template is None else template.render(context)
                                      for key, template, value in rows})
                  for name, rows in self.events]
        return Outcome(self.sent, self.failed, events, self.matched, self.fallback)


def connector_outcome(result: HttpResult) -> Outcome:
    """Connector campaigns: strictly HTTP 200 is Sent (spec §4.2 [S8, S9]: 202 is Failed,
    [S7]; §6), raising "Connector Sent"; anything else, no response included, is Failed."""
    if result.status == 200:
        return Outcome(True, False, [CreatedEvent(CONNECTOR_SENT_EVENT, {})])
    return Outcome(False, True)


# -- filter tree ------------------------------------------------------------------------------

def _group(criteria: dict, container: Any, context: Context) -> bool:
    """``container`` is the context itself at the top level, else a JSON value or headers."""
    want = criteria.get("filter_operator") == "or"  # `or` stops at the first True, `and` False
    for item in criteria.get("filters") or ():
        value = context.source(item) if container is context else \
            lookup(container, item.get("name", ""))
        if _filter(item, value, context) is want:
            return want
    return not want


def _filter(item: dict, value: Any, context: Context) -> bool:
    data_type = item.get("data_type")
    if data_type == "object":
        result = _group(item, value, context)
    elif type(value) is _AnyHeader:
        result = any(leaf(item, data_type, v, context) for v in value)
    else:
        result = leaf(item, data_type, value, context)
    return result != bool(item.get("negate", False))


def lookup(container: Any, name: str) -> Any:
    if type(container) is _HeaderMap:
        return container.get(name.lower(), _MISSING)
    if type(container) is dict and name in container:
        return container[name]
    node = container
    for part in name.split("."):
        if type(node) is dict:
            node = node.get(part, _MISSING)
        elif type(node) is list and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def leaf(item: dict, data_type: str, value: Any, context: Context) -> bool:
    if value is _MISSING or value is None:
        return False
    operator = item.get("operator")
    if operator == "exists":
        return True
    check = _CHECKS.get(data_type)
    return check is not None and check(item, operator, value, context)


# -- scalars ----------------------------------------------------------------------------------

def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def number(value: Any) -> float | int | None:
    if type(value) in (int, float):
        return value
    if type(value) is str:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _boolean(value: Any) -> bool | None:
    if type(value) is bool:
        return value
    if type(value) is str and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "in": op.eq, "is": op.eq,
    "contains": op.contains, "containsInTheFollowing": op.contains,
    "startsWith": str.startswith, "startsWithInTheFollowing": str.startswith,
    "startWithInTheFollowing": str.startswith,  # S24's spelling (spec §5.4)
    "endsWith": str.endswith, "endsWithInTheFollowing": str.endswith,
}
_BOUNDS = ("lessThan", "greaterThan", "between")


def _folded(item: dict, values: list) -> list[str]:
    texts = [v if type(v) is str else str(v) for v in values]
    return texts if item.get("case_sensitive", False) else [t.casefold() for t in texts]


def _string(item: dict, operator: str, value: Any, context: Context) -> bool:
    test = _STRING_TESTS.get(operator)
    if type(value) is not str or test is None:
        return False
    if not item.get("case_sensitive", False):
        value = value.casefold()
    return any(test(value, wanted) for wanted in _folded(item, _listed(item.get("value"))))


def _in_bounds(item: dict, operator: str, x: float) -> bool:
    bound = number(item.get("value"))
    if bound is None:
        return False
    if operator == "lessThan":
        return x < bound
    if operator == "greaterThan":
        return x > bound
    upper = number(item.get("value1"))
    return upper is not None and bound <= x <= upper  # spec §2.7: value <= x <= value1


def _double(item: dict, operator: str, value: Any, context: Context) -> bool:
    x = number(value)  # None for bools too: JSON true is not 1 here
    if x is None:
        return False
    if operator in ("in", "is"):
        wanted = item.get("value")
        if type(wanted) is not list:
            return x == number(wanted)
        return any(x == number(v) for v in wanted)
    return operator in _BOUNDS and _in_bounds(item, operator, x)


def _bool(item: dict, operator: str, value: Any, context: Context) -> bool:
    x, wanted = _boolean(value), _boolean(item.get("value"))
    return operator == "is" and x is not None and x is wanted


def _array(item: dict, operator: str, value: Any, context: Context, *,
           numbers: bool) -> bool:
    if type(value) is not list or not value:
        return False
    all_of = item.get("array_filter_type") == "all_of"
    if operator in _BOUNDS:
        xs = [number(v) for v in value] if numbers else []
        passes = [x is not None and _in_bounds(item, operator, x) for x in xs]
        return bool(passes) and (all(passes) if all_of else any(passes))
    wanted = _listed(item.get("value"))
    if numbers:
        if operator not in ("in", "is"):
            return False
        elements = {number(v) for v in value} - {None}
        hits = [number(w) in elements for w in wanted]
    else:
        test = _STRING_TESTS.get(operator)
        if test is None:
            return False
        elements = _folded(item, [v for v in value if type(v) is str])
        hits = [any(test(e, w) for e in elements) for w in _folded(item, wanted)]
    return bool(hits) and (all(hits) if all_of else any(hits))


# -- datetimes (the values and windows are in time_windows) ----------------------------------

def _window(item: dict, value: Any, now: datetime, context: Context,
            unit: str) -> tuple[datetime, datetime] | None:
    """The whole unit (a day for absolute values) that ``value`` designates, [start, end)."""
    value_type = item.get("value_type", "absolute")
    if value_type in ("relative_past", "relative_future"):
        count = number(value)
        if count is None:
            return None
        return relative_window(now, -count if value_type == "relative_past" else count, unit)
    moment = instant(value, context.datetime_format, now.tzinfo)
    if moment is None:
        return None
    return day_window(moment, now.tzinfo)


def _datetime(item: dict, operator: str, value: Any, context: Context) -> bool:
    zone = filter_zone(item.get("timezone"))
    unit = UNITS.get(item.get("period_unit") or "days")
    if zone is None or unit is None:
        return False
    x = instant(value, context.datetime_format, zone)
    if x is None:
        return False
    now = context.now if context.now.tzinfo else context.now.replace(tzinfo=timezone.utc)
    now = now.astimezone(zone)
    if operator == "is":
        return x == instant(item.get("value"), context.datetime_format, zone)
    if operator in ("inTheLast", "inTheNext"):
        count = number(item.get("value"))
        if count is None:
            return False
        if operator == "inTheLast":
            return floor(shift(now, -count, unit), unit) <= x <= now
        return now <= x < shift(floor(shift(now, count, unit), unit), 1, unit)
    if operator == "today":
        start = floor(now, "days")
        return start <= x < shift(start, 1, "days")
    if operator in ("on", "in"):
        windows = [_window(item, v, now, context, unit) for v in _listed(item.get("value"))]
        return any(w is not None and w[0] <= x < w[1] for w in windows)
    first = _window(item, item.get("value"), now, context, unit)
    if first is None:
        return False
    if operator == "before":
        return x < first[0]
    if operator == "after":
        return x >= first[1]
    if operator == "between":
        last = _window(item, item.get("value1"), now, context, unit)
        return last is not None and min(first[0], last[0]) <= x < max(first[1], last[1])
    return False


_CHECKS: dict[str, Callable[[dict, str, Any, Context], bool]] = {
    "string": _string,
    "double": _double,
    "bool": _bool,
    "datetime": _datetime,
    "array_string": lambda item, o, value, c: _array(item, o, value, c, numbers=False),
    "array_double": lambda item, o, value, c: _array(item, o, value, c, numbers=True),
}
