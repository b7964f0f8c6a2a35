"""Secrets never leave (issue 19 item 4): a scripted run against a real server puts secrets on
the wire in every form (raw, percent-encoded, base64, JSON-escaped, Basic credentials, echoed
back in a partner's response headers and body) and scans every answer of moesim's API, every
server log line, the scenario runner's output and its JUnit file for them: none is found.

The sink routes are left out of the scan: a sink is the partner, and shows what the partner
received (that is its purpose)."""

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests

from simulator.core import masking

ROOT = Path(__file__).parent.parent
SECRET = "s3cr3t P@ss/wörd+x"     # space, @, /, +, non-ASCII: every encoding changes it
CLIENT_SECRET = "c1ient-s€cret/+="
TOKEN = "tok-9f8e7d6c5b4a"
SID = "AC12345678"


def _forms(secret: str) -> set[str]:
    """What to look for, written out here rather than taken from the masking code."""
    raw = secret.encode()
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
            json.dumps(secret)[1:-1], base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode(),
            base64.b64encode(f"{SID}:{secret}".encode()).decode()}


def _found(text: str) -> list[str]:
    return sorted({f for s in (SECRET, CLIENT_SECRET, TOKEN) for f in _forms(s) if f in text})


def _config(url: str) -> dict:
    config = json.loads((ROOT / "fixtures" / "connectors" / "acme_send_sms.json").read_text())
    params = config["modules"][0]["params"]
    token = "AppMarketplaceForm['auth_token']"
    params["request"]["url"] = f"{url}/_sim/sink/echo/send"
    params["request"]["url_params"] = {"key": "{{" + token + "}}"}
    params["request"]["headers"] = {"X-Token": "{{" + token + "}}",
                                    "X-Token-B64": "{{" + token + "|base64encode}}"}
    params["request"]["body"] = (
        '{"to": "{{CampaignCreationForm["to"]}}", "raw": "{{' + token + '}}", '
        '"b64": "{{' + token + '|base64encode}}", "pct": "{{' + token + '|urlencode}}", '
        '"json": {{' + token + '|tojson}}}')
    return config


@pytest.fixture
def run(serve, tmp_path):
    server = serve("--db", str(tmp_path / "s.db"), "--fixtures", "none", "--clock", "virtual",
                   "--start-time", "2026-11-22T12:00:00Z",
                   env={"MOESIM_LOG_LEVEL": "DEBUG"})
    seen: list[str] = []

    def call(method: str, path: str, **kwargs):
        response = requests.request(method, server.url + path, timeout=30, **kwargs)
        if not path.startswith("/_sim/sink"):
            seen.append(f"{method} {path} {response.status_code} {dict(response.headers)} "
                        f"{response.text}")
        return response

    return server, call, seen


def test_a_scripted_run_shows_no_secret_anywhere(run, tmp_path):
    server, call, seen = run
    url = server.url
    call("PUT", "/_sim/sinks/echo", json={
        "status": 200, "headers": {"X-Echo": SECRET, "X-Echo-B64": base64.b64encode(
            SECRET.encode()).decode()},
        "body": {"status": "success", "echo": SECRET, "pct": quote(SECRET, safe="")}})
    call("PUT", "/_sim/sinks/token", json={"body": {"access_token": TOKEN, "expires_in": 3600}})
    app_id = call("POST", "/api/apps", json={"name": "Acme", "type": "CHANNEL"}).json()["id"]
    connector = call("POST", f"/api/apps/{app_id}/connectors", json=_config(url)).json()
    connection = call("POST", "/api/connections", json={
        "connector_id": connector["id"], "name": "prod",
        "values": {"account_sid": SID, "auth_token": SECRET, "sender_id": "ACME",
                   "region": "in"}}).json()
    call("GET", f"/api/connections/{connection['id']}")
    call("GET", "/api/connections")
    oauth = call("POST", "/api/oauth-configs", json={
        "name": "CRM", "grant_type": "client_credentials", "token_type": "OPAQUE",
        "request": {"method": "POST", "url": f"{url}/_sim/sink/token/oauth", "url_params": [],
                    "headers": [{"key": "Authorization", "value": f"Basic {CLIENT_SECRET}"}],
                    "body_type": "FORM",
                    "body": [{"key": "client_id", "value": "cid"},
                             {"key": "client_secret", "value": CLIENT_SECRET}]},
        "response": {"token_key": "access_token", "expiry_key": "expires_in"}})
    assert oauth.status_code == 201 and oauth.json()["status"] == "ACTIVE", oauth.text
    call("GET", "/api/oauth-configs")
    call("GET", f"/api/oauth-configs/{oauth.json()['id']}")
    call("POST", "/v1/customer/MOESIMDEMO", auth=("MOESIMDEMO", "moesim-data-api-key"), json={
        "type": "customer", "customer_id": "u1", "attributes": {"mobile": "+15550001"}})
    body = {"request_id": "r1", "channel": "CONNECTED_APP", "campaign_delivery_type": "ONE_TIME",
            "created_by": "a@b.c", "basic_details": {"name": "Secret test"},
            "campaign_content": {"content": {"connected_app": {
                "connector_id": connector["id"], "connection_id": connection["id"],
                "inputs": {"to": "{{UserAttribute['mobile']}}", "message": "hi"}}}},
            "segmentation_details": {"is_all_user_campaign": True},
            "scheduling_details": {"delivery_type": "ASAP"}}
    test = call("POST", "/api/campaigns/test", json={**body, "test_campaign_meta": {
        "identifier": "USER_ATTRIBUTE_UNIQUE_ID", "identifier_values": ["u1"]}})
    assert test.json()["data"]["u1"]["status"] == "success", test.text
    campaign = call("POST", "/api/campaigns", json=body).json()["campaign_id"]
    call("POST", "/_sim/run-due")
    deliveries = call("GET", f"/_sim/deliveries?campaign_id={campaign}").json()["deliveries"]
    assert [d["status"] for d in deliveries] == ["sent"]
    call("GET", f"/api/campaigns/{campaign}")
    # a Connector campaign with the OAuth configuration: Bearer token out, and the partner
    # echoes the connection's secret, which this campaign does not even hold
    webhook = call("POST", "/api/campaigns", json={
        "request_id": "r2", "channel": "CONNECTOR", "campaign_delivery_type": "ONE_TIME",
        "created_by": "a@b.c", "basic_details": {"name": "Webhook with OAuth"},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": f"{url}/_sim/sink/echo/hook", "url_params": [],
            "headers": [], "body_type": "JSON", "body": {"id": "{{UserAttribute['mobile']}}"},
            "oauth_config_id": oauth.json()["id"]}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}}).json()["campaign_id"]
    call("POST", "/_sim/run-due")
    assert [d["status"] for d in call("GET", f"/_sim/deliveries?campaign_id={webhook}").json()[
        "deliveries"]] == ["sent"]
    call("GET", "/_sim/deliveries")
    received = requests.get(f"{url}/_sim/sinks/echo", timeout=10).json()["requests"]
    assert len(received) == 3 and received[0]["json"]["raw"] == SECRET  # they went out
    assert received[2]["headers"]["Authorization"] == f"Bearer {TOKEN}"

    scenario_out, junit = _scenario_run(tmp_path, url)
    server.stop()
    log = server.proc.stdout.read()
    leaks = {"responses": _found("\n".join(seen)), "server log": _found(log),
             "scenario output": _found(scenario_out), "junit": _found(junit)}
    assert leaks == {"responses": [], "server log": [], "scenario output": [], "junit": []}


