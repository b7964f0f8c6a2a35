"""Connected App and Connector campaigns end to end over real HTTP (spec §2, §4, §6;
campaign-api.md §1-2): one request per user, MoEngage-faithful requests, Sent/Failed."""

import base64
import copy
import json

import requests

from .conftest import WORKSPACE
from .test_connectors import COMPOSITE

SECRET = "s3cr3t-acme-key"


def _users(client, auth, count):
    for i in range(count):
        client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
            "type": "customer", "customer_id": f"u{i}",
            "attributes": {"first_name": f"User{i}", "acme_id": f"+9100000{i:04d}",
                           "plan": "pro" if i % 2 else "free"}})


def _connected_app(client, partner, config=COMPOSITE):
    config = copy.deepcopy(config)
    config["modules"][0]["params"]["request"]["url"] = f"{partner}/_sim/sink/acme/v1/messages"
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    connector = client.post(f"/api/apps/{app_id}/connectors", json=config)
    assert connector.status_code == 201, connector.json
    connection = client.post("/api/connections", json={
        "connector_id": connector.json["id"], "name": "Prod",
        "values": {"account_id": "ABC123", "account_key": SECRET}})
    assert connection.status_code == 201, connection.json
    return connector.json["id"], connection.json["id"]


def _campaign(connector_id, connection_id, **overrides):
    body = {
        "request_id": "req-1", "channel": "CONNECTED_APP", "campaign_delivery_type": "ONE_TIME",
        "created_by": "dev@example.com", "basic_details": {"name": "Welcome SMS"},
        "campaign_content": {"content": {"connected_app": {
            "connector_id": connector_id, "connection_id": connection_id,
            "inputs": {"receiver_id": "{{UserAttribute['acme_id']}}",
                       "message": "Hi {{UserAttribute['First Name']|default('there')}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}}
    body.update(overrides)
    return body


def test_must_show_composite_config_one_request_per_user(client, auth, partner):
    """spec §2.9 composite config: exact URL, basic-auth header, rendered body; sent = users."""
    _users(client, auth, 5)
    connector_id, connection_id = _connected_app(client, partner)
    created = client.post("/api/campaigns", json=_campaign(connector_id, connection_id))
    assert created.status_code == 201, created.json
    campaign_id = created.json["campaign_id"]
    ran = client.post("/_sim/run-due").json["ran"]
    assert ran[0]["campaign_id"] == campaign_id and ran[0]["sent"] == 5
    records = requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]
    assert len(records) == 5
    by_to = {r["json"]["to"]: r for r in records}
    first = by_to["+91000000000"]
    assert first["method"] == "POST" and first["path"] == "/v1/messages"
    assert first["headers"]["Authorization"] == \
        "Basic " + base64.b64encode(f"ABC123:{SECRET}".encode()).decode()
    assert first["headers"]["Content-Type"] == "application/json"
    assert first["json"] == {"to": "+91000000000", "text": "Hi User0"}
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert (stats["attempted"], stats["sent"], stats["failed"]) == (5, 5, 0)
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "SENT"
    events = client.get("/api/users/u0/events").json
    assert [e["name"] for e in events] == ["Connected App Campaign Sent"]
    assert events[0]["attributes"]["Receiver"] == "+91000000000"
    assert events[0]["attributes"]["Campaign Id"] == campaign_id
    # nothing runs twice
    assert client.post("/_sim/run-due").json["ran"] == []


def test_must_show_failures_match_what_the_sink_answered(client, auth, partner):
    _users(client, auth, 6)
    connector_id, connection_id = _connected_app(client, partner)
    requests.put(f"{partner}/_sim/sinks/acme", json={"fail_next": {"count": 2, "status": 503}},
                 timeout=5)
    campaign_id = client.post("/api/campaigns",
                              json=_campaign(connector_id, connection_id)).json["campaign_id"]
    client.post("/_sim/run-due")
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert (stats["sent"], stats["failed"]) == (4, 2)
    assert stats["failure_breakdown"] == {"http_status": {"503": 2}}
    failed = client.get(f"/_sim/deliveries?campaign_id={campaign_id}&status=failed").json
    assert [d["http_status"] for d in failed["deliveries"]] == [503, 503]


def test_personalization_failure_is_that_users_failed_outcome(client, auth, partner):
    _users(client, auth, 3)
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": "no-phone", "attributes": {"first_name": "N"}})
    connector_id, connection_id = _connected_app(client, partner)
    campaign_id = client.post("/api/campaigns",
                              json=_campaign(connector_id, connection_id)).json["campaign_id"]
    client.post("/_sim/run-due")
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert (stats["sent"], stats["failed"]) == (3, 1)
    assert stats["failure_breakdown"] == {"personalization": {"User Attribute": 1}}
    assert len(requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]) == 3


def test_audience_filter_targets_only_matching_users(client, auth, partner):
    _users(client, auth, 6)
    connector_id, connection_id = _connected_app(client, partner)
    body = _campaign(connector_id, connection_id, segmentation_details={"included_filters": {
        "filter_operator": "and", "filters": [{"filter_type": "user_attributes",
                                               "name": "plan", "data_type": "string",
                                               "operator": "is", "value": "pro"}]}})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    client.post("/_sim/run-due")
    assert client.get(f"/api/campaigns/{campaign_id}/stats").json["sent"] == 3


def test_no_secret_in_any_response_or_log(client, auth, partner, caplog):
    _users(client, auth, 2)
    connector_id, connection_id = _connected_app(client, partner)
    campaign_id = client.post("/api/campaigns",
                              json=_campaign(connector_id, connection_id)).json["campaign_id"]
    client.post("/_sim/run-due")
    token = base64.b64encode(f"ABC123:{SECRET}".encode()).decode()
    seen = json.dumps([
        client.get(path).json for path in (
            "/api/connections", f"/api/connections/{connection_id}", "/api/campaigns",
            f"/api/campaigns/{campaign_id}", f"/_sim/deliveries?campaign_id={campaign_id}")])
    assert SECRET not in seen and token not in seen
    assert SECRET not in caplog.text and token not in caplog.text
    delivery = client.get(f"/_sim/deliveries?campaign_id={campaign_id}").json["deliveries"][0]
    assert ["Authorization", "Basic ********"] in delivery["request"]["headers"]


def test_connector_campaign_200_is_sent_and_raises_connector_sent(client, auth, partner):
    _users(client, auth, 3)
    requests.put(f"{partner}/_sim/sinks/hook", json={"fail_next": {"count": 1, "status": 500}},
                 timeout=5)
    body = {
        "request_id": "req-c", "channel": "CONNECTOR", "campaign_delivery_type": "ONE_TIME",
        "created_by": "dev@example.com", "basic_details": {"name": "Webhook to CRM"},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": f"{partner}/_sim/sink/hook/crm",
            "url_params": [{"key": "src", "value": "moe"}],
            "headers": [{"key": "X-Api-Key", "value": "k"}], "body_type": "JSON",
            "body": {"id": "{{UserAttribute['customer_id']|default(UserAttribute['ID']|default('x'))}}",
                     "name": "{{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}}
    created = client.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.json
    client.post("/_sim/run-due")
    stats = client.get(f"/api/campaigns/{created.json['campaign_id']}/stats").json
    assert (stats["sent"], stats["failed"]) == (2, 1)
    records = requests.get(f"{partner}/_sim/sinks/hook", timeout=5).json()["requests"]
    assert records[0]["query"] == "src=moe" and records[0]["headers"]["X-Api-Key"] == "k"
    assert {r["json"]["name"] for r in records} == {"User0", "User1", "User2"}
    sent_events = [e["name"] for u in ("u0", "u1", "u2")
                   for e in client.get(f"/api/users/{u}/events").json]
    assert sent_events.count("Connector Sent") == 2


def test_invalid_campaigns_are_422_with_paths_and_nothing_stored(client, auth, partner):
    connector_id, connection_id = _connected_app(client, partner)
    body = _campaign(connector_id, connection_id, channel="SMS",
                     basic_details={"name": "abc"}, scheduling_details={"delivery_type": "NOW"})
    response = client.post("/api/campaigns", json=body)
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == [
        "channel", "basic_details.name", "scheduling_details.delivery_type"]
    bad_inputs = _campaign(connector_id, connection_id)
    bad_inputs["campaign_content"]["content"]["connected_app"]["inputs"] = {
        "receiver_id": "{{ UserAttribute['x' }}", "priority": "urgent"}
    response = client.post("/api/campaigns", json=bad_inputs)
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == [
        "campaign_content.content.connected_app.inputs.message",
        "campaign_content.content.connected_app.inputs.priority",
        "campaign_content.content.connected_app.inputs.receiver_id"]
    assert client.get("/api/campaigns").json["campaigns"] == []
    periodic = _campaign(connector_id, connection_id, campaign_delivery_type="PERIODIC",
                         scheduling_details={"delivery_type": "AT_FIXED_TIME"})
    paths = [e["path"] for e in client.post("/api/campaigns", json=periodic).json["errors"]]
    assert "scheduling_details.start_time" in paths  # a periodic campaign needs its start


def test_campaign_keeps_its_connector_version(client, auth, partner):
    _users(client, auth, 1)
    connector_id, connection_id = _connected_app(client, partner)
    campaign_id = client.post("/api/campaigns",
                              json=_campaign(connector_id, connection_id)).json["campaign_id"]
    changed = copy.deepcopy(COMPOSITE)
    changed["modules"][0]["params"]["request"]["url"] = f"{partner}/_sim/sink/other"
    assert client.put(f"/api/connectors/{connector_id}", json=changed).json["version"] == 2
    client.post("/_sim/run-due")
    assert client.get(f"/api/campaigns/{campaign_id}").json["connector_version"] == 1
    assert len(requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]) == 1


def test_status_change_stop_cancels_a_scheduled_send(client, auth, partner):
    _users(client, auth, 2)
    connector_id, connection_id = _connected_app(client, partner)
    campaign_id = client.post("/api/campaigns",
                              json=_campaign(connector_id, connection_id)).json["campaign_id"]
    stop = client.post("/api/campaigns/status", json={"request_id": "s1", "action": "STOP",
                                                      "campaign_ids": [campaign_id]})
    assert stop.status_code == 200
    assert client.post("/_sim/run-due").json["ran"] == []
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "STOPPED"
    pause = client.post("/api/campaigns/status", json={"request_id": "s2", "action": "PAUSE",
                                                       "campaign_ids": [campaign_id]})
    assert pause.status_code == 422
    assert "Action PAUSE is not valid for a ONE_TIME campaign" in pause.json["errors"][0][
        "message"]


def test_spec5_2_test_campaign_sends_and_answers_inline(client, auth, partner):
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": "t1",
        "attributes": {"first_name": "Tess", "acme_id": "+9177", "email": "tess@x.io"}})
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": "t2", "attributes": {"email": "nophone@x.io"}})
    connector_id, connection_id = _connected_app(client, partner)
    body = _campaign(connector_id, connection_id)
    for key in ("segmentation_details", "scheduling_details", "campaign_delivery_type"):
        body.pop(key)
    body["test_campaign_meta"] = {"identifier": "USER_ATTRIBUTE_USER_EMAIL",
                                  "identifier_values": ["tess@x.io", "nophone@x.io", "who@x.io"]}
    answer = client.post("/api/campaigns/test", json=body)
    assert answer.status_code == 200, answer.json
    data = answer.json["data"]
    assert data["tess@x.io"]["status"] == "success"
    assert data["tess@x.io"]["request"]["url"].endswith("/_sim/sink/acme/v1/messages")
    assert json.loads(data["tess@x.io"]["request"]["body"]) == {"to": "+9177", "text": "Hi Tess"}
    assert data["tess@x.io"]["response"]["status"] == 200
    assert data["nophone@x.io"]["status"] == "failed"
    assert data["nophone@x.io"]["failure_reason"] == "personalization:User Attribute"
    assert data["nophone@x.io"]["request"] is None
    assert data["who@x.io"] == {"status": "failed", "failure_reason": "User not found"}
    assert len(requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]) == 1
    assert client.get("/api/campaigns").json["campaigns"] == []  # not a campaign
    bad = client.post("/api/campaigns/test", json={**body, "test_campaign_meta": {
        "identifier": "PUSH_ID", "identifier_values": []}})
    assert bad.status_code == 422
    assert [e["path"] for e in bad.json["errors"]] == [
        "test_campaign_meta.identifier", "test_campaign_meta.identifier_values"]


def test_bundled_demo_app_connection_and_campaign_send(tmp_path, clock, partner):
    """fixtures/: the Acme Messaging app (2 connectors, basic auth, key_value and dropdown
    inputs), its connections and the demo campaign to Pro users send through the sink."""
    from simulator.app import bootstrap, create_app
    from simulator.core.settings import Settings

    app = create_app(Settings(db=str(tmp_path / "demo.db")), clock=clock, start=False)
    ctx = app.extensions["moesim"]
    try:
        bootstrap(ctx, app.extensions["moesim.is_new"], partner)
        client = app.test_client()
        [acme] = client.get("/api/apps").json["apps"]
        assert len(client.get(f"/api/apps/{acme['id']}").json["connectors"]) == 2
        [campaign] = client.get("/api/campaigns").json["campaigns"]
        assert campaign["status"] == "SCHEDULED"
        [ran] = client.post("/_sim/run-due").json["ran"]
        records = requests.get(f"{partner}/_sim/sinks/acme-sms", timeout=10).json()["requests"]
        stats = client.get(f"/api/campaigns/{campaign['campaign_id']}/stats").json
        assert stats["sent"] == len(records) == ran["sent"] > 50
        # pro users without a mobile
        assert stats["failure_breakdown"] == {"personalization": {"User Attribute":
                                                                  stats["failed"]}}
        first = records[0]
        assert first["path"].startswith("/v1/accounts/AC0123456789demo/messages")
        assert first["query"] == "priority=high"
        assert first["headers"]["X-Acme-Region"] == "in"
        assert first["json"]["tags"] == {"source": "moengage"}
        assert first["json"]["text"].endswith("thanks for going Pro!")
    finally:
        ctx.close()


def test_spec2_7_a_response_no_entry_decides_falls_back_to_the_status_visibly(client, auth,
                                                                                 partner):
    """Spec §2.7 [I]: with no matching entry, 200 is Sent and anything else Failed; the
    delivery record says the fallback decided, and the stats count such sends."""
    _users(client, auth, 4)
    config = copy.deepcopy(COMPOSITE)
    config["modules"][0]["params"]["response"] = []
    connector_id, connection_id = _connected_app(client, partner, config)
    requests.put(f"{partner}/_sim/sinks/acme", json={"fail_next": {"count": 1, "status": 500}},
                 timeout=5)
    campaign_id = client.post("/api/campaigns", json=_campaign(
        connector_id, connection_id)).json["campaign_id"]
    client.post("/_sim/run-due")
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert (stats["sent"], stats["failed"]) == (3, 1)
    assert stats["decided_by_fallback"] == {"sent": 3, "failed": 1}
    logged = client.get(f"/_sim/deliveries?campaign_id={campaign_id}").json["deliveries"]
    assert {d["response"]["decided_by"] for d in logged} == {"fallback"}


def test_a_send_an_entry_decides_is_not_counted_as_fallback(client, auth, partner):
    _users(client, auth, 2)
    campaign_id = client.post("/api/campaigns", json=_campaign(
        *_connected_app(client, partner))).json["campaign_id"]
    client.post("/_sim/run-due")
    assert "decided_by_fallback" not in client.get(f"/api/campaigns/{campaign_id}/stats").json
    logged = client.get(f"/_sim/deliveries?campaign_id={campaign_id}").json["deliveries"]
    assert all("decided_by" not in d["response"] for d in logged)


def test_spec2_7_created_events_carry_the_apps_name_and_moengages_delivery_type(client, auth,
                                                                                 partner):
    """Spec §2.7 standard attributes: ``App name`` is the app's name (not its id),
    ``Integration type`` the connector's, ``Delivery Type`` MoEngage's name for the delivery type
    (S33: One Time, Periodic, Event Triggered); ``Campaign Type`` as the API writes it."""
    _users(client, auth, 1)
    campaign_id = client.post("/api/campaigns", json=_campaign(
        *_connected_app(client, partner))).json["campaign_id"]
    client.post("/_sim/run-due")
    (event,) = client.get("/api/users/u0/events").json
    attributes = event["attributes"]
    assert (attributes["App name"], attributes["Integration type"]) == ("Acme", "Send message")
    assert (attributes["Campaign Type"], attributes["Delivery Type"]) == ("ONE_TIME", "One Time")
    assert attributes["Campaign Channel"] == "Connected Apps"
    assert attributes["Campaign Id"] == campaign_id
