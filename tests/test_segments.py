"""Segments compiled to SQL (spec §5.1, §5.4; campaign-api.md §1.5.1): every operator per data
type against hand-computed answers over six literal users and their events, including the
negative operators, key-not-set, and date windows around midnight in Asia/Kolkata (UTC+05:30).

The clock reads 2026-11-22T12:00Z: Sunday 17:30 in Kolkata. Kolkata midnight is 18:30Z.
"""

import json
from datetime import datetime, timezone

import pytest

from simulator.core import attributes
from simulator.core.segments import Catalogue, CycleError, check, compile_audience
from simulator.core.timestamps import to_ms
from simulator.store import Store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
IST = "Asia/Kolkata"

# Local Kolkata times of `signup`: u1 Sat 21 23:59:59.999, u2 Sun 22 00:00, u3 Sun 22 23:59:59.999,
# u4 Mon 23 00:00, u5 Sun 15 15:30, u6 none.
USERS = {
    "u1": {"city": "Mumbai", "plan": "Pro", "age": 25, "vip": True,
           "signup": "2026-11-21T18:29:59.999Z", "tags": ["red", "blue"], "scores": [1, 5]},
    "u2": {"city": "mumbai", "plan": "free", "age": 30, "vip": False,
           "signup": "2026-11-21T18:30:00.000Z", "tags": ["blue"], "scores": [10]},
    "u3": {"city": "New Delhi", "plan": "", "age": 40.5, "signup": "2026-11-22T18:29:59.999Z",
           "tags": [], "scores": []},
    "u4": {"city": "Pune", "age": 18, "vip": True, "signup": "2026-11-22T18:30:00.000Z",
           "tags": ["green"]},
    "u5": {"city": "Delhi", "plan": "pro", "age": "unknown", "signup": "2026-11-15T10:00:00Z"},
    "u6": {},
}
# Geopoints (spec §5.4), filtered around (19.0, 72.8). Along a meridian the haversine distance is
# R·Δφ with R = 6371008.8 m: u1 0.01° north = 1111.95 m, u2 0.01001° north = 1113.06 m (stored
# as "lat,lon" text), u3 at the centre, u4 in Pune (~122.8 km), u5 not a point, u6 none.
GEO = {"u1": {"lat": 19.01, "lon": 72.8}, "u2": "19.01001,72.8", "u3": {"lat": 19.0, "lon": 72.8},
       "u4": {"lat": 18.52, "lon": 73.85}, "u5": "nowhere"}
ADDR = {"u1": {"city": "Mumbai", "pin": 400001}, "u2": {"city": "Pune", "pin": 411001},
        "u3": {"city": "mumbai"}}
ORDERS = {"u1": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 5}], "u2": [{"sku": "B", "qty": 1}],
          "u3": [], "u4": ["junk", {"sku": "C", "qty": 9}]}
for _cid, _raw in USERS.items():
    _raw.update({k: v[_cid] for k, v in (("geo", GEO), ("addr", ADDR), ("orders", ORDERS))
                 if _cid in v})
EVENTS = [  # (user, name, ISO time, attributes)
    ("u1", "Purchase", "2026-11-20T10:00:00Z", {"amount": 100, "category": "shoes"}),
    ("u1", "Purchase", "2026-11-21T10:00:00Z", {"amount": 200, "category": "shoes"}),
    ("u1", "Purchase", "2026-11-22T10:00:00Z", {"amount": 300, "category": "shoes"}),
    ("u2", "Purchase", "2026-10-01T10:00:00Z", {"amount": 500, "category": "bags"}),
    ("u2", "Purchase", "2026-11-21T10:00:00Z", {"amount": 50, "category": "bags"}),
    *[("u3", "Purchase", f"2026-11-22T0{h}:00:00Z", {"amount": 10, "category": "shoes"})
      for h in (1, 2, 3, 4)],
    ("u5", "Purchase", "2026-11-21T18:29:00Z", {"amount": 70, "category": "shoes"}),  # Sat IST
    ("u5", "Purchase", "2026-11-21T18:31:00Z", {"amount": 30, "category": "bags"}),   # Sun IST
    ("u1", "View", "2026-11-10T10:00:00Z", {"category": "shoes"}),
    ("u1", "View", "2026-11-11T10:00:00Z", {"category": "shoes"}),
    ("u1", "View", "2026-11-12T10:00:00Z", {"category": "bags"}),
    *[("u2", "View", f"2026-11-1{d}T10:00:00Z", {"category": "bags"}) for d in (1, 2, 3)],
    ("u2", "View", "2026-11-14T10:00:00Z", {"category": "shoes"}),
    ("u3", "View", "2026-11-14T10:00:00Z", {"category": "shoes"}),
    ("u6", "View", "2026-11-14T10:00:00Z", {"category": "shoes"}),
]


