"""The clock control plane: system or virtual, persisted, advanced in time order."""

import json

from click.testing import CliRunner

from simulator.app import create_app
from simulator.cli import main
from simulator.core.settings import Settings

from .conftest import basic


def _app(tmp_path, **settings):
    return create_app(Settings(db=str(tmp_path / "c.db"), fixtures="none", **settings))


def test_virtual_clock_from_settings_persists_across_restart(tmp_path):
    app = _app(tmp_path, clock="virtual", start_time="2026-07-01T09:00:00Z")
    client = app.test_client()
    assert client.get("/_sim/clock").json == {"mode": "virtual", "now": "2026-07-01T09:00:00.000Z"}
    moved = client.post("/_sim/clock/advance", json={"seconds": 7200}).json
    assert moved["from"] == "2026-07-01T09:00:00.000Z" and moved["to"] == "2026-07-01T11:00:00.000Z"
    app.extensions["moesim"].close()
    again = _app(tmp_path, clock="system", start_time="2030-01-01T00:00:00Z")  # new DB only
    try:
        assert again.test_client().get("/_sim/clock").json["now"] == "2026-07-01T11:00:00.000Z"
    finally:
        again.extensions["moesim"].close()


def test_time_never_goes_backwards(tmp_path):
    app = _app(tmp_path, clock="virtual", start_time="2026-07-01T09:00:00Z")
    client = app.test_client()
    try:
        assert client.post("/_sim/clock/advance", json={"to": "2026-06-30T00:00:00Z"}) \
            .status_code == 409
        assert client.post("/_sim/clock", json={"mode": "virtual",
                                                "now": "2026-01-01T00:00:00Z"}).status_code == 409
        assert client.post("/_sim/clock/advance", json={"seconds": -1}).status_code == 400
        assert client.post("/_sim/clock/advance", json={}).json["errors"][0]["path"] == "seconds"
    finally:
        app.extensions["moesim"].close()


def test_system_to_virtual_and_back(tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    try:
        assert client.get("/_sim/clock").json["mode"] == "system"
        assert client.post("/_sim/clock/advance", json={"seconds": 1}).status_code == 409
        frozen = client.post("/_sim/clock", json={"mode": "virtual"}).json
        assert frozen["mode"] == "virtual"
        assert client.get("/_sim/clock").json["now"] == frozen["now"]  # stands still
        assert client.post("/_sim/clock", json={"mode": "system"}).json["mode"] == "system"
        client.post("/_sim/clock", json={"mode": "virtual"})
        client.post("/_sim/clock/advance", json={"seconds": 86400})
        # a virtual time ahead of the system time cannot go back to it
        assert client.post("/_sim/clock", json={"mode": "system"}).status_code == 409
    finally:
        app.extensions["moesim"].close()


def test_reset_brings_the_clock_back_with_the_data(tmp_path):
    app = _app(tmp_path, clock="virtual", start_time="2026-07-01T09:00:00Z")
    client = app.test_client()
    try:
        client.post("/_sim/clock/advance", json={"seconds": 3600})
        client.post("/_sim/reset")
        assert client.get("/_sim/clock").json["now"] == "2026-07-01T09:00:00.000Z"
    finally:
        app.extensions["moesim"].close()


def test_events_take_their_time_from_the_virtual_clock(tmp_path):
    app = _app(tmp_path, clock="virtual", start_time="2026-07-01T09:00:00Z",
               workspace_id="W1", data_api_key="K1")
    client = app.test_client()
    try:
        client.post("/_sim/clock/advance", json={"seconds": 90})
        client.post("/v1/event/W1", headers=basic("W1", "K1"), json={
            "type": "event", "customer_id": "c1", "actions": [{"action": "App Opened"}]})
        [event] = client.get("/api/users/c1/events").json
        assert event["time"] == "2026-07-01T09:01:30.000Z"
    finally:
        app.extensions["moesim"].close()


def test_moesim_clock_cli_against_a_running_server(serve, tmp_path):
    server = serve("--db", str(tmp_path / "s.db"), "--fixtures", "none", "--clock", "virtual",
                   "--start-time", "2026-07-01T09:00:00Z")
    runner = CliRunner()
    shown = runner.invoke(main, ["clock", "show", "--url", server.url])
    assert shown.output.strip() == "virtual 2026-07-01T09:00:00.000Z"
    moved = runner.invoke(main, ["clock", "advance", "2h", "--url", server.url])
    assert moved.exit_code == 0, moved.output
    assert moved.output.startswith("2026-07-01T09:00:00.000Z -> 2026-07-01T11:00:00.000Z")
    back = runner.invoke(main, ["clock", "advance", "2026-07-01T10:00:00Z", "--url", server.url])
    assert back.exit_code == 1 and "409" in back.output
    assert json.loads(json.dumps(runner.invoke(main, ["clock", "show", "--url", server.url])
                                 .output.split()))[0] == "virtual"
