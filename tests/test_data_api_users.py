"""Data API user management (data.yaml): Merge Users, Delete Users, Track Device, and the
fixed paths that must never be read as a workspace id; array operators on typed attributes."""

from datetime import timedelta

import pytest

from .conftest import WORKSPACE


def post(client, auth, path, payload):
    return client.post(path, json=payload, headers=auth)


def _user(client, auth, cid, **attrs):
    response = post(client, auth, f"/v1/customer/{WORKSPACE}",
                    {"type": "customer", "customer_id": cid, "attributes": attrs})
    assert response.status_code == 200, response.json


def _event(client, auth, cid, name):
    response = post(client, auth, f"/v1/event/{WORKSPACE}",
                    {"type": "event", "customer_id": cid, "actions": [{"action": name}]})
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("path", ["/v1/customer/merge", "/v1/customer/delete"])
def test_fixed_paths_are_never_read_as_a_workspace_id(client, auth, path):
    """Issue 17 item 8: ``merge``/``delete`` answered 409 "App key mismatch" as if they were a
    workspace id. They are their own endpoints and read ``app_id`` from the query."""
    response = post(client, auth, f"{path}?app_id={WORKSPACE}", {})
    assert response.status_code == 400, response.json
    assert response.json["error"]["type"] == "MissingAttributeError"
    missing = post(client, auth, path, {"merge_data": []})
    assert missing.status_code == 400
    assert missing.json["error"]["type"] == "ParamsRequired"  # data.yaml missing_workspaceid


def test_data_yaml_merge_users_moves_attributes_events_and_devices(client, auth):
    """data.yaml "Merge Users": the merged user's attributes move to the retained user (its
    values win; the retained user's own attributes stay), its events and devices too, and the
    merged user is gone. The 200 body is the doc's."""
    _user(client, auth, "anon-1", first_name="Ann", plan="free", anon_only=True)
    _user(client, auth, "ann@x.io", plan="gold", email="ann@x.io")
    _event(client, auth, "anon-1", "Viewed")
    _event(client, auth, "ann@x.io", "Bought")
    assert post(client, auth, f"/v1/device/{WORKSPACE}", {
        "type": "device", "customer_id": "anon-1", "device_id": "dev-1",
        "attributes": {"platform": "ANDROID", "push_id": "tok"}}).status_code == 200
    response = post(client, auth, f"/v1/customer/merge?app_id={WORKSPACE}", {
        "merge_data": [{"merged_user": "anon-1", "retained_user": "ann@x.io"},
                       {"merged_user": "nobody", "retained_user": "ann@x.io"}]})
    assert response.status_code == 200
    assert response.json == {"status": "success", "operation": "created"}
    kept = client.get("/api/users/ann@x.io").json
    assert kept["attributes"]["plan"] == "free"  # the merged user's value moves over
    assert kept["attributes"]["anon_only"] is True
    assert kept["attributes"]["Email (Standard)"] == "ann@x.io"
    assert [d["device_id"] for d in kept["devices"]] == ["dev-1"]
    events = sorted(e["name"] for e in client.get("/api/users/ann@x.io/events").json)
    assert events == ["Bought", "Viewed"]
    assert client.get("/api/users/anon-1").status_code == 404


@pytest.mark.parametrize("pair, attribute, message", [
    ({"merged_user": 5, "retained_user": "a"}, "merged_user",
     "merged_user is expected to be String or Unicode String."),
    ({"retained_user": "a"}, "merged_user", "merged_user is not found in the payload"),
])
def test_data_yaml_merge_users_400s(client, auth, pair, attribute, message):
    """data.yaml /customer/merge 400 ``invalid_datatype``."""
    response = post(client, auth, f"/v1/customer/merge?app_id={WORKSPACE}",
                    {"merge_data": [pair]})
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["attribute"], error["message"], error["type"]) == (
        attribute, message, "MissingAttributeError")


def test_data_yaml_delete_users_after_the_24_hour_buffer(client, auth, clock):
    """data.yaml "Delete Users": the user stays active for a 24-hour buffer (and can be
    updated), then is hard-deleted; an unknown user is the doc's "Not Found" 400."""
    _user(client, auth, "gone", first_name="G")
    _event(client, auth, "gone", "Viewed")
    response = post(client, auth, f"/v1/customer/delete?app_id={WORKSPACE}",
                     {"identity_type": "customer_id", "identity_value": "gone"})
    assert response.status_code == 200
    assert response.json["message"] == \
        "Your request has been accepted and will be processed soon."
    client.post("/_sim/run-due")
    assert client.get("/api/users/gone").status_code == 200  # still in the buffer
    clock.set(clock.now() + timedelta(hours=24))
    ran = client.post("/_sim/run-due").json["ran"]
    assert [r["kind"] for r in ran] == ["delete_user"]
    assert client.get("/api/users/gone").status_code == 404
    assert client.get("/api/users").json["total"] == 0
    unknown = post(client, auth, f"/v1/customer/delete?app_id={WORKSPACE}",
                   {"identity_type": "customer_id", "identity_value": "b3XS"})
    assert unknown.status_code == 400
    assert (unknown.json["error"]["type"], unknown.json["error"]["message"]) == (
        "Not Found", "User doesn't exists with customer id b3XS")


