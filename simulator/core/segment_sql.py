"""SQL for one attribute filter (spec §5.4): a user attribute over ``users.attrs`` or an event
attribute over ``events.attrs``, every data type and operator, ``negate``, ``case_sensitive``.

Each condition is true, false or NULL (key not set). Only ``negate`` and exclusion turn a
condition round, always as ``NOT ifnull(c, 0)``, so every negative operator matches users where
the key is not set (spec §5.4), and a positive one never does.

Stored forms: datetime attributes are canonical ISO text (``timestamps.iso``), compared as text
with inclusive millisecond bounds; numbers are JSON numbers (text never passes a numeric bound:
SQLite orders text after every number); booleans are tested with ``json_type``.

Geopoints: the stored attribute is an object ``{"lat": .., "lon": ..}`` (also ``lng``,
``latitude``/``longitude``) or the text ``"lat,lon"``, whatever the Data API was sent (tracking
stores objects and strings as they come); ``moe_distance_m`` (registered on every connection by
the store, computed by ``distance_m`` below) gives the haversine distance in meters, NULL when
the stored value is not a point. ``object`` filters apply their nested filters to keys of the
object (a nested JSON path); ``array_object`` ones match when some object element of the array
passes the nested group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from math import asin, cos, radians, sin, sqrt
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
NESTED_TYPES = ("object", "array_object")
NO_OPERATOR_TYPES = ("geopoint", *NESTED_TYPES)  # no ``operator`` (campaign-api.md §1.5.1)
EARTH_RADIUS_M = 6371008.8  # mean Earth radius (IUGG)
# data_type -> the attribute_types catalogue types it can filter
STORED_TYPES = {"string": {"string"}, "double": {"number"}, "bool": {"bool"},
                "datetime": {"datetime"}, "array_string": {"array"}, "array_double": {"array"},
                "geopoint": {"object", "string"}, "object": {"object"}, "array_object": {"array"}}
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
    parents: tuple[str, ...] = ()  # the keys of the objects holding this one
    level: int = 0  # array_object elements this column is inside

    @classmethod
    def user(cls, name: str) -> Column:
        key = attributes.storage_key(name)
        return cls("users.attrs", key, _GENERATED.get(key))

    @classmethod
    def event(cls, name: str) -> Column:
        return cls("events.attrs", name)

    def child(self, name: str) -> Column:
        """Key ``name`` of the object this column holds."""
        return Column(self.base, name, None, (*self.parents, self.key), self.level)

    @property
    def path(self) -> str:
        text = "$" + "".join('."' + key.replace('"', '\\"') + '"'
                             for key in (*self.parents, self.key))
        return "'" + text.replace("'", "''") + "'"

    @property
    def value(self) -> str:
        return self.direct or f"json_extract({self.base}, {self.path})"


def listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def negated(sql: str) -> str:
    return f"NOT ifnull({sql}, 0)"


def condition(item: dict, column: Column, when: When) -> Sql:
    """One checked attribute filter as SQL."""
    data_type, operator = item["data_type"], item.get("operator")
    if data_type == "geopoint":
        sql, params = f"moe_distance_m({column.value}, ?, ?) <= ?", [
            item["value"], item["value1"], item["radius"]]
    elif data_type in NESTED_TYPES:
        sql, params = _nested(item, column, when)
    elif operator == "exists":
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


def _nested_group(item: dict, column_of, when: When) -> Sql:
    compiled = [condition(inner, column_of(inner["name"]), when) for inner in item["filters"]]
    joiner = " AND " if item["filter_operator"] == "and" else " OR "
    return "(" + joiner.join(sql for sql, _ in compiled) + ")", \
        [p for _, params in compiled for p in params]


def _nested(item: dict, column: Column, when: When) -> Sql:
    """``object``: the nested filters on keys of the object. ``array_object``: some element
    that is an object passes the nested group (others are skipped: ``json_extract`` would
    refuse a text element as malformed JSON, hence the CASE)."""
    if item["data_type"] == "object":
        return _nested_group(item, column.child, when)
    level = column.level + 1
    alias = f"o{level}"
    test, params = _nested_group(
        item, lambda name: Column(f"{alias}.value", name, level=level), when)
    return (f"(json_type({column.base}, {column.path}) = 'array' AND EXISTS (SELECT 1 FROM "
            f"json_each({column.base}, {column.path}) AS {alias} WHERE "
            f"CASE WHEN {alias}.type = 'object' THEN {test} END))"), params


def geo_point(stored: Any) -> tuple[float, float] | None:
    """``(lat, lon)`` of a stored geopoint attribute as ``json_extract`` returns it (object as
    JSON text, or ``"lat,lon"``), or None when it is not a valid point."""
    if not isinstance(stored, str):
        return None
    text = stored.strip()
    try:
        if text.startswith("{"):
            obj = json.loads(text)
            if not isinstance(obj, dict):
                return None
            lat = obj.get("lat", obj.get("latitude"))
            lon = obj.get("lon", obj.get("lng", obj.get("longitude")))
        else:
            lat, lon = text.split(",")
        lat, lon = float(lat), float(lon)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def distance_m(stored: Any, lat: float, lon: float) -> float | None:
    """Great-circle (haversine) distance in meters from a stored geopoint to ``(lat, lon)``."""
    point = geo_point(stored)
    if point is None or lat is None or lon is None:
        return None
    p1, p2 = radians(point[0]), radians(lat)
    dp, dl = p2 - p1, radians(lon - point[1])
    h = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(h)))
