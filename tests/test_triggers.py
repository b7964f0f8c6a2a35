"""Event-triggered campaigns (spec §5.3 "Event Triggered", campaign-api.md §1.4)."""

from datetime import datetime, timezone

import pytest

from simulator.core.triggers import (JAVA_FORMATS, Due, check_trigger, due_at, matching_trigger,
                                     not_executed_ok, parse_datetime)

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
T0 = 1_795_341_600_000  # 2026-11-22T10:00:00Z, the trigger event's time


def action(name: str, *filters: dict, operator: str = "and", executed: bool = True) -> dict:
    return {"filter_type": "actions", "action_name": name, "executed": executed,
            "attributes": {"filter_operator": operator, "filters": list(filters)}}


def trigger(*actions: dict, operator: str = "and", **rest) -> dict:
    return {"included_filters": {"filter_operator": operator, "filters": list(actions)},
            "trigger_delay_type": "ASAP", **rest}


def delayed(value: int, unit: str, relation: str = "AFTER", **rest) -> dict:
    return trigger(action("Flight Booked"), trigger_delay_type="DELAY", trigger_delay_value=value,
                   trigger_delay_granularity=unit, trigger_relation=relation, **rest)


def not_done(*actions: dict, operator: str = "and", value: int = 2) -> dict:
    return delayed(value, "HOURS", secondary_included_filters={
        "filter_operator": operator, "filters": list(actions)})


# -- matching: IF events, alternates OR-ed, attribute filters -----------------------------------

@pytest.mark.parametrize("operator, names, event, expected", [
    ("or", ["Added To Cart", "Viewed Product"], "Added To Cart", True),
    ("or", ["Added To Cart", "Viewed Product"], "Viewed Product", True),
    ("or", ["Added To Cart", "Viewed Product"], "Purchase", False),
    ("and", ["Added To Cart"], "Added To Cart", True),
    ("and", ["Added To Cart"], "added to cart", False),  # event names are case-sensitive
    ("and", [], "Added To Cart", False),
])
def test_spec5_3_alternate_trigger_events_are_ored(operator, names, event, expected):
    rule = trigger(*(action(n) for n in names), operator=operator)
    assert matching_trigger(rule, event, {}) is expected


def test_spec5_3_and_of_one_event_needs_every_filter():
    rule = trigger(action("Purchase", {"name": "price", "data_type": "double",
                                       "operator": "greaterThan", "value": 10}),
                   action("Purchase", {"name": "currency", "data_type": "string",
                                       "operator": "is", "value": "INR"}))
    assert matching_trigger(rule, "Purchase", {"price": 50, "currency": "inr"})
    assert not matching_trigger(rule, "Purchase", {"price": 50, "currency": "USD"})


@pytest.mark.parametrize("item, attributes, expected", [
    ({"data_type": "string", "operator": "is", "value": "DEL"}, {"city": "del"}, True),
    ({"data_type": "string", "operator": "is", "value": "DEL", "case_sensitive": True},
     {"city": "del"}, False),
    ({"data_type": "string", "operator": "in", "value": ["BOM", "DEL"]}, {"city": "DEL"}, True),
    ({"data_type": "string", "operator": "contains", "value": "EL"}, {"city": "Delhi"}, True),
    ({"data_type": "string", "operator": "is", "value": "DEL", "negate": True}, {}, True),
    ({"data_type": "string", "operator": "is", "value": "DEL", "negate": True},
     {"city": "DEL"}, False),
    ({"data_type": "string", "operator": "exists"}, {}, False),
    ({"data_type": "string", "operator": "exists"}, {"city": ""}, True),
    # spec §5.4: between is N1 <= v < N2
    ({"data_type": "double", "operator": "between", "value": 10, "value1": 20}, {"city": 10}, True),
    ({"data_type": "double", "operator": "between", "value": 10, "value1": 20}, {"city": 19.9},
     True),
    ({"data_type": "double", "operator": "between", "value": 10, "value1": 20}, {"city": 20},
     False),
    ({"data_type": "double", "operator": "between", "value": 10, "value1": 20, "negate": True},
     {"city": 20}, True),
    ({"data_type": "double", "operator": "lessThan", "value": 5}, {"city": 4}, True),
    ({"data_type": "bool", "operator": "is", "value": True}, {"city": True}, True),
    ({"data_type": "bool", "operator": "is", "value": True}, {"city": False}, False),
    ({"data_type": "datetime", "operator": "before", "value": "2026-11-22T00:00:00Z"},
     {"city": "2026-11-20T23:00:00.000Z"}, True),
    ({"data_type": "datetime", "operator": "before", "value": "2026-11-22T00:00:00Z"},
     {"city": "2026-11-22T01:00:00.000Z"}, False),
    ({"data_type": "array_string", "operator": "in", "value": ["b"]}, {"city": ["a", "b"]}, True),
    ({"data_type": "object", "filter_operator": "and", "filters": [
        {"name": "code", "data_type": "string", "operator": "is", "value": "DEL"}]},
     {"city": {"code": "DEL"}}, True),
])
def test_spec5_4_event_attribute_filters(item, attributes, expected):
    rule = trigger(action("Flight Booked", {"name": "city", **item}))
    assert matching_trigger(rule, "Flight Booked", attributes, event_ms=T0) is expected


