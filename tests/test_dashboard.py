"""The dashboard's pages through Flask's test client: the API's errors at their fields, nothing
half-saved, secrets never in the HTML, workspaces; and its pure helpers (JSON lines with their
paths, form fields to API bodies). The browser tests are in ``test_dashboard_browser.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests

from werkzeug.datastructures import MultiDict

from simulator.dashboard import forms, jsonview

from .conftest import KEY, WORKSPACE, basic

ROOT = Path(__file__).parent.parent
SECRET = "tok-3f9a-very-secret"


def _config() -> dict:
    text = (ROOT / "fixtures/connectors/acme_send_sms.json").read_text()
    return json.loads(text.replace("${MOESIM_URL}", "http://127.0.0.1:9"))


def _connected(client) -> tuple[int, int, int]:
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    connector_id = client.post(f"/api/apps/{app_id}/connectors", json=_config()).json["id"]
    connection = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "Prod", "values": {
            "account_sid": "AC0123456789", "auth_token": SECRET, "sender_id": "ACME",
            "region": "in"}})
    assert connection.status_code == 201, connection.json
    return app_id, connector_id, connection.json["id"]


def _auth() -> dict:
    return basic(WORKSPACE, KEY)


def _text(response) -> str:
    return response.get_data(as_text=True)


# ---- pure helpers ---------------------------------------------------------------------------

def test_json_lines_carry_their_paths_and_errors_mark_their_line():
    lines = jsonview.annotate({"a": {"b": [1, {"c": "x"}]}, "d": {}},
                              [("a.b[1].c", "bad"), ("d.missing", "is required"),
                               ("(root)", "whole")])
    by_text = {line.text.strip(): line for line in lines}
    assert by_text['"c": "x"'].path == "a.b[1].c"
    assert by_text['"c": "x"'].errors == ["a.b[1].c: bad"]
    # a missing key is marked at the object that lacks it; a root error at the first line
    assert by_text['"d": {}'].errors == ["d.missing: is required"]
    assert lines[0].errors == ["(root): whole"]
    assert "\n".join(line.text for line in lines) == json.dumps(
        {"a": {"b": [1, {"c": "x"}]}, "d": {}}, indent=2)


def test_form_fields_become_input_values_by_type():
    variables = [
        {"visibility_scope": "campaign", "key": "tags", "type": "key_value"},
        {"visibility_scope": "campaign", "key": "regions", "type": "dropdown",
         "allow_multiple": True},
        {"visibility_scope": "campaign", "key": "note", "type": "text"},
        {"visibility_scope": "campaign", "key": "hidden", "type": "text", "is_hidden": True},
        {"visibility_scope": "app_marketplace", "key": "other", "type": "text"},
    ]
    form = MultiDict([("f.tags.k", "a"), ("f.tags.v", "1"), ("f.tags.k", ""), ("f.tags.v", ""),
                      ("f.regions", "in"), ("f.regions", "eu"), ("f.note", "  "),
                      ("f.hidden", "x"), ("f.other", "y")])
    assert forms.input_values(variables, "campaign", form) == {
        "tags": [{"key": "a", "value": "1"}], "regions": ["in", "eu"]}


def test_the_wizard_builds_moengage_campaign_bodies():
    one_time = forms.campaign_body(MultiDict({
        "name": "Welcome SMS", "tags": "a, b", "audience": "all", "channel": "CONNECTED_APP",
        "connector_id": "3", "connection_id": "4", "delivery_type": "ONE_TIME", "send": "ASAP",
        "goal_event": "Purchase", "goal_revenue_attribute": "amount", "goal_name": "",
        "goal_currency": ""}), [], "r1")
    assert one_time["basic_details"] == {"name": "Welcome SMS", "tags": ["a", "b"]}
    assert one_time["segmentation_details"] == {"is_all_user_campaign": True}
    assert one_time["campaign_content"]["content"]["connected_app"] == {
        "connector_id": 3, "connection_id": 4, "inputs": {}}
    assert one_time["scheduling_details"] == {"delivery_type": "ASAP"}
    assert one_time["conversion_goal_details"] == {"goals": [{
        "goal_name": "Goal 1", "goal_event_name": "Purchase", "revenue_attribute": "amount",
        "revenue_currency": "USD"}]}
    periodic = forms.campaign_body(MultiDict([
        ("name", "Digest"), ("audience", "filters"), ("combine", "or"),
        ("flt.side", "include"), ("flt.kind", "user_attributes"), ("flt.name", "plan"),
        ("flt.data_type", "string"), ("flt.operator", "is"), ("flt.value", "pro"),
        ("flt.days", ""),
        ("flt.side", "exclude"), ("flt.kind", "actions"), ("flt.name", "Churned"),
        ("flt.data_type", "string"), ("flt.operator", "is"), ("flt.value", ""), ("flt.days", ""),
        ("flt.side", "include"), ("flt.kind", "actions"), ("flt.name", "Purchase"),
        ("flt.data_type", "string"), ("flt.operator", "atleast"), ("flt.value", "3"),
        ("flt.days", "7"),
        ("delivery_type", "PERIODIC"), ("start_time", "2026-01-05T10:00:00"),
        ("frequency", "WEEKLY"), ("days_of_week", "MONDAY"), ("occurrences", "3"),
        ("channel", "CONNECTOR"), ("c.url", "https://p.example/x"), ("c.headers.k", "X-A"),
        ("c.headers.v", "1"), ("c.body", '{"a": 1}'), ("c.oauth_config_id", "2"),
        ("c.oauth.prefix", "Token"), ("c.oauth.reattempt_codes", "401, 403")]), None, "r2")
    assert periodic["segmentation_details"]["included_filters"] == {
        "filter_operator": "or", "filters": [
            {"filter_type": "user_attributes", "name": "plan", "data_type": "string",
             "operator": "is", "value": "pro"},
            {"filter_type": "actions", "action_name": "Purchase", "executed": True,
             "attributes": {"filter_operator": "and", "filters": []},
             "execution": {"type": "atleast", "count": 3},
             "primary_time_range": {"type": "inTheLast", "value_type": "relative_past",
                                    "value": 7, "period_unit": "days"}}]}
    assert periodic["segmentation_details"]["excluded_filters"]["filters"][0][
        "action_name"] == "Churned"
    assert periodic["scheduling_details"]["periodic_details"] == {
        "sending_frequency": "WEEKLY", "repeat_frequency": 1,
        "repeat_on_days_of_week": ["MONDAY"], "no_of_occurences": 3}
    assert periodic["campaign_content"]["content"]["connector"] == {
        "method": "POST", "url": "https://p.example/x", "headers": [{"key": "X-A", "value": "1"}],
        "body_type": "JSON", "body": '{"a": 1}', "oauth_config_id": 2,
        "oauth": {"prefix": "Token", "reattempt_codes": [401, 403]}}


# ---- pages ----------------------------------------------------------------------------------

def test_a_connection_form_shows_the_apis_errors_at_their_fields_and_saves_nothing(client):
    app_id, connector_id, _ = _connected(client)
    form = {"connector_id": str(connector_id), "name": "", "f.account_sid": "nope",
            "f.auth_token": SECRET, "f.region": "mars"}
    page = client.post(f"/apps/{app_id}/integrate", data=form)
    api = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "",
        "values": {"account_sid": "nope", "auth_token": SECRET, "region": "mars"}})
    assert page.status_code == api.status_code == 422
    html = _text(page)
    for error in api.json["errors"]:
        field = re.search(rf'data-path="{re.escape(error["path"])}".*?</div>', html, re.S)
        assert field and f'{error["path"]}: {error["message"]}' in field.group(0).replace(
            "&#39;", "'"), error
    assert SECRET not in html  # the typed secret is not sent back into the form
    assert len(client.get(f"/api/connections?connector_id={connector_id}").json[
        "connections"]) == 1


def test_a_campaign_with_mistakes_is_not_created_and_each_error_is_at_its_field(client):
    _, connector_id, connection_id = _connected(client)
    page = client.post("/campaigns/new", data={
        "request_id": "r-bad", "name": "Hi", "audience": "all", "channel": "CONNECTED_APP",
        "connector_id": str(connector_id), "connection_id": str(connection_id),
        "delivery_type": "ONE_TIME", "send": "AT_FIXED_TIME", "action": "create"})
    assert page.status_code == 422
    html = _text(page)
    assert 'data-path="basic_details.name">basic_details.name: is required (5-256' in html
    assert 'data-path="campaign_content.content.connected_app.inputs.to"' in html
    assert "scheduling_details.start_time" in html
    assert client.get("/api/campaigns").json["campaigns"] == []


def test_a_config_upload_lists_every_error_and_marks_its_line(client):
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    config = _config()
    config["input_variables"][1]["type"] = "passwrd"
    del config["basic_info"]["description"]
    del config["auth"]["alias"]  # a warning only
    page = client.post(f"/apps/{app_id}/configure", data={"config": json.dumps(config)})
    api = client.post(f"/api/apps/{app_id}/connectors", json=config)
    assert page.status_code == api.status_code == 422
    html = _text(page).replace("&#39;", "'").replace("&#34;", '"')
    marked = re.findall(r'<li class="has-error"[^>]*data-path="([^"]*)"', html)
    assert marked == ["basic_info", "input_variables[1].type"]
    assert "<code>auth.alias</code>: is missing" in html  # listed under Warnings
    for error in api.json["errors"]:
        assert f"⚠ {error['path']}: {error['message']}" in html
    assert client.get(f"/api/apps/{app_id}").json["connectors"] == []
    not_json = client.post(f"/apps/{app_id}/configure", data={"config": "{nope"})
    assert not_json.status_code == 422 and "not JSON" in _text(not_json)


def test_secrets_never_reach_the_html(client):
    app_id, connector_id, connection_id = _connected(client)
    # what a partner endpoint received, credentials included, in a sink
    client.post("/_sim/sink/partner/v1/send?key=" + SECRET, data=json.dumps({"token": SECRET}),
                headers={"Authorization": "Bearer " + SECRET, "X-Api-Key": SECRET,
                         "Content-Type": "application/json"})
    pages = ["/", f"/apps/{app_id}", f"/apps/{app_id}?tab=integrate", "/campaigns/new",
             f"/campaigns/new/content?connector_id={connector_id}", "/sinks", "/sinks/partner",
             "/sinks/partner?seq=1", "/fragments/sinks/partner", "/deliveries", "/users",
             "/clock", "/settings"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SECRET not in _text(response), path
    inbox = _text(client.get("/sinks/partner?seq=1"))
    assert "Bearer ********" in inbox and "/v1/send" in inbox
    # the API itself still shows the partner exactly what arrived (README: the sink)
    assert SECRET in json.dumps(client.get("/_sim/sinks/partner").json)


def test_the_dashboard_of_a_workspace_stays_in_it(client):
    assert client.post("/_sim/workspaces", json={"id": "ci-7"}).status_code == 201
    client.post("/_ws/ci-7/api/apps", json={"name": "Only in ci-7"})
    inside = _text(client.get("/_ws/ci-7/apps"))
    assert "Only in ci-7" in inside and 'href="/_ws/ci-7/campaigns"' in inside
    assert "Only in ci-7" not in _text(client.get("/apps"))


def test_an_unknown_object_is_a_404_page(client):
    response = client.get("/campaigns/nope")
    assert response.status_code == 404
    assert "text/html" in response.content_type and "no campaign with id" in _text(response)


def test_clock_page_advances_and_reports_bad_durations_at_the_field(client):
    bad = client.post("/clock", data={"action": "advance", "duration": "soon"})
    assert bad.status_code == 400 and "seconds: &#39;soon&#39; is not a duration" in _text(bad)
    moved = client.post("/clock", data={"action": "advance", "duration": "2h"})
    assert moved.status_code == 303
    assert client.get("/_sim/clock").json["now"] == "2026-11-22T14:00:00.000Z"


def test_every_failure_figure_links_to_its_deliveries(client, partner):
    """Performance page -> delivery log filtered by the failure's reason (``http:503``)."""
    requests.put(f"{partner}/_sim/sinks/acme", json={"fail_next": {"count": 1, "status": 503}},
                 timeout=5)
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    config = json.loads((ROOT / "fixtures/connectors/acme_send_sms.json").read_text().replace(
        "${MOESIM_URL}/_sim/sink/acme-sms", f"{partner}/_sim/sink/acme"))
    connector_id = client.post(f"/api/apps/{app_id}/connectors", json=config).json["id"]
    connection_id = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "Prod", "values": {
            "account_sid": "AC0123456789", "auth_token": SECRET, "sender_id": "ACME",
            "region": "in"}}).json["id"]
    for i in (1, 2):
        client.post("/v1/customer/W1", headers=_auth(), json={
            "type": "customer", "customer_id": f"u{i}", "attributes": {"mobile": f"+9{i}"}})
    created = client.post("/campaigns/new", data={
        "request_id": "r-links", "name": "Links campaign", "audience": "all",
        "channel": "CONNECTED_APP", "connector_id": str(connector_id),
        "connection_id": str(connection_id), "f.message": "hi",
        "f.to": "{{UserAttribute['Mobile Number (Standard)']}}", "delivery_type": "ONE_TIME",
        "send": "ASAP", "action": "create"})
    assert created.status_code == 303, _text(created)
    client.post("/_sim/clock/advance", json={"seconds": 60})
    performance = _text(client.get(created.headers["Location"]))
    link = re.search(r'<a href="([^"]*reason=http(?::|%3A)503[^"]*)">1</a>', performance)
    assert link, performance
    listed = _text(client.get(link.group(1).replace("&amp;", "&")))
    assert listed.count('data-testid="delivery-link"') == 1 and "http:503" in listed
    everything = _text(client.get("/deliveries?reason=http"))
    assert everything.count('data-testid="delivery-link"') == 1
    assert _text(client.get("/deliveries?reason=h")).count('data-testid="delivery-link"') == 0