def _stored(raw: dict) -> tuple[dict, dict]:
    """Attributes in stored form and their types, as the Data API stores them."""
    values, types = {}, {}
    for name, value in raw.items():
        stored, kind = attributes.typed(value)
        values[attributes.storage_key(name)] = stored
        types[attributes.storage_key(name)] = kind
    return values, types


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(str(tmp_path_factory.mktemp("segments") / "s.db"))
    store.migrate()
    ids = {}
    with store.write() as db:
        for cid, raw in USERS.items():
            values, _ = _stored(raw)
            ids[cid] = db.execute("INSERT INTO users (customer_id, attrs, created_at, updated_at)"
                                  " VALUES (?, ?, 0, 0)", [cid, json.dumps(values)]).lastrowid
        for cid, name, when, raw in EVENTS:
            values, _ = _stored(raw)
            ts = to_ms(datetime.fromisoformat(when.replace("Z", "+00:00")))
            db.execute("INSERT INTO events (user_id, name, ts, attrs, received_at) "
                       "VALUES (?, ?, ?, ?, 0)", [ids[cid], name, ts, json.dumps(values)])
    yield store
    store.close()


CATALOGUE = Catalogue(
    user_types={k: t for raw in USERS.values() for k, t in _stored(raw)[1].items()
                if not (k == "age" and t == "string")},
    event_types={"Purchase": {"amount": "number", "category": "string"},
                 "View": {"category": "string"}},
    segment_ids=frozenset({7, 8}))
SAVED = {7: {"included_filters": {"filter_operator": "and", "filters": [
    {"filter_type": "user_attributes", "name": "city", "data_type": "string",
     "operator": "contains", "value": "delhi"}]}},
         8: {"included_filters": {"filter_operator": "or", "filters": [
             {"filter_type": "custom_segments", "id": 7},
             {"filter_type": "user_attributes", "name": "age", "data_type": "double",
              "operator": "lessThan", "value": 20}]}}}


def _audience(store, segmentation, tz=IST, resolve=SAVED.get) -> set[str]:
    assert check(segmentation, catalogue=CATALOGUE) == []
    where, params = compile_audience(segmentation, now=NOW, tz=tz, resolve=resolve)
    with store.read() as db:
        return {r[0] for r in db.execute(f"SELECT customer_id FROM users WHERE {where}", params)}


def _one(item: dict) -> dict:
    return {"included_filters": {"filter_operator": "and", "filters": [item]}}


def attr(name, data_type, operator, value=None, **extra):
    item = {"filter_type": "user_attributes", "name": name, "data_type": data_type,
            "operator": operator, **extra}
    if value is not None:
        item["value"] = value
    return item


def _set(text: str) -> set[str]:
    return set(text.split()) if text else set()


