"""Pure Data API parsing (core.tracking, core.timestamps): literal inputs only."""

import pytest

from simulator.core.errors import BadRequest
from simulator.core.timestamps import canonical_datetime, epoch_to_ms, iso
from simulator.core.tracking import (UnsetRule, UserChange, parse_bulk, parse_customer, parse_event)

NOW = 1_795_000_000_000


@pytest.mark.parametrize("text,expected", [
    ("2020-05-31T03:47:35Z", "2020-05-31T03:47:35.000Z"),
    ("2020-05-31", "2020-05-31T00:00:00.000Z"),
    ("2020-05-31T03:47:35.5Z", "2020-05-31T03:47:35.500Z"),
    ("2020-05-31T09:17:35+05:30", "2020-05-31T03:47:35.000Z"),
    ("2019-15-12", None),          # invalid calendar value: a string (data-overview.mdx)
    ("31/05/2020", None),
    ("hello", None),
])
def test_spec7_datetime_formats(text, expected):
    assert canonical_datetime(text) == expected


@pytest.mark.parametrize("value,expected", [
    (1433837969, 1433837969000), (1433837969.5, 1433837969500), (1708939453396, 1708939453396)])
def test_epoch_seconds_or_milliseconds(value, expected):
    assert epoch_to_ms(value) == expected


def test_iso_is_canonical_milliseconds():
    assert iso(0) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize("rule,key,matches", [
    (UnsetRule("equals", "first_name", True), "u_fn", True),
    (UnsetRule("equals", "FIRST_NAME", True), "u_fn", False),
    (UnsetRule("equals", "FIRST_NAME", False), "u_fn", True),
    (UnsetRule("prefix", "temp_", True), "temp_x", True),
    (UnsetRule("suffix", "_tmp", True), "a_tmp", True),
    (UnsetRule("contains", "mid", True), "amidb", True),
    (UnsetRule("contains", "mid", True), "other", False),
])
def test_spec7_unset_rules(rule, key, matches):
    assert rule.matches(key) is matches


def test_change_apply_order_set_then_arrays_then_unset():
    change = UserChange("c", attributes={"a": 1, "temp": 2}, add_to_arrays={"tags": ["x"]},
                        unset=(UnsetRule("equals", "temp", True),))
    assert change.apply_to({"tags": ["w"], "cr_t": "old"}) == {
        "tags": ["w", "x"], "cr_t": "old", "a": 1}


def test_spec7_first_seen_is_create_only():
    change = parse_customer({"type": "customer", "customer_id": "c",
                             "attributes": {"cr_t": 1767092989259}})
    assert change.attributes["cr_t"] == "2025-12-30T11:09:49.259Z"
    assert change.apply_to({"cr_t": "2020-01-01T00:00:00.000Z"})["cr_t"] == \
        "2020-01-01T00:00:00.000Z"


@pytest.mark.parametrize("payload,path", [
    ({"type": "Customer", "customer_id": "c"}, "type"),
    ({"type": "customer", "customer_id": "c", "attributes": []}, "attributes"),
    ({"type": "customer", "customer_id": "c", "attributes": {"id": 1}}, "attributes.id"),
    ({"type": "customer", "customer_id": "c", "update_existing_only": "yes"},
     "update_existing_only"),
    ({"type": "customer", "customer_id": "c", "unset_attributes": [{"type": "like", "attr": "a"}]},
     "unset_attributes[0].type"),
    ({"type": "customer", "customer_id": "c",
      "attributes": {"addValueToArrayField": {"platforms": ["x"]}}},
     "attributes.addValueToArrayField.platforms"),
    ({"type": "customer", "customer_id": "c",
      "attributes": {"tags": ["a"], "addValueToArrayField": {"tags": ["b"]}}}, "attributes.tags"),
])
def test_customer_errors_name_the_field(payload, path):
    with pytest.raises(BadRequest) as caught:
        parse_customer(payload)
    assert caught.value.path == path


@pytest.mark.parametrize("action,path", [
    ({"action": "A", "current_time": "soon"}, "actions[0].current_time"),
    ({"action": "A", "user_timezone_offset": 60000}, "actions[0].user_timezone_offset"),
    ({"action": "A", "current_time": NOW // 1000 + 3600}, "actions[0].current_time"),
    ({"action": "A", "attributes": "x"}, "actions[0].attributes"),
])
def test_event_errors_name_the_field(action, path):
    with pytest.raises(BadRequest) as caught:
        parse_event({"type": "event", "customer_id": "c", "actions": [action]}, NOW)
    assert caught.value.path == path


def test_event_platform_names_are_read_leniently():
    events = parse_event({"type": "event", "customer_id": "c", "actions": [
        {"action": "A", "platform": "Android"}, {"action": "B", "platform": "IOS"},
        {"action": "C", "platform": "Windows"}]}, NOW)
    assert [e.platform for e in events] == ["ANDROID", "iOS", "Windows"]


def test_spec7_bulk_keeps_good_elements_and_reports_bad_ones():
    parsed = parse_bulk({"type": "transition", "elements": [
        {"type": "customer", "customer_id": "a"},
        {"type": "customer"},
        {"type": "event", "customer_id": "a", "actions": [{"action": "X"}, {"action": "Y"}]},
        {"type": "device", "customer_id": "a", "device_id": "d",
         "attributes": {"platform": "iOS", "push_id": "t"}},
        {"type": "device", "customer_id": "a", "device_id": "e"}]}, NOW)
    assert len(parsed.items) == 3
    assert [(d.customer_id, d.device_id) for d in parsed.devices] == [("a", "d")]
    assert [p.path for p in parsed.rejected] == ["elements[1].customer_id",
                                                 "elements[4].attributes"]
