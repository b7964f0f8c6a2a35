"""MoEngage Data API (spec §7; data.yaml and data-overview.mdx in moengage-documentation)."""

import json
from pathlib import Path

import pytest

from .conftest import KEY, WORKSPACE, basic

DOCS = Path(__file__).parent / "data" / "moengage_docs"
# Identity-resolution payloads carry no customer_id; workspaces without Identity Resolution
# (the only kind moesim emulates) refuse them. The two array/unset "snippets" are fragments
# from schema descriptions and lack the required "type".
NOT_ACCEPTED_HERE = {
    "track_user_identity_resolution_snippet.json", "track_event_user_identifiers_example.json",
    "bulk_user_identifiers_example.json", "track_user_update_array_attributes_snippet.json",
    "track_user_unset_attributes_snippet.json", "get_user_export_example.json",
}
ENDPOINT = {"track_user": "customer", "data_overview": "customer", "unset_user": "customer",
            "track_event": "event", "bulk": "transition"}


def _doc_payloads():
    for path in sorted(DOCS.glob("*.json")):
        if path.name not in NOT_ACCEPTED_HERE:
            prefix = next(p for p in ENDPOINT if path.name.startswith(p))
            yield pytest.param(path, ENDPOINT[prefix], id=path.stem)


@pytest.mark.parametrize("path,endpoint", list(_doc_payloads()))
def test_spec7_documented_payloads_are_accepted_unchanged(client, auth, path, endpoint):
    response = client.post(f"/v1/{endpoint}/{WORKSPACE}", data=path.read_bytes(),
                           headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "success"
    assert response.json["message"] == \
        "Your request has been accepted and will be processed soon."


def post(client, auth, endpoint, payload, **kwargs):
    return client.post(f"/v1/{endpoint}/{WORKSPACE}", json=payload, headers=auth, **kwargs)


def test_spec7_customer_attributes_read_back_typed(client, auth):
    payload = {"type": "customer", "customer_id": "john@example.com",
               "attributes": {"name": "John Doe", "first_name": "John", "email": "j@x.io",
                              "mobile": "+919812345678", "points": 20, "rating": 4.5,
                              "expiry_date": "2020-05-31T03:47:35Z", "joined": "2020-05-31",
                              "super_user": True, "tags": ["a", "b"], "nickname": "2020-15-40"}}
    assert post(client, auth, "customer", payload).status_code == 200
    user = client.get("/api/users/john@example.com").json
    attrs, types = user["attributes"], user["attribute_types"]
    assert attrs["First Name"] == "John" and attrs["Name"] == "John Doe"
    assert attrs["Email (Standard)"] == "j@x.io"
    assert attrs["Mobile Number (Standard)"] == "+919812345678"
    assert attrs["points"] == 20 and types["points"] == "number"
    assert attrs["rating"] == 4.5
    assert attrs["expiry_date"] == "2020-05-31T03:47:35.000Z" and types["expiry_date"] == "datetime"
    assert attrs["joined"] == "2020-05-31T00:00:00.000Z" and types["joined"] == "datetime"
    assert attrs["super_user"] is True and types["super_user"] == "bool"
    assert attrs["tags"] == ["a", "b"] and types["tags"] == "array"
    # "incorrect calendar values ... are ingested as strings" (data-overview.mdx)
    assert attrs["nickname"] == "2020-15-40" and types["nickname"] == "string"
    assert types["First Seen"] == "datetime"


def test_spec7_event_read_back_with_time_and_attributes(client, auth):
    payload = {"type": "event", "customer_id": "u-1", "actions": [
        {"action": "Flight Booked", "platform": "iOS", "app_version": "1.2.3",
         "current_time": 1795000000, "user_timezone_offset": 19800,
         "attributes": {"price": 3999, "flight_time": "2026-11-25T10:00:00Z",
                        "premium_seat": True}},
        {"action": "App Opened", "current_time": "2026-11-21T08:00:00Z"}]}
    assert post(client, auth, "event", payload).status_code == 200
    events = client.get("/api/users/u-1/events").json
    assert [e["name"] for e in events] == ["Flight Booked", "App Opened"]
    booked = events[0]
    assert booked["time"] == "2026-11-18T11:06:40.000Z"
    assert booked["attributes"] == {"price": 3999, "flight_time": "2026-11-25T10:00:00.000Z",
                                    "premium_seat": True}
    assert booked["platform"] == "iOS" and booked["user_timezone_offset"] == 19800
    # an event for an unknown customer_id creates the user (data-overview.mdx)
    assert client.get("/api/users/u-1").status_code == 200


@pytest.mark.parametrize("value,expected", [
    (1795000000, "2026-11-18T11:06:40.000Z"),          # epoch seconds
    (1795000000123, "2026-11-18T11:06:40.123Z"),       # epoch milliseconds
    ("1795000000123", "2026-11-18T11:06:40.123Z"),     # as in data.yaml's example
    ("2026-11-18T11:06:40Z", "2026-11-18T11:06:40.000Z"),
    ("2026-11-18T16:36:40+05:30", "2026-11-18T11:06:40.000Z"),
])
def test_spec7_event_time_as_iso_or_epoch(client, auth, value, expected):
    payload = {"type": "event", "customer_id": "u-2",
               "actions": [{"action": "A", "current_time": value}]}
    assert post(client, auth, "event", payload).status_code == 200
    assert client.get("/api/users/u-2/events").json[0]["time"] == expected


def test_spec7_event_without_time_takes_the_clock(client, auth, clock):
    post(client, auth, "event", {"type": "event", "customer_id": "u-3",
                                 "actions": [{"action": "A"}]})
    assert client.get("/api/users/u-3/events").json[0]["time"] == "2026-11-22T12:00:00.000Z"


def test_spec7_future_dated_event_is_rejected_and_nothing_stored(client, auth):
    payload = {"type": "event", "customer_id": "u-4", "actions": [
        {"action": "Fine"}, {"action": "Later", "current_time": "2026-11-23T12:00:00Z"}]}
    response = post(client, auth, "event", payload)
    assert response.status_code == 400
    assert response.json["error"]["attribute"] == "current_time"
    assert "future" in response.json["error"]["message"]
    assert client.get("/api/users/u-4").status_code == 404


def test_spec7_update_existing_only_does_not_create(client, auth):
    payload = {"type": "customer", "customer_id": "ghost", "update_existing_only": True,
               "attributes": {"first_name": "G"}}
    assert post(client, auth, "customer", payload).status_code == 200
    assert client.get("/api/users/ghost").status_code == 404
    post(client, auth, "customer", {"type": "customer", "customer_id": "ghost"})
    post(client, auth, "customer", payload)
    assert client.get("/api/users/ghost").json["attributes"]["First Name"] == "G"


def test_spec7_array_operators_and_unset(client, auth):
    post(client, auth, "customer", {"type": "customer", "customer_id": "arr", "attributes": {
        "favorite_categories": ["hats", "socks"], "temp_a": 1, "temp_b": 2, "first_name": "A"}})
    # one operator per attribute per call (data.yaml; see the ArrayFieldError tests)
    post(client, auth, "customer", {"type": "customer", "customer_id": "arr", "attributes": {
        "addValueToArrayField": {"favorite_categories": ["shoes", "socks"]}}})
    post(client, auth, "customer", {"type": "customer", "customer_id": "arr", "attributes": {
        "removeValueFromArrayField": {"favorite_categories": ["hats"]}}})
    attrs = client.get("/api/users/arr").json["attributes"]
    assert attrs["favorite_categories"] == ["socks", "shoes"]
    post(client, auth, "customer", {"type": "customer", "customer_id": "arr",
                                    "attributes": {"temp_c": 3},
                                    "unset_attributes": [
                                        {"type": "equals", "attr": "First_Name",
                                         "case_sensitive": False},
                                        {"type": "prefix", "attr": "temp_"}]})
    attrs = client.get("/api/users/arr").json["attributes"]
    # "If an attribute is defined in both ... the Unset operation takes precedence."
    assert not any(k.startswith("temp_") for k in attrs)
    assert "First Name" not in attrs and "First Seen" in attrs


def test_data_yaml_array_field_error_adding_and_removing_one_attribute(client, auth):
    """data.yaml /customer 400 ``array_field_error``: adding and removing one attribute in one
    call is refused with that body, whatever the values; nothing is stored."""
    response = post(client, auth, "customer", {"type": "customer", "customer_id": "arr3",
                                               "attributes": {
        "addValueToArrayField": {"favorite_categories": ["shoes", "bags"]},
        "removeValueFromArrayField": {"favorite_categories": ["hats"]}}})
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["attribute"], error["type"], error["message"]) == (
        "addValueToArrayField", "ArrayFieldError",
        "Cannot add and remove 'favorite_categories' at the same time")
    assert client.get("/api/users/arr3").status_code == 404