def test_settings_show_the_apis_errors_and_keep_the_setting(client):
    """Spec §5.5 settings: a bad DND setting is refused with the API's errors at its fields,
    nothing stored; good ones are stored as the API stores them."""
    page = client.post("/settings/dnd", data={"enabled": "1", "from": "25:00", "to": "08:00",
                                              "action": "discard"})
    api = client.put("/api/settings/dnd", json={"enabled": True, "from": "25:00", "to": "08:00",
                                                "action": "discard"})
    assert page.status_code == api.status_code == 422
    html = _text(page)
    for error in api.json["errors"]:
        assert f'data-path="{error["path"]}">{error["path"]}: {error["message"]}' in html
    assert 'value="25:00"' in html  # what was typed stays
    assert client.get("/api/settings/dnd").json == {"enabled": False}
    assert client.post("/settings/frequency-capping", data={"value": "{"}).status_code == 422
    good = client.post("/settings/global-control-group",
                       data={"enabled": "1", "percentage": "10"})
    assert good.status_code == 303
    assert client.get("/api/settings/global-control-group").json == {
        "enabled": True, "percentage": 10}
    assert client.post("/settings/frequency-capping", data={
        "value": '{"enabled": true, "rules": [{"max_messages": 1, "days": 1}]}'}).status_code == 303