@pytest.mark.parametrize("operator, attributes, expected", [
    ("and", {"city": "DEL", "seats": 2}, True),
    ("and", {"city": "DEL", "seats": 1}, False),
    ("or", {"city": "BOM", "seats": 2}, True),
    ("or", {"city": "BOM", "seats": 1}, False),
])
def test_spec5_3_attribute_filters_use_their_own_operator(operator, attributes, expected):
    rule = trigger(action("Flight Booked",
                          {"name": "city", "data_type": "string", "operator": "is", "value": "DEL"},
                          {"name": "seats", "data_type": "double", "operator": "greaterThan",
                           "value": 1}, operator=operator))
    assert matching_trigger(rule, "Flight Booked", attributes) is expected


def test_spec5_4_relative_datetime_filters_read_the_event_time():
    rule = trigger(action("Flight Booked", {"name": "at", "data_type": "datetime",
                                            "operator": "inTheNext", "value": 2,
                                            "period_unit": "days"}))
    soon = {"at": "2026-11-23T10:00:00.000Z"}
    assert matching_trigger(rule, "Flight Booked", soon, event_ms=T0)
    assert not matching_trigger(rule, "Flight Booked", soon, event_ms=T0 + 10 * DAY)
    assert not matching_trigger(rule, "Flight Booked", soon)  # no "now", no match


# -- when: Immediately, With Delay, relative to an event-attribute datetime ----------------------

@pytest.mark.parametrize("received, latency, expected", [
    (T0, 0, T0),
    (T0 + 5_000, 0, T0 + 5_000),          # sends once the event arrives
    (T0 + 5_000, 30_000, T0 + 35_000),
    (T0 - 5_000, 0, T0),                  # an event stamped ahead of its arrival
])
def test_spec5_3_immediately(received, latency, expected):
    assert due_at(trigger(action("Flight Booked")), T0, {}, received_ms=received,
                  asap_latency_ms=latency) == Due(expected)


@pytest.mark.parametrize("value, unit, received, expected", [
    (15, "MINUTES", T0, T0 + 15 * MINUTE),
    (2, "HOURS", T0, T0 + 2 * HOUR),
    (3, "DAYS", T0, T0 + 3 * DAY),
    (30, "DAYS", T0, T0 + 30 * DAY),
    (2, "HOURS", T0 + HOUR, T0 + 2 * HOUR),      # the event arrived an hour late
    (2, "HOURS", T0 + 5 * HOUR, T0 + 5 * HOUR),  # delay already past at receipt: send now
])
def test_spec5_3_with_delay_after_the_event(value, unit, received, expected):
    assert due_at(delayed(value, unit), T0, {}, received_ms=received) == Due(expected)


def test_campaign_api1_4_trigger_attr_string_is_the_event_itself():
    rule = delayed(2, "HOURS", trigger_attr="If Action")
    assert due_at(rule, T0, {}, received_ms=T0) == Due(T0 + 2 * HOUR)


