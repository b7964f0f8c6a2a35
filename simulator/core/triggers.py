"""Event-triggered campaigns (spec §5.3 "Event Triggered", campaign-api.md §1.4): the
``trigger_condition`` checked, an incoming event matched against it, the send time computed,
and the secondary "has not executed B within T" condition decided when the delay matures.

Pure: every time is an argument (epoch ms). Event-attribute filters use the §5.4 operator
semantics of ``evaluation``; zone names are read by ``template_filters.zone``.

Decisions where the spec is silent ([I]; the README lists them):

- Primary ``filter_operator: "or"`` = alternate trigger events. ``"and"`` with several filters
  means one event satisfies all of them, so they must name the same event (``check_trigger``
  says "use 'or'" otherwise). An ``actions`` filter without ``executed`` counts as executed;
  ``execution``, when given, must be ``{atleast, 1}``; ``primary_time_range`` is ignored.
  Empty ``attributes`` match every event; event names are case-sensitive.
- The trigger time ("the time the trigger condition was met") is the event's own time.
- ASAP sends at max(event time, received time) + latency. A computed delay already past at
  receipt (a late or back-dated event) sends at receipt; a send time before the trigger time
  (``BEFORE`` an anchor that is too close) is dropped.
- ``trigger_attr`` as an object is the anchor; as a string (V5's ``"If Action"``) it means the
  event itself. A relative trigger needs exactly one primary filter. Datetime anchors: ISO 8601,
  a ``datetime``, or a §5.3 Java-style string; numbers are not datetimes. Zone names go through
  ``template_filters.zone`` (IST = India, EST = New York's local time); two-digit years pivot like
  Java's, 80 years before to 20 after the trigger time. Units: MINUTES, HOURS, DAYS = 24 h.
- The delay is capped at 30 days. ``secondary_included_filters`` holds only "has not executed"
  ``actions`` filters (``executed: false``), needs a DELAY, and is judged on events in
  (trigger time, send time]; its ``filter_operator`` combines the per-filter verdicts.
- Event-attribute ``between`` on numbers is N1 <= v < N2 (§5.4), not §2.7's inclusive bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any

from . import evaluation, template_filters
from .connector_schema import DATA_TYPES, OPERATORS
from .errors import FieldError
from .http import HttpResult
from .timestamps import from_ms, parse_iso, to_ms

ASAP, DELAY = "ASAP", "DELAY"
DELAY_TYPES = (ASAP, DELAY)
BEFORE, AFTER = "BEFORE", "AFTER"
RELATIONS = (BEFORE, AFTER)
GRANULARITY_MS = {"MINUTES": 60_000, "HOURS": 3_600_000, "DAYS": 86_400_000}
WINDOW_MS = 30 * GRANULARITY_MS["DAYS"]  # spec §5.3: anchor < trigger time + 30 days
MAX_DELAY_MS = WINDOW_MS  # [I] spec §5.3: no documented maximum; 30 days

# Spec §5.3 [C, S10], in the spec's order. ``MM/DD/YYYY`` is deliberately absent.
JAVA_FORMATS = (
    "EEE MMM dd HH:mm:ss Z yyyy",
    "EEE MMM dd HH:mm:ss yyyy zzz",
    "EEE, MMM dd HH:mm:ss yyyy zzz",
    "EEE, dd MMM yyyy HH:mm:ss zzz",
    "EEE,dd MMM yyyy HH:mm:ss zzz",
    "EEE, dd MMM yyyy HH:mm:sszzz",
    "EEE, dd MMM yyyy HH:mm:ss",
    "EEE, dd-MMM-yy HH:mm:ss zzz",
    "yyyy/MM/dd HH:mm:ss.SSS zzz",
    "yyyy/MM/dd HH:mm:ss.SSS",
    "yyyy/MM/dd HH:mm:ss zzz",
    "yyyy.MM.dd HH:mm:ss",
    "yyyy-MM-dd HH:mm",
    "MMM dd yyyy HH:mm:ss. zzz",
    "MMM dd yyyy HH:mm:ss zzz",
    "dd.MM.yyyy HH:mm:ss zzz",
    "dd MM yyyy HH:mm:ss zzz",
    "dd.MM.yyyy; HH:mm:ss",
    "dd.MM.yyyy HH:mm:ss",
    "dd.MM.yyyy zzz",
)
# Java letter runs -> (strptime directive, regex). A zone (Z or zzz) is cut out of the text and
# read by template_filters.zone: strptime's %Z knows only UTC/GMT and %z no abbreviations.
_TOKENS = {
    "EEE": ("%a", r"[A-Za-z]{3}"), "MMM": ("%b", r"[A-Za-z]{3}"), "yyyy": ("%Y", r"\d{4}"),
    "yy": ("%y", r"\d{2}"), "MM": ("%m", r"\d{1,2}"), "dd": ("%d", r"\d{1,2}"),
    "HH": ("%H", r"\d{1,2}"), "mm": ("%M", r"\d{1,2}"), "ss": ("%S", r"\d{1,2}"),
    "SSS": ("%f", r"\d{3}"),
    "zzz": ("", r"(?P<zone>[+-]\d{2}:?\d{2}|(?:GMT|UTC)[+-]\d{1,2}(?::?\d{2})?|[A-Za-z][\w/+-]*)"),
}
_TOKENS["Z"] = _TOKENS["zzz"]
_TOKEN_RE = re.compile("|".join(sorted(_TOKENS, key=len, reverse=True)))


@dataclass(frozen=True, slots=True)
class Due:
    """When to send (epoch ms), or ``at_ms`` None and the ``reason`` not to."""

    at_ms: int | None
    reason: str | None = None


# -- checking ----------------------------------------------------------------------------------

def check_trigger(trigger: Any, path: str = "trigger_condition") -> list[FieldError]:
    """Every problem of a ``trigger_condition``, each with its JSON path."""
    if not isinstance(trigger, dict):
        return [FieldError(path, "is required (an object)")]
    errors: list[FieldError] = []
    primary = _check_actions(trigger.get("included_filters"), f"{path}.included_filters",
                             errors, executed=True)
    if primary and trigger["included_filters"].get("filter_operator") == "and" and len(
            {f.get("action_name") for f in primary}) > 1:
        errors.append(FieldError(f"{path}.included_filters.filter_operator",
                                 "'and' needs every filter to name the same event (one event "
                                 "triggers); use 'or' for alternate trigger events"))
    kind = trigger.get("trigger_delay_type")
    anchor = trigger.get("trigger_attr")
    if kind not in DELAY_TYPES:
        note = " (INTELLIGENT_DELAY is Push only)" if kind == "INTELLIGENT_DELAY" else ""
        errors.append(FieldError(f"{path}.trigger_delay_type",
                                 f"must be one of {', '.join(DELAY_TYPES)}{note}"))
    if anchor is not None and not isinstance(anchor, str) and not (
            isinstance(anchor, dict) and isinstance(anchor.get("name"), str) and anchor["name"]):
        errors.append(FieldError(f"{path}.trigger_attr",
                                 "must be an object with a name (the datetime attribute) "
                                 "or a string"))
    if kind == ASAP and isinstance(anchor, dict):
        errors.append(FieldError(f"{path}.trigger_attr",
                                 "a datetime anchor needs trigger_delay_type DELAY"))
    if kind == DELAY:
        _check_delay(trigger, path, errors)
    if _anchor_name(trigger) and primary is not None and len(primary) != 1:
        errors.append(FieldError(f"{path}.included_filters.filters",
                                 "a send relative to an event attribute needs a single primary "
                                 "trigger event (spec §5.3)"))
    if trigger.get("secondary_included_filters") is not None:
        where = f"{path}.secondary_included_filters"
        _check_actions(trigger["secondary_included_filters"], where, errors, executed=False)
        if kind == ASAP:
            errors.append(FieldError(where, "'has not executed ... within' needs "
                                     "trigger_delay_type DELAY (the delay is the window)"))
    return errors


def _check_delay(trigger: dict, path: str, errors: list[FieldError]) -> None:
    value = trigger.get("trigger_delay_value")
    unit = trigger.get("trigger_delay_granularity")
    relation = trigger.get("trigger_relation")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors.append(FieldError(f"{path}.trigger_delay_value",
                                 "is required for DELAY (an integer >= 1)"))
        value = None
    if unit not in GRANULARITY_MS:
        errors.append(FieldError(f"{path}.trigger_delay_granularity",
                                 f"is required for DELAY: one of {', '.join(GRANULARITY_MS)}"))
    elif value is not None and value * GRANULARITY_MS[unit] > MAX_DELAY_MS:
        errors.append(FieldError(f"{path}.trigger_delay_value",
                                 f"{value} {unit} is more than the maximum delay of 30 days"))
    if relation not in RELATIONS:
        errors.append(FieldError(f"{path}.trigger_relation",
                                 f"is required for DELAY: one of {', '.join(RELATIONS)}"))
    elif relation == BEFORE and not _anchor_name(trigger):
        errors.append(FieldError(f"{path}.trigger_attr",
                                 "BEFORE needs trigger_attr {name: <a datetime event "
                                 "attribute>}"))


def _check_actions(group: Any, path: str, errors: list[FieldError], *,
                   executed: bool) -> list[dict] | None:
    """The ``actions`` filters of a trigger FilterGroup (None when the group is unusable)."""
    filters = _check_group(group, path, errors)
    if filters is None:
        return None
    if not filters:
        errors.append(FieldError(f"{path}.filters", "needs at least one actions filter"))
    good = []
    for i, item in enumerate(filters):
        where = f"{path}.filters[{i}]"
        if not isinstance(item, dict) or item.get("filter_type") != "actions":
            errors.append(FieldError(f"{where}.filter_type", "only 'actions' filters are "
                                     "supported here" if executed else "only 'has not executed' "
                                     "actions filters (executed: false) are supported here [I]"))
            continue
        good.append(item)
        if not isinstance(item.get("action_name"), str) or not item["action_name"]:
            errors.append(FieldError(f"{where}.action_name", "is required (an event name)"))
        if item.get("executed", True) is not executed:
            errors.append(FieldError(f"{where}.executed", "must be true (the user has executed "
                                     "the trigger event)" if executed else "must be false: only "
                                     "'has not executed' secondary conditions are supported [I]"))
        execution = item.get("execution")
        wanted = {"type": "atleast", "count": 1} if executed else {"type": "exactly", "count": 0}
        if execution is not None and execution != wanted:
            errors.append(FieldError(f"{where}.execution", f"must be {wanted} (or left out)"))
        if item.get("attributes") is not None:
            _check_attributes(item["attributes"], f"{where}.attributes", errors)
    return good


def _check_group(group: Any, path: str, errors: list[FieldError]) -> list | None:
    if not isinstance(group, dict):
        errors.append(FieldError(path, "is required (a FilterGroup {filter_operator, filters})"))
        return None
    if group.get("filter_operator") not in ("and", "or"):
        errors.append(FieldError(f"{path}.filter_operator", "must be 'and' or 'or'"))
    if not isinstance(group.get("filters"), list):
        errors.append(FieldError(f"{path}.filters", "is required (an array)"))
        return None
    return group["filters"]


def _check_attributes(group: Any, path: str, errors: list[FieldError]) -> None:
    """Event-attribute filters: ``user_attributes`` keys, ``filter_type`` optional (spec A5)."""
    for i, item in enumerate(_check_group(group, path, errors) or ()):
        where = f"{path}.filters[{i}]"
        if not isinstance(item, dict):
            errors.append(FieldError(where, "must be an object"))
            continue
        if item.get("filter_type", "user_attributes") != "user_attributes":
            errors.append(FieldError(f"{where}.filter_type",
                                     "must be 'user_attributes' or left out"))
        if not isinstance(item.get("name"), str) or not item["name"]:
            errors.append(FieldError(f"{where}.name", "is required (an attribute name)"))
        data_type, operator = item.get("data_type"), item.get("operator")
        if data_type == "object":
            _check_attributes(item, where, errors)
        elif data_type not in OPERATORS:
            errors.append(FieldError(f"{where}.data_type",
                                     f"must be one of {', '.join(DATA_TYPES)}"))
        elif operator not in OPERATORS[data_type]:
            errors.append(FieldError(f"{where}.operator", f"{operator!r} is not an operator for "
                                     f"{data_type}: {', '.join(OPERATORS[data_type])}"))
        else:
            if operator not in ("exists", "today") and "value" not in item:
                errors.append(FieldError(f"{where}.value", "is required"))
            if operator == "between" and "value1" not in item:
                errors.append(FieldError(f"{where}.value1", "is required for between"))
        for flag in ("negate", "case_sensitive"):
            if flag in item and not isinstance(item[flag], bool):
                errors.append(FieldError(f"{where}.{flag}", "must be a boolean"))


# -- matching ----------------------------------------------------------------------------------

_NO_RESPONSE = HttpResult(None)
_NEEDS_NOW = frozenset({"inTheLast", "inTheNext", "today"})


def matching_trigger(trigger: dict, event_name: str, event_attributes: dict, *,
                     event_ms: int | None = None) -> bool:
    """Whether an event is one of the trigger's primary events (alternates OR-ed). ``event_ms``
    is "now" for datetime filters relative to now; without it such filters do not match."""
    group = trigger.get("included_filters") or {}
    filters = group.get("filters") or ()
    if not filters:
        return False
    hits = (_action_matches(f, event_name, event_attributes, event_ms) for f in filters)
    return any(hits) if group.get("filter_operator") == "or" else all(hits)


def _action_matches(item: dict, name: str, attributes: dict, event_ms: int | None) -> bool:
    if item.get("action_name") != name:
        return False
    context = None if event_ms is None else evaluation.Context(_NO_RESPONSE, None,
                                                               from_ms(event_ms))
    return _group_matches(item.get("attributes") or {}, attributes, context)


def _group_matches(group: dict, container: Any, context: Any) -> bool:
    filters = group.get("filters") or ()
    if not filters:
        return True
    hits = (_attribute_matches(f, evaluation.lookup(container, f.get("name", "")), context)
            for f in filters)
    return any(hits) if group.get("filter_operator") == "or" else all(hits)


def _attribute_matches(item: dict, value: Any, context: Any) -> bool:
    data_type, operator = item.get("data_type"), item.get("operator")
    if data_type == "object":
        return _group_matches(item, value, context) != bool(item.get("negate", False))
    if data_type == "datetime" and context is None and (
            operator in _NEEDS_NOW or item.get("value_type", "absolute") != "absolute"):
        return False
    if context is None:  # absolute datetimes and the other types never read "now"
        context = evaluation.Context(_NO_RESPONSE, None, from_ms(0))
    positive = evaluation.leaf(item, data_type, value, context)
    if positive and data_type == "double" and operator == "between":
        upper = evaluation.number(item.get("value1"))
        positive = upper is None or evaluation.number(value) < upper  # §5.4: N1 <= v < N2
    return positive != bool(item.get("negate", False))


# -- timing ------------------------------------------------------------------------------------

def due_at(trigger: dict, event_time_ms: int, event_attributes: dict, *, received_ms: int,
           asap_latency_ms: int = 0) -> Due:
    """When the message for one trigger event is due, or why it is not sent."""
    if trigger.get("trigger_delay_type") != DELAY:
        return Due(max(event_time_ms, received_ms) + asap_latency_ms)
    unit_ms = GRANULARITY_MS[trigger["trigger_delay_granularity"]]
    delay_ms = trigger["trigger_delay_value"] * unit_ms
    name = _anchor_name(trigger)
    if name is None:
        return Due(max(event_time_ms + delay_ms, received_ms))
    if name not in event_attributes or event_attributes[name] is None:
        return Due(None, f"event attribute {name!r} is missing")
    moment = parse_datetime(event_attributes[name], reference_ms=event_time_ms)
    if moment is None:
        return Due(None, f"event attribute {name!r} is not a valid datetime: "
                         f"{event_attributes[name]!r}")
    anchor_ms = to_ms(moment)
    if anchor_ms <= event_time_ms:
        return Due(None, f"event attribute {name!r} is not later than the trigger time")
    if anchor_ms >= event_time_ms + WINDOW_MS:
        return Due(None, f"event attribute {name!r} is not within 30 days of the trigger time")
    send_ms = anchor_ms - delay_ms if trigger.get("trigger_relation") == BEFORE \
        else anchor_ms + delay_ms
    if send_ms < event_time_ms:
        return Due(None, "the send time falls before the trigger time")
    return Due(max(send_ms, received_ms))


def _anchor_name(trigger: dict) -> str | None:
    anchor = trigger.get("trigger_attr")
    return anchor.get("name") or None if isinstance(anchor, dict) else None


def not_executed_ok(trigger: dict, later_events: Iterable[tuple[str, int, dict]],
                    trigger_ms: int, due_ms: int) -> bool:
    """The secondary "has not executed B within T": False (drop) when a matching B happened in
    (trigger_ms, due_ms]. ``later_events`` are (name, time ms, attributes) of the same user."""
    group = trigger.get("secondary_included_filters")
    if not group or not group.get("filters"):
        return True
    window = [(name, ms, attrs) for name, ms, attrs in later_events if trigger_ms < ms <= due_ms]
    verdicts = (not any(_action_matches(item, name, attrs, ms) for name, ms, attrs in window)
                for item in group["filters"])
    return any(verdicts) if group.get("filter_operator") == "or" else all(verdicts)


# -- datetimes ---------------------------------------------------------------------------------

@cache
def _compiled(pattern: str) -> tuple[re.Pattern, str]:
    """A Java pattern as (regex locating the zone, strptime format without the zone)."""
    parts, directives, end = [], [], 0
    for token in _TOKEN_RE.finditer(pattern):
        literal = pattern[end:token.start()]
        parts.append(re.escape(literal) + _TOKENS[token[0]][1])
        directives.append(literal.replace("%", "%%") + _TOKENS[token[0]][0])
        end = token.end()
    parts.append(re.escape(pattern[end:]))
    directives.append(pattern[end:])
    return re.compile("".join(parts)), "".join(directives)


def parse_datetime(value: Any, *, reference_ms: int) -> datetime | None:
    """An event-attribute datetime (spec §5.3) as an aware datetime, or None. Text without a
    zone is UTC; ``reference_ms`` pivots two-digit years (Java: 80 years back, 20 ahead)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    parsed = parse_iso(value)
    if parsed is not None:
        return parsed
    for pattern in JAVA_FORMATS:
        moment = _java(pattern, value)
        if moment is not None:
            return _pivot(moment, reference_ms) if "yyyy" not in pattern else moment
    return None


def _pivot(moment: datetime, reference_ms: int) -> datetime | None:
    start = from_ms(reference_ms).year - 80
    try:
        return moment.replace(year=start + (moment.year - start) % 100)
    except ValueError:  # 29 February of a year that is not a leap year
        return None
    return None


def _java(pattern: str, text: str) -> datetime | None:
    regex, directives = _compiled(pattern)
    match = regex.fullmatch(text)
    if match is None:
        return None
    zone = timezone.utc
    if "zone" in regex.groupindex:
        try:
            zone = template_filters.zone(match["zone"])
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            return None
        text = text[:match.start("zone")] + text[match.end("zone"):]
    try:
        return datetime.strptime(text, directives).replace(tzinfo=zone)
    except ValueError:
        return None