def test_an_event_triggered_campaign_from_the_wizard_is_accepted_by_the_api(client):
    """Spec §5.3 event triggers: a delay after the event unless the user has done B, with an
    event-attribute filter, built by the wizard and accepted as created."""
    _, connector_id, connection_id = _connected(client)
    created = client.post("/campaigns/new", data={
        "request_id": "r-trigger", "name": "Cart reminder", "audience": "all",
        "channel": "CONNECTED_APP", "connector_id": str(connector_id),
        "connection_id": str(connection_id), "f.to": "+911", "f.message": "hi",
        "delivery_type": "EVENT_TRIGGERED", "send": "ASAP", "trigger_event": "Added To Cart",
        "trigger_filter_name": "product", "trigger_filter_operator": "is",
        "trigger_filter_value": "shoes", "trigger_delay": "DELAY", "delay_value": "1",
        "delay_unit": "HOURS", "not_done_event": "Purchase", "action": "create"})
    assert created.status_code == 303, _text(created)
    campaign = client.get("/api/campaigns").json["campaigns"][0]["campaign"]
    condition = campaign["trigger_condition"]
    assert condition["trigger_delay_type"] == "DELAY" and condition["trigger_relation"] == "AFTER"
    assert condition["included_filters"]["filters"][0]["attributes"]["filters"] == [
        {"name": "product", "data_type": "string", "operator": "is", "value": "shoes"}]
    assert condition["secondary_included_filters"]["filters"][0]["action_name"] == "Purchase"