def test_spec7_adding_and_removing_the_same_value_is_an_array_field_error(client, auth):
    response = post(client, auth, "customer", {"type": "customer", "customer_id": "arr2",
                                               "attributes": {
        "addValueToArrayField": {"first_name": ["x"]},
        "removeValueFromArrayField": {"first_name": ["x"]}}})
    assert response.status_code == 400
    assert response.json["error"]["type"] == "ArrayFieldError"
    assert response.json["error"]["message"] == \
        "Cannot add and remove 'first_name' at the same time"  # data.yaml array_field_error


@pytest.mark.parametrize("customer_id", ["unknown", "Guest", "null", "0", "1", "true", "N/A",
                                         "none", "-1", "2", "user_id", "''"])
def test_spec7_forbidden_customer_ids(client, auth, customer_id):
    response = post(client, auth, "customer", {"type": "customer", "customer_id": customer_id})
    assert response.status_code == 400
    assert response.json["error"]["attribute"] == "customer_id"
    assert client.get("/api/users").json["total"] == 0


@pytest.mark.parametrize("payload,etype,message,attribute", [
    ({"type": "customer"}, "MissingAttributeError", "customer_id is not found in the payload",
     "customer_id"),
    ({"type": "customer", "customer_id": ""}, "MissingAttributeError",
     "customer_id can not be empty Unicode String", "customer_id"),
])
def test_spec7_track_user_documented_400s(client, auth, payload, etype, message, attribute):
    response = post(client, auth, "customer", payload)
    assert response.status_code == 400
    assert response.json["status"] == "fail"
    assert response.json["error"]["type"] == etype
    assert response.json["error"]["message"] == message
    assert response.json["error"]["attribute"] == attribute
    assert response.json["error"]["request_id"]