@pytest.mark.parametrize("relation, value, unit, flight, expected", [
    ("BEFORE", 2, "HOURS", "2026-11-25T10:00:00Z", T0 + 3 * DAY - 2 * HOUR),
    ("AFTER", 2, "HOURS", "2026-11-25T10:00:00Z", T0 + 3 * DAY + 2 * HOUR),
    ("BEFORE", 1, "DAYS", "2026-11-25T10:00:00Z", T0 + 2 * DAY),
    ("BEFORE", 30, "MINUTES", "2026-11-22T11:00:00+05:30", None),  # 05:30Z: in the past
    ("BEFORE", 2, "HOURS", "2026-11-22T11:00:00Z", None),  # send time before the trigger
    ("BEFORE", 1, "HOURS", "2026-11-22T11:00:00Z", T0),    # send time = the trigger time
    ("AFTER", 30, "DAYS", "2026-12-21T10:00:00Z", T0 + 59 * DAY),  # the window is the anchor's
])
def test_spec5_3_relative_to_an_event_attribute(relation, value, unit, flight, expected):
    rule = delayed(value, unit, relation, trigger_attr={"name": "flight_time"})
    assert due_at(rule, T0, {"flight_time": flight}, received_ms=T0).at_ms == expected


@pytest.mark.parametrize("anchor, sends", [
    (T0 + 29 * DAY + 23 * HOUR, True),
    (T0 + 30 * DAY - 1, True),
    (T0 + 30 * DAY, False),
    (T0 + 30 * DAY + HOUR, False),
    (T0 + 1, True),
    (T0, False),
    (T0 - HOUR, False),
])
def test_spec5_3_thirty_day_window(anchor, sends):
    rule = delayed(1, "MINUTES", "AFTER", trigger_attr={"name": "flight_time"})
    when = datetime.fromtimestamp(anchor / 1000, tz=timezone.utc).isoformat()
    due = due_at(rule, T0, {"flight_time": when}, received_ms=T0)
    assert (due.at_ms == anchor + MINUTE) if sends else (due.at_ms is None and due.reason)


@pytest.mark.parametrize("attributes, reason", [
    ({}, "event attribute 'flight_time' is missing"),
    ({"flight_time": None}, "event attribute 'flight_time' is missing"),
    ({"flight_time": "next tuesday"}, "is not a valid datetime: 'next tuesday'"),
    ({"flight_time": "11/25/2026"}, "is not a valid datetime"),  # MM/DD/YYYY: not supported
    ({"flight_time": 1_795_600_000_000}, "is not a valid datetime"),  # numbers are not datetimes
    ({"flight_time": "2026-11-20T10:00:00Z"}, "is not later than the trigger time"),
    ({"flight_time": "2027-01-20T10:00:00Z"}, "is not within 30 days of the trigger time"),
])
def test_spec5_3_relative_send_is_dropped_with_a_reason(attributes, reason):
    rule = delayed(2, "HOURS", "BEFORE", trigger_attr={"name": "flight_time"})
    due = due_at(rule, T0, attributes, received_ms=T0)
    assert due.at_ms is None and reason in due.reason


# -- the §5.3 string datetime formats -----------------------------------------------------------