def test_pages_hold_no_sql_and_reach_data_only_through_services():
    """The dashboard is an edge: it imports services (as the API does), never the store."""
    offenders = []
    for path in (ROOT / "simulator" / "dashboard").glob("*.py"):
        text = path.read_text()
        if re.search(r"^from \.\.store|^import sqlite|^from sqlite_utils|\bSELECT\b", text, re.M):
            offenders.append(path.name)
    assert offenders == []


def test_a_periodic_campaign_charts_its_sends_per_instance(client, partner):
    """Spec §5.3 periodic campaigns: each instance is a child campaign with its own figures;
    the performance page lists them and draws one series each."""
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    config = json.loads((ROOT / "fixtures/connectors/acme_send_sms.json").read_text().replace(
        "${MOESIM_URL}/_sim/sink/acme-sms", f"{partner}/_sim/sink/acme"))
    connector_id = client.post(f"/api/apps/{app_id}/connectors", json=config).json["id"]
    connection_id = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "Prod", "values": {
            "account_sid": "AC0123456789", "auth_token": SECRET, "sender_id": "ACME",
            "region": "in"}}).json["id"]
    client.post("/v1/customer/W1", headers=_auth(), json={
        "type": "customer", "customer_id": "u1", "attributes": {"mobile": "+91"}})
    created = client.post("/campaigns/new", data={
        "request_id": "r-daily", "name": "Daily digest", "audience": "all",
        "channel": "CONNECTED_APP", "connector_id": str(connector_id),
        "connection_id": str(connection_id), "f.to": "+91", "f.message": "hi",
        "delivery_type": "PERIODIC", "start_time": "2026-11-22T13:00:00", "frequency": "DAILY",
        "repeat_every": "1", "occurrences": "2", "action": "create"})
    assert created.status_code == 303, _text(created)
    client.post("/_sim/clock/advance", json={"seconds": 3 * 86400})
    page = _text(client.get(created.headers["Location"]))
    chart = re.search(r"data-chart='([^']*)' role=\"img\" aria-label=\"Sends over time\"", page)
    spec = json.loads(chart.group(1).replace("&#34;", '"'))
    assert [d["label"] for d in spec["datasets"]] == ["instance 1", "instance 2"]
    assert [sum(d["data"]) for d in spec["datasets"]] == [1, 1]
    assert "<h2>Instances</h2>" in page and 'data-testid="kpi-sent">2<' in page