STRING = [
    ("is", attr("city", "string", "is", "Mumbai"), "u1 u2"),
    ("is case_sensitive", attr("city", "string", "is", "Mumbai", case_sensitive=True), "u1"),
    ("in", attr("city", "string", "in", ["pune", "DELHI"]), "u4 u5"),
    ("is not (key not set matches)", attr("city", "string", "is", "Mumbai", negate=True),
     "u3 u4 u5 u6"),
    ("contains", attr("city", "string", "contains", "delhi"), "u3 u5"),
    ("does not contain", attr("city", "string", "contains", "delhi", negate=True),
     "u1 u2 u4 u6"),
    ("containsInTheFollowing", attr("city", "string", "containsInTheFollowing", ["pun", "new"]),
     "u3 u4"),
    ("contains spaces", attr("city", "string", "contains", " "), "u3"),
    ("startsWith", attr("city", "string", "startsWith", "mum"), "u1 u2"),
    ("startsWith case_sensitive", attr("city", "string", "startsWith", "Mum",
                                       case_sensitive=True), "u1"),
    ("does not start with", attr("city", "string", "startsWith", "mum", negate=True),
     "u3 u4 u5 u6"),
    ("startWithInTheFollowing (S24)", attr("city", "string", "startWithInTheFollowing",
                                           ["pu", "de"]), "u4 u5"),
    ("endsWith", attr("city", "string", "endsWith", "hi"), "u3 u5"),
    ("does not end with", attr("city", "string", "endsWith", "hi", negate=True), "u1 u2 u4 u6"),
    ("endsWithInTheFollowing", attr("city", "string", "endsWithInTheFollowing", ["AI", "ne"]),
     "u1 u2 u4"),
    ("exists", attr("city", "string", "exists"), "u1 u2 u3 u4 u5"),
    ("does not exist", attr("city", "string", "exists", negate=True), "u6"),
    ("is empty", attr("plan", "string", "is", ""), "u3"),
    ("is not empty (key not set matches)", attr("plan", "string", "is", "", negate=True),
     "u1 u2 u4 u5 u6"),
]
DOUBLE = [  # u5's age is the text "unknown": no numeric operator matches it
    ("is", attr("age", "double", "is", 25), "u1"),
    ("in", attr("age", "double", "in", [18, 30]), "u2 u4"),
    ("is not equal", attr("age", "double", "is", 25, negate=True), "u2 u3 u4 u5 u6"),
    ("lessThan", attr("age", "double", "lessThan", 30), "u1 u4"),
    ("greaterThan", attr("age", "double", "greaterThan", 18), "u1 u2 u3"),
    ("between N1 <= v < N2", attr("age", "double", "between", 25, value1=40.5), "u1 u2"),
    ("not between", attr("age", "double", "between", 25, value1=40.5, negate=True),
     "u3 u4 u5 u6"),
    ("exists", attr("age", "double", "exists"), "u1 u2 u3 u4 u5"),
    ("does not exist", attr("age", "double", "exists", negate=True), "u6"),
]
BOOL = [
    ("is true", attr("vip", "bool", "is", True), "u1 u4"),
    ("is false", attr("vip", "bool", "is", False), "u2"),
    ("is not true (key not set matches)", attr("vip", "bool", "is", True, negate=True),
     "u2 u3 u5 u6"),
    ("exists", attr("vip", "bool", "exists"), "u1 u2 u4"),
    ("does not exist", attr("vip", "bool", "exists", negate=True), "u3 u5 u6"),
]


def dt(operator, value=None, **extra):
    return attr("signup", "datetime", operator, value, **extra)


