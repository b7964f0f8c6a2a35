"""A test in the style of a partner's suite: only the pytest plugin's fixtures, no set-up of
its own (the plugin is registered by `pip install moesim` through the pytest11 entry point)."""

import json
from pathlib import Path

COMPOSITE = Path(__file__).parent / "data" / "connectors" / "composite.json"


def test_partner_style_welcome_sms(moesim, moesim_sink):
    config = json.loads(COMPOSITE.read_text())
    config["modules"][0]["params"]["request"]["url"] = moesim_sink.url("acme", "/v1/messages")
    app_id = moesim.create_app("Acme")
    connector_id = moesim.upload_connector(app_id, config)
    connection_id = moesim.connect(connector_id, "Prod", {"account_id": "ABC123",
                                                          "account_key": "secret-key"})
    moesim.load_users([{"customer_id": "u1", "first_name": "Ann", "acme_id": "+911"},
                       {"customer_id": "u2", "first_name": "Bob", "acme_id": "+912"}])
    campaign_id = moesim.create_campaign({
        "request_id": "welcome", "channel": "CONNECTED_APP",
        "campaign_delivery_type": "EVENT_TRIGGERED", "created_by": "qa@partner.test",
        "basic_details": {"name": "Welcome SMS"},
        "campaign_content": {"content": {"connected_app": {
            "connector_id": connector_id, "connection_id": connection_id,
            "inputs": {"receiver_id": "{{UserAttribute['acme_id']}}",
                       "message": "Hi {{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"},
        "trigger_condition": {
            "included_filters": {"filter_operator": "or", "filters": [
                {"filter_type": "actions", "action_name": "Signed Up", "executed": True,
                 "attributes": {"filter_operator": "and", "filters": []}}]},
            "trigger_delay_type": "DELAY", "trigger_delay_value": 10,
            "trigger_delay_granularity": "MINUTES", "trigger_relation": "AFTER"}})
    moesim.post_event("u1", "Signed Up")
    moesim.advance(seconds=9 * 60)
    assert moesim_sink.requests("acme") == []
    moesim.advance(seconds=60)
    [request] = moesim.assert_requests(moesim_sink.requests("acme"), count=1,
                                       to="+911", text="Hi Ann")
    assert request["headers"]["Authorization"].startswith("Basic ")
    assert moesim.stats(campaign_id)["sent"] == 1
    assert moesim.deliveries(campaign_id=campaign_id)[0]["time"] == "2026-01-01T09:10:00.000Z"


def test_built_in_sink_and_failures(moesim):
    moesim.configure_sink("crm", fail_next={"count": 1, "status": 503})
    moesim.load_users([{"customer_id": f"c{i}", "first_name": f"C{i}"} for i in range(3)])
    campaign_id = moesim.create_campaign({
        "request_id": "crm", "channel": "CONNECTOR", "campaign_delivery_type": "ONE_TIME",
        "created_by": "qa@partner.test", "basic_details": {"name": "Sync to CRM"},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": moesim.sink_url("crm"), "url_params": [], "headers": [],
            "body_type": "JSON", "body": {"name": "{{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}})
    moesim.advance(seconds=0)
    stats = moesim.stats(campaign_id)
    assert (stats["sent"], stats["failed"]) == (2, 1)
    assert len(moesim.sink_requests("crm")) == 3