FORMAT_SAMPLES = {
    "EEE MMM dd HH:mm:ss Z yyyy": ("Wed Nov 25 08:15:30 +0530 2026", "2026-11-25T02:45:30+00:00"),
    "EEE MMM dd HH:mm:ss yyyy zzz": ("Wed Nov 25 08:15:30 2026 IST", "2026-11-25T02:45:30+00:00"),
    "EEE, MMM dd HH:mm:ss yyyy zzz": ("Wed, Nov 25 08:15:30 2026 GMT",
                                      "2026-11-25T08:15:30+00:00"),
    "EEE, dd MMM yyyy HH:mm:ss zzz": ("Wed, 25 Nov 2026 08:15:30 UTC",
                                      "2026-11-25T08:15:30+00:00"),
    "EEE,dd MMM yyyy HH:mm:ss zzz": ("Wed,25 Nov 2026 08:15:30 GMT+05:30",
                                     "2026-11-25T02:45:30+00:00"),
    "EEE, dd MMM yyyy HH:mm:sszzz": ("Wed, 25 Nov 2026 08:15:30IST", "2026-11-25T02:45:30+00:00"),
    "EEE, dd MMM yyyy HH:mm:ss": ("Wed, 25 Nov 2026 08:15:30", "2026-11-25T08:15:30+00:00"),
    "EEE, dd-MMM-yy HH:mm:ss zzz": ("Wed, 25-Nov-26 08:15:30 GMT", "2026-11-25T08:15:30+00:00"),
    "yyyy/MM/dd HH:mm:ss.SSS zzz": ("2026/11/25 08:15:30.250 -05:00",
                                    "2026-11-25T13:15:30.250000+00:00"),
    "yyyy/MM/dd HH:mm:ss.SSS": ("2026/11/25 08:15:30.250", "2026-11-25T08:15:30.250000+00:00"),
    "yyyy/MM/dd HH:mm:ss zzz": ("2026/11/25 08:15:30 Asia/Tokyo", "2026-11-24T23:15:30+00:00"),
    "yyyy.MM.dd HH:mm:ss": ("2026.11.25 08:15:30", "2026-11-25T08:15:30+00:00"),
    "yyyy-MM-dd HH:mm": ("2026-11-25 08:15", "2026-11-25T08:15:00+00:00"),
    "MMM dd yyyy HH:mm:ss. zzz": ("Nov 25 2026 08:15:30. GMT", "2026-11-25T08:15:30+00:00"),
    "MMM dd yyyy HH:mm:ss zzz": ("Nov 25 2026 08:15:30 PST", "2026-11-25T16:15:30+00:00"),
    "dd.MM.yyyy HH:mm:ss zzz": ("25.11.2026 08:15:30 +0100", "2026-11-25T07:15:30+00:00"),
    "dd MM yyyy HH:mm:ss zzz": ("25 11 2026 08:15:30 IST", "2026-11-25T02:45:30+00:00"),
    "dd.MM.yyyy; HH:mm:ss": ("25.11.2026; 08:15:30", "2026-11-25T08:15:30+00:00"),
    "dd.MM.yyyy HH:mm:ss": ("25.11.2026 08:15:30", "2026-11-25T08:15:30+00:00"),
    "dd.MM.yyyy zzz": ("25.11.2026 IST", "2026-11-24T18:30:00+00:00"),
}


def test_spec5_3_every_string_format_has_a_sample():
    assert len(JAVA_FORMATS) == 20 and set(FORMAT_SAMPLES) == set(JAVA_FORMATS)


@pytest.mark.parametrize("pattern", JAVA_FORMATS)
def test_spec5_3_string_datetime_formats(pattern):
    text, expected = FORMAT_SAMPLES[pattern]
    moment = parse_datetime(text, reference_ms=T0)
    assert moment is not None, text
    assert moment.astimezone(timezone.utc).isoformat() == expected


@pytest.mark.parametrize("text, expected", [
    ("2026-11-25T08:15:30Z", "2026-11-25T08:15:30+00:00"),        # ISO 8601 [I]
    ("2026-11-25T08:15:30", "2026-11-25T08:15:30+00:00"),         # no zone: UTC
    ("2026-11-25T08:15:30+05:30", "2026-11-25T02:45:30+00:00"),
    ("2026.11.25 08:15:30", "2026-11-25T08:15:30+00:00"),         # no zone: UTC
    ("Wed, 25 Nov 2026 08:15:30", "2026-11-25T08:15:30+00:00"),   # no zone: UTC
    ("Wed, 25-Nov-60 08:15:30 GMT", "1960-11-25T08:15:30+00:00"),  # yy: 80 years back ...
    ("Wed, 25-Nov-45 08:15:30 GMT", "2045-11-25T08:15:30+00:00"),  # ... to 20 ahead
    ("11/25/2026", None),                                          # MM/DD/YYYY: not supported
    ("25.11.2026 08:15:30 Mars/Olympus", None),                    # unknown zone
    ("2026/11/25 08:15:30.25", None),                              # SSS is three digits
    ("2026-02-30 08:15", None),
])
def test_spec5_3_datetime_values(text, expected):
    moment = parse_datetime(text, reference_ms=T0)
    assert (moment and moment.astimezone(timezone.utc).isoformat()) == expected


def test_spec5_3_relative_send_reads_a_java_string_with_zone():
    rule = delayed(2, "HOURS", "BEFORE", trigger_attr={"name": "flight_time"})
    due = due_at(rule, T0, {"flight_time": "Wed Nov 25 15:30:00 IST 2026"}, received_ms=T0)
    assert due == Due(T0 + 3 * DAY - 2 * HOUR)  # 15:30 IST is 10:00Z


# -- has not executed B within T ----------------------------------------------------------------

