"""Connector-campaign OAuth 2.0 (spec §6.6): client-credentials configurations, the
`<prefix> <token>` header, reattempt codes that refresh the token and retry once."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from .conftest import WORKSPACE


class TokenServer(BaseHTTPRequestHandler):
    calls: list = []
    mode = "opaque"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.calls.append(body)
        number = len(self.calls)
        if self.mode == "fail":
            payload, status = {"error": "invalid_client"}, 401
        elif self.mode == "jwt":
            claims = base64.urlsafe_b64encode(json.dumps({"exp": 1795000000}).encode())
            payload, status = {"token": f"h.{claims.decode().rstrip('=')}.s"}, 200
        else:
            payload, status = {"data": {"access_token": f"tok-{number}", "expires_in": 3600}}, 200
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def token_server():
    TokenServer.calls, TokenServer.mode = [], "opaque"
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _config(token_server, **response):
    return {"name": "CRM token", "grant_type": "client_credentials", "token_type": "OPAQUE",
            "request": {"method": "POST", "url": f"{token_server}/oauth/token",
                        "url_params": [], "headers": [], "body_type": "FORM",
                        "body": [{"key": "grant_type", "value": "client_credentials"},
                                 {"key": "client_id", "value": "cid"},
                                 {"key": "client_secret", "value": "csecret"}]},
            "response": {"token_key": "data.access_token", "expiry_key": "data.expires_in",
                         **response}}


def _connector_campaign(partner, config_id, **oauth):
    return {
        "request_id": "req-o", "channel": "CONNECTOR", "campaign_delivery_type": "ONE_TIME",
        "created_by": "dev@example.com", "basic_details": {"name": "Webhook with OAuth"},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": f"{partner}/_sim/sink/crm/contacts", "url_params": [],
            "headers": [], "body_type": "JSON", "body": {"name": "{{UserAttribute['First Name']}}"},
            "oauth_config_id": config_id, "oauth": oauth}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}}


def test_spec6_6_token_header_and_reattempt_refreshes_and_retries_once(
        client, auth, partner, token_server, caplog):
    for i in range(3):
        client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
            "type": "customer", "customer_id": f"o{i}", "attributes": {"first_name": f"O{i}"}})
    created = client.post("/api/oauth-configs", json=_config(token_server))
    assert created.status_code == 201, created.json
    assert created.json["status"] == "ACTIVE" and "tok-1" not in json.dumps(created.json)
    requests.put(f"{partner}/_sim/sinks/crm", json={"fail_next": {"count": 1, "status": 401}},
                 timeout=5)
    campaign = client.post("/api/campaigns", json=_connector_campaign(
        partner, created.json["id"], reattempt_codes=[401]))
    assert campaign.status_code == 201, campaign.json
    client.post("/_sim/run-due")
    stats = client.get(f"/api/campaigns/{campaign.json['campaign_id']}/stats").json
    assert (stats["sent"], stats["failed"]) == (3, 0)
    records = requests.get(f"{partner}/_sim/sinks/crm", timeout=5).json()["requests"]
    # the 401 is retried once with the new token; requests built after the refresh carry it too
    sent = [(r["headers"]["Authorization"], r["response_status"]) for r in records]
    assert len(sent) == 4 and sent[0] == ("Bearer tok-1", 401)
    assert [status for _, status in sent[1:]] == [200, 200, 200]
    assert ("Bearer tok-2", 200) in sent[1:]
    assert len(TokenServer.calls) == 2 and "grant_type=client_credentials" in TokenServer.calls[0]
    log = json.dumps(client.get(
        f"/_sim/deliveries?campaign_id={campaign.json['campaign_id']}").json)
    assert "tok-1" not in log and "tok-2" not in log and "tok-" not in caplog.text


def test_spec6_6_custom_header_key_and_prefix(client, auth, partner, token_server):
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": "p1", "attributes": {"first_name": "P"}})
    config_id = client.post("/api/oauth-configs",
                            json=_config(token_server, prefix="Token")).json["id"]
    client.post("/api/campaigns", json=_connector_campaign(partner, config_id,
                                                           header_key="X-Auth"))
    client.post("/_sim/run-due")
    [record] = requests.get(f"{partner}/_sim/sinks/crm", timeout=5).json()["requests"]
    assert record["headers"]["X-Auth"] == "Token tok-1"


def test_spec6_6_jwt_expiry_comes_from_the_token(client, token_server):
    TokenServer.mode = "jwt"
    body = _config(token_server)
    body["token_type"], body["response"] = "JWT", {"token_key": "token"}
    created = client.post("/api/oauth-configs", json=body).json
    assert created["status"] == "ACTIVE"
    assert created["token_expires_at"] == "2026-11-18T11:06:40.000Z"


def test_spec6_6_a_failed_config_cannot_be_chosen(client, partner, token_server):
    TokenServer.mode = "fail"
    created = client.post("/api/oauth-configs", json=_config(token_server)).json
    assert created["status"] == "FAILED" and "HTTP 401" in created["detail"]
    response = client.post("/api/campaigns", json=_connector_campaign(partner, created["id"]))
    assert response.status_code == 422
    assert response.json["errors"][0]["path"] == \
        "campaign_content.content.connector.oauth_config_id"


def test_invalid_oauth_config_lists_every_error(client):
    response = client.post("/api/oauth-configs", json={
        "name": "", "grant_type": "password", "token_type": "SAML",
        "request": {"method": "FETCH", "url": "x"}, "response": {}})
    assert response.status_code == 422
    assert {e["path"] for e in response.json["errors"]} >= {
        "name", "grant_type", "token_type", "request.method", "response.token_key"}
