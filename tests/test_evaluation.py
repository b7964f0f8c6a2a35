"""Response evaluation (spec §2.7), Sent/Failed (spec §4) and Connector outcomes (spec §6)."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from simulator.core.evaluation import (CreatedEvent, Outcome, connector_outcome, evaluate,
                                       matches)
from simulator.core.http import HttpResult
from simulator.core.templating import NotSend

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)  # a Sunday
FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SENT, FAILED = "Connected App Campaign Sent", "Connected App Campaign Failed"


def body_matches(item: dict, document, *, datetime_format=FORMAT) -> bool:
    """``item`` as the one filter inside a ``response_body`` object wrapper."""
    criteria = {"filter_operator": "and", "filters": [
        {"name": "response_body", "data_type": "object", "filter_operator": "and",
         "filters": [item]}]}
    result = HttpResult(200, {}, json.dumps(document).encode())
    return matches(criteria, result, datetime_format=datetime_format, now=NOW)


def value_matches(item: dict, value) -> bool:
    return body_matches({"name": "v", **item}, {"v": value})


def on_code(**item) -> dict:
    return {"filter_operator": "and", "filters": [{"name": "response_code", **item}]}


# -- spec §5.4 operators, one data type at a time ----------------------------------------------

@pytest.mark.parametrize("item, value, expected", [
    ({"operator": "is", "value": "ok"}, "ok", True),
    ({"operator": "is", "value": "ok"}, "OK", True),
    ({"operator": "is", "value": "ok", "case_sensitive": True}, "OK", False),
    ({"operator": "is", "value": "ok"}, "okay", False),
    ({"operator": "is", "value": ["a", "b"]}, "b", True),
    ({"operator": "is", "value": ""}, "", True),
    ({"operator": "in", "value": ["x", "y"]}, "Y", True),
    ({"operator": "in", "value": ["x", "y"]}, "z", False),
    ({"operator": "contains", "value": "ELL"}, "hello", True),
    ({"operator": "contains", "value": "ELL", "case_sensitive": True}, "hello", False),
    ({"operator": "contains", "value": " "}, "a b", True),
    ({"operator": "contains", "value": "xyz"}, "hello", False),
    ({"operator": "containsInTheFollowing", "value": ["zz", "ll"]}, "hello", True),
    ({"operator": "startsWith", "value": "he"}, "hello", True),
    ({"operator": "startsWith", "value": "lo"}, "hello", False),
    ({"operator": "startsWithInTheFollowing", "value": ["x", "HE"]}, "hello", True),
    ({"operator": "startWithInTheFollowing", "value": ["he"]}, "hello", True),
    ({"operator": "endsWith", "value": "lo"}, "hello", True),
    ({"operator": "endsWith", "value": "LO", "case_sensitive": True}, "hello", False),
    ({"operator": "endsWithInTheFollowing", "value": ["x", "LO"]}, "hello", True),
    ({"operator": "exists"}, "", True),
    ({"operator": "is", "value": "5"}, 5, False),
    ({"operator": "is", "value": "ok", "negate": True}, "ok", False),
    ({"operator": "is", "value": "ok", "negate": True}, "no", True),
])
def test_spec5_4_string_operators(item, value, expected):
    assert value_matches({"data_type": "string", **item}, value) is expected


@pytest.mark.parametrize("item, value, expected", [
    ({"operator": "is", "value": 200}, 200, True),
    ({"operator": "is", "value": 200}, 200.0, True),
    ({"operator": "is", "value": 200}, 201, False),
    ({"operator": "is", "value": [1, 2]}, 3, False),
    ({"operator": "in", "value": [1, 2, 3]}, 2, True),
    ({"operator": "lessThan", "value": 10}, 9.5, True),
    ({"operator": "lessThan", "value": 10}, 10, False),
    ({"operator": "greaterThan", "value": 10}, 11, True),
    ({"operator": "greaterThan", "value": 10}, 10, False),
    ({"operator": "between", "value": 1, "value1": 5}, 1, True),
    ({"operator": "between", "value": 1, "value1": 5}, 5, True),  # §2.7: value <= x <= value1
    ({"operator": "between", "value": 1, "value1": 5}, 5.01, False),
    ({"operator": "between", "value": 1, "value1": 5}, 0.99, False),
    ({"operator": "exists"}, 0, True),
    ({"operator": "is", "value": 5}, "5", True),
    ({"operator": "is", "value": 1}, True, False),
    ({"operator": "is", "value": 5}, "five", False),
    ({"operator": "lessThan", "value": 10, "negate": True}, 10, True),
])
def test_spec5_4_double_operators(item, value, expected):
    assert value_matches({"data_type": "double", **item}, value) is expected


@pytest.mark.parametrize("item, value, expected", [
    ({"operator": "is", "value": True}, True, True),
    ({"operator": "is", "value": True}, False, False),
    ({"operator": "is", "value": False}, False, True),
    ({"operator": "is", "value": True}, "true", True),
    ({"operator": "is", "value": True}, 1, False),
    ({"operator": "exists"}, False, True),
    ({"operator": "is", "value": True, "negate": True}, False, True),
])
def test_spec5_4_bool_operators(item, value, expected):
    assert value_matches({"data_type": "bool", **item}, value) is expected


@pytest.mark.parametrize("item, value, expected", [
    ({"operator": "is", "value": ["a"]}, ["a", "b"], True),
    ({"operator": "is", "value": ["a", "c"], "array_filter_type": "all_of"}, ["a", "b"], False),
    ({"operator": "is", "value": ["a", "c"], "array_filter_type": "all_of"}, ["a", "b", "c"],
     True),
    ({"operator": "is", "value": ["a", "c"], "array_filter_type": "any_of"}, ["a", "b"], True),
    ({"operator": "in", "value": ["x", "B"]}, ["a", "b"], True),
    ({"operator": "contains", "value": "pp"}, ["apple", "kiwi"], True),
    ({"operator": "startsWith", "value": "KI"}, ["apple", "kiwi"], True),
    ({"operator": "startsWith", "value": "KI", "case_sensitive": True}, ["apple", "kiwi"], False),
    ({"operator": "endsWith", "value": ["le", "wi"], "array_filter_type": "all_of"},
     ["apple", "kiwi"], True),
    ({"operator": "exists"}, [], True),
    ({"operator": "is", "value": "a"}, [], False),
    ({"operator": "is", "value": "a"}, "a", False),
])
def test_spec5_4_array_string_operators(item, value, expected):
    assert value_matches({"data_type": "array_string", **item}, value) is expected


@pytest.mark.parametrize("item, value, expected", [
    ({"operator": "is", "value": [1, 5]}, [5, 6], True),
    ({"operator": "in", "value": [5, 6], "array_filter_type": "all_of"}, [5, 6, 7], True),
    ({"operator": "in", "value": [5, 8], "array_filter_type": "all_of"}, [5, 6, 7], False),
    ({"operator": "lessThan", "value": 10}, [1, 20], True),
    ({"operator": "lessThan", "value": 10, "array_filter_type": "all_of"}, [1, 20], False),
    ({"operator": "greaterThan", "value": 0, "array_filter_type": "all_of"}, [1, 2], True),
    ({"operator": "between", "value": 1, "value1": 2, "array_filter_type": "all_of"}, [1, 2],
     True),
    ({"operator": "between", "value": 1, "value1": 2, "array_filter_type": "all_of"}, [1, 3],
     False),
    ({"operator": "in", "value": [3]}, [], False),
    ({"operator": "greaterThan", "value": 0, "array_filter_type": "all_of"}, [], False),
])
def test_spec5_4_array_double_operators(item, value, expected):
    assert value_matches({"data_type": "array_double", **item}, value) is expected


# NOW is Sunday 2026-11-22 12:00 UTC; the response's datetime_format is FORMAT.
@pytest.mark.parametrize("item, value, expected", [
    ({"operator": "on", "value": "2026-11-20"}, "2026-11-20T23:59:59Z", True),
    ({"operator": "on", "value": "2026-11-20"}, "2026-11-21T00:00:00Z", False),
    ({"operator": "on", "value_type": "relative_past", "value": 2}, "2026-11-20T00:00:00Z", True),
    ({"operator": "on", "value_type": "relative_past", "value": 2}, "2026-11-19T23:59:59Z",
     False),
    ({"operator": "on", "value_type": "relative_future", "value": 1}, "2026-11-23T08:00:00Z",
     True),
    ({"operator": "before", "value": "2026-11-20"}, "2026-11-19T23:59:59Z", True),
    ({"operator": "before", "value": "2026-11-20"}, "2026-11-20T00:00:00Z", False),
    ({"operator": "after", "value": "2026-11-20"}, "2026-11-21T00:00:00Z", True),
    ({"operator": "after", "value": "2026-11-20"}, "2026-11-20T23:59:59Z", False),
    ({"operator": "before", "value_type": "relative_past", "value": 2}, "2026-11-19T23:59:59Z",
     True),
    ({"operator": "before", "value_type": "relative_past", "value": 2}, "2026-11-20T00:00:00Z",
     False),
    ({"operator": "after", "value_type": "relative_future", "value": 2}, "2026-11-25T00:00:00Z",
     True),
    ({"operator": "after", "value_type": "relative_future", "value": 2}, "2026-11-24T23:59:59Z",
     False),
    ({"operator": "between", "value": "2026-11-01", "value1": "2026-11-10"},
     "2026-11-01T00:00:00Z", True),
    ({"operator": "between", "value": "2026-11-01", "value1": "2026-11-10"},
     "2026-11-10T23:00:00Z", True),
    ({"operator": "between", "value": "2026-11-01", "value1": "2026-11-10"},
     "2026-11-11T00:00:00Z", False),
    ({"operator": "between", "value_type": "relative_past", "value": 7, "value1": 3},
     "2026-11-15T00:00:00Z", True),
    ({"operator": "between", "value_type": "relative_past", "value": 7, "value1": 3},
     "2026-11-20T00:00:00Z", False),
    ({"operator": "inTheLast", "value": 2}, "2026-11-20T00:00:00Z", True),
    ({"operator": "inTheLast", "value": 2}, "2026-11-19T23:59:59Z", False),
    ({"operator": "inTheLast", "value": 2}, "2026-11-22T12:00:01Z", False),
    ({"operator": "inTheLast", "value": 3, "period_unit": "hours"}, "2026-11-22T09:00:00Z", True),
    ({"operator": "inTheLast", "value": 3, "period_unit": "hours"}, "2026-11-22T08:59:59Z",
     False),
    ({"operator": "inTheLast", "value": 1, "period_unit": "weeks"}, "2026-11-09T00:00:00Z", True),
    ({"operator": "inTheLast", "value": 1, "period_unit": "weeks"}, "2026-11-08T23:59:59Z",
     False),
    ({"operator": "inTheLast", "value": 1, "period_unit": "months"}, "2026-10-01T00:00:00Z",
     True),
    ({"operator": "inTheLast", "value": 1, "period_unit": "months"}, "2026-09-30T23:59:59Z",
     False),
    ({"operator": "inTheNext", "value": 2}, "2026-11-24T23:59:59Z", True),
    ({"operator": "inTheNext", "value": 2}, "2026-11-25T00:00:00Z", False),
    ({"operator": "inTheNext", "value": 2}, "2026-11-22T11:59:59Z", False),
    ({"operator": "today"}, "2026-11-22T00:00:00Z", True),
    ({"operator": "today"}, "2026-11-21T23:59:59Z", False),
    ({"operator": "is", "value": "2026-11-22T10:00:00Z"}, "2026-11-22T10:00:00Z", True),
    ({"operator": "is", "value": "2026-11-22T10:00:00Z"}, "2026-11-22T10:00:01Z", False),
    ({"operator": "in", "value": ["2026-11-01", "2026-11-20"]}, "2026-11-20T05:00:00Z", True),
    ({"operator": "in", "value": ["2026-11-01", "2026-11-20"]}, "2026-11-21T05:00:00Z", False),
    ({"operator": "exists"}, "not a date", True),
    ({"operator": "today"}, "not a date", False),
    # not in FORMAT: read as ISO 8601 with its offset (04:30 UTC)
    ({"operator": "today"}, "2026-11-22T10:00:00+05:30", True),
    # numbers are epoch seconds or milliseconds
    ({"operator": "today"}, 1795305600, True),
    ({"operator": "today"}, 1795305599000, False),
    # day boundaries and zone-less values in the filter's time zone
    ({"operator": "on", "value": "2026-11-22", "timezone": "America/New_York"},
     "2026-11-22T03:00:00Z", False),
    ({"operator": "on", "value": "2026-11-22", "timezone": "America/New_York"},
     "2026-11-23T03:00:00Z", True),
    ({"operator": "today", "timezone": "Asia/Kolkata"}, "2026-11-21T19:00:00Z", True),
    ({"operator": "today", "timezone": "Nowhere/Atlantis"}, "2026-11-22T10:00:00Z", False),
    ({"operator": "today", "timezone": "Nowhere/Atlantis", "negate": True},
     "2026-11-22T10:00:00Z", True),
])
def test_spec5_4_datetime_operators(item, value, expected):
    assert value_matches({"data_type": "datetime", **item}, value) is expected


@pytest.mark.parametrize("timezone_name, expected", [(None, False), ("Asia/Kolkata", True)])
def test_spec2_7_zoneless_datetime_reads_in_the_filter_time_zone(timezone_name, expected):
    # 17:00 in Kolkata is 11:30 UTC, within the last hour of 12:00 UTC; 17:00 UTC is not.
    item = {"name": "v", "data_type": "datetime", "operator": "inTheLast", "value": 1,
            "period_unit": "hours"}
    if timezone_name:
        item["timezone"] = timezone_name
    assert body_matches(item, {"v": "2026-11-22 17:00"},
                        datetime_format="%Y-%m-%d %H:%M") is expected


@pytest.mark.parametrize("datetime_format", [None, "yyyy-MM-dd"])
def test_spec2_7_without_a_strftime_format_datetimes_are_iso_8601(datetime_format):
    item = {"name": "v", "data_type": "datetime", "operator": "today"}
    assert body_matches(item, {"v": "2026-11-22T10:00:00Z"}, datetime_format=datetime_format)


# -- spec §2.7: negate, missing keys, nesting, headers, bodies, no response ---------------------

@pytest.mark.parametrize("data_type, operator, value", [
    ("string", "is", "x"), ("string", "contains", "x"), ("double", "is", 1),
    ("double", "lessThan", 1), ("bool", "is", True), ("datetime", "today", None),
    ("array_string", "is", ["x"]), ("array_double", "greaterThan", 0), ("string", "exists", None),
])
@pytest.mark.parametrize("document", [{}, {"v": None}])
def test_spec2_7_missing_key_is_false_and_negate_makes_it_true(data_type, operator, value,
                                                               document):
    item = {"name": "v", "data_type": data_type, "operator": operator, "value": value}
    assert body_matches(item, document) is False
    assert body_matches({**item, "negate": True}, document) is True


DOCUMENT = {"data": {"status": "ok", "items": [{"id": 7}, {"id": 8}]}, "a.b": 1, "meta": None}


@pytest.mark.parametrize("item, expected", [
    ({"name": "data", "data_type": "object", "filter_operator": "and", "filters": [
        {"name": "status", "data_type": "string", "operator": "is", "value": "ok"}]}, True),
    ({"name": "data.status", "data_type": "string", "operator": "is", "value": "ok"}, True),
    ({"name": "data.items.1.id", "data_type": "double", "operator": "is", "value": 8}, True),
    ({"name": "data.items.2.id", "data_type": "double", "operator": "exists"}, False),
    ({"name": "data.items.x", "data_type": "double", "operator": "exists"}, False),
    ({"name": "a.b", "data_type": "double", "operator": "is", "value": 1}, True),
    ({"name": "meta", "data_type": "string", "operator": "exists"}, False),
    ({"name": "data", "data_type": "object", "filter_operator": "and", "filters": [
        {"name": "items", "data_type": "object", "filter_operator": "and", "filters": [
            {"name": "0.id", "data_type": "double", "operator": "is", "value": 7}]}]}, True),
    ({"name": "data", "data_type": "object", "filter_operator": "or", "filters": [
        {"name": "status", "data_type": "string", "operator": "is", "value": "bad"},
        {"name": "items.0.id", "data_type": "double", "operator": "is", "value": 7}]}, True),
    ({"name": "data", "data_type": "object", "filter_operator": "and", "filters": [
        {"name": "status", "data_type": "string", "operator": "is", "value": "bad"},
        {"name": "items.0.id", "data_type": "double", "operator": "is", "value": 7}]}, False),
    ({"name": "data", "data_type": "object", "negate": True, "filter_operator": "and",
      "filters": [{"name": "status", "data_type": "string", "operator": "is", "value": "ok"}]},
     False),
    # an absent object: its negated inner filter sees a missing key
    ({"name": "nope", "data_type": "object", "filter_operator": "and", "filters": [
        {"name": "x", "data_type": "string", "operator": "is", "value": "y", "negate": True}]},
     True),
    ({"name": "data", "data_type": "object", "filter_operator": "and", "filters": []}, True),
    ({"name": "data", "data_type": "object", "filter_operator": "or", "filters": []}, False),
])
def test_spec2_7_nested_objects_and_dotted_paths(item, expected):
    assert body_matches(item, DOCUMENT) is expected


def test_spec2_7_documented_example_status_200_and_body_ok_true():
    criteria = {"filter_operator": "and", "filters": [
        {"name": "response_code", "data_type": "double", "operator": "is", "value": 200,
         "negate": False, "case_sensitive": False},
        {"name": "response_body", "data_type": "object", "filter_operator": "and", "filters": [
            {"name": "ok", "data_type": "bool", "operator": "is", "value": True,
             "negate": False, "case_sensitive": False}]}]}
    assert matches(criteria, HttpResult(200, {}, b'{"ok": true}'), datetime_format=None, now=NOW)
    assert not matches(criteria, HttpResult(200, {}, b'{"ok": false}'), datetime_format=None,
                       now=NOW)
    assert not matches(criteria, HttpResult(201, {}, b'{"ok": true}'), datetime_format=None,
                       now=NOW)


HEADERS = {"content-type": "application/json; charset=utf-8", "x-request-id": "abc",
           "retry-after": "30", "x-flag": "true", "date": "Sun, 22 Nov 2026 08:00:00 GMT"}


@pytest.mark.parametrize("item, expected", [
    ({"name": "Content-Type", "data_type": "string", "operator": "startsWith",
      "value": "application/json"}, True),
    ({"name": "X-Request-Id", "data_type": "string", "operator": "is", "value": "ABC"}, True),
    ({"name": "X-Request-Id", "data_type": "string", "operator": "is", "value": "ABC",
      "case_sensitive": True}, False),
    ({"name": "Retry-After", "data_type": "double", "operator": "greaterThan", "value": 10}, True),
    ({"name": "X-Flag", "data_type": "bool", "operator": "is", "value": True}, True),
    ({"name": "Date", "data_type": "datetime", "operator": "today"}, True),
    ({"name": "X-Missing", "data_type": "string", "operator": "exists"}, False),
    ({"name": "X-Missing", "data_type": "string", "operator": "exists", "negate": True}, True),
])
def test_spec2_7_header_object_filters_name_headers_case_insensitively(item, expected):
    criteria = {"filter_operator": "and", "filters": [
        {"name": "response_headers", "data_type": "object", "filter_operator": "and",
         "filters": [item]}]}
    result = HttpResult(200, HEADERS, b"")
    assert matches(criteria, result, datetime_format=FORMAT, now=NOW) is expected


@pytest.mark.parametrize("item, expected", [
    ({"header": "X-Request-Id", "operator": "is", "value": "abc"}, True),
    ({"header": "X-Request-Id", "operator": "is", "value": "abd"}, False),
    ({"header": "X-Missing", "operator": "exists"}, False),
    ({"operator": "contains", "value": "json"}, True),
    ({"operator": "is", "value": "nope"}, False),
    ({"operator": "is", "value": "nope", "negate": True}, True),
])
def test_spec2_7_flat_header_filter_names_a_header_or_tests_every_header(item, expected):
    criteria = {"filter_operator": "and", "filters": [
        {"name": "response_headers", "data_type": "string", **item}]}
    assert matches(criteria, HttpResult(200, HEADERS, b""), datetime_format=None,
                   now=NOW) is expected


@pytest.mark.parametrize("status, item, expected", [
    (200, {"data_type": "double", "operator": "is", "value": 200}, True),
    (201, {"data_type": "double", "operator": "in", "value": [200, 201]}, True),
    (202, {"data_type": "double", "operator": "between", "value": 200, "value1": 299}, True),
    (299, {"data_type": "double", "operator": "between", "value": 200, "value1": 299}, True),
    (300, {"data_type": "double", "operator": "between", "value": 200, "value1": 299}, False),
    (404, {"data_type": "double", "operator": "lessThan", "value": 400}, False),
    (204, {"data_type": "string", "operator": "startsWith", "value": "2"}, True),
    (500, {"data_type": "double", "operator": "is", "value": 200, "negate": True}, True),
])
def test_spec2_7_response_code_filters(status, item, expected):
    assert matches(on_code(**item), HttpResult(status), datetime_format=None,
                   now=NOW) is expected


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b"{broken"])
@pytest.mark.parametrize("item, expected", [
    ({"name": "response_body", "data_type": "object", "filter_operator": "and", "filters": [
        {"name": "ok", "data_type": "bool", "operator": "is", "value": True}]}, False),
    ({"name": "response_body", "data_type": "object", "filter_operator": "and", "filters": [
        {"name": "ok", "data_type": "bool", "operator": "is", "value": True, "negate": True}]},
     True),
    ({"name": "response_body", "data_type": "object", "filter_operator": "and", "filters": [
        {"name": "ok", "data_type": "bool", "operator": "exists"}]}, False),
    ({"name": "response_body", "data_type": "string", "operator": "contains", "value": "o"},
     False),
    ({"name": "response_body", "data_type": "string", "operator": "contains", "value": "o",
      "negate": True}, True),
    ({"name": "response_code", "data_type": "double", "operator": "is", "value": 200}, True),
])
def test_spec2_7_body_that_is_not_json_fails_body_filters(body, item, expected):
    criteria = {"filter_operator": "and", "filters": [item]}
    assert matches(criteria, HttpResult(200, {}, body), datetime_format=None,
                   now=NOW) is expected


@pytest.mark.parametrize("body, item, expected", [
    (b'"ok"', {"data_type": "string", "operator": "is", "value": "ok"}, True),
    (b"42", {"data_type": "double", "operator": "greaterThan", "value": 41}, True),
    (b'{"ok": 1}', {"data_type": "string", "operator": "exists"}, True),
    (b'{"ok": 1}', {"data_type": "string", "operator": "is", "value": "ok"}, False),
])
def test_spec2_7_flat_body_filter_tests_the_whole_document(body, item, expected):
    criteria = {"filter_operator": "and", "filters": [{"name": "response_body", **item}]}
    assert matches(criteria, HttpResult(200, {}, body), datetime_format=None,
                   now=NOW) is expected


@pytest.mark.parametrize("criteria, answered", [
    ({"filter_operator": "and", "filters": []}, HttpResult(200)),
    (on_code(data_type="double", operator="is", value=200, negate=True), HttpResult(500)),
    (on_code(data_type="double", operator="exists", negate=True), None),
])
@pytest.mark.parametrize("error", ["timeout", "connection_error", "invalid_url"])
def test_spec2_7_no_response_matches_nothing(criteria, answered, error):
    assert matches(criteria, HttpResult(None, error=error), datetime_format=None,
                   now=NOW) is False
    if answered is not None:  # the same criteria do match some response
        assert matches(criteria, answered, datetime_format=None, now=NOW) is True


@pytest.mark.parametrize("filter_operator, codes, expected", [
    ("and", [200, 201], False), ("or", [200, 201], True), ("or", [500, 501], False),
])
def test_spec2_7_filter_operator_combines_top_level_filters(filter_operator, codes, expected):
    criteria = {"filter_operator": filter_operator, "filters": [
        {"name": "response_code", "data_type": "double", "operator": "is", "value": code}
        for code in codes]}
    assert matches(criteria, HttpResult(200), datetime_format=None, now=NOW) is expected


# -- spec §2.7 actions and spec §4 Sent/Failed --------------------------------------------------

# The two response entries of the spec §2.9 composite example, verbatim.
COMPOSITE_RESPONSES = [
    {"body_type": "JSON", "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
     "evaluation_criteria": {"filter_operator": "and", "filters": [
         {"name": "response_code", "data_type": "double", "operator": "is", "value": 200}]},
     "actions": [{"type": "CREATE_EVENT", "config": {
         "event": {"name": "Connected App Campaign Sent"},
         "attributes": [{"key": "Receiver",
                         "value": "{{CampaignCreationForm[\"receiver_id\"]}}"}]}}]},
    {"body_type": "JSON", "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
     "evaluation_criteria": {"filter_operator": "and", "filters": [
         {"name": "response_code", "data_type": "double", "operator": "is", "value": 200,
          "negate": True}]},
     "actions": [{"type": "CREATE_EVENT", "config": {
         "event": {"name": "Connected App Campaign Failed"}, "attributes": []}}]},
]


def render(template: str) -> str:
    return template.replace('{{CampaignCreationForm["receiver_id"]}}', "U-42")


def entry(*events: str, code=200, negate=False) -> dict:
    return {"body_type": "JSON", "datetime_format": FORMAT,
            "evaluation_criteria": on_code(data_type="double", operator="is", value=code,
                                           negate=negate),
            "actions": [{"type": "CREATE_EVENT", "config": {"event": {"name": name},
                                                           "attributes": []}}
                        for name in events]}


def test_spec2_9_composite_entries_are_the_bundled_example():
    composite = json.loads((Path(__file__).parent / "data" / "connectors" / "composite.json")
                           .read_text())
    assert composite["modules"][0]["params"]["response"] == COMPOSITE_RESPONSES


@pytest.mark.parametrize("result, expected", [
    (HttpResult(200, {"content-type": "application/json"}, b'{"id": "m-1"}'),
     Outcome(sent=True, failed=False, matched=[0], fallback=False,
             events=[CreatedEvent(SENT, {"Receiver": "U-42"})])),
    (HttpResult(500, {}, b"Internal Server Error"),
     Outcome(sent=False, failed=True, matched=[1], fallback=False,
             events=[CreatedEvent(FAILED, {})])),
    (HttpResult(None, error="timeout"),
     Outcome(sent=False, failed=True, matched=[], fallback=True, events=[])),
])
def test_spec2_9_composite_example_sent_on_200_failed_otherwise(result, expected):
    assert evaluate(COMPOSITE_RESPONSES, result, now=NOW, render=render) == expected


def test_spec2_7_all_entries_are_evaluated_and_every_match_runs_its_actions():
    responses = [entry("Partner Accepted"), entry(code=201), entry(SENT, "Receipt Logged"),
                 entry("Audit", code=500, negate=True)]
    outcome = evaluate(responses, HttpResult(200), now=NOW, render=render)
    assert outcome == Outcome(
        sent=True, failed=False, matched=[0, 2, 3], fallback=False,
        events=[CreatedEvent("Partner Accepted", {}), CreatedEvent(SENT, {}),
                CreatedEvent("Receipt Logged", {}), CreatedEvent("Audit", {})])


def test_spec2_7_failed_wins_when_matches_create_both_events():
    responses = [entry(SENT), entry(FAILED)]
    outcome = evaluate(responses, HttpResult(200), now=NOW, render=render)
    assert (outcome.sent, outcome.failed, outcome.fallback) == (False, True, False)
    assert [e.name for e in outcome.events] == [SENT, FAILED]


@pytest.mark.parametrize("responses, status, sent, matched, events", [
    ([], 200, True, [], []),
    ([], 500, False, [], []),
    ([entry(SENT, code=201)], 200, True, [], []),
    ([entry(FAILED, code=201)], 404, False, [], []),
    ([entry("Partner Accepted")], 200, True, [0], ["Partner Accepted"]),
    ([entry("Partner Rejected", code=202)], 202, False, [0], ["Partner Rejected"]),
])
def test_spec2_7_without_sent_or_failed_events_200_is_sent(responses, status, sent, matched,
                                                           events):
    outcome = evaluate(responses, HttpResult(status), now=NOW, render=render)
    assert (outcome.sent, outcome.failed, outcome.fallback) == (sent, not sent, True)
    assert outcome.matched == matched
    assert [e.name for e in outcome.events] == events


def test_spec2_7_action_attributes_are_rendered_templates_or_kept_values():
    responses = [{"body_type": "JSON", "datetime_format": FORMAT,
                  "evaluation_criteria": {"filter_operator": "and", "filters": []},
                  "actions": [
                      {"type": "CREATE_EVENT", "config": {
                          "event": {"name": SENT},
                          "attributes": [
                              {"key": "Receiver",
                               "value": "to {{CampaignCreationForm[\"receiver_id\"]}}"},
                              {"key": "Attempt", "value": 1}]}},
                      {"type": "CREATE_EVENT", "config": {  # spec §2.7's table placement
                          "event": {"name": "Partner Accepted",
                                    "attributes": [{"key": "Plain", "value": "text"}]}}}]}]
    outcome = evaluate(responses, HttpResult(200), now=NOW, render=render)
    assert outcome.events == [CreatedEvent(SENT, {"Receiver": "to U-42", "Attempt": 1}),
                              CreatedEvent("Partner Accepted", {"Plain": "text"})]


def test_spec2_7_render_errors_propagate():
    def refuse(template: str) -> str:
        raise NotSend("no receiver")

    with pytest.raises(NotSend):
        evaluate(COMPOSITE_RESPONSES, HttpResult(200), now=NOW, render=refuse)


def test_spec2_7_response_entries_use_their_own_datetime_format():
    today = {"filter_operator": "and", "filters": [
        {"name": "response_body", "data_type": "object", "filter_operator": "and", "filters": [
            {"name": "at", "data_type": "datetime", "operator": "today"}]}]}
    responses = [
        {"body_type": "JSON", "datetime_format": "%d/%m/%Y", "evaluation_criteria": today,
         "actions": []},
        {"body_type": "JSON", "datetime_format": "%m/%d/%Y", "evaluation_criteria": today,
         "actions": []},
    ]
    outcome = evaluate(responses, HttpResult(200, {}, b'{"at": "22/11/2026"}'), now=NOW,
                       render=render)
    assert outcome.matched == [0]


# -- spec §4.2 / §6: Connector campaigns ---------------------------------------------------------

@pytest.mark.parametrize("result, expected", [
    (HttpResult(200, {}, b"not json"),
     Outcome(sent=True, failed=False, events=[CreatedEvent("Connector Sent", {})])),
    (HttpResult(201), Outcome(sent=False, failed=True)),
    (HttpResult(202), Outcome(sent=False, failed=True)),  # §4.2: 202 is Failed [S7]
    (HttpResult(204), Outcome(sent=False, failed=True)),
    (HttpResult(500), Outcome(sent=False, failed=True)),
    (HttpResult(None, error="connection_error"), Outcome(sent=False, failed=True)),
])
def test_spec6_connector_campaign_sent_is_strictly_200(result, expected):
    assert connector_outcome(result) == expected


def test_response_actions_render_each_users_attributes_in_order_and_fail_as_before():
    """``Actions`` (the per-response work, once per distinct response) renders the rows in
    order; a failing template fails that user; a row without ``key`` is a ``KeyError`` only
    once a user reaches it (review finding: it was raised for every user up front)."""
    from simulator.core.evaluation import Actions
    from simulator.core.templating import PersonalizationFailed, Renderer, compiled
    rows = [{"key": "to", "value": "{{UserAttribute['phone']}}"}, {"value": "x"}]
    responses = [{"evaluation_criteria": {"filter_operator": "and", "filters": []},
                  "actions": [{"type": "CREATE_EVENT", "config": {
                      "event": {"name": "Connected App Campaign Sent", "attributes": rows}}}]}]
    actions = Actions(responses, [0], 200, compiled)
    renderer = Renderer(datetime(2026, 7, 1, tzinfo=timezone.utc))
    with pytest.raises(PersonalizationFailed):
        actions.outcome(renderer.context({}, None, None, None))
    with pytest.raises(KeyError):
        actions.outcome(renderer.context({"phone": "+91"}, None, None, None))
    rows.pop()
    done = Actions(responses, [0], 200, compiled).outcome(
        renderer.context({"phone": "+91"}, None, None, None))
    assert (done.sent, done.failed, done.events) == (
        True, False, [CreatedEvent("Connected App Campaign Sent", {"to": "+91"})])
