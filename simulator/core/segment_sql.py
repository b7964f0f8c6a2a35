"""SQL for one attribute filter (spec §5.4): a user attribute over ``users.attrs`` or an event
attribute over ``events.attrs``, every data type and operator, ``negate``, ``case_sensitive``.

Each condition is true, false or NULL (key not set). Only ``negate`` and exclusion turn a
condition round, always as ``NOT ifnull(c, 0)``, so every negative operator matches users where
the key is not set (spec §5.4), and a positive one never does.

Stored forms: datetime attributes are canonical ISO text (``timestamps.iso``), compared as text
with inclusive millisecond bounds; numbers are JSON numbers (text never passes a numeric bound:
SQLite orders text after every number); booleans are tested with ``json_type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from . import attributes, segment_dates
from .timestamps import iso

STRING_KINDS = {"in": "is", "is": "is", "contains": "contains", "containsInTheFollowing": "contains",
                "startsWith": "starts", "startsWithInTheFollowing": "starts",
                "startWithInTheFollowing": "starts",  # S24's spelling (spec §5.4)
                "endsWith": "ends", "endsWithInTheFollowing": "ends"}
NUMBER_OPERATORS = ("in", "is", "lessThan", "greaterThan", "between")
DATETIME_OPERATORS = ("on", "in", "between", "before", "after", "inTheLast", "inTheNext",
                      "today", "is")
PART_OPERATORS = ("is", "in", "between")
OPERATORS = {
    "string": {*STRING_KINDS, "exists"},
    "double": {*NUMBER_OPERATORS, "exists"},
    "bool": {"is", "exists"},
    "datetime": {*DATETIME_OPERATORS, "exists"},
    "array_string": {*STRING_KINDS, "exists"},
    "array_double": {*NUMBER_OPERATORS, "exists"},
}
# data_type -> the attribute_types catalogue types it can filter
STORED_TYPES = {"string": {"string"}, "double": {"number"}, "bool": {"bool"},
                "datetime": {"datetime"}, "array_string": {"array"}, "array_double": {"array"}}
# The standard attributes with a generated column (store/migrations.py m001).
_GENERATED = {"u_em": "users.email", "u_mb": "users.mobile", "u_fn": "users.first_name",
              "u_l_a": "users.last_seen", "moe_dtzo": "users.tz_offset_mins"}
_MIN_ISO, _MAX_ISO = "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"
_ONE_MS = timedelta(milliseconds=1)

Sql = tuple[str, list]


@dataclass(frozen=True)
class When:
    """The moment a segment is evaluated and the app time zone it reads dates in."""
    now: datetime
    zone: tzinfo


@dataclass(frozen=True)
class Column:
    base: str  # users.attrs or events.attrs
    key: str
    direct: str | None = None  # a generated column holding the same value

    @classmethod
    def user(cls, name: str) -> Column:
        key = attributes.storage_key(name)
        return cls("users.attrs", key, _GENERATED.get(key))

    @classmethod
    def event(cls, name: str) -> Column:
        return cls("events.attrs", name)

    @property
    def path(self) -> str:
        return "'" + ('$."' + self.key.replace('"', '\\"') + '"').replace("'", "''") + "'"

    @property
    def value(self) -> str:
        return self.direct or f"json_extract({self.base}, {self.path})"


def listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def negated(sql: str) -> str:
    return f"NOT ifnull({sql}, 0)"


def condition(item: dict, column: Column, when: When) -> Sql:
    """One checked attribute filter as SQL."""
    data_type, operator = item["data_type"], item["operator"]
    if operator == "exists":
        sql, params = f"{column.value} IS NOT NULL", []
    elif data_type == "string":
        sql, params = text_test(STRING_KINDS[operator], column.value, listed(item["value"]),
                                bool(item.get("case_sensitive", False)))
    elif data_type == "double":
        sql, params = number_test(operator, column.value, item)
    elif data_type == "bool":
        sql, params = f"json_type({column.base}, {column.path}) = ?", [
            "true" if item["value"] else "false"]
    elif data_type == "datetime":
        sql, params = _datetime(item, column.value, when)
    else:
        sql, params = _array(item, column)
    return (negated(sql) if item.get("negate") else sql), params


def text_test(kind: str, lhs: str, values: list, case_sensitive: bool) -> Sql:
    if kind == "is":  # NOCASE (ASCII, like lower()) costs less than a lower() call per row
        collate = "" if case_sensitive else " COLLATE NOCASE"
        return f"{lhs}{collate} IN ({','.join('?' * len(values))})", values
    if not case_sensitive:
        lhs, values = f"lower({lhs})", [str(v).lower() for v in values]
    tests = []
    for value in values:
        if value == "":
            tests.append(f"{lhs} IS NOT NULL")
        elif kind == "contains":
            tests.append(f"instr({lhs}, ?) > 0")
        elif kind == "starts":
            tests.append(f"substr({lhs}, 1, {len(value)}) = ?")
        else:
            tests.append(f"substr({lhs}, -{len(value)}) = ?")
    return "(" + " OR ".join(tests) + ")", [v for v in values if v != ""]


def number_test(operator: str, lhs: str, item: dict) -> Sql:
    """Numbers: ``between`` is N1 <= v < N2 (spec §5.4)."""
    if operator in ("in", "is"):
        values = listed(item["value"])
        return f"{lhs} IN ({','.join('?' * len(values))})", values
    if operator == "lessThan":
        return f"{lhs} < ?", [item["value"]]
    if operator == "greaterThan":
        return f"({lhs} > ? AND {lhs} < 9e999)", [item["value"]]
    return f"({lhs} >= ? AND {lhs} < ?)", [item["value"], item["value1"]]


def iso_bounds(start: datetime | None, end: datetime | None) -> list[str]:
    """Inclusive canonical-ISO bounds of ``[start, end)``."""
    return [_MIN_ISO if start is None else iso(start),
            _MAX_ISO if end is None else iso(end - _ONE_MS)]


def _datetime(item: dict, lhs: str, when: When) -> Sql:
    operator = item["operator"]
    extract = item.get("extract_type") or "default_option_date"
    if extract != "default_option_date":
        return _date_part(item, extract, lhs, when)
    if operator == "is":
        return f"{lhs} = ?", [iso(segment_dates.instant(item["value"]))]
    if operator == "in":
        parts, params = [], []
        for value in listed(item["value"]):
            parts.append(f"{lhs} BETWEEN ? AND ?")
            params += iso_bounds(*segment_dates.window("on", {**item, "value": value},
                                                       when.now, when.zone))
        return "(" + " OR ".join(parts) + ")", params
    bounds = segment_dates.window(operator, item, when.now, when.zone)
    return f"{lhs} BETWEEN ? AND ?", iso_bounds(*bounds)


_PART_FORMATS = {"time_of_the_day": "%H", "day_of_the_month": "%d", "month_of_the_year": "%m",
                 "date_month_of_the_year": "%m-%d", "day_of_the_week": "%w"}


def part_value(extract: str, value: Any) -> Any:
    """A date-part filter value in the form the SQL computes, or None if it is not one."""
    if extract == "date_month_of_the_year":
        ok = isinstance(value, str) and len(value) == 5 and value[2] == "-"
        return value if ok else None
    if isinstance(value, str):
        names = segment_dates.WEEKDAYS if extract == "day_of_the_week" else \
            segment_dates.MONTHS if extract == "month_of_the_year" else ()
        lowered = value.lower()
        return names.index(lowered) + 1 if lowered in names else None
    limits = {"time_of_the_day": (0, 23), "day_of_the_month": (1, 31),
              "month_of_the_year": (1, 12), "day_of_the_week": (1, 7)}[extract]
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if limits[0] <= value <= limits[1] else None


def _date_part(item: dict, extract: str, lhs: str, when: When) -> Sql:
    """Date parts ignore the year: hour, ISO weekday (Monday 1 .. Sunday 7), day of month,
    month, ``MM-DD``; ``between`` includes both ends."""
    offset = segment_dates.utc_offset_minutes(when.now, when.zone)
    local = f"strftime('{_PART_FORMATS[extract]}', {lhs}, '{offset:+d} minutes')"
    if extract == "day_of_the_week":
        part = f"((CAST({local} AS INTEGER) + 6) % 7 + 1)"
    elif extract == "date_month_of_the_year":
        part = local
    else:
        part = f"CAST({local} AS INTEGER)"
    if item["operator"] == "between":
        return f"{part} BETWEEN ? AND ?", [part_value(extract, item["value"]),
                                           part_value(extract, item["value1"])]
    values = [part_value(extract, v) for v in listed(item["value"])]
    return f"{part} IN ({','.join('?' * len(values))})", values


def _array(item: dict, column: Column) -> Sql:
    """``any_of``: some element passes; ``all_of``: every listed value is matched by some
    element, or for bounds every element passes. ``is`` with ``[]`` is "is empty"."""
    operator = item["operator"]
    all_of = item.get("array_filter_type") == "all_of" and not item.get("negate")
    each = f"json_each({column.base}, {column.path})"
    if operator == "is" and item["value"] == []:
        return f"json_array_length({column.base}, {column.path}) = 0", []
    if item["data_type"] == "array_double" and operator not in ("in", "is"):
        test, params = number_test(operator, "e.value", item)
        if all_of:
            return (f"(json_array_length({column.base}, {column.path}) > 0 AND NOT EXISTS "
                    f"(SELECT 1 FROM {each} AS e WHERE {negated(test)}))"), params
        return f"EXISTS (SELECT 1 FROM {each} AS e WHERE {test})", params
    values = listed(item["value"])
    groups = [[v] for v in values] if all_of else [values]
    parts, params = [], []
    for group in groups:
        if item["data_type"] == "array_double":
            test, more = f"e.value IN ({','.join('?' * len(group))})", group
        else:
            test, more = text_test(STRING_KINDS[operator], "e.value", group,
                                   bool(item.get("case_sensitive", False)))
        parts.append(f"EXISTS (SELECT 1 FROM {each} AS e WHERE {test})")
        params += more
    return "(" + " AND ".join(parts) + ")", params
