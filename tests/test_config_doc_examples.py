"""MoEngage's own config examples (S1, create-a-channel-connector-config-file.mdx) upload and
send as MoEngage documents, and `moesim validate` lists each problem once with its line.

Fixtures: ``tests/data/moengage_docs/connector_config/`` (verbatim, with SOURCES.md).
"""

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner

from simulator.cli import main
from simulator.core.connectors import validate_config

from .conftest import WORKSPACE
from .test_campaigns import _campaign
from .test_connectors import COMPOSITE

DOCS = Path(__file__).parent / "data" / "moengage_docs" / "connector_config"


def _doc_oauth_auth(partner: str) -> dict:
    """S1 "Set up OAuth for your App": the fragment as JSON (comments dropped), URLs filled."""
    text = re.sub(r" // time in seconds", "", (DOCS / "oauth2_example.txt").read_text())
    auth = json.loads("{" + text + "}")["auth"]
    info = auth["auth_info"]
    info["authorization_mapping"]["url"] = f"{partner}/authorize"
    info["access_token_mapping"]["url"] = f"{partner}/token"
    info["refresh_token_mapping"]["url"] = f"{partner}/token"
    return auth


def _doc_oauth_config(partner: str, sink: str) -> dict:
    config = copy.deepcopy(COMPOSITE)
    config["input_variables"] += [
        {"visibility_scope": "app_marketplace", "key": key, "event_export_key": key,
         "name": name, "required": True, "type": kind}
        for key, name, kind in (("client_id", "Client ID", "text"),
                                ("client_secret", "Client Secret", "password"))]
    config["auth"] = _doc_oauth_auth(partner)
    request = config["modules"][0]["params"]["request"]
    request["url"] = f"{sink}/_sim/sink/acme/v1/messages"
    request["headers"] = {"Authorization":
                          "Bearer {{AppMarketplaceForm['MOE_ACCESS_TOKEN_DEFAULT']}}", "": ""}
    request["url_params"] = {"": ""}
    return config


