"""Bounded resources (issue 19 item 5): sinks keep at most ``sink_max_records`` requests while
their counts stay exact; deliveries past the retention lose their logged payloads, not their
counts; a clean shutdown truncates the WAL; the reset point lives beside the database, grows
with what changed, and is gone after every kind of exit."""

import threading

import requests

from simulator.app import create_app
from simulator.sinkserver import make_server


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