DATETIME = [  # Asia/Kolkata unless the case says UTC
    ("today", dt("today"), "u2 u3"),
    ("not today (key not set matches)", dt("today", negate=True), "u1 u4 u5 u6"),
    ("inTheLast 1 days: start of yesterday .. now", dt("inTheLast", 1), "u1 u2"),
    ("inTheLast 7 days", dt("inTheLast", 7), "u1 u2 u5"),
    ("inTheNext 1 days: now .. end of tomorrow", dt("inTheNext", 1), "u3 u4"),
    ("on absolute date", dt("on", "2026-11-22", value_type="absolute"), "u2 u3"),
    ("on absolute, MoEngage's normalised form", dt("on", "2026-11-22T00:00:00.000Z",
                                                   value_type="absolute"), "u2 u3"),
    ("on 1 day ago (yesterday)", dt("on", 1, value_type="relative_past"), "u1"),
    ("on 1 day from now (tomorrow)", dt("on", 1, value_type="relative_future"), "u4"),
    ("in dates", dt("in", ["2026-11-21", "2026-11-23"]), "u1 u4"),
    ("before date: until the end of date-1", dt("before", "2026-11-22"), "u1 u5"),
    ("not before date", dt("before", "2026-11-22", negate=True), "u2 u3 u4 u6"),
    ("after date: from the start of date+1", dt("after", "2026-11-22"), "u4"),
    ("before 6 days ago: until the end of now-7", dt("before", 6, value_type="relative_past"),
     "u5"),
    ("between dates, whole days", dt("between", "2026-11-15", value1="2026-11-21"), "u1 u5"),
    ("between 7 and 1 days ago", dt("between", 7, value1=1, value_type="relative_past"),
     "u1 u5"),
    ("is (an instant)", dt("is", "2026-11-21T18:30:00Z"), "u2"),
    ("this week (Monday start)", dt("on", 0, value_type="relative_past", period_unit="weeks"),
     "u1 u2 u3"),
    ("last week", dt("on", 1, value_type="relative_past", period_unit="weeks"), "u5"),
    ("this month", dt("on", 0, value_type="relative_past", period_unit="months"),
     "u1 u2 u3 u4 u5"),
    ("exists", dt("exists"), "u1 u2 u3 u4 u5"),
    ("does not exist", dt("exists", negate=True), "u6"),
    ("hour of day", dt("is", 0, extract_type="time_of_the_day"), "u2 u4"),
    ("hour of day between (inclusive)", dt("between", 15, value1=23,
                                           extract_type="time_of_the_day"), "u1 u3 u5"),
    ("day of week by name", dt("is", "Sunday", extract_type="day_of_the_week"), "u2 u3 u5"),
    ("day of week, Monday is 1", dt("in", [1], extract_type="day_of_the_week"), "u4"),
    ("day of month", dt("in", [21, 23], extract_type="day_of_the_month"), "u1 u4"),
    ("month of year", dt("is", "November", extract_type="month_of_the_year"),
     "u1 u2 u3 u4 u5"),
    ("date-month MM-DD", dt("is", "11-22", extract_type="date_month_of_the_year"), "u2 u3"),
]
UTC_DATETIME = [
    ("UTC today", dt("today"), "u3 u4"),
    ("UTC on date", dt("on", "2026-11-21"), "u1 u2"),
    ("UTC hour of day", dt("is", 18, extract_type="time_of_the_day"), "u1 u2 u3 u4"),
]
ARRAY = [
    ("any_of in", attr("tags", "array_string", "in", ["blue"]), "u1 u2"),
    ("any_of in, case-insensitive", attr("tags", "array_string", "in", ["BLUE"]), "u1 u2"),
    ("all_of in", attr("tags", "array_string", "in", ["red", "blue"],
                       array_filter_type="all_of"), "u1"),
    ("any_of in several", attr("tags", "array_string", "in", ["red", "green"]), "u1 u4"),
    ("is not (key not set matches)", attr("tags", "array_string", "in", ["blue"], negate=True),
     "u3 u4 u5 u6"),
    ("contains", attr("tags", "array_string", "contains", "re"), "u1 u4"),
    ("startsWith", attr("tags", "array_string", "startsWith", "gr"), "u4"),
    ("endsWith", attr("tags", "array_string", "endsWith", "ue"), "u1 u2"),
    ("exists", attr("tags", "array_string", "exists"), "u1 u2 u3 u4"),
    ("is empty", attr("tags", "array_string", "is", []), "u3"),
    ("numbers any_of in", attr("scores", "array_double", "in", [5]), "u1"),
    ("numbers all_of in", attr("scores", "array_double", "in", [1, 5],
                               array_filter_type="all_of"), "u1"),
    ("numbers any_of greaterThan", attr("scores", "array_double", "greaterThan", 4), "u1 u2"),
    ("numbers all_of greaterThan", attr("scores", "array_double", "greaterThan", 4,
                                        array_filter_type="all_of"), "u2"),
    ("numbers all_of lessThan (empty array fails)", attr(
        "scores", "array_double", "lessThan", 6, array_filter_type="all_of"), "u1"),
    ("numbers any_of between", attr("scores", "array_double", "between", 1, value1=10), "u1"),
    ("numbers not greaterThan", attr("scores", "array_double", "greaterThan", 4, negate=True),
     "u3 u4 u5 u6"),
]


def geo(radius, lat=19.0, lon=72.8, **extra):
    return {"filter_type": "user_attributes", "name": "geo", "data_type": "geopoint",
            "value": lat, "value1": lon, "radius": radius, **extra}


def obj(name, data_type, operator, *filters, **extra):
    return {"filter_type": "user_attributes", "name": name, "data_type": data_type,
            "filter_operator": operator, "filters": list(filters), **extra}


def key(name, data_type, operator, value=None, **extra):
    item = {"name": name, "data_type": data_type, "operator": operator, **extra}
    if value is not None:
        item["value"] = value
    return item