class DocOAuthPartner(BaseHTTPRequestHandler):
    """Answers the way S1's response_mapping reads: top-level access_token / expires_in."""

    calls: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        self.calls.append({"path": self.path, "query": query})
        target = query["redirect_uri"][0] + f"?code=doc-code&state={query['state'][0]}"
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.calls.append({"path": self.path, "headers": dict(self.headers.items()),
                           "form": parse_qs(body)})
        answer = json.dumps({"access_token": "doc-access", "expires_in": 3600,
                             "refresh_token": "doc-refresh"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def doc_oauth_partner():
    DocOAuthPartner.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), DocOAuthPartner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_s1_oauth2_example_uploads_without_alias_and_its_empty_rows_send_nothing(
        client, auth, partner, doc_oauth_partner):
    """S1 "Set up OAuth for your App": the documented block has no ``alias`` (the "Auth" table
    calls it required) and ``{"": ""}`` header and url_params rows. It uploads (201) with a
    warning for each; the consent URL, the token call and every send leave the empty rows out."""
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": "u1", "attributes": {"acme_id": "+911"}})
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    uploaded = client.post(f"/api/apps/{app_id}/connectors",
                           json=_doc_oauth_config(doc_oauth_partner, partner))
    assert uploaded.status_code == 201, uploaded.json
    warnings = {(w["path"], w["message"].split(":")[0]) for w in uploaded.json["warnings"]}
    assert ("auth.alias", "is missing") in warnings
    assert {path for path, _ in warnings} >= {
        "auth.auth_info.authorization_mapping.headers",
        "auth.auth_info.access_token_mapping.headers",
        "auth.auth_info.access_token_mapping.url_params",
        "modules[0].params.request.headers", "modules[0].params.request.url_params"}

    connection = client.post("/api/connections", json={
        "connector_id": uploaded.json["id"], "name": "Prod",
        "values": {"account_id": "ABC123", "account_key": "k", "client_id": "cid",
                   "client_secret": "shh"}}).json
    started = client.get(f"/api/connections/{connection['id']}/authorize").json
    query = urlsplit(started["authorization_url"]).query
    assert "?=" not in started["authorization_url"] and "&=" not in query
    assert not query.startswith("=")
    assert "scope=" in query  # a named parameter with an empty value is still sent
    consent = requests.get(started["authorization_url"], allow_redirects=False, timeout=5)
    back = urlsplit(consent.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 200 and done.json["status"] == "connected", done.json
    token_call = DocOAuthPartner.calls[1]
    assert token_call["path"] == "/token"
    assert token_call["form"]["code"] == ["doc-code"]
    assert "" not in token_call["headers"]

    client.post("/api/campaigns", json=_campaign(uploaded.json["id"], connection["id"]))
    assert client.post("/_sim/run-due").json["ran"][0]["sent"] == 1
    record = requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"][-1]
    assert record["headers"]["Authorization"] == "Bearer doc-access"
    assert record["query"] in ("", {}, None)


def test_s1_file_format_skeleton_lists_each_problem_once_with_its_line(tmp_path):
    """S1 "File Format": the skeleton's placeholders are errors, each reported once with its
    file line; its ``{"": ""}`` rows are warnings."""
    path = DOCS / "file_format_skeleton.json"
    text = path.read_text()
    result = validate_config(json.loads(text), text)
    paths = [e.path for e in result.errors]
    assert len(paths) == len(set(paths))
    lines = {e.path: e.line for e in result.errors}
    numbered = text.splitlines()
    assert numbered[lines["modules[0].params.request.method"] - 1] == '"method": "",'
    assert numbered[lines["auth.auth_type"] - 1] == '"auth_type": "",'
    method_line = lines["modules[0].params.request.method"]
    assert {w.path for w in result.warnings} >= {"modules[0].params.request.headers",
                                                  "modules[0].params.request.url_params"}
    out = CliRunner().invoke(main, ["validate", str(path)])
    assert out.exit_code == 1
    assert f"{path}:{method_line}: modules[0].params.request.method: '' is not one of" \
        in out.stdout


def test_an_empty_config_lists_each_missing_section_once(tmp_path):
    """Issue 17 item 11: `{}` printed `auth: is required` four times."""
    path = tmp_path / "empty.json"
    path.write_text("{}")
    out = CliRunner().invoke(main, ["validate", str(path)])
    assert out.exit_code == 1
    assert out.stdout.splitlines() == [f"{path}:1: {key}: is required" for key in
                                       ("auth", "basic_info", "input_variables", "modules")]


def test_unknown_top_level_keys_are_reported_with_a_did_you_mean():
    config = copy.deepcopy(COMPOSITE)
    config["module"] = config.pop("modules")
    config["version"] = 2
    result = validate_config(config)
    assert [(e.path, e.message) for e in result.errors] == [
        ("modules", "is required (found 'module': a misspelling?)")]
    assert {(w.path, w.message.split(";")[-1].strip()) for w in result.warnings
            if w.path in ("module", "version")} == {
        ("module", "did you mean 'modules'?"),
        ("version", "is not a config section (documented: basic_info, input_variables, auth, "
                    "modules)")}


def test_upload_errors_name_the_line_of_the_json_text(client):
    """Issue 17 item 11: semantic errors name the line as well as the JSON path."""
    config = copy.deepcopy(COMPOSITE)
    config["auth"]["auth_info"]["password"] = '{{AppMarketplaceForm["nope"]}}'
    text = json.dumps(config, indent=2)
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    answer = client.post(f"/api/apps/{app_id}/connectors", data=text,
                         content_type="application/json")
    assert answer.status_code == 422
    [error] = answer.json["errors"]
    number = next(i for i, line in enumerate(text.splitlines(), 1) if '"password": "{{' in line)
    assert (error["path"], error["line"]) == ("auth.auth_info.password", number)


@pytest.mark.parametrize("entries, warned", [
    # the composite: 200 -> Sent, anything else -> Failed: every 2xx decided
    (None, False),
    # S1's evaluation example alone: 200 and {"ok": true} -> Sent; a 200 without it is undecided
    ([{"filter_operator": "and", "filters": [
        {"name": "response_code", "data_type": "double", "operator": "is", "value": 200},
        {"name": "response_body", "data_type": "object", "filter_operator": "and", "filters": [
            {"name": "ok", "data_type": "bool", "operator": "is", "value": True}]}]}], True),
    # 200 -> Sent only: 201..299 undecided
    ([{"filter_operator": "and", "filters": [
        {"name": "response_code", "data_type": "double", "operator": "is", "value": 200}]}],
     True),
    # Sent on 2xx, by a between
    ([{"filter_operator": "and", "filters": [
        {"name": "response_code", "data_type": "double", "operator": "between", "value": 200,
         "value1": 299}]}], False),
])
def test_validate_warns_when_a_2xx_response_can_be_left_to_the_fallback(entries, warned):
    """Spec §2.7 [I]: a response no entry decides falls back to 200 = Sent; validation says
    when a 2xx status can end up there (issue 17 item 7)."""
    config = copy.deepcopy(COMPOSITE)
    if entries is not None:
        template = config["modules"][0]["params"]["response"][0]
        config["modules"][0]["params"]["response"] = [
            {**template, "evaluation_criteria": criteria} for criteria in entries]
    messages = [w.message for w in validate_config(config).warnings
                if "can match no entry" in w.message]
    assert bool(messages) is warned, messages