def test_delete_users_reads_the_schema_shape_too(client, auth, clock):
    """data.yaml's DeleteUserRequest schema shows ``identifiers`` (docs/decisions.md)."""
    _user(client, auth, "gone2")
    response = post(client, auth, f"/v1/customer/delete?app_id={WORKSPACE}",
                    {"identifiers": [{"identifier_type": "customer_id", "identifier": "gone2"}]})
    assert response.status_code == 200
    clock.set(clock.now() + timedelta(hours=25))
    client.post("/_sim/run-due")
    assert client.get("/api/users/gone2").status_code == 404


def test_data_yaml_track_device_is_stored_and_readable_on_the_user(client, auth):
    """data.yaml "Track Device": a device of an existing user, attributes merged on update;
    the platform is read case-insensitively (RudderStack sends "android")."""
    _user(client, auth, "d1")
    body = {"type": "device", "customer_id": "d1", "device_id": "7e32188a4dab669f",
            "attributes": {"model": "Pixel", "push_id": "t1", "platform": "android",
                           "app_version": "1.1.6"}}
    assert post(client, auth, f"/v1/device/{WORKSPACE}", body).status_code == 200
    body["attributes"] = {"push_id": "t2", "platform": "ANDROID"}
    assert post(client, auth, f"/v1/device/{WORKSPACE}", body).status_code == 200
    [device] = client.get("/api/users/d1").json["devices"]
    assert device["device_id"] == "7e32188a4dab669f"
    assert device["attributes"] == {"model": "Pixel", "push_id": "t2", "platform": "ANDROID",
                                    "app_version": "1.1.6"}


@pytest.mark.parametrize("change, attribute, message, etype", [
    (lambda b: b.pop("customer_id"), "customer_id", "'customer_id' is not found in the payload",
     "MissingAttributeError"),
    (lambda b: b.pop("attributes"), "attributes", "'attributes' is not found in the payload",
     "MissingAttributeError"),
    (lambda b: b["attributes"].pop("platform"), "platform", "'platform' is not found in payload",
     "MissingAttributeError"),
    (lambda b: b["attributes"].pop("push_id"), "push_id", "'push_id' is not found in payload",
     "MissingAttributeError"),
    (lambda b: b["attributes"].update(platform="Symbian"), "platform",
     "'platform' is not a valid platform.", "ValueError"),
])
def test_data_yaml_track_device_400s(client, auth, change, attribute, message, etype):
    """data.yaml /device/{app_id} 400 examples, body for body."""
    _user(client, auth, "d2")
    body = {"type": "device", "customer_id": "d2", "device_id": "x",
            "attributes": {"platform": "iOS", "push_id": "t"}}
    change(body)
    response = post(client, auth, f"/v1/device/{WORKSPACE}", body)
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["attribute"], error["message"], error["type"]) == (attribute, message, etype)
    assert client.get("/api/users/d2").json["devices"] == []


def test_track_device_for_an_unknown_user_is_refused(client, auth):
    """data.yaml: "devices can be created for existing users only"."""
    response = post(client, auth, f"/v1/device/{WORKSPACE}", {
        "type": "device", "customer_id": "ghost", "device_id": "x",
        "attributes": {"platform": "iOS", "push_id": "t"}})
    assert response.status_code == 400 and response.json["error"]["type"] == "Not Found"
    assert client.get("/api/users/ghost").status_code == 404


def test_data_yaml_array_operator_on_a_string_attribute_is_refused(client, auth):
    """An attribute's data type is fixed when first seen: ``addValueToArrayField`` on one
    first seen as a string is an ArrayFieldError and changes nothing."""
    _user(client, auth, "t1", colour="red")
    response = post(client, auth, f"/v1/customer/{WORKSPACE}", {
        "type": "customer", "customer_id": "t1",
        "attributes": {"addValueToArrayField": {"colour": ["blue"]}}})
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["attribute"], error["type"]) == ("addValueToArrayField", "ArrayFieldError")
    assert "'colour' is a string attribute" in error["message"]
    user = client.get("/api/users/t1").json
    assert user["attributes"]["colour"] == "red" and user["attribute_types"]["colour"] == "string"
    # another user's change in the same bulk request still applies
    bulk = post(client, auth, f"/v1/transition/{WORKSPACE}", {"type": "transition", "elements": [
        {"type": "customer", "customer_id": "t1",
         "attributes": {"removeValueFromArrayField": {"colour": ["red"]}}},
        {"type": "customer", "customer_id": "t2", "attributes": {"colour": "green"}}]})
    assert bulk.status_code == 200
    assert client.get("/api/users/t1").json["attributes"]["colour"] == "red"
    assert client.get("/api/users/t2").json["attributes"]["colour"] == "green"


def test_data_yaml_track_event_with_a_non_string_action_is_malformed_json(client, auth):
    """data.yaml /event 400 ``incorrect_action`` ("Action key is not sent as a string")."""
    response = post(client, auth, f"/v1/event/{WORKSPACE}", {
        "type": "event", "customer_id": "e1", "actions": [{"action": 42}]})
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["attribute"], error["type"], error["message"]) == (
        "action", "Malformed JSON",
        "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.")
    missing = post(client, auth, f"/v1/event/{WORKSPACE}", {
        "type": "event", "customer_id": "e1", "actions": [{"attributes": {}}]})
    assert (missing.json["error"]["type"], missing.json["error"]["message"]) == (
        "MissingAttributeError", "action is not found in the payload")
