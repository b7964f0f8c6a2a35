"""Connector configs (spec §2): validation with JSON paths, upload, versions, `moesim validate`."""

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.core.connector_schema import CONFIG_SCHEMA
from simulator.core.connectors import validate_config

COMPOSITE = json.loads((Path(__file__).parent / "data" / "connectors" / "composite.json")
                       .read_text())


def broken() -> dict:
    """The §2.9 composite config with eight different mistakes."""
    config = copy.deepcopy(COMPOSITE)
    del config["basic_info"]["description"]
    config["input_variables"][1]["key"] = "account_id"
    config["input_variables"][0]["validations"][0]["regex"] = "([a-z"
    config["input_variables"][2]["required"] = "yes"
    config["auth"]["auth_info"]["password"] = '{{AppMarketplaceForm["nope"]}}'
    request = config["modules"][0]["params"]["request"]
    request["method"] = "FETCH"
    request["body"] = "{{ CampaignCreationForm['message' }}"
    config["modules"][0]["params"]["response"][0]["evaluation_criteria"]["filters"][0][
        "operator"] = "startsWith"
    return config


EXPECTED = [
    ("auth.auth_info.password", 'AppMarketplaceForm["nope"]: no input variable has key \'nope\''),
    ("basic_info.description", "is required"),
    ("input_variables[0].key", "duplicate key 'account_id'"),
    ("input_variables[0].validations[0].regex",
     "does not compile: unterminated character set at position 1"),
    ("input_variables[1].key", "duplicate key 'account_id'"),
    ("input_variables[2].required", "must be true or false"),
    ("modules[0].params.request.body", "Jinja does not parse: unexpected '}', expected ']' (line 1)"),
    ("modules[0].params.request.method",
     "'FETCH' is not one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'"),
    ("modules[0].params.response[0].evaluation_criteria.filters[0].operator",
     "'startsWith' is not an operator for double; use one of in, is, lessThan, greaterThan, "
     "between, exists"),
]


def test_spec2_9_composite_example_is_valid():
    result = validate_config(COMPOSITE)
    assert result.errors == [] and result.warnings == []


def test_spec2_8_every_error_with_its_path():
    assert [(e.path, e.message) for e in validate_config(broken()).errors] == EXPECTED


@pytest.mark.parametrize("mutate,path,message", [
    (lambda c: c["auth"].update(auth_type="api_key"), "auth.auth_type", "is not one of"),
    (lambda c: c["input_variables"][4].update(visibility_scope="global"),
     "input_variables[4].visibility_scope", "is not one of"),
    (lambda c: c["input_variables"][0].update(type="slider"), "input_variables[0].type",
     "is not one of"),
    (lambda c: c["input_variables"][4].update(key="Priority Level"), "input_variables[4].key",
     "does not match"),
    (lambda c: c["input_variables"][0].update(name="Account#ID"), "input_variables[0].name",
     "does not match"),
    (lambda c: c["input_variables"][4].pop("options"), "input_variables[4].options",
     "is required"),
    (lambda c: c["input_variables"][4].update(default_value="medium"),
     "input_variables[4].default_value", "'medium' is not an option key"),
    (lambda c: c["modules"][0]["params"]["request"].update(body_type="XML"),
     "modules[0].params.request.body_type", "is not one of"),
    (lambda c: c["modules"][0]["params"]["response"][0]["actions"][0].update(type="CALL_API"),
     "modules[0].params.response[0].actions[0].type", "is not one of"),
    (lambda c: c["modules"][0]["params"]["response"][0]["evaluation_criteria"].update(
        filter_operator="AND"), "modules[0].params.response[0].evaluation_criteria.filter_operator",
     "is not one of"),
    (lambda c: c["modules"][0]["params"]["response"][0]["evaluation_criteria"]["filters"][0]
     .update(name="status"), "modules[0].params.response[0].evaluation_criteria.filters[0].name",
     "is not one of"),
    (lambda c: c["auth"]["auth_info"].update(username="{{CampaignCreationForm['message']}}"),
     "auth.auth_info.username", "campaign fields are not available here"),
    (lambda c: c["modules"][0]["params"]["request"].update(
        url="https://x/{{AppMarketplaceForm['message']}}"), "modules[0].params.request.url",
     "'message' is a campaign field; use CampaignCreationForm"),
    (lambda c: c["modules"][0]["params"]["request"]["headers"].update(
        Authorization="Bearer {{AppMarketplaceForm['MOE_ACCESS_TOKEN_DEFAULT']}}"),
     "modules[0].params.request.headers.Authorization", "auth_type is not oauth"),
])
def test_spec2_enums_charsets_and_references(mutate, path, message):
    config = copy.deepcopy(COMPOSITE)
    mutate(config)
    errors = validate_config(config).errors
    assert [e.path for e in errors] == [path], errors
    assert message in errors[0].message


