"""/_sim/ control plane: health, readiness, reset."""

import json

from simulator.app import create_app
from simulator.core.settings import Settings


def _tiny_fixtures(tmp_path):
    where = tmp_path / "fx"
    where.mkdir()
    (where / "manifest.json").write_text(json.dumps({
        "anchor": "2026-11-01T12:00:00Z", "users": "users.jsonl", "events": "events.jsonl",
        "shift_user_attributes": ["u_l_a"], "shift_event_attributes": ["flight_time"]}))
    (where / "users.jsonl").write_text(
        '{"customer_id": "f1", "first_name": "Fixture", "u_l_a": "2026-10-31T12:00:00Z",'
        ' "birthday": "1990-01-01"}\n')
    (where / "events.jsonl").write_text(
        '{"customer_id": "f1", "action": "Flight Booked", "current_time": "2026-10-31T12:00:00Z",'
        ' "attributes": {"flight_time": "2026-11-03T12:00:00Z"}}\n')
    return where


def test_health_and_ready(client):
    assert client.get("/_sim/health").json == {"status": "ok"}
    assert client.get("/_sim/ready").status_code == 200


def test_ready_is_503_until_bootstrapped(settings, clock):
    app = create_app(settings, clock=clock, start=False)
    try:
        response = app.test_client().get("/_sim/ready")
        assert response.status_code == 503 and response.json["code"] == "not_ready"
    finally:
        app.extensions["moesim"].close()


def test_fixtures_are_shifted_to_the_clock(tmp_path, clock):
    settings = Settings(db=str(tmp_path / "f.db"), fixtures=str(_tiny_fixtures(tmp_path)))
    app = create_app(settings, clock=clock)
    client = app.test_client()
    try:
        user = client.get("/api/users/f1").json["attributes"]
        # anchor 2026-11-01T12:00Z, clock 2026-11-22T12:00Z: everything moves 21 days
        assert user["Last Seen"] == "2026-11-21T12:00:00.000Z"
        assert user["Birthday"] == "1990-01-01T00:00:00.000Z"  # not listed: not shifted
        [event] = client.get("/api/users/f1/events").json
        assert event["time"] == "2026-11-21T12:00:00.000Z"
        assert event["attributes"]["flight_time"] == "2026-11-24T12:00:00.000Z"
    finally:
        app.extensions["moesim"].close()


def test_reset_returns_to_the_loaded_fixtures(tmp_path, clock, auth):
    settings = Settings(db=str(tmp_path / "f.db"), fixtures=str(_tiny_fixtures(tmp_path)),
                        workspace_id="W1", data_api_key="K1")
    app = create_app(settings, clock=clock)
    client = app.test_client()
    try:
        client.post("/v1/customer/W1", headers=auth,
                    json={"type": "customer", "customer_id": "new", "attributes": {"x": 1}})
        client.post("/v1/customer/W1", headers=auth,
                    json={"type": "customer", "customer_id": "f1",
                          "attributes": {"first_name": "Changed"}})
        client.post("/_sim/sink/s")
        assert client.get("/api/users").json["total"] == 2
        response = client.post("/_sim/reset")
        assert response.status_code == 200 and response.json["took_ms"] < 1000
        assert client.get("/api/users").json["total"] == 1
        assert client.get("/api/users/f1").json["attributes"]["First Name"] == "Fixture"
        assert client.get("/_sim/sinks/s").json["requests"] == []
    finally:
        app.extensions["moesim"].close()


def test_existing_database_is_not_reloaded_and_reset_keeps_its_contents(tmp_path, clock, auth):
    settings = Settings(db=str(tmp_path / "f.db"), fixtures=str(_tiny_fixtures(tmp_path)),
                        workspace_id="W1", data_api_key="K1")
    first = create_app(settings, clock=clock)
    first.test_client().post("/v1/customer/W1", headers=auth,
                             json={"type": "customer", "customer_id": "kept"})
    first.extensions["moesim"].close()
    second = create_app(settings, clock=clock)
    client = second.test_client()
    try:
        assert client.get("/api/users").json["total"] == 2  # fixtures not loaded twice
        client.post("/v1/customer/W1", headers=auth,
                    json={"type": "customer", "customer_id": "dropped"})
        client.post("/_sim/reset")
        ids = {u["customer_id"] for u in client.get("/api/users").json["users"]}
        assert ids == {"f1", "kept"}
    finally:
        second.extensions["moesim"].close()


def test_bundled_fixtures_load(tmp_path, clock):
    app = create_app(Settings(db=str(tmp_path / "b.db")), clock=clock)
    client = app.test_client()
    try:
        users = client.get("/api/users?limit=5").json
        assert users["total"] == 1000
        events = client.get("/api/events?name=Purchase&limit=1").json
        everything = client.get("/api/events?limit=1").json["total"]
        assert everything > 10_000
        assert 1000 < events["total"] < everything  # the total of the named events only
        assert events["events"][0]["name"] == "Purchase"
        latest = client.get(f"/api/events?after={everything - 1}").json["events"]
        assert all(e["time"] <= "2026-11-22T12:00:00.000Z" for e in latest)
    finally:
        app.extensions["moesim"].close()


def test_our_error_body_is_one_shape(client):
    """The one JSON error body of our own API (pinned; datasette-style)."""
    response = client.get("/api/users/nobody")
    assert response.status_code == 404
    assert response.json == {"code": "not_found",
                             "message": "no user with customer_id 'nobody'",
                             "errors": [{"path": "customer_id",
                                         "message": "no user with customer_id 'nobody'"}]}
    assert client.get("/api/users?limit=0").json["errors"][0]["path"] == "limit"
