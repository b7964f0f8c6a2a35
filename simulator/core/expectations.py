"""Scenario expectations: compare what was expected with what happened and say, field by
field, where they differ (``request[1] at 2026-01-05T10:00:00.000Z: json.to: expected "+911",
got "+912"``). Pure: the runner fetches the requests, stats and events and passes them in.

Expected values are literals or matchers: ``{$regex: RE}`` (a string searched), ``{$any: true}``
(present, any value), ``{$between: [LOW, HIGH]}`` (inclusive). Objects match the keys they list;
lists match element by element and must have the same length.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .timestamps import parse_iso

MISSING = object()
MATCHERS = ("$regex", "$any", "$between", "$counted")


def show(value: Any) -> str:
    if value is MISSING:
        return "(missing)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _is_matcher(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in MATCHERS


def match(expected: Any, actual: Any, path: str = "") -> list[str]:
    """The differences between ``expected`` and ``actual``, one line each (empty: they match)."""
    where = f"{path}: " if path else ""
    if _is_matcher(expected):
        (kind, argument), = expected.items()
        if kind == "$counted":  # a resolved {$count: ...}: {value, of}
            return [] if actual == argument["value"] else \
                [f"{where}expected {argument['value']} ({argument['of']}), got {show(actual)}"]
        if kind == "$any":
            ok = actual is not MISSING if argument else actual is MISSING
        elif kind == "$regex":
            ok = isinstance(actual, str) and re.search(argument, actual) is not None
        else:
            low, high = argument
            ok = isinstance(actual, (int, float)) and not isinstance(actual, bool) and \
                low <= actual <= high
        return [] if ok else [f"{where}expected {kind.lstrip('$')} {show(argument)}, "
                              f"got {show(actual)}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}expected an object {show(expected)}, got {show(actual)}"]
        lines = []
        for key, value in expected.items():
            lines += match(value, actual.get(key, MISSING), f"{path}.{key}" if path else key)
        return lines
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}expected a list {show(expected)}, got {show(actual)}"]
        if len(expected) != len(actual):
            return [f"{where}expected {len(expected)} item(s) {show(expected)}, "
                    f"got {len(actual)} {show(actual)}"]
        lines = []
        for index, (want, got) in enumerate(zip(expected, actual)):
            lines += match(want, got, f"{path}[{index}]")
        return lines
    same = expected == actual and isinstance(expected, bool) == isinstance(actual, bool)
    return [] if same else [f"{where}expected {show(expected)}, got {show(actual)}"]


def match_request(expected: dict, request: dict) -> list[str]:
    """A request matcher (method, url, path, query, headers, json, body, at, status) against
    one normalized request."""
    lines = []
    for key, want in expected.items():
        got = request.get(key, MISSING)
        if key == "method":
            lines += [] if str(got).upper() == want.upper() else \
                [f"method: expected {show(want)}, got {show(got)}"]
        elif key == "headers":
            headers = {k.lower(): v for k, v in (got or {}).items()}
            for name, value in want.items():
                lines += match(value, headers.get(name.lower(), MISSING), f"headers.{name}")
        elif key == "at":
            same = got is not MISSING and parse_iso(got) == parse_iso(want)
            lines += [] if same else [f"at: expected {want}, got {show(got)}"]
        else:
            lines += match(want, got, key)
    return lines


def describe(request: dict) -> str:
    text = f"{request.get('method')} {request.get('path')}"
    if request.get("query"):
        text += f"?{request['query']}"
    return f"{text} -> {request.get('status')} at {request.get('at')}"


def _label(index: int, request: dict) -> str:
    return f"request[{index}] at {request.get('at')}"


def check_requests(expectation: dict, requests: list[dict]) -> list[str]:
    """``where`` selects; ``count``, ``each``, ``in_order`` and ``unordered`` check."""
    where = expectation.get("where")
    chosen = [r for r in requests if not where or not match_request(where, r)]
    lines = []
    if "count" in expectation:
        lines += match(expectation["count"], len(chosen), "count")
    for index, request in enumerate(chosen):
        for line in match_request(expectation.get("each") or {}, request):
            lines.append(f"{_label(index, request)}: {line}")
    if "in_order" in expectation:
        expected = expectation["in_order"]
        if len(expected) != len(chosen) and "count" not in expectation:
            lines.append(f"count: expected {len(expected)} (in_order), got {len(chosen)}")
        for index, (want, request) in enumerate(zip(expected, chosen)):
            lines += [f"{_label(index, request)}: {line}"
                      for line in match_request(want, request)]
        for index in range(len(chosen), len(expected)):
            lines.append(f"request[{index}] missing: expected {show(expected[index])}")
        for index in range(len(expected), len(chosen)):
            lines.append(f"{_label(index, chosen[index])}: not expected: "
                         f"{describe(chosen[index])} {show(chosen[index].get('json'))}")
    if "unordered" in expectation:
        lines += _unordered(expectation["unordered"], chosen, "count" in expectation)
    return lines


def _unordered(expected: list[dict], chosen: list[dict], counted: bool) -> list[str]:
    lines, unused = [], list(range(len(chosen)))
    if len(expected) != len(chosen) and not counted:
        lines.append(f"count: expected {len(expected)} (unordered), got {len(chosen)}")
    misses = []
    for number, want in enumerate(expected):
        hit = next((i for i in unused if not match_request(want, chosen[i])), None)
        if hit is None:
            misses.append((number, want))
        else:
            unused.remove(hit)
    for number, want in misses:
        if not unused:
            lines.append(f"unordered[{number}] missing: expected {show(want)}")
            continue
        closest = min(unused, key=lambda i: len(match_request(want, chosen[i])))
        lines.append(f"unordered[{number}] matches no request; closest is "
                     f"{_label(closest, chosen[closest])}:")
        lines += [f"    {line}" for line in match_request(want, chosen[closest])]
    if not misses:
        for index in unused:
            lines.append(f"{_label(index, chosen[index])}: not expected: "
                         f"{describe(chosen[index])} {show(chosen[index].get('json'))}")
    return lines


def check_fields(expected: dict, actual: dict, skip: tuple = ("campaign",)) -> list[str]:
    """The listed fields of a stats or campaign answer."""
    return match({k: v for k, v in expected.items() if k not in skip}, actual)


def check_events(expectation: dict, events: list[dict]) -> list[str]:
    """A user's events (``name`` selects; ``count`` and ``each`` check)."""
    name = expectation.get("name")
    chosen = [e for e in events if name is None or e.get("name") == name]
    lines = []
    if "count" in expectation:
        lines += match(expectation["count"], len(chosen), "count")
    for index, event in enumerate(chosen):
        lines += [f"event[{index}] at {event.get('time')}: {line}"
                  for line in match(expectation.get("each") or {}, event)]
    return lines