PURCHASE = action("Purchase", executed=False)
BIG_PURCHASE = action("Purchase", {"name": "amount", "data_type": "double",
                                   "operator": "greaterThan", "value": 100}, executed=False)
DUE = T0 + 2 * HOUR


@pytest.mark.parametrize("secondary, events, ok", [
    (PURCHASE, [("Purchase", T0 + HOUR, {})], False),             # B inside the window: drop
    (PURCHASE, [("Purchase", DUE, {})], False),                   # ... up to the send time
    (PURCHASE, [("Purchase", DUE + 1, {})], True),                # B after the window
    (PURCHASE, [("Purchase", T0 - HOUR, {})], True),              # B before the trigger
    (PURCHASE, [("Purchase", T0, {})], True),                     # B with the trigger itself
    (PURCHASE, [("Viewed Product", T0 + HOUR, {})], True),
    (PURCHASE, [], True),
    (BIG_PURCHASE, [("Purchase", T0 + HOUR, {"amount": 50})], True),
    (BIG_PURCHASE, [("Purchase", T0 + HOUR, {"amount": 500})], False),
])
def test_spec5_3_has_not_executed_within(secondary, events, ok):
    assert not_executed_ok(not_done(secondary), events, T0, DUE) is ok


@pytest.mark.parametrize("operator, events, ok", [
    ("and", [("Purchase", T0 + HOUR, {})], False),
    ("or", [("Purchase", T0 + HOUR, {})], True),
    ("or", [("Purchase", T0 + HOUR, {}), ("Wishlisted", T0 + HOUR, {})], False),
])
def test_spec5_3_has_not_executed_several(operator, events, ok):
    rule = not_done(PURCHASE, action("Wishlisted", executed=False), operator=operator)
    assert not_executed_ok(rule, events, T0, DUE) is ok


def test_spec5_3_without_a_secondary_condition_nothing_is_dropped():
    assert not_executed_ok(delayed(2, "HOURS"), [("Purchase", T0 + HOUR, {})], T0, DUE)


# -- check_trigger ------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", [
    trigger(action("Added To Cart")),
    trigger(action("Added To Cart"), action("Viewed Product"), operator="or"),
    trigger(action("Purchase", {"name": "amount", "data_type": "double", "operator": "between",
                                "value": 1, "value1": 9, "filter_type": "user_attributes"})),
    delayed(30, "DAYS"),
    delayed(2, "HOURS", "BEFORE", trigger_attr={"name": "flight_time"}),
    delayed(2, "HOURS", trigger_attr="If Action"),
    not_done(PURCHASE),
    {"included_filters": {"filter_operator": "and", "filters": [{
        "filter_type": "actions", "action_name": "Added To Cart", "executed": True,
        "execution": {"type": "atleast", "count": 1}, "condition": "IF",
        "attributes": {"filter_operator": "and", "filters": []}}]},
     "secondary_included_filters": {"filter_operator": "and", "filters": [{
         "filter_type": "actions", "action_name": "Purchase", "executed": False,
         "execution": {"type": "exactly", "count": 0},
         "attributes": {"filter_operator": "and", "filters": []}}]},
     "trigger_delay_type": "DELAY", "trigger_delay_value": 2,
     "trigger_delay_granularity": "HOURS", "trigger_relation": "AFTER"},  # campaign-api §1.4
])
def test_campaign_api1_4_valid_triggers(rule):
    assert check_trigger(rule) == []


P = "trigger_condition"
F0 = f"{P}.included_filters.filters[0]"