NESTED = [
    ("geopoint just inside (1111.95 m <= 1112)", geo(1112), "u1 u3"),
    ("geopoint just outside (1113.06 m > 1112.9)", geo(1112.9), "u1 u3"),
    ("geopoint lat,lon text just inside (1113.06 m <= 1113.1)", geo(1113.1), "u1 u2 u3"),
    ("geopoint 200 km", geo(200_000), "u1 u2 u3 u4"),
    ("geopoint negate (not a point and key not set match)", geo(1112, negate=True),
     "u2 u4 u5 u6"),
    ("object key is", obj("addr", "object", "and", key("city", "string", "is", "mumbai")),
     "u1 u3"),
    ("object and", obj("addr", "object", "and", key("city", "string", "is", "Mumbai",
                                                    case_sensitive=True),
                       key("pin", "double", "lessThan", 400100)), "u1"),
    ("object or", obj("addr", "object", "or", key("city", "string", "is", "pune"),
                      key("pin", "double", "lessThan", 400100)), "u1 u2"),
    ("object negate (key not set matches)",
     obj("addr", "object", "and", key("city", "string", "is", "mumbai"), negate=True),
     "u2 u4 u5 u6"),
    ("object inner negate (inner key not set matches)",
     obj("addr", "object", "and", key("pin", "double", "exists", negate=True)), "u3 u4 u5 u6"),
    ("array_object any element", obj("orders", "array_object", "and",
                                     key("sku", "string", "is", "B")), "u1 u2"),
    ("array_object one element passes all", obj("orders", "array_object", "and",
                                                key("sku", "string", "is", "B"),
                                                key("qty", "double", "greaterThan", 3)), "u1"),
    ("array_object or", obj("orders", "array_object", "or", key("sku", "string", "is", "C"),
                            key("qty", "double", "lessThan", 2)), "u2 u4"),
    ("array_object skips elements that are not objects",
     obj("orders", "array_object", "and", key("qty", "double", "greaterThan", 8)), "u4"),
    ("array_object negate (no element passes, or key not set)",
     obj("orders", "array_object", "and", key("sku", "string", "is", "B"), negate=True),
     "u3 u4 u5 u6"),
    ("geopoint and array_object in a nested group",
     {"filter_type": "nested_filters", "filter_operator": "and", "filters": [
         geo(1112), obj("orders", "array_object", "and", key("sku", "string", "is", "B"))]},
     "u1"),
]

LAST_7_DAYS = {"type": "inTheLast", "value_type": "relative_past", "value": 7,
               "period_unit": "days"}
EMPTY = {"filter_operator": "and", "filters": []}


def action(execution=None, time_range=LAST_7_DAYS, name="Purchase", attributes=EMPTY, **extra):
    item = {"filter_type": "actions", "action_name": name, "executed": True,
            "attributes": attributes, **extra}
    if execution:
        item["execution"] = execution
    if time_range:
        item["primary_time_range"] = time_range
    return item


def event_attr(name, data_type, operator, value=None, **extra):
    item = attr(name, data_type, operator, value, **extra)
    del item["filter_type"]
    return item


def agg(kind, operator, value, **extra):
    return {"filter_operator": "and", "filters": [{
        "attribute_name": "amount", "data_type": "double", "aggregation_type": kind,
        "operator": operator, "value": value, **extra}]}


