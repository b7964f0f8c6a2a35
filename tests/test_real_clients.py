"""Real clients of MoEngage's Data API against a running moesim (``moesim serve`` in a
subprocess, real sockets):

- RudderStack's MoEngage destination (rudderlabs/rudder-transformer,
  ``src/v0/destinations/moengage``): the requests its transformer builds for identify (Track
  User, and Track Device when the context has a device token), track (Track Event) and alias
  (Merge Users), with its endpoints, headers and body shapes as its processor test data
  (``test/integrations/destinations/moengage/processor/data.ts``) shows them;
- the PyPI ``moengage`` client (0.3.4), unmodified.
"""

import base64

import pytest
import requests

WORKSPACE, KEY = "RSWORKSPACE", "rs-data-key"


@pytest.fixture
def server(serve, tmp_path):
    return serve("--db", str(tmp_path / "clients.db"), "--fixtures", "none", "--clock",
                 "virtual", "--start-time", "2026-11-22T12:00:00Z",
                 env={"MOESIM_WORKSPACE_ID": WORKSPACE, "MOESIM_DATA_API_KEY": KEY})


def _rudderstack(server, kind: str, body: dict) -> requests.Response:
    """What RudderStack's transformer emits for ``kind``: endpoint (config.js, region US with
    the host swapped for moesim), headers and JSON body (transform.js responseBuilderSimple)."""
    base = f"{server.url}/v1"
    endpoint = {"identify": f"{base}/customer/{WORKSPACE}", "track": f"{base}/event/{WORKSPACE}",
                "device": f"{base}/device/{WORKSPACE}",
                "alias": f"{base}/customer/merge?app_id={WORKSPACE}"}[kind]
    headers = {"Content-Type": "application/json",
               "Authorization": "Basic " + base64.b64encode(f"{WORKSPACE}:{KEY}".encode())
               .decode()}
    if kind != "alias":  # transform.js deletes MOE-APPKEY for alias only
        headers["MOE-APPKEY"] = WORKSPACE
    return requests.post(endpoint, json=body, headers=headers, timeout=10)


def _user(server, customer_id):
    return requests.get(f"{server.url}/api/users/{customer_id}", timeout=10)


def test_rudderstack_identify_track_device_and_alias_requests(server):
    """rudder-transformer processor tests 0, 1, 3 and its alias mapping, in order: an anonymous
    user identified with a device, a track call, then an alias merging the anonymous profile
    into the known one."""
    anonymous = "4eb021e9-a2af-4926-ae82-fe996d12f3c5"
    # Test 2's identify (no userId: customer_id is the anonymousId)
    answer = _rudderstack(server, "identify", {
        "type": "customer", "customer_id": anonymous,
        "attributes": {"CID": anonymous, "RC_DATE": "2021-03-22T12:36:34Z",
                       "RC_NO_OF_SKUS": 1, "RC_PN_SKU_LIST": "9317"}})
    assert answer.status_code == 200, answer.text
    # Test 3: identify with context.device -> Track User, then Track Device
    assert _rudderstack(server, "identify", {
        "type": "customer", "customer_id": "rudder123",
        "attributes": {"name": "Rudder Test", "plan": "Enterprise",
                       "email": "rudderTest@gmail.com",
                       "createdAt": "Thu Mar 24 2016 17:46:45 GMT+0000 (UTC)",
                       "company.id": "abc123",
                       "created_time": "Thu Mar 24 2016 17:46:45 GMT+0000 (UTC)"}}
    ).status_code == 200
    device = _rudderstack(server, "device", {
        "type": "device", "device_id": "7e32188a4dab669f", "customer_id": "rudder123",
        "attributes": {"model": "Android SDK built for x86", "push_id": "desuhere",
                       "platform": "android", "app_version": "1.1.6"}})
    assert device.status_code == 200, device.text
    # Test 0's track: flattened attributes, ISO current_time with an offset, tz offset in s
    track = _rudderstack(server, "track", {
        "customer_id": "rudder123", "type": "event", "actions": [{
            "action": "Order Completed",
            "attributes": {"category": "some category", "products[0].price": 3,
                           "products[0].name": "Food/Drink", "revenue": 31.98,
                           "checkout_id": "what is checkout id here??"},
            "app_version": "1.1.6", "current_time": "2020-10-16T13:40:12.791+05:30",
            "user_timezone_offset": 32400, "platform": "web"}]})
    assert track.status_code == 200, track.text
    _rudderstack(server, "track", {"customer_id": anonymous, "type": "event",
                                   "actions": [{"action": "Viewed Cart", "platform": "web"}]})
    # alias: MoEngageAliasConfig.json -> merge_data[0].{retained_user: userId,
    # merged_user: previousId}
    merged = _rudderstack(server, "alias", {"merge_data": [
        {"retained_user": "rudder123", "merged_user": anonymous}]})
    assert merged.status_code == 200, merged.text
    assert merged.json() == {"status": "success", "operation": "created"}

    user = _user(server, "rudder123").json()
    assert user["attributes"]["Email (Standard)"] == "rudderTest@gmail.com"
    assert user["attributes"]["RC_NO_OF_SKUS"] == 1  # moved over from the anonymous profile
    assert [d["device_id"] for d in user["devices"]] == ["7e32188a4dab669f"]
    assert user["devices"][0]["attributes"]["platform"] == "ANDROID"
    events = requests.get(f"{server.url}/api/users/rudder123/events", timeout=10).json()
    assert sorted(e["name"] for e in events) == ["Order Completed", "Viewed Cart"]
    order = next(e for e in events if e["name"] == "Order Completed")
    assert order["time"] == "2020-10-16T08:10:12.791Z"
    assert order["attributes"]["products[0].price"] == 3
    assert _user(server, anonymous).status_code == 404


def test_pypi_moengage_client_unmodified(server):
    """PyPI ``moengage`` 0.3.4: ``Moengage(base_url, app_id, api_key)``;
    ``create_or_update_user`` posts Track User with name/mobile/email and extra attributes,
    ``publish_event`` posts Track Event (user_timezone_offset 19800). It raises on a
    ``"status": "fail"`` answer, so returning is the success check."""
    from moengage import Moengage
    from moengage.exceptions import MoengageAPIException

    client = Moengage(server.url, WORKSPACE, KEY)
    client.create_or_update_user("py-1", name="Py One", phone_number="+9198", email="p@x.io",
                                 plan="gold")
    client.publish_event("py-1", "Purchased", amount=12.5, sku="A-1")
    user = _user(server, "py-1").json()
    assert user["attributes"]["Name"] == "Py One"
    assert user["attributes"]["Mobile Number (Standard)"] == "+9198"
    assert user["attributes"]["plan"] == "gold"
    [event] = requests.get(f"{server.url}/api/users/py-1/events", timeout=10).json()
    assert event["name"] == "Purchased" and event["attributes"] == {"amount": 12.5, "sku": "A-1"}
    assert event["user_timezone_offset"] == 19800

    wrong = Moengage(server.url, WORKSPACE, "not-the-key")
    with pytest.raises(MoengageAPIException, match="App Secret key mismatch"):
        wrong.create_or_update_user("py-2", name="Nope")