@pytest.mark.parametrize("rule, expected", [
    (None, {(P, "is required")}),
    ({"trigger_delay_type": "ASAP"}, {(f"{P}.included_filters", "is required")}),
    (trigger(), {(f"{P}.included_filters.filters", "at least one actions filter")}),
    (trigger(action("A"), operator="xor"), {(f"{P}.included_filters.filter_operator",
                                            "'and' or 'or'")}),
    (trigger(action("A"), action("B")), {(f"{P}.included_filters.filter_operator", "use 'or'")}),
    (trigger({"filter_type": "user_attributes", "name": "x"}),
     {(f"{F0}.filter_type", "only 'actions'")}),
    (trigger({"filter_type": "actions"}), {(f"{F0}.action_name", "is required")}),
    (trigger(action("A", executed=False)), {(f"{F0}.executed", "must be true")}),
    (trigger({**action("A"), "execution": {"type": "exactly", "count": 3}}),
     {(f"{F0}.execution", "atleast")}),
    (trigger(action("A", {"name": "x", "data_type": "text", "operator": "is", "value": 1})),
     {(f"{F0}.attributes.filters[0].data_type", "must be one of")}),
    (trigger(action("A", {"name": "x", "data_type": "bool", "operator": "contains",
                          "value": 1})),
     {(f"{F0}.attributes.filters[0].operator", "not an operator for bool")}),
    (trigger(action("A", {"data_type": "double", "operator": "between", "value": 1,
                          "negate": "yes"})),
     {(f"{F0}.attributes.filters[0].name", "is required"),
      (f"{F0}.attributes.filters[0].value1", "required for between"),
      (f"{F0}.attributes.filters[0].negate", "boolean")}),
    (trigger(action("A", {"name": "o", "data_type": "object", "filter_operator": "and",
                          "filters": [{"name": "x", "data_type": "string", "operator": "is"}]})),
     {(f"{F0}.attributes.filters[0].filters[0].value", "is required")}),
    (trigger(action("A"), trigger_delay_type="SOON"), {(f"{P}.trigger_delay_type", "ASAP")}),
    (trigger(action("A"), trigger_delay_type="INTELLIGENT_DELAY"),
     {(f"{P}.trigger_delay_type", "Push only")}),
    (trigger(action("A"), trigger_delay_type="DELAY"),
     {(f"{P}.trigger_delay_value", "integer >= 1"),
      (f"{P}.trigger_delay_granularity", "MINUTES"), (f"{P}.trigger_relation", "BEFORE")}),
    (delayed(0, "HOURS"), {(f"{P}.trigger_delay_value", "integer >= 1")}),
    (delayed(True, "HOURS"), {(f"{P}.trigger_delay_value", "integer >= 1")}),
    (delayed(2, "WEEKS"), {(f"{P}.trigger_delay_granularity", "MINUTES, HOURS, DAYS")}),
    (delayed(31, "DAYS"), {(f"{P}.trigger_delay_value", "maximum delay of 30 days")}),
    (delayed(721, "HOURS"), {(f"{P}.trigger_delay_value", "maximum delay of 30 days")}),
    (delayed(2, "HOURS", "DURING"), {(f"{P}.trigger_relation", "BEFORE, AFTER")}),
    (delayed(2, "HOURS", "BEFORE"), {(f"{P}.trigger_attr", "BEFORE needs trigger_attr")}),
    (delayed(2, "HOURS", "BEFORE", trigger_attr={"name": ""}),
     {(f"{P}.trigger_attr", "must be an object with a name"),
      (f"{P}.trigger_attr", "BEFORE needs trigger_attr")}),
    (trigger(action("A"), trigger_attr={"name": "t"}),
     {(f"{P}.trigger_attr", "needs trigger_delay_type DELAY")}),
    ({**delayed(2, "HOURS", trigger_attr={"name": "t"}),
      "included_filters": {"filter_operator": "or", "filters": [action("A"), action("B")]}},
     {(f"{P}.included_filters.filters", "single primary trigger event")}),
    (not_done({"filter_type": "user_attributes", "name": "x"}),
     {(f"{P}.secondary_included_filters.filters[0].filter_type", "executed: false")}),
    (not_done(action("Purchase")),
     {(f"{P}.secondary_included_filters.filters[0].executed", "'has not executed'")}),
    ({**trigger(action("A")), "secondary_included_filters": {
        "filter_operator": "and", "filters": [PURCHASE]}},
     {(f"{P}.secondary_included_filters", "needs trigger_delay_type DELAY")}),
    ({**delayed(2, "HOURS"), "secondary_included_filters": []},
     {(f"{P}.secondary_included_filters", "FilterGroup")}),
])
def test_campaign_api1_4_check_trigger_errors(rule, expected):
    errors = check_trigger(rule)
    assert len(errors) == len(expected), errors
    for path, fragment in expected:
        assert any(e.path == path and fragment in e.message for e in errors), (path, errors)


def test_check_trigger_uses_the_given_path():
    assert [e.path for e in check_trigger(delayed(0, "HOURS"), "campaign.trigger")] == [
        "campaign.trigger.trigger_delay_value"]