ACTIONS = [
    ("at least 3 times in the last 7 days", action({"type": "atleast", "count": 3}), "u1 u3"),
    ("exactly once in the last 7 days", action({"type": "exactly", "count": 1}), "u2"),
    ("at most once (never counts)", action({"type": "atmost", "count": 1}), "u2 u4 u6"),
    ("has not executed", action(executed=False), "u4 u6"),
    ("executed, all time", action(time_range=None), "u1 u2 u3 u5"),
    ("event attribute filter", action(attributes={"filter_operator": "and", "filters": [
        event_attr("category", "string", "is", "bags")]}), "u2 u5"),
    ("negated event attribute filter", action(attributes={"filter_operator": "and", "filters": [
        event_attr("category", "string", "is", "shoes", negate=True)]}), "u2 u5"),
    ("numeric event attribute, all time", action(time_range=None, attributes={
        "filter_operator": "and", "filters": [event_attr("amount", "double", "greaterThan",
                                                         250)]}), "u1 u2"),
    ("today, Kolkata midnight", action(time_range={
        "type": "on", "value_type": "relative_past", "value": 0, "period_unit": "days"}),
     "u1 u3 u5"),
    ("yesterday", action(time_range={"type": "on", "value_type": "relative_past", "value": 1,
                                     "period_unit": "days"}), "u1 u2 u5"),
    ("dashboard days/days1 spelling", action(time_range={
        "type": "between", "value_type": "relative_past", "days": 2, "days1": 2}), "u1"),
    ("between absolute dates", action(time_range={
        "type": "between", "value_type": "absolute", "value": "2026-11-20T00:00:00.000Z",
        "value1": "2026-11-20T23:59:59.999Z"}), "u1"),
    ("before a date", action(time_range={"type": "before", "value_type": "absolute",
                                         "value": "2026-11-01"}), "u2"),
    ("after a date", action(time_range={"type": "after", "value_type": "absolute",
                                        "value": "2026-11-21"}), "u1 u3 u5"),
    ("first time in the last 7 days", action({"type": "firstTime"}), "u1 u3 u5"),
    ("last time on a date", action({"type": "lastTime"}, time_range={
        "type": "on", "value_type": "absolute", "value": "2026-11-21"}), "u2"),
    ("sum greaterThan", action(aggregation_attributes=agg("sum", "greaterThan", 250)), "u1"),
    ("avg lessThan", action(aggregation_attributes=agg("avg", "lessThan", 20)), "u3"),
    ("min is", action(aggregation_attributes=agg("min", "is", 10)), "u3"),
    ("max between", action(aggregation_attributes=agg("max", "between", 60, value1=301)),
     "u1 u5"),
    ("median is, all time", action(time_range=None, aggregation_attributes=agg(
        "median", "is", 200)), "u1"),
    ("sum not greaterThan", action(aggregation_attributes=agg("sum", "greaterThan", 250,
                                                              negate=True)), "u2 u3 u5"),
]


def affinity(operator_type, category, **extra):
    return {"filter_type": "psychographic_event", "action_name": "View", "executed": True,
            "execution": {"type": "atleast", "count": 1}, "operator_type": operator_type,
            "psychographic_attributes": {"filter_operator": "and", "filters": [
                event_attr("category", "string", "is", category)]}, **extra}