def _scenario_run(tmp_path: Path, url: str) -> tuple[str, str]:
    """A scenario whose expectation fails on a request carrying the secret: its diff goes to
    stdout and the JUnit file."""
    config = _config("${MOESIM_URL}")
    (tmp_path / "connector.json").write_text(json.dumps(config))
    scenario = {
        "name": "Leaky diff", "start": "2026-01-05T09:00:00Z",
        "fixtures": {"sinks": {"echo": {"status": 200, "body": {"status": "success"}}},
                     "users": [{"customer_id": "u1", "mobile": "+15550001"}],
                     "connectors": [{"ref": "sms", "config": "connector.json"}],
                     "connections": [{"ref": "prod", "connector": "sms", "values": {
                         "account_sid": SID, "auth_token": SECRET, "sender_id": "ACME",
                         "region": "in"}}]},
        "steps": [{"create_campaign": {"ref": "c", "body": {
            "request_id": "c-1", "channel": "CONNECTED_APP", "campaign_delivery_type": "ONE_TIME",
            "created_by": "a@b.c", "basic_details": {"name": "Leaky diff"},
            "campaign_content": {"content": {"connected_app": {
                "connector_id": "${connector.sms}", "connection_id": "${connection.prod}",
                "inputs": {"to": "{{UserAttribute['mobile']}}", "message": "hi"}}}},
            "segmentation_details": {"is_all_user_campaign": True},
            "scheduling_details": {"delivery_type": "ASAP"}}}},
            {"advance": "1m"}],
        "expect": [{"requests": {"sink": "echo", "in_order": [{"json": {"raw": "wrong"}}]}}],
    }
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(scenario))
    junit = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "scenario", "run", str(path),
                           "--junit", str(junit)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr  # the expectation failed
    assert "raw" in done.stdout and masking.MASK in done.stdout  # the diff was printed, masked
    return done.stdout + done.stderr, junit.read_text()


@pytest.mark.parametrize("secret, text", [
    ("p@ss/word", "Basic " + base64.b64encode(b"user:p@ss/word").decode()),
    ("p@ss/word", "xy" + base64.b64encode(b"p@ss/word").decode()),
    ("p@ss/word", base64.b64encode(b"ab:p@ss/word:cd").decode()),
    ("p@ss/word", base64.urlsafe_b64encode(b"?p@ss/word>").decode()),
    ("p@ss/word", "key=p%40ss%2Fword&x=1"),
    ("p@ss/word", "key=p%40ss%2fword"),
    ("p ss+word", "q=p+ss%2Bword"),
    ("pässwörd", json.dumps({"a": "pässwörd"})),
    ("pässwörd", json.dumps({"a": "pässwörd"}, ensure_ascii=False)),
])
def test_mask_covers_every_form(secret, text):
    masked = masking.mask(text, [secret])
    assert masking.MASK in masked
    assert not _found_in(masked, secret)


def _found_in(text: str, secret: str) -> bool:
    raw = secret.encode()
    return any(f in text for f in (secret, quote(secret, safe=""), quote_plus(secret),
                                   json.dumps(secret)[1:-1], base64.b64encode(raw).decode()))
