"""OAuth connections (spec §2.5): MoEngage's half of the authorization-code flow, token
storage, refresh on expiry, MOE_ACCESS_TOKEN_DEFAULT in requests, tokens never shown."""

import copy
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from .conftest import WORKSPACE
from .test_campaigns import _campaign
from .test_connectors import COMPOSITE


class FakeOAuthPartner(BaseHTTPRequestHandler):
    """/authorize redirects with a code; /token issues tokens (and records each call)."""

    issued: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query)
        target = query["redirect_uri"][0] + "?" + urlencode(
            {"code": "auth-code-1", "state": query["state"][0]})
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        grant = form["grant_type"][0]
        number = len(self.issued) + 1
        self.issued.append({"grant": grant, "form": form})
        body = json.dumps({"data": {"access_token": f"access-{number}", "expires_in": 3600},
                           "refresh_token": f"refresh-{number}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def oauth_partner():
    FakeOAuthPartner.issued = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOAuthPartner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _oauth_config(oauth_partner: str, sink: str) -> dict:
    config = copy.deepcopy(COMPOSITE)
    form = '[{"name": "grant_type", "value": "%s"}, {"name": "%s", "value": "%s"}, ' \
           '{"name": "client_id", "value": "cid"}]'
    config["auth"] = {"auth_type": "oauth", "alias": "acme", "auth_info": {
        "client_id": "cid", "client_secret": "{{AppMarketplaceForm['account_key']}}",
        "grant_type": ["authorization_code", "refresh_token"],
        "authorization_mapping": {
            "method": "GET", "headers": {}, "url": f"{oauth_partner}/authorize", "body_type": "JSON",
            "url_params": {"response_type": "code", "client_id": "cid",
                           "redirect_uri": "{{AppMarketplaceForm['redirect_uri']}}",
                           "state": "{{AppMarketplaceForm['state']}}"},
            "auth_code_mapping": "code"},
        "access_token_mapping": {
            "method": "POST", "headers": {}, "url": f"{oauth_partner}/token", "url_params": {},
            "body_type": "FORM",
            "body": form % ("authorization_code", "code", "{{AppMarketplaceForm['auth_code']}}"),
            "response_mapping": {"access_token_mapping": "data.access_token",
                                 "access_token_expiry_mapping": "data.expires_in"},
            "access_token_expiry_time": None},
        "refresh_token_mapping": {
            "method": "POST", "headers": {}, "url": f"{oauth_partner}/token", "url_params": {},
            "body_type": "FORM",
            "body": form % ("refresh_token", "refresh_token",
                            "{{AppMarketplaceForm['refresh_token']}}"),
            "response_mapping": {"refresh_token_mapping": "refresh_token"}}}}
    request = config["modules"][0]["params"]["request"]
    request["url"] = f"{sink}/_sim/sink/acme/v1/messages"
    request["headers"]["Authorization"] = \
        "Bearer {{AppMarketplaceForm['MOE_ACCESS_TOKEN_DEFAULT']}}"
    return config


def test_spec2_5_authorization_code_flow_refresh_and_bearer_header(
        client, auth, clock, oauth_partner, partner, caplog):
    sink = partner
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": "u1",
        "attributes": {"first_name": "Ann", "acme_id": "+911"}})
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    connector_id = client.post(f"/api/apps/{app_id}/connectors",
                               json=_oauth_config(oauth_partner, sink)).json["id"]
    connection = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "Prod",
        "values": {"account_id": "ABC123", "account_key": "client-secret"}}).json
    assert connection["status"] == "authorization_pending"
    # a campaign cannot use it yet (spec §1, S4)
    refused = client.post("/api/campaigns", json=_campaign(connector_id, connection["id"]))
    assert refused.status_code == 422

    started = client.get(f"/api/connections/{connection['id']}/authorize").json
    assert started["redirect_uri"] == "http://localhost/v3/partner/oauth/callback"
    consent = requests.get(started["authorization_url"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 200, done.json
    assert done.json["status"] == "connected"
    assert FakeOAuthPartner.issued[0]["grant"] == "authorization_code"
    assert FakeOAuthPartner.issued[0]["form"]["code"] == ["auth-code-1"]

    first = client.post("/api/campaigns", json=_campaign(connector_id, connection["id"]))
    client.post("/_sim/run-due")
    records = requests.get(f"{sink}/_sim/sinks/acme", timeout=5).json()["requests"]
    assert records[-1]["headers"]["Authorization"] == "Bearer access-1"

    clock.set(clock.now() + timedelta(hours=2))  # the access token has expired
    client.post("/api/campaigns", json=_campaign(connector_id, connection["id"],
                                                 request_id="req-2"))
    client.post("/_sim/run-due")
    assert [i["grant"] for i in FakeOAuthPartner.issued] == ["authorization_code",
                                                             "refresh_token"]
    assert FakeOAuthPartner.issued[1]["form"]["refresh_token"] == ["refresh-1"]
    records = requests.get(f"{sink}/_sim/sinks/acme", timeout=5).json()["requests"]
    assert records[-1]["headers"]["Authorization"] == "Bearer access-2"

    shown = json.dumps([client.get("/api/connections").json,
                        client.get(f"/_sim/deliveries?campaign_id={first.json['campaign_id']}")
                        .json])
    for secret in ("access-1", "access-2", "refresh-1", "refresh-2", "client-secret"):
        assert secret not in shown and secret not in caplog.text


def test_callback_with_unknown_state_is_404(client):
    response = client.get("/v3/partner/oauth/callback?state=nope&code=x")
    assert response.status_code == 404 and response.json["errors"][0]["path"] == "state"