@pytest.mark.parametrize("payload,message,attribute", [
    ({"type": "event", "customer_id": "x", "actions": []}, "actions can not be empty Array",
     "actions"),
    ({"type": "event", "actions": [{"action": "A"}]}, "customer_id is not found in the payload",
     "customer_id"),
    ({"type": "event", "customer_id": "x", "actions": [{"attributes": {}}]},
     "action is not found in the payload", "action"),
])
def test_spec7_track_event_documented_400s(client, auth, payload, message, attribute):
    response = post(client, auth, "event", payload)
    assert response.status_code == 400
    assert response.json["error"]["type"] == "MissingAttributeError"
    assert response.json["error"]["message"] == message
    assert response.json["error"]["attribute"] == attribute


def test_spec7_malformed_json_and_content_types(client, auth):
    bad = client.post(f"/v1/event/{WORKSPACE}", data=b"{nope",
                      headers={**auth, "Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json["error"] == {**bad.json["error"], "type": "Malformed JSON", "message":
                                 "Could not decode the request body. The JSON was incorrect "
                                 "or not encoded as UTF-8."}
    text = client.post(f"/v1/customer/{WORKSPACE}", data=b"{}",
                       headers={**auth, "Content-Type": "text/plain"})
    assert text.status_code == 415 and text.json["error"]["type"] == "MediaTypeError"
    event_text = client.post(f"/v1/event/{WORKSPACE}", data=b"{}",
                             headers={**auth, "Content-Type": "text/plain"})
    assert event_text.status_code == 415
    assert event_text.json["error"]["message"] == "Content type is not supported"
    missing = client.post(f"/v1/customer/{WORKSPACE}", data=b"{}", headers=auth)
    assert missing.status_code == 400
    assert missing.json["error"]["message"] == "The Content-Type Header is required"


def test_spec7_auth_failures(client, auth):
    body = {"type": "customer", "customer_id": "a1"}
    none = client.post(f"/v1/customer/{WORKSPACE}", json=body)
    assert none.status_code == 401
    assert none.json["error"] == {**none.json["error"], "type": "Authentication required",
                                  "message": "Authentication Header Required"}
    wrong = client.post(f"/v1/customer/{WORKSPACE}", json=body, headers=basic(WORKSPACE, "no"))
    assert wrong.status_code == 401
    assert wrong.json["error"]["message"] == \
        "App Secret key mismatch. Please login to the dashboard to verify key"
    mismatch = client.post("/v1/customer/OTHER", json=body, headers=auth)
    assert mismatch.status_code == 409
    assert mismatch.json["error"]["message"] == "App key mismatch in params and authentication"
    unknown = client.post("/v1/customer/OTHER", json=body, headers=basic("OTHER", KEY))
    assert unknown.status_code == 400
    assert unknown.json["error"]["message"] == "Given app_id is invalid."
    appkey = client.post(f"/v1/customer/{WORKSPACE}", json=body,
                         headers={**auth, "MOE-APPKEY": WORKSPACE})
    assert appkey.status_code == 200
    legacy = client.post(f"/v1/customer?app_id={WORKSPACE}", json=body, headers=auth)
    assert legacy.status_code == 200
    assert client.get("/api/users").json["total"] == 1


def test_spec7_body_limits(client, auth):
    big = json.dumps({"type": "customer", "customer_id": "big",
                      "attributes": {"blob": "x" * 200_000}})
    response = client.post(f"/v1/customer/{WORKSPACE}", data=big,
                           headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json["error"] == {**response.json["error"], "type": "PayloadTooLarge",
                                      "message": "Payload size exceeds 128 KB"}
    bulk = json.dumps({"type": "transition", "elements": [
        {"type": "customer", "customer_id": f"c{i}", "attributes": {"pad": "y" * 1000}}
        for i in range(110)]})
    assert 100 * 1024 < len(bulk) < 128 * 1024
    response = client.post(f"/v1/transition/{WORKSPACE}", data=bulk,
                           headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json["error"]["message"] == "Payload size exceeds 100 KB"
    assert client.get("/api/users").json["total"] == 0


def test_spec7_bulk_accepts_and_logs_a_bad_element(client, auth):
    payload = {"type": "transition", "elements": [
        {"type": "customer", "customer_id": "b1", "attributes": {"first_name": "B"}},
        {"type": "event", "customer_id": "b1", "actions": [{"action": ""}]},
        {"type": "gadget", "customer_id": "b1"},
        {"type": "event", "customer_id": "b2", "actions": [{"action": "Purchase"}]},
        {"type": "device", "customer_id": "b1", "device_id": "d", "attributes": {}},
    ]}
    response = post(client, auth, "transition", payload)
    assert response.status_code == 200 and response.json["status"] == "success"
    assert client.get("/api/users/b1").json["attributes"]["First Name"] == "B"
    assert [e["name"] for e in client.get("/api/users/b2/events").json] == ["Purchase"]
    log = client.get("/_sim/logs/data-api").json["entries"]
    assert [(e["path"], e["message"]) for e in log] == [
        ("elements[1].actions[0].action", "action cannot be empty Unicode string"),
        ("elements[2].type", "'type in elements should be customer/event/device"),
        # a device element is checked like a Track Device body (data.yaml DeviceAttributes)
        ("elements[4].attributes.platform", "'platform' is not found in payload")]


def test_spec7_bulk_request_level_errors(client, auth):
    response = post(client, auth, "transition", {"type": "transition", "elements": []})
    assert response.status_code == 400
    assert response.json["error"]["message"] == "'elements cannot be empty array"


def test_spec7_get_user_export(client, auth):
    post(client, auth, "customer", {"type": "customer", "customer_id": "john_doe", "attributes": {
        "name": "John", "last_name": "Doe", "custom_user_attr": 12345}})
    body = {"data": {"identifiers": [
        {"identifier_type": "customer_id", "identifier": "john_doe"},
        {"identifier_type": "customer_id", "identifier": "nobody"}],
        "user_fields_to_export": ["last_name", "customer_id", "name", "custom_user_attr"]}}
    response = client.post(f"/v1/customers/export?app_id={WORKSPACE}", json=body, headers=auth)
    assert response.status_code == 200
    assert response.json["type"] == "export_users"
    assert response.json["data"]["users_not_found"] == [
        {"identifier_type": "customer_id", "identifier": "nobody"}]
    assert response.json["data"]["users"] == [{"user_attributes": {
        "customer_id": "john_doe", "name": "John", "last_name": "Doe",
        "custom_user_attr": 12345}}]
    too_many = {"data": {"identifiers": [{"identifier_type": "customer_id",
                                          "identifier": f"u{i}"} for i in range(21)]}}
    response = client.post(f"/v1/customers/export?app_id={WORKSPACE}", json=too_many,
                           headers=auth)
    assert response.status_code == 400
    assert response.json["error"]["type"] == "LimitBreached"
    assert response.json["error"]["message"] == "max limit allowed is 20"
