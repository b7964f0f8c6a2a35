"""Connections (spec §3): app-marketplace values checked, secrets never shown."""

import copy
import json

import pytest

from simulator.core import form_values

from .test_connectors import COMPOSITE

INPUTS = COMPOSITE["input_variables"] + [
    {"visibility_scope": "app_marketplace", "key": "region", "event_export_key": "region",
     "name": "Region", "required": True, "type": "dropdown",
     "options": [{"label": "EU", "key": "eu"}, {"label": "US", "key": "us"}]},
    {"visibility_scope": "app_marketplace", "key": "retries", "event_export_key": "retries",
     "name": "Retries", "required": False, "type": "number"},
    {"visibility_scope": "app_marketplace", "key": "sandbox", "event_export_key": "sandbox",
     "name": "Sandbox", "required": False, "type": "bool", "default_value": False},
    {"visibility_scope": "app_marketplace", "key": "extra_headers",
     "event_export_key": "extra_headers", "name": "Extra headers", "required": True,
     "type": "key_value"},
    {"visibility_scope": "app_marketplace", "key": "api_token", "event_export_key": "api_token",
     "name": "API token", "required": False, "type": "text", "encrypt": True},
]
GOOD = {"account_id": "acme_01", "account_key": "s3cr3t-key", "region": "eu", "retries": "3",
        "extra_headers": [{"key": "X-A", "value": "1"}], "api_token": "tok-123"}


def test_spec2_3_values_are_typed_and_defaults_applied():
    values, errors = form_values.check(INPUTS, "app_marketplace", GOOD)
    assert errors == []
    assert values["retries"] == 3 and values["sandbox"] is False and values["region"] == "eu"


@pytest.mark.parametrize("change,path,message", [
    ({"account_id": "a"}, "values.account_id", "does not match 3-25 chars"),
    ({"account_key": ""}, "values.account_key", "is required"),
    ({"region": "asia"}, "values.region", "'asia' is not one of 'eu', 'us'"),
    ({"region": ["eu", "us"]}, "values.region", "takes one option"),
    ({"retries": "many"}, "values.retries", "must be a number"),
    ({"sandbox": "maybe"}, "values.sandbox", "must be true or false"),
    ({"extra_headers": [{"key": "", "value": ""}]}, "values.extra_headers", "is required"),
    ({"extra_headers": {"X-A": "1"}}, "values.extra_headers", "must be an array"),
    ({"message": "hi"}, "values.message", "is not a app_marketplace field"),
])
def test_spec2_3_each_bad_value_names_its_field(change, path, message):
    _, errors = form_values.check(INPUTS, "app_marketplace", {**GOOD, **change})
    assert [e.path for e in errors] == [path]
    assert message in errors[0].message


def _connector(client, config=COMPOSITE):
    app_id = client.post("/api/apps", json={"name": "Acme"}).json["id"]
    config = copy.deepcopy(config)
    config["input_variables"] = INPUTS
    return client.post(f"/api/apps/{app_id}/connectors", json=config).json["id"]


def test_connection_masks_secrets_everywhere(client, caplog):
    connector_id = _connector(client)
    response = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "Prod", "values": GOOD})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "connected"
    shown = response.json["values"]
    assert shown["account_key"] == "********" and shown["api_token"] == "********"
    assert shown["account_id"] == "acme_01"
    everything = json.dumps([response.json, client.get("/api/connections").json,
                             client.get(f"/api/connections/{response.json['id']}").json])
    assert "s3cr3t-key" not in everything and "tok-123" not in everything
    assert "s3cr3t-key" not in caplog.text


def test_connection_errors_are_all_reported_and_nothing_stored(client):
    connector_id = _connector(client)
    response = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "", "values": {**GOOD, "region": "mars",
                                                             "account_key": ""}})
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == [
        "name", "values.account_key", "values.region"]
    assert client.get("/api/connections").json["connections"] == []
    missing = client.post("/api/connections", json={"connector_id": 99, "name": "x"})
    assert missing.status_code == 422 and missing.json["errors"][0]["path"] == "connector_id"


def test_connection_names_are_unique_per_connector(client):
    connector_id = _connector(client)
    body = {"connector_id": connector_id, "name": "Prod", "values": GOOD}
    assert client.post("/api/connections", json=body).status_code == 201
    assert client.post("/api/connections", json=body).status_code == 409


def test_spec1_oauth_connection_waits_for_authorization(client):
    config = copy.deepcopy(COMPOSITE)
    config["auth"] = {"auth_type": "oauth", "alias": "acme", "auth_info": {
        "client_id": "cid", "client_secret": "{{AppMarketplaceForm['account_key']}}",
        "grant_type": ["authorization_code", "refresh_token"],
        "authorization_mapping": {"method": "GET", "headers": {}, "url": "https://p/authorize",
                                  "url_params": {"state": "{{AppMarketplaceForm['state']}}"},
                                  "body_type": "JSON", "auth_code_mapping": "code"},
        "access_token_mapping": {"method": "POST", "headers": {}, "url": "https://p/token",
                                 "url_params": {}, "body_type": "FORM", "body": "[]",
                                 "response_mapping": {"access_token_mapping": "access_token"},
                                 "access_token_expiry_time": 3600},
        "refresh_token_mapping": {"method": "POST", "headers": {}, "url": "https://p/token",
                                  "url_params": {}, "body_type": "FORM", "body": "[]",
                                  "response_mapping": {"refresh_token_mapping": "refresh_token"}}}}
    connector_id = _connector(client, config)
    response = client.post("/api/connections", json={
        "connector_id": connector_id, "name": "OAuth", "values": GOOD})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "authorization_pending"