AFFINITY = [  # Views: u1 shoes 2 bags 1; u2 bags 3 shoes 1; u3 shoes 1; u6 shoes 1
    ("predominantly shoes", affinity("predominant", "shoes"), "u1 u3 u6"),
    ("predominantly bags", affinity("predominant", "bags"), "u2"),
    ("minimum 50% of times", affinity("minimum", "shoes", percent_of_times=50), "u1 u3 u6"),
    ("minimum 70% of times", affinity("minimum", "shoes", percent_of_times=70), "u3 u6"),
    ("top 50% of users (ties by user id)", affinity("top", "shoes", percent_of_users=50),
     "u1 u2"),
    ("bottom 25% of users", affinity("bottom", "shoes", percent_of_users=25), "u2"),
    ("affinity within a window", affinity("predominant", "shoes", primary_time_range={
        "type": "between", "value_type": "absolute", "from": "2026-11-12", "to": "2026-11-14"}),
     "u3 u6"),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("name,item,expected", STRING, ids=_ids(STRING))
def test_spec5_4_string_operators(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


@pytest.mark.parametrize("name,item,expected", DOUBLE, ids=_ids(DOUBLE))
def test_spec5_4_numeric_operators(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


@pytest.mark.parametrize("name,item,expected", BOOL, ids=_ids(BOOL))
def test_spec5_4_boolean_operators(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


@pytest.mark.parametrize("name,item,expected", DATETIME, ids=_ids(DATETIME))
def test_spec5_4_datetime_operators_in_the_app_time_zone(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


@pytest.mark.parametrize("name,item,expected", UTC_DATETIME, ids=_ids(UTC_DATETIME))
def test_spec5_4_datetime_windows_move_with_the_app_time_zone(store, name, item, expected):
    assert _audience(store, _one(item), tz="UTC") == _set(expected)


@pytest.mark.parametrize("name,item,expected", ARRAY, ids=_ids(ARRAY))
def test_spec5_4_array_operators(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


@pytest.mark.parametrize("name,item,expected", NESTED, ids=_ids(NESTED))
def test_spec5_4_geopoint_object_and_array_object_filters(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


@pytest.mark.parametrize("name,item,expected", ACTIONS, ids=_ids(ACTIONS))
def test_spec5_1_behaviour_filters(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


@pytest.mark.parametrize("name,item,expected", AFFINITY, ids=_ids(AFFINITY))
def test_spec5_1_affinity_filters(store, name, item, expected):
    assert _audience(store, _one(item)) == _set(expected)


def test_spec5_1_nested_groups_and_or(store):
    segmentation = {"included_filters": {"filter_operator": "or", "filters": [
        {"filter_type": "nested_filters", "filter_operator": "and", "filters": [
            attr("city", "string", "is", "mumbai"), attr("vip", "bool", "is", False)]},
        {"filter_type": "nested_filters", "filter_operator": "and", "filters": [
            attr("age", "double", "lessThan", 20)]}]}}
    assert _audience(store, segmentation) == {"u2", "u4"}


def test_excluded_filters_are_removed_from_the_included_users(store):
    segmentation = {"included_filters": {"filter_operator": "and", "filters": [
        attr("city", "string", "exists")]},
        "excluded_filters": {"filter_operator": "and", "filters": [
            action({"type": "atleast", "count": 3})]}}
    assert _audience(store, segmentation) == {"u2", "u4", "u5"}


def test_exclusion_keeps_users_without_the_key(store):
    segmentation = {"is_all_user_campaign": True, "excluded_filters": {
        "filter_operator": "and", "filters": [attr("vip", "bool", "is", True)]}}
    assert _audience(store, segmentation) == {"u2", "u3", "u5", "u6"}


def test_custom_segments_resolve_by_id_and_nest(store):
    assert _audience(store, _one({"filter_type": "custom_segments", "id": 7})) == {"u3", "u5"}
    assert _audience(store, _one({"filter_type": "custom_segments", "id": 8})) == \
        {"u3", "u4", "u5"}


def test_a_saved_segment_that_is_gone_matches_nobody(store):
    assert _audience(store, _one({"filter_type": "custom_segments", "id": 7}),
                     resolve=lambda _id: None) == set()


def test_a_saved_segment_cycle_is_refused():
    loop = _one({"filter_type": "custom_segments", "id": 1})
    with pytest.raises(CycleError):
        compile_audience(loop, now=NOW, resolve=lambda _id: loop)


def _paths(segmentation, catalogue=CATALOGUE):
    return {e.path: e.message for e in check(segmentation, catalogue=catalogue)}


BAD = [
    ("unknown operator for the type", attr("city", "string", "lessThan", 3),
     "segmentation_details.included_filters.filters[0].operator"),
    ("wrong attribute type", attr("city", "double", "is", 3),
     "segmentation_details.included_filters.filters[0].data_type"),
    ("between without value1", attr("age", "double", "between", 3),
     "segmentation_details.included_filters.filters[0].value1"),
    ("between the wrong way round", attr("age", "double", "between", 30, value1=20),
     "segmentation_details.included_filters.filters[0].value1"),
    ("bool value not a bool", attr("vip", "bool", "is", "yes"),
     "segmentation_details.included_filters.filters[0].value"),
    ("bad absolute date", dt("on", "22/11/2026"),
     "segmentation_details.included_filters.filters[0].value"),
    ("bad relative count", dt("on", -1, value_type="relative_past"),
     "segmentation_details.included_filters.filters[0].value"),
    ("bad period unit", dt("inTheLast", 3, period_unit="fortnights"),
     "segmentation_details.included_filters.filters[0].period_unit"),
    ("bad date part", dt("is", "Funday", extract_type="day_of_the_week"),
     "segmentation_details.included_filters.filters[0].value"),
    ("execution count 0", action({"type": "atleast", "count": 0}),
     "segmentation_details.included_filters.filters[0].execution.count"),
    ("unknown execution type", action({"type": "sometimes", "count": 1}),
     "segmentation_details.included_filters.filters[0].execution.type"),
    ("inTheLast must be relative_past", action(time_range={
        "type": "inTheLast", "value_type": "absolute", "value": 3}),
     "segmentation_details.included_filters.filters[0].primary_time_range.value_type"),
    ("aggregation with firstTime", action({"type": "firstTime"},
                                          aggregation_attributes=agg("sum", "is", 1)),
     "segmentation_details.included_filters.filters[0].aggregation_attributes"),
    ("aggregation with a before range", action(
        time_range={"type": "before", "value_type": "absolute", "value": "2026-11-01"},
        aggregation_attributes=agg("sum", "is", 1)),
     "segmentation_details.included_filters.filters[0].aggregation_attributes"),
    ("unknown aggregation", action(aggregation_attributes=agg("mode", "is", 1)),
     "segmentation_details.included_filters.filters[0].aggregation_attributes.filters[0]"
     ".aggregation_type"),
    ("event attribute of the wrong type", action(attributes={"filter_operator": "and",
                                                              "filters": [event_attr(
                                                                  "amount", "string", "is",
                                                                  "x")]}),
     "segmentation_details.included_filters.filters[0].attributes.filters[0].data_type"),
    ("percentage over 100", affinity("top", "shoes", percent_of_users=101),
     "segmentation_details.included_filters.filters[0].percent_of_users"),
    ("percentage under 1", affinity("minimum", "shoes", percent_of_times=0),
     "segmentation_details.included_filters.filters[0].percent_of_times"),
    ("affinity on a bool", {**affinity("top", "shoes", percent_of_users=5),
                            "psychographic_attributes": {"filter_operator": "and", "filters": [
                                event_attr("category", "bool", "is", True)]}},
     "segmentation_details.included_filters.filters[0].psychographic_attributes.filters[0]"
     ".data_type"),
    ("unknown saved segment", {"filter_type": "custom_segments", "id": 99},
     "segmentation_details.included_filters.filters[0].id"),
    ("unknown filter type", {"filter_type": "geo_fence"},
     "segmentation_details.included_filters.filters[0].filter_type"),
    ("geopoint without longitude", {**geo(10), "value1": None},
     "segmentation_details.included_filters.filters[0].value1"),
    ("geopoint latitude out of range", geo(10, lat=91),
     "segmentation_details.included_filters.filters[0].value"),
    ("geopoint radius 0", geo(0), "segmentation_details.included_filters.filters[0].radius"),
    ("geopoint without radius", {**geo(1), "radius": None},
     "segmentation_details.included_filters.filters[0].radius"),
    ("geopoint on a number attribute", {**geo(10), "name": "age"},
     "segmentation_details.included_filters.filters[0].data_type"),
    ("object without filters", obj("addr", "object", "and"),
     "segmentation_details.included_filters.filters[0].filters"),
    ("object nested filter invalid", obj("addr", "object", "and",
                                         key("city", "string", "lessThan", 3)),
     "segmentation_details.included_filters.filters[0].filters[0].operator"),
    ("array_object nested filter without value", obj("orders", "array_object", "or",
                                                     key("qty", "double", "between", 1)),
     "segmentation_details.included_filters.filters[0].filters[0].value1"),
    ("array_object nested filter of another kind", obj("orders", "array_object", "and",
                                                       {"filter_type": "actions"}),
     "segmentation_details.included_filters.filters[0].filters[0].filter_type"),
    ("array_object on a string attribute", obj("city", "array_object", "and",
                                               key("sku", "string", "exists")),
     "segmentation_details.included_filters.filters[0].data_type"),
    ("nested group without operator", {"filter_type": "nested_filters", "filters": [
        attr("city", "string", "exists")]},
     "segmentation_details.included_filters.filters[0].filter_operator"),
]


@pytest.mark.parametrize("name,item,path", BAD, ids=_ids(BAD))
def test_bad_filters_are_refused_with_their_path(name, item, path):
    assert path in _paths(_one(item)), _paths(_one(item))


def test_every_problem_is_listed_at_once():
    segmentation = {"included_filters": {"filter_operator": "xor", "filters": [
        attr("city", "string", "lessThan", 3), attr("vip", "bool", "is", "yes")]},
        "excluded_filters": {"filter_operator": "and", "filters": [{"filter_type": "x"}]}}
    assert set(_paths(segmentation)) == {
        "segmentation_details.included_filters.filter_operator",
        "segmentation_details.included_filters.filters[0].operator",
        "segmentation_details.included_filters.filters[1].value",
        "segmentation_details.excluded_filters.filters[0].filter_type"}


def test_all_users_cannot_be_combined_with_included_filters():
    assert "segmentation_details.included_filters" in _paths({
        "is_all_user_campaign": True,
        "included_filters": {"filter_operator": "and", "filters": [attr("city", "string",
                                                                        "exists")]}})