def test_spec2_3_tolerant_readings():
    config = copy.deepcopy(COMPOSITE)
    config["input_variables"][0]["required"] = "true"       # string booleans
    config["input_variables"].append({
        "visibility_scope": "campaign", "key": "source_config.inlinebuttons",
        "event_export_key": "buttons", "name": "Buttons", "required": False,
        "type": "key_value", "default_value": [{"key": "reply_markup", "value": "yes"}]})
    config["modules"][0]["params"]["request"]["body"] = \
        '{% if x %}{% MOE_NOT_SEND("no phone") %}{% endif %}{{ UserAttribute["First Name"] }}'
    result = validate_config(config)
    assert result.errors == []
    assert [w.path for w in result.warnings] == ["input_variables[5].key"]


def test_spec2_7_missing_sent_failed_events_is_a_warning():
    config = copy.deepcopy(COMPOSITE)
    config["modules"][0]["params"]["response"] = []
    result = validate_config(config)
    assert result.ok and "fall back to HTTP 200 = Sent" in result.warnings[0].message


def test_upload_read_and_version(client):
    app = client.post("/api/apps", json={"name": "Acme SMS", "type": "CHANNEL"})
    assert app.status_code == 201
    assert client.post("/api/apps", json={"name": "Acme SMS"}).status_code == 409
    uploaded = client.post(f"/api/apps/{app.json['id']}/connectors", json=COMPOSITE)
    assert uploaded.status_code == 201
    assert uploaded.json["version"] == 1 and uploaded.json["name"] == "Send message"
    connector_id = uploaded.json["id"]
    changed = copy.deepcopy(COMPOSITE)
    changed["basic_info"]["name"] = "Send message v2"
    replaced = client.put(f"/api/connectors/{connector_id}", json=changed)
    assert replaced.status_code == 200 and replaced.json["version"] == 2
    assert client.get(f"/api/connectors/{connector_id}").json["name"] == "Send message v2"
    assert client.get(f"/api/connectors/{connector_id}/versions/1").json["name"] == "Send message"
    versions = client.get(f"/api/connectors/{connector_id}/versions").json["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    listed = client.get(f"/api/apps/{app.json['id']}").json
    assert [c["version"] for c in listed["connectors"]] == [2]
    assert client.get("/api/apps").json["apps"][0]["name"] == "Acme SMS"


def test_invalid_upload_is_422_with_every_error_and_stores_nothing(client):
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    response = client.post(f"/api/apps/{app_id}/connectors", json=broken())
    assert response.status_code == 422
    assert [(e["path"], e["message"]) for e in response.json["errors"]] == EXPECTED
    assert client.get(f"/api/apps/{app_id}").json["connectors"] == []
    assert client.post("/api/apps/999/connectors", json=COMPOSITE).status_code == 404
    bad_app = client.post("/api/apps", json={"name": "", "type": "SOURCE"})
    assert bad_app.status_code == 422
    assert [e["path"] for e in bad_app.json["errors"]] == ["name", "type"]


def test_schema_is_published_and_matches_docs(client):
    assert client.get("/api/connectors/schema").json == CONFIG_SCHEMA
    published = Path(__file__).parent.parent / "docs" / "connector-config.schema.json"
    assert json.loads(published.read_text()) == CONFIG_SCHEMA


def test_moesim_validate_agrees_with_the_api(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(COMPOSITE))
    bad.write_text(json.dumps(broken()))
    assert CliRunner().invoke(main, ["validate", str(good)]).exit_code == 0
    result = CliRunner().invoke(main, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(bad))]
    assert lines == [f"{bad}:1: {p}: {m}" for p, m in EXPECTED]  # one-line JSON: line 1
    (tmp_path / "junk.json").write_text("{")
    junk = CliRunner().invoke(main, ["validate", str(tmp_path / "junk.json")])
    assert junk.exit_code == 1 and "not JSON" in junk.stdout
