"""Audiences (``segmentation_details``, spec §5.1/§5.4, campaign-api.md §1.5) compiled to one SQL
condition over ``users``: included filters minus excluded filters, nested AND/OR groups of
user-attribute, behaviour, affinity, saved-segment and nested filters. No Python loop over
users: the store runs the SQL (``users.audience_page``, ``users.in_audience``, counts).

- ``check`` (``segment_checks``): every problem with its JSON path.
- ``compile_audience``: ``(where, params)``; ``now`` and the app zone come in, saved segments
  through a ``resolve(id) -> segmentation_details | None`` callable (core never reads SQLite).

The pieces: ``segment_sql`` (attribute filters), ``segment_events`` (actions, affinity),
``segment_dates`` (date windows in the app zone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from . import segment_events
from .errors import ValidationFailed
from .segment_checks import Catalogue, check
from .segment_sql import Column, Sql, When, condition, negated
from .time_windows import filter_zone

__all__ = ["Catalogue", "check", "compile_audience", "referenced_segments", "CycleError",
           "index_hints"]

Resolver = Callable[[int], "dict | None"]


class CycleError(ValidationFailed):
    """A saved segment that includes itself, directly or through others."""


def compile_audience(segmentation: dict, *, now: datetime, tz: str = "UTC",
                     resolve: Resolver | None = None) -> Sql:
    """A WHERE condition over ``users`` (unaliased) and its parameters; ``check`` has passed.
    A saved segment that no longer exists matches nobody."""
    when = When(now, filter_zone(tz))
    return _Compiler(when, resolve or (lambda _id: None)).segmentation(segmentation, ())


def referenced_segments(segmentation: dict) -> set[int]:
    """Ids of the saved segments a segmentation names (not following them)."""
    found: set[int] = set()

    def walk(group: dict | None) -> None:
        for item in (group or {}).get("filters") or ():
            if item.get("filter_type") == "custom_segments":
                found.add(int(item["id"]))
            elif item.get("filter_type") == "nested_filters":
                walk(item)

    walk(segmentation.get("included_filters"))
    walk(segmentation.get("excluded_filters"))
    return found


def index_hints(segmentation: dict) -> set[tuple[str, bool]]:
    """``(JSON path literal, nocase)`` of the custom user attributes this segmentation compares
    by value (string is/in, numbers): an expression index on each turns a full scan of every
    user's JSON into an index search (``services.segments`` creates them on first use)."""
    hints: set[tuple[str, bool]] = set()

    def walk(group: dict | None) -> None:
        for item in (group or {}).get("filters") or ():
            kind = item.get("filter_type")
            if kind == "nested_filters":
                walk(item)
            elif kind == "user_attributes":
                column = Column.user(item["name"])
                if column.direct:
                    continue
                if item.get("data_type") == "string" and item.get("operator") in ("is", "in"):
                    hints.add((column.path, not item.get("case_sensitive", False)))
                elif item.get("data_type") == "double" and item.get("operator") != "exists":
                    hints.add((column.path, False))

    walk(segmentation.get("included_filters"))
    walk(segmentation.get("excluded_filters"))
    return hints


class _Compiler:
    def __init__(self, when: When, resolve: Resolver):
        self.when, self.resolve = when, resolve

    def segmentation(self, segmentation: dict, trail: tuple[int, ...]) -> Sql:
        if segmentation.get("is_all_user_campaign") is True:
            sql, params = "1", []
        else:
            sql, params = self.group(segmentation["included_filters"], trail)
        excluded = segmentation.get("excluded_filters")
        if excluded and excluded.get("filters"):
            out, more = self.group(excluded, trail)
            sql, params = f"({sql} AND {negated(out)})", params + more
        return sql, params

    def group(self, group: dict, trail: tuple[int, ...]) -> Sql:
        compiled = [self.filter(item, trail) for item in group["filters"]]
        if group["filter_operator"] == "and":
            # behaviour first: SQLite can drive the query from an IN list on users.id, and an
            # AND stops at the first false term
            compiled.sort(key=lambda c: not c[0].startswith("users.id IN"))
        joiner = " AND " if group["filter_operator"] == "and" else " OR "
        return "(" + joiner.join(sql for sql, _ in compiled) + ")", \
            [p for _, params in compiled for p in params]

    def filter(self, item: dict, trail: tuple[int, ...]) -> Sql:
        kind = item["filter_type"]
        if kind == "user_attributes":
            return condition(item, Column.user(item["name"]), self.when)
        if kind == "actions":
            return segment_events.actions(item, self.when)
        if kind == "psychographic_event":
            return segment_events.affinity(item, self.when)
        if kind == "nested_filters":
            return self.group(item, trail)
        segment_id = int(item["id"])
        if segment_id in trail:
            raise CycleError(f"saved segment {segment_id} includes itself",
                             path="segmentation_details")
        saved = self.resolve(segment_id)
        if saved is None:
            return "0", []
        return self.segmentation(saved, trail + (segment_id,))
