"""``moesim sink``: the standalone capture sink, through real sockets on 127.0.0.1."""

import http.client
import json
import threading
import time
from datetime import datetime, timezone

import pytest
import requests

from simulator.app import create_app
from simulator.core.clock import VirtualClock
from simulator.core.settings import Settings
from simulator.sinkserver import make_server

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def start_sink():
    """Starts standalone sinks on free ports; returns each one's base URL."""
    servers = []

    def start(seed: int = 0) -> str:
        server = make_server("127.0.0.1", 0, seed=seed, clock=VirtualClock(NOW))
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sink(start_sink):
    return start_sink()


@pytest.fixture
def web(sink):
    with requests.Session() as session:
        yield session


def connect(base: str) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=5)


@pytest.fixture
def flask_client(tmp_path):
    app = create_app(Settings(db=str(tmp_path / "x.db"), fixtures="none"),
                     clock=VirtualClock(NOW))
    yield app.test_client()
    app.extensions["moesim"].close()


def test_records_method_sub_path_query_headers_and_json_body(sink, web):
    response = web.post(sink + "/_sim/sink/partner/v1/send?lang=en&x=%20y",
                         json={"to": "+911"}, headers={"X-API-Key": "abc"})
    assert response.status_code == 200 and response.json() == {"status": "success"}
    view = web.get(sink + "/_sim/sinks/partner").json()
    assert view["name"] == "partner" and view["served"] == 1
    [record] = view["requests"]
    assert record["method"] == "POST" and record["path"] == "/v1/send"
    assert record["query"] == "lang=en&x=%20y"  # raw, as sent
    assert record["headers"]["X-Api-Key"] == "abc"
    assert record["headers"]["Content-Type"] == "application/json"
    assert record["json"] == {"to": "+911"} and record["body"] == '{"to": "+911"}'
    assert record["time"] == "2026-11-22T12:00:00.000Z"  # from the server's clock
    assert record["seq"] == 1 and record["response_status"] == 200
    assert record["injected_failure"] is None


def test_sink_without_sub_path_records_slash_and_non_utf8_body_as_base64(sink, web):
    assert web.put(sink + "/_sim/sink/p", data=b"\xff\x00").status_code == 200
    [record] = web.get(sink + "/_sim/sinks/p").json()["requests"]
    assert record["method"] == "PUT" and record["path"] == "/"
    assert record["body"] == "/wA=" and record["body_encoding"] == "base64"


def test_put_behaviour_sets_status_body_and_headers(sink, web):
    put = web.put(sink + "/_sim/sinks/p", json={"status": 202, "body": {"id": "m-1"},
                                                 "headers": {"X-Request-Id": "r1"}})
    assert put.status_code == 200 and put.json()["behaviour"]["status"] == 202
    response = web.get(sink + "/_sim/sink/p")
    assert response.status_code == 202 and response.json() == {"id": "m-1"}
    assert response.headers["X-Request-Id"] == "r1"
    web.put(sink + "/_sim/sinks/t", json={"body": "OK"})
    text = web.delete(sink + "/_sim/sink/t")
    assert text.content == b"OK" and text.headers["Content-Type"].startswith("text/plain")


def test_fail_next_fails_exactly_count_then_reverts(sink, web):
    web.put(sink + "/_sim/sinks/p", json={"fail_next": {"count": 2, "status": 503}})
    statuses = [web.post(sink + "/_sim/sink/p").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    view = web.get(sink + "/_sim/sinks/p").json()
    assert [r["injected_failure"] for r in view["requests"]] == \
        ["fail_next", "fail_next", None, None]
    assert view["fail_next_left"] == 0


def _fail_rate_statuses(base: str, count: int) -> list[int]:
    with requests.Session() as session:
        session.put(base + "/_sim/sinks/p", json={"fail_rate": {"rate": 0.3, "status": 500}})
        return [session.post(base + "/_sim/sink/p").status_code for _ in range(count)]


def test_fail_rate_is_seeded_repeatable_and_near_the_rate(start_sink):
    first = _fail_rate_statuses(start_sink(seed=7), 200)
    second = _fail_rate_statuses(start_sink(seed=7), 200)
    other_seed = _fail_rate_statuses(start_sink(seed=8), 200)
    assert first == second
    assert first != other_seed
    assert set(first) == {200, 500} and 40 <= first.count(500) <= 80


def test_fail_rate_sequence_matches_the_apps_sink_for_the_same_seed(start_sink, tmp_path):
    app = create_app(Settings(db=str(tmp_path / "x.db"), fixtures="none", seed=7))
    client = app.test_client()
    client.put("/_sim/sinks/p", json={"fail_rate": {"rate": 0.3, "status": 500}})
    in_app = [client.post("/_sim/sink/p").status_code for _ in range(40)]
    app.extensions["moesim"].close()
    assert _fail_rate_statuses(start_sink(seed=7), 40) == in_app


def test_delay_ms_delays_the_answer(sink, web):
    web.put(sink + "/_sim/sinks/slow", json={"delay_ms": 150})
    started = time.monotonic()
    assert web.get(sink + "/_sim/sink/slow").status_code == 200
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    assert web.get(sink + "/_sim/sinks/slow").status_code == 200  # the control plane: no delay
    assert time.monotonic() - started < 0.15


def test_invalid_behaviour_is_422_naming_every_field_and_keeps_the_old_one(sink, web):
    response = web.put(sink + "/_sim/sinks/p", json={"status": 99, "fail_rate": {"rate": 2},
                                                      "colour": "red"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert {e["path"] for e in response.json()["errors"]} == {"status", "fail_rate.rate", "colour"}
    assert web.get(sink + "/_sim/sinks/p").json()["behaviour"]["status"] == 200


def test_non_json_behaviour_is_400(sink, web):
    response = web.put(sink + "/_sim/sinks/p", data=b"status=500")
    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "message": "body must be a JSON object",
                               "errors": [{"path": "body",
                                           "message": "body must be a JSON object"}]}


def test_delete_clears_requests_and_behaviour(sink, web):
    web.put(sink + "/_sim/sinks/p", json={"status": 500})
    web.post(sink + "/_sim/sink/p")
    deleted = web.delete(sink + "/_sim/sinks/p")
    assert deleted.status_code == 204 and deleted.content == b""
    view = web.get(sink + "/_sim/sinks/p").json()
    assert view["requests"] == [] and view["behaviour"]["status"] == 200
    assert view["served"] == 0


def test_reset_clears_every_sink(sink, web):
    web.put(sink + "/_sim/sinks/a", json={"status": 201})
    web.post(sink + "/_sim/sink/b")
    assert web.post(sink + "/_sim/reset").json()["status"] == "reset"
    assert web.get(sink + "/_sim/sinks/a").json()["behaviour"]["status"] == 200
    assert web.get(sink + "/_sim/sinks/b").json()["requests"] == []


def test_health(sink, web):
    response = web.get(sink + "/_sim/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/nope", 404, "not_found"),
    ("GET", "/_sim/sink/p/", 404, "not_found"),
    ("GET", "/_sim/sinks/p/x", 404, "not_found"),
    ("POST", "/_sim/sinks/p", 405, "method_not_allowed"),
    ("GET", "/_sim/reset", 405, "method_not_allowed"),
])
def test_unknown_routes_and_methods_answer_our_error_body(sink, web, method, path, status,
                                                          code):
    response = web.request(method, sink + path)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["errors"] == [] and path in body["message"]
    assert response.headers["Content-Length"] == str(len(response.content))