def test_with_an_admin_token_the_browser_is_asked_for_it(settings, clock):
    """``MOESIM_ADMIN_TOKEN`` guards the dashboard like ``/_sim/``: a 401 that makes the
    browser ask (Basic auth, the token as password), then the pages."""
    import dataclasses

    from simulator.app import create_app

    guarded = create_app(dataclasses.replace(settings, admin_token="t0ken"), clock=clock)
    try:
        client = guarded.test_client()
        refused = client.get("/")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
        assert refused.json["code"] == "unauthorized"  # the API's body (test_exposure.py)
        assert client.get("/", headers=basic("admin", "t0ken")).status_code == 200
    finally:
        guarded.extensions["moesim.workspaces"].close()
        guarded.extensions["moesim"].close()


def test_versions_diff_and_campaign_actions_and_user_search(client):
    """Configure: a new version and the diff between two; the list's Pause/Resume act through
    the status API (campaign-api.md §2.3); users are found by email."""
    app_id, connector_id, connection_id = _connected(client)
    second = _config()
    second["basic_info"]["description"] = "Version two"
    client.put(f"/api/connectors/{connector_id}", json=second)
    diff = _text(client.get(f"/apps/{app_id}?diff_connector={connector_id}&left=1&right=2"))
    assert '<span class="del">-    &#34;description&#34;: &#34;Send a text message' in diff
    assert '<span class="add">+    &#34;description&#34;: &#34;Version two&#34;,</span>' in diff

    created = client.post("/campaigns/new", data={
        "request_id": "r-pause", "name": "Daily digest", "audience": "all",
        "channel": "CONNECTED_APP", "connector_id": str(connector_id),
        "connection_id": str(connection_id), "f.to": "+91", "f.message": "hi",
        "delivery_type": "PERIODIC", "start_time": "2026-11-23T09:00:00", "action": "create"})
    campaign_id = created.headers["Location"].rsplit("/", 1)[-1].split("?")[0]
    listed = _text(client.get("/campaigns?delivery_type=PERIODIC"))
    assert 'aria-label="pause Daily digest"' in listed
    paused = client.post(f"/campaigns/{campaign_id}/status", data={"action": "PAUSE"})
    assert paused.status_code == 303
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "PAUSED"
    assert 'aria-label="resume Daily digest"' in _text(client.get("/campaigns?status=PAUSED"))
    assert "Daily digest" not in _text(client.get("/campaigns?status=ACTIVE"))
    refused = client.post(f"/campaigns/{campaign_id}/status", data={"action": "STOP"})
    assert refused.status_code == 422 and "Action STOP is not valid" in _text(refused)

    client.post("/v1/customer/W1", headers=_auth(), json={
        "type": "customer", "customer_id": "ann", "attributes": {"email": "ann@example.com"}})
    found = client.get("/users?q=ann@example.com")
    assert found.status_code == 303 and found.headers["Location"].endswith("/users/ann")
    assert "No user has" in _text(client.get("/users?q=nobody@example.com"))
