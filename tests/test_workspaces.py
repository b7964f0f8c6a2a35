"""Isolated workspaces inside one server: selection by the Data API's workspace id, the
``/_ws/<id>/`` prefix or the ``X-Moesim-Workspace`` header; nothing is shared between them."""

import copy
import os
import threading

import requests

from simulator.app import create_app

from .conftest import KEY, WORKSPACE, basic
from .test_campaigns import COMPOSITE, _campaign

START = ["--fixtures", "none", "--workspace-id", WORKSPACE, "--data-api-key", KEY,
         "--clock", "virtual", "--start-time", "2026-11-22T12:00:00Z"]


def test_create_list_read_delete_and_bad_input(client, settings):
    created = client.post("/_sim/workspaces", json={"id": "ci-1", "start_time":
                                                    "2027-01-01T00:00:00Z", "clock": "virtual"})
    assert created.status_code == 201, created.json
    assert created.json == {"id": "ci-1", "clock": "virtual", "now": "2027-01-01T00:00:00.000Z",
                            "prefix": "/_ws/ci-1"}
    assert [w["id"] for w in client.get("/_sim/workspaces").json["workspaces"]] == \
        [WORKSPACE, "ci-1"]
    assert client.post("/_sim/workspaces", json={"id": "ci-1"}).status_code == 409
    bad = client.post("/_sim/workspaces", json={"id": "no spaces", "clock": "fast", "x": 1})
    assert bad.status_code == 422
    assert [e["path"] for e in bad.json["errors"]] == ["id", "clock", "x"]
    assert client.get("/_ws/nope/api/users").status_code == 404
    assert client.get("/api/users", headers={"X-Moesim-Workspace": "nope"}).json["errors"] == \
        [{"path": "workspace", "message": "unknown workspace 'nope'; create it with "
                                          "POST /_sim/workspaces"}]
    path = settings.db.replace(".db", ".ws-ci-1.db")
    assert os.path.exists(path)
    assert client.delete("/_sim/workspaces/ci-1").status_code == 204
    assert not os.path.exists(path)
    assert client.delete(f"/_sim/workspaces/{WORKSPACE}").status_code == 409
    assert client.get("/_ws/ci-1/api/users").status_code == 404


def test_each_workspace_has_its_own_users_clock_and_key(client, auth):
    assert client.post("/_sim/workspaces", json={"id": "W2", "data_api_key": "K2"}).status_code \
        == 201
    user = {"type": "customer", "customer_id": "only-in-w2", "attributes": {"first_name": "A"}}
    # the Data API's workspace id selects the workspace; its key is the workspace's own
    assert client.post("/v1/customer/W2", headers=basic("W2", KEY), json=user).status_code == 401
    assert client.post("/v1/customer/W2", headers=basic("W2", "K2"), json=user).status_code == 200
    assert client.post("/v1/customer?app_id=W2", headers=basic("W2", "K2"), json={
        **user, "customer_id": "also-w2"}).status_code == 200

    def ids(response):
        return sorted(u["customer_id"] for u in response.json["users"])

    assert ids(client.get("/_ws/W2/api/users")) == ["also-w2", "only-in-w2"]
    assert ids(client.get("/api/users", headers={"X-Moesim-Workspace": "W2"})) == \
        ["also-w2", "only-in-w2"]
    assert ids(client.get("/api/users")) == []
    # each workspace's virtual clock moves on its own
    client.post("/_ws/W2/_sim/clock/advance", json={"seconds": 3600})
    assert client.get("/_ws/W2/_sim/clock").json["now"] == "2026-11-22T13:00:00.000Z"
    assert client.get("/_sim/clock").json["now"] == "2026-11-22T12:00:00.000Z"


def test_workspaces_are_reopened_after_a_restart(settings, clock):
    app = create_app(settings, clock=clock)
    app.test_client().post("/_sim/workspaces", json={"id": "kept"})
    app.test_client().post("/v1/customer/kept", headers=basic("kept", KEY), json={
        "type": "customer", "customer_id": "u1", "attributes": {}})
    app.extensions["moesim.workspaces"].close()
    app.extensions["moesim"].close()
    again = create_app(settings, clock=clock)
    try:
        users = again.test_client().get("/_ws/kept/api/users").json["users"]
        assert [u["customer_id"] for u in users] == ["u1"]
    finally:
        again.extensions["moesim.workspaces"].close()
        again.extensions["moesim"].close()


def _journey(base: str, name: str, results: dict) -> None:
    """A CI job's whole run inside its workspace, over real HTTP."""
    http = requests.Session()
    ws = f"{base}/_ws/{name}"
    for i in range(5):
        answer = http.post(f"{base}/v1/customer/{name}", headers=basic(name, KEY), json={
            "type": "customer", "customer_id": f"{name}-{i}",
            "attributes": {"first_name": name, "acme_id": f"{name}-{i}"}}, timeout=10)
        assert answer.status_code == 200, answer.text
    config = copy.deepcopy(COMPOSITE)
    config["modules"][0]["params"]["request"]["url"] = f"{ws}/_sim/sink/acme/v1/messages"
    app_id = http.post(f"{ws}/api/apps", json={"name": "Acme"}, timeout=10).json()["id"]
    connector = http.post(f"{ws}/api/apps/{app_id}/connectors", json=config, timeout=10).json()
    connection = http.post(f"{ws}/api/connections", json={
        "connector_id": connector["id"], "name": "Prod",
        "values": {"account_id": "ABC123", "account_key": "s3cret"}}, timeout=10).json()
    created = http.post(f"{ws}/api/campaigns", json=_campaign(connector["id"], connection["id"]),
                        timeout=10)
    assert created.status_code == 201, created.text
    ran = http.post(f"{ws}/_sim/run-due", timeout=30).json()["ran"]
    results[name] = {
        "ran": ran,
        "users": sorted(u["customer_id"] for u in http.get(f"{ws}/api/users", timeout=10)
                        .json()["users"]),
        "campaigns": [c["campaign_id"] for c in http.get(f"{ws}/api/campaigns", timeout=10)
                      .json()["campaigns"]],
        "sink": sorted(r["json"]["to"] for r in http.get(f"{ws}/_sim/sinks/acme", timeout=10)
                       .json()["requests"]),
        "created": created.json()["campaign_id"]}


def test_must_show_two_workspaces_in_parallel_do_not_see_each_other(serve, tmp_path):
    server = serve(*START, "--db", str(tmp_path / "shared.db"))
    for name in ("jobA", "jobB"):
        assert requests.post(f"{server.url}/_sim/workspaces", json={"id": name},
                             timeout=10).status_code == 201
    results: dict = {}
    threads = [threading.Thread(target=_journey, args=(server.url, name, results))
               for name in ("jobA", "jobB")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(results) == {"jobA", "jobB"}
    for name in ("jobA", "jobB"):
        mine = [f"{name}-{i}" for i in range(5)]
        assert results[name]["users"] == mine
        assert results[name]["sink"] == mine
        assert results[name]["campaigns"] == [results[name]["created"]]
        assert [r["sent"] for r in results[name]["ran"]] == [5]
    # the server's own workspace saw none of it
    assert requests.get(f"{server.url}/api/users", timeout=10).json()["users"] == []
    assert requests.get(f"{server.url}/api/campaigns", timeout=10).json()["campaigns"] == []