def test_keep_alive_serves_many_requests_on_one_connection(sink):
    connection = connect(sink)
    connection.connect()
    first_socket = connection.sock  # http.client would reconnect silently after a close
    try:
        for i in range(5):
            connection.request("POST", f"/_sim/sink/ka/{i}", body=json.dumps({"i": i}),
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 200 and response.read() == b'{"status": "success"}'
            assert response.getheader("Content-Length") == "21" and not response.will_close
            assert connection.sock is first_socket
        connection.request("DELETE", "/_sim/sinks/nothing")
        assert connection.getresponse().read() == b""  # a 204 ends without a body
        connection.request("GET", "/_sim/sinks/ka")
        view = json.loads(connection.getresponse().read())
        assert connection.sock is first_socket
    finally:
        connection.close()
    assert [r["path"] for r in view["requests"]] == [f"/{i}" for i in range(5)]
    assert [r["json"] for r in view["requests"]] == [{"i": i} for i in range(5)]


def test_chunked_body_is_decoded_and_recorded(sink):
    connection = connect(sink)
    try:
        connection.request("POST", "/_sim/sink/c", body=iter([b'{"a": ', b"1}"]),
                           encode_chunked=True)
        assert connection.getresponse().read() == b'{"status": "success"}'
        connection.request("GET", "/_sim/sinks/c")  # same connection: the body was consumed
        [record] = json.loads(connection.getresponse().read())["requests"]
    finally:
        connection.close()
    assert record["json"] == {"a": 1} and record["headers"]["Transfer-Encoding"] == "chunked"


def test_standalone_and_app_sinks_record_the_same_json(sink, web, flask_client):
    behaviour = {"status": 201, "headers": {"X-Id": "1"}, "fail_next": {"count": 1}}
    assert web.put(sink + "/_sim/sinks/p", json=behaviour).json() == \
        flask_client.put("/_sim/sinks/p", json=behaviour).json
    request = {"json": {"to": "+911", "n": [1, 2]}, "headers": {"X-Api-Key": "abc"}}
    for _ in range(2):
        web.post(sink + "/_sim/sink/p/v1/send?lang=en", **request)
        flask_client.post("/_sim/sink/p/v1/send?lang=en", **request)
    standalone = web.get(sink + "/_sim/sinks/p").json()
    in_app = flask_client.get("/_sim/sinks/p").json
    assert standalone.keys() == in_app.keys()
    assert len(standalone["requests"]) == len(in_app["requests"]) == 2
    for ours, theirs in zip(standalone["requests"], in_app["requests"]):
        assert ours.keys() == theirs.keys()
        different = {"headers"}  # User-Agent, Host, Accept... differ between the two clients
        assert {k: v for k, v in ours.items() if k not in different} == \
            {k: v for k, v in theirs.items() if k not in different}
        for header in ("X-Api-Key", "Content-Type", "Content-Length"):
            assert ours["headers"][header] == theirs["headers"][header]
    assert [r["response_status"] for r in standalone["requests"]] == [500, 201]


def test_standalone_and_app_sinks_give_the_same_error_bodies(sink, web, flask_client):
    invalid = {"delay_ms": -1, "fail_next": {"count": "x"}}
    ours = web.put(sink + "/_sim/sinks/p", json=invalid)
    theirs = flask_client.put("/_sim/sinks/p", json=invalid)
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json)
    ours = web.post(sink + "/_sim/sinks/p")
    theirs = flask_client.post("/_sim/sinks/p")
    assert (ours.status_code, ours.json()["code"]) == (theirs.status_code, theirs.json["code"])
