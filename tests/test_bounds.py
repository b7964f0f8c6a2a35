"""Bounded resources (issue 19 item 5): sinks keep at most ``sink_max_records`` requests while
their counts stay exact; deliveries past the retention lose their logged payloads, not their
counts; a clean shutdown truncates the WAL; the reset point lives beside the database, grows
with what changed, and is gone after every kind of exit."""

import os
import signal
import sqlite3
import threading

import pytest
import requests

from simulator.app import create_app
from simulator.sinkserver import make_server

from .conftest import KEY, WORKSPACE, Server


def test_the_app_sink_keeps_the_newest_records_and_counts_every_request(settings, clock):
    app = create_app(settings.replace(sink_max_records=5), clock=clock)
    try:
        client = app.test_client()
        for n in range(1, 13):
            assert client.post("/_sim/sink/acme/send", json={"n": n}).status_code == 200
        view = client.get("/_sim/sinks/acme").json
        assert view["served"] == 12
        assert [r["seq"] for r in view["requests"]] == [8, 9, 10, 11, 12]
        assert [r["json"]["n"] for r in view["requests"]] == [8, 9, 10, 11, 12]
        client.post("/_sim/sink/other", json={"n": 1})  # each sink has its own allowance
        assert len(client.get("/_sim/sinks/acme").json["requests"]) == 5
        assert client.get("/_sim/sinks/other").json["served"] == 1
        with app.extensions["moesim"].store.read() as db:
            assert db.execute("SELECT count(*) FROM sink_requests").fetchone()[0] == 6
    finally:
        app.extensions["moesim.workspaces"].close()
        app.extensions["moesim"].close()


def test_the_standalone_sink_keeps_the_newest_records_over_a_real_socket():
    server = make_server("127.0.0.1", 0, max_records=5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with requests.Session() as session:
            for n in range(1, 13):
                session.post(f"{base}/_sim/sink/acme", json={"n": n}, timeout=5)
            view = session.get(f"{base}/_sim/sinks/acme", timeout=5).json()
        assert view["served"] == 12
        assert [r["seq"] for r in view["requests"]] == [8, 9, 10, 11, 12]
    finally:
        server.shutdown()
        server.server_close()


def _db_files(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith("m.db"))


def _serve(tmp_path, fixtures="none"):
    return Server(["--db", str(tmp_path / "m.db"), "--fixtures", fixtures,
                   "--workspace-id", WORKSPACE, "--data-api-key", KEY], {})


def _write_a_lot(server) -> None:
    """New users and updates to every fixture user, through the bulk Data API (100 KB calls)."""
    for start in range(0, 4000, 250):
        elements = [{"type": "customer", "customer_id": f"user_{i + 1:04d}" if i < 1000 else
                     f"c{i}", "attributes": {"note": "x" * 200, "n": i}}
                    for i in range(start, start + 250)]
        answer = requests.post(f"{server.url}/v1/transition/{WORKSPACE}",
                               auth=(WORKSPACE, KEY), timeout=60,
                               json={"type": "transition", "elements": elements})
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_clean_shutdown_leaves_no_wal_and_no_reset_point(tmp_path, stop):
    server = _serve(tmp_path)
    try:
        server.wait_ready()
        _write_a_lot(server)
        assert "m.db-reset" in _db_files(tmp_path)
        assert os.path.getsize(tmp_path / "m.db-wal") > 1_000_000
        server.proc.send_signal(stop)
        assert server.proc.wait(timeout=30) == 0
    finally:
        server.stop()
    assert _db_files(tmp_path) == ["m.db"]
    conn = sqlite3.connect(tmp_path / "m.db")
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 4000  # all written
    conn.close()


def test_a_reset_point_left_by_kill_9_is_replaced_by_the_next_start(tmp_path):
    server = _serve(tmp_path, "bundled")  # 1,000 users whose old values the point keeps
    try:
        server.wait_ready()
        _write_a_lot(server)
        server.proc.kill()
        server.proc.wait(timeout=30)
    finally:
        server.stop()
    left = os.path.getsize(tmp_path / "m.db-reset")
    assert left > 100_000  # the users the bulk call updated... and what else changed
    again = _serve(tmp_path)
    try:
        again.wait_ready()
        assert os.path.getsize(tmp_path / "m.db-reset") < left  # a new, empty point
        requests.post(f"{again.url}/v1/customer/{WORKSPACE}", auth=(WORKSPACE, KEY),
                      json={"type": "customer", "customer_id": "late"}, timeout=10)
        assert requests.post(f"{again.url}/_sim/reset", timeout=30).status_code == 200
        users = requests.get(f"{again.url}/api/users?limit=1000", timeout=10).json()
        assert "late" not in {u["customer_id"] for u in users["users"]}
        again.proc.terminate()
        assert again.proc.wait(timeout=30) == 0
    finally:
        again.stop()
    assert _db_files(tmp_path) == ["m.db"]


def test_retention_drops_old_payloads_and_keeps_every_count(settings, clock, auth, partner):
    """Deliveries older than delivery_retention_days (simulator clock) lose their logged
    request and response; stats, the delivery list and the rows themselves stay."""
    from .test_campaigns import _campaign, _connected_app, _users

    app = create_app(settings.replace(delivery_retention_days=1.0), clock=clock)
    try:
        client = app.test_client()
        _users(client, auth, 6)
        ids = _connected_app(client, partner)
        first = client.post("/api/campaigns", json=_campaign(*ids, request_id="a")).json
        client.post("/_sim/run-due")
        stats = client.get(f"/api/campaigns/{first['campaign_id']}/stats").json
        assert stats["sent"] == 6
        logged = client.get("/_sim/deliveries").json["deliveries"]
        assert all(d["request"] and d["response"] for d in logged)
        narrow = [{k: v for k, v in d.items() if k not in ("request", "response")}
                  for d in logged]

        advanced = client.post("/_sim/clock/advance", json={"seconds": 20 * 3600})
        assert advanced.status_code == 200  # within the retention: kept
        assert all(d["request"] for d in client.get("/_sim/deliveries").json["deliveries"])

        client.post("/_sim/clock/advance", json={"seconds": 5 * 3600})  # now 25 h later
        second = client.post("/api/campaigns", json=_campaign(*ids, request_id="b")).json
        client.post("/_sim/run-due")
        logged = client.get("/_sim/deliveries").json["deliveries"]
        assert len(logged) == 12
        old = [d for d in logged if d["campaign_id"] == first["campaign_id"]]
        new = [d for d in logged if d["campaign_id"] == second["campaign_id"]]
        assert [(d["request"], d["response"]) for d in old] == [(None, None)] * 6
        assert all(d["request"] and d["response"] for d in new)
        assert [{k: v for k, v in d.items() if k not in ("request", "response")}
                for d in old] == narrow  # same ids, order, outcomes and times
        assert client.get(f"/api/campaigns/{first['campaign_id']}/stats").json == stats
        with app.extensions["moesim"].store.read() as db:
            assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 12
    finally:
        app.extensions["moesim.workspaces"].close()
        app.extensions["moesim"].close()


def test_retention_is_off_by_default(client, auth, partner):
    from .test_campaigns import _campaign, _connected_app, _users

    _users(client, auth, 2)
    client.post("/api/campaigns", json=_campaign(*_connected_app(client, partner)))
    client.post("/_sim/run-due")
    client.post("/_sim/clock/advance", json={"seconds": 400 * 86400})
    assert all(d["request"] for d in client.get("/_sim/deliveries").json["deliveries"])
