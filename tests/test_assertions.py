"""The assertion API under /_sim/ (issue 6 part 5): filter deliveries and sink requests, wait
for them (long-poll), delete by filter. Deliveries come from real campaigns sent to a real
partner endpoint; waits are woken by requests made from other threads, never by sleeping."""

import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from simulator.core.record_filters import RequestFilter, parse_request_filter, parse_wait
from simulator.core.errors import BadRequest
from simulator.core.settings import Settings

from .conftest import KEY, WORKSPACE
from .test_campaigns import _campaign, _connected_app, _users


@pytest.fixture
def settings(tmp_path):
    """One request at a time, so the partner's one injected 503 always hits the first user."""
    return Settings(db=str(tmp_path / "moesim.db"), fixtures="none", workspace_id=WORKSPACE,
                    data_api_key=KEY, send_concurrency=1)


@pytest.fixture
def two_campaigns(client, auth, partner):
    """4 users; campaign A at 12:00 (u0 fails: the partner answers 503 once), campaign B at
    13:00 (all sent)."""
    _users(client, auth, 4)
    ids = _connected_app(client, partner)
    requests.put(f"{partner}/_sim/sinks/acme", json={"fail_next": {"count": 1, "status": 503}},
                 timeout=5)
    first = client.post("/api/campaigns", json=_campaign(*ids)).json["campaign_id"]
    client.post("/_sim/run-due")
    second = client.post("/api/campaigns", json=_campaign(*ids, request_id="r2", scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-22T13:00:00"})).json["campaign_id"]
    client.post("/_sim/clock/advance", json={"to": "2026-11-22T13:00:00Z"})
    return first, second


def _found(client, query):
    response = client.get(f"/_sim/deliveries?{query}")
    assert response.status_code == 200, response.json
    return [(d["customer_id"], d["status"], d["time"][11:16]) for d in response.json["deliveries"]]


def test_delivery_filters_by_campaign_user_status_and_time(client, two_campaigns):
    first, second = two_campaigns
    assert len(_found(client, "")) == 8
    assert {c for c, _, _ in _found(client, f"campaign_id={second}")} == {"u0", "u1", "u2", "u3"}
    assert _found(client, "status=failed") == [("u0", "failed", "12:00")]
    assert _found(client, f"campaign_id={first}&status=sent") == [
        ("u1", "sent", "12:00"), ("u2", "sent", "12:00"), ("u3", "sent", "12:00")]
    assert _found(client, "customer_id=u2") == [("u2", "sent", "12:00"), ("u2", "sent", "13:00")]
    # since is inclusive, until exclusive, both read on the simulator's clock
    assert {t for _, _, t in _found(client, "since=2026-11-22T13:00:00Z")} == {"13:00"}
    assert {t for _, _, t in _found(client, "until=2026-11-22T13:00:00Z")} == {"12:00"}
    assert _found(client, "since=2026-11-22T12:30:00Z&until=2026-11-22T13:00:00Z") == []
    assert _found(client, "status=removed") == []
    page = client.get("/_sim/deliveries?limit=3").json
    rest = client.get(f"/_sim/deliveries?limit=10&after={page['next']}").json
    assert len(page["deliveries"]) + len(rest["deliveries"]) == 8 and rest["next"] is None


@pytest.mark.parametrize("query, paths", [
    ("status=bounced", {"status"}),
    ("since=yesterday&until=2026-13-01", {"since", "until"}),
    ("statuss=sent", {"statuss"}),
    ("status=sent&status=failed", {"status"}),
])
def test_bad_delivery_filters_are_400_naming_each_parameter(client, query, paths):
    for method in ("get", "delete"):
        response = getattr(client, method)(f"/_sim/deliveries?{query}")
        assert response.status_code == 400 and response.json["code"] == "bad_request"
        assert {e["path"] for e in response.json["errors"]} == paths


@pytest.mark.parametrize("query, paths", [
    ("count=0", {"count"}), ("count=two", {"count"}), ("timeout=61", {"timeout"}),
    ("timeout=-1&count=-1", {"count", "timeout"}),
])
def test_bad_wait_parameters_are_400(client, query, paths):
    for url in ("/_sim/deliveries/wait", "/_sim/sinks/s/wait"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400
        assert {e["path"] for e in response.json["errors"]} == paths


def test_delete_deliveries_by_filter_is_a_test_tool_that_changes_stats(client, two_campaigns):
    first, _ = two_campaigns
    deleted = client.delete(f"/_sim/deliveries?campaign_id={first}&status=failed")
    assert deleted.status_code == 200 and deleted.json == {"deleted": 1}
    assert _found(client, "status=failed") == []
    stats = client.get(f"/api/campaigns/{first}/stats").json
    assert (stats["sent"], stats["failed"]) == (3, 0)
    assert client.delete("/_sim/deliveries?until=2026-11-22T13:00:00Z").json == {"deleted": 3}
    assert client.delete("/_sim/deliveries").json == {"deleted": 4}
    assert _found(client, "") == []


def _record(client, name, path="/", **kwargs):
    client.open(f"/_sim/sink/{name}{path}", **kwargs)


def test_sink_filters_method_path_header_body_json_and_time(client):
    _record(client, "p", "/v1/send", method="POST", json={"to": "+911", "n": 3, "ok": True,
                                                          "items": [{"id": "a"}]},
            headers={"X-Api-Key": "k1"})
    _record(client, "p", "/v1/send/bulk", method="POST", json={"to": "+912", "n": "3"})
    client.post("/_sim/clock/advance", json={"seconds": 60})
    _record(client, "p", "/v2/status", method="GET", headers={"X-Api-Key": "k2"})
    _record(client, "p", "/v1/send", method="PUT", data="plain text body")

    def seqs(query):
        response = client.get(f"/_sim/sinks/p?{query}")
        assert response.status_code == 200, response.json
        return [r["seq"] for r in response.json["requests"]]

    assert seqs("") == [1, 2, 3, 4]
    assert seqs("method=post") == [1, 2]
    assert seqs("path=/v1/send") == [1, 4]
    assert seqs("path_prefix=/v1/") == [1, 2, 4]
    assert seqs("header=x-api-key") == [1, 3]
    assert seqs("header=X-Api-Key:k2") == [3]
    assert seqs("header=X-Api-Key:k2&header=X-Missing") == []
    assert seqs("body_contains=plain") == [4]
    assert seqs("json.to=%2B912") == [2]
    assert seqs("json.n=3") == [1, 2]  # the number 3, and the string "3"
    assert seqs("json.ok=true") == [1] and seqs("json.ok=1") == []
    assert seqs("json.items.0.id=a") == [1]
    assert seqs("since=2026-11-22T12:01:00Z") == [3, 4]
    assert seqs("until=2026-11-22T12:01:00Z&method=POST&json.to=%2B911") == [1]
    bad = client.get("/_sim/sinks/p?since=soon&json.=x&methd=GET")
    assert bad.status_code == 400
    assert {e["path"] for e in bad.json["errors"]} == {"since", "json.", "methd"}


def test_sink_delete_by_filter_keeps_behaviour_and_counter(client):
    client.put("/_sim/sinks/p", json={"status": 202})
    for path in ("/a", "/b", "/a"):
        _record(client, "p", path, method="POST")
    response = client.delete("/_sim/sinks/p?path=/a")
    assert response.status_code == 200 and response.json == {"deleted": 2}
    view = client.get("/_sim/sinks/p").json
    assert [r["path"] for r in view["requests"]] == ["/b"]
    assert view["behaviour"]["status"] == 202 and view["served"] == 3
    assert client.delete("/_sim/sinks/p").status_code == 204  # no filter: clear, as before
    assert client.get("/_sim/sinks/p").json["behaviour"]["status"] == 200


class _ObservedCondition(threading.Condition):
    """The context's write condition, telling the test when a long-poll is asleep on it."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()

    def wait_for(self, predicate, timeout=None):
        self.waiting.set()
        return super().wait_for(predicate, timeout)


@pytest.fixture
def served(app, ctx):
    """The app on a real threaded server (a long-poll holds one thread while others post)."""
    ctx.written = _ObservedCondition()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _in_thread(call):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("answer", call()), daemon=True)
    thread.start()
    return thread, box


def test_sink_wait_returns_as_soon_as_enough_requests_arrive_from_another_thread(served, ctx):
    requests.post(f"{served}/_sim/sink/w/other", json={"to": "x"}, timeout=5)  # not matching
    started = time.monotonic()
    thread, box = _in_thread(lambda: requests.get(
        f"{served}/_sim/sinks/w/wait?count=2&timeout=30&path=/send", timeout=40))
    assert ctx.written.waiting.wait(10)  # the long-poll is asleep, not spinning
    assert thread.is_alive()
    for number in (1, 2):
        requests.post(f"{served}/_sim/sink/w/send", json={"n": number}, timeout=5)
    thread.join(10)
    answer = box["answer"]
    assert answer.status_code == 200
    assert answer.json()["timed_out"] is False and answer.json()["matched"] == 2
    assert [r["json"]["n"] for r in answer.json()["requests"]] == [1, 2]
    assert time.monotonic() - started < 10  # well before the 30 s timeout


def test_sink_wait_times_out_with_what_matched_so_far(served):
    requests.post(f"{served}/_sim/sink/w", json={"n": 1}, timeout=5)
    started = time.monotonic()
    answer = requests.get(f"{served}/_sim/sinks/w/wait?count=2&timeout=0.3", timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["timed_out"], body["count"], body["matched"]) == (True, 2, 1)
    assert time.monotonic() - started >= 0.3
    immediate = requests.get(f"{served}/_sim/sinks/w/wait?timeout=0", timeout=10).json()
    assert (immediate["timed_out"], immediate["matched"]) == (False, 1)


def test_delivery_wait_wakes_when_another_thread_advances_the_virtual_clock(
        served, ctx, client, auth, partner):
    _users(client, auth, 3)
    ids = _connected_app(client, partner)
    campaign_id = client.post("/api/campaigns", json=_campaign(*ids, scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-22T15:00:00"})).json[
        "campaign_id"]
    thread, box = _in_thread(lambda: requests.get(
        f"{served}/_sim/deliveries/wait?count=3&timeout=30&campaign_id={campaign_id}",
        timeout=40))
    assert ctx.written.waiting.wait(10) and thread.is_alive()
    requests.post(f"{served}/_sim/clock/advance", json={"to": "2026-11-22T15:00:00Z"}, timeout=30)
    thread.join(10)
    body = box["answer"].json()
    assert body["timed_out"] is False and body["matched"] == 3
    assert {d["time"][:16] for d in body["deliveries"]} == {"2026-11-22T15:00"}


def test_plugin_client_verbs(moesim):
    moesim.load_users([{"customer_id": f"c{i}", "first_name": f"C{i}"} for i in range(3)])
    moesim.configure_sink("crm", fail_next={"count": 1, "status": 503})
    campaign_id = moesim.create_campaign({
        "request_id": "crm", "channel": "CONNECTOR", "campaign_delivery_type": "ONE_TIME",
        "created_by": "qa@partner.test", "basic_details": {"name": "Sync to CRM"},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": moesim.sink_url("crm") + "/contacts", "url_params": [],
            "headers": [], "body_type": "JSON",
            "body": {"name": "{{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}})
    moesim.advance(seconds=0)
    assert sorted(r["json"]["name"] for r in moesim.wait_for_requests("crm", 3, timeout=5)) == [
        "C0", "C1", "C2"]  # sent concurrently: arrival order varies
    assert len(moesim.sink_requests("crm", json={"name": "C1"}, path="/contacts")) == 1
    with pytest.raises(AssertionError, match="1 of 2"):
        moesim.wait_for_requests("crm", 2, timeout=0.1, json={"name": "C1"})
    assert len(moesim.deliveries(status="failed")) == 1
    assert len(moesim.deliveries(campaign_id=campaign_id, since="2026-01-01T09:00:00+00:00")) == 3
    assert moesim.delete_deliveries(status="failed") == 1
    assert moesim.stats(campaign_id)["failed"] == 0


@pytest.mark.parametrize("pairs, expected", [
    ([("method", "post")], RequestFilter(method="POST")),
    ([("header", "X-A: 1 "), ("header", "X-B")], RequestFilter(headers=(("X-A", "1"),
                                                                          ("X-B", None)))),
    ([("json.a.b", "1"), ("json.a.b", "2")], RequestFilter(json_fields=(("a.b", "1"),
                                                                        ("a.b", "2")))),
    ([], RequestFilter()),
])
def test_request_filter_parsing(pairs, expected):
    assert parse_request_filter(pairs) == expected


@pytest.mark.parametrize("value, text, matches", [
    ("3", "3", True), (3, "3", True), (3.0, "3", True), (True, "true", True), (True, "1", False),
    (1, "true", False), (None, "null", True), ("null", "null", True), ({"a": 1}, '{"a": 1}', True),
    ("x", "y", False),
])
def test_json_field_equality(value, text, matches):
    record = {"method": "POST", "path": "/", "body": "", "headers": {}, "json": {"v": value}}
    assert RequestFilter(json_fields=(("v", text),)).matches(record) is matches


def test_wait_defaults_and_bounds():
    assert (parse_wait([]).count, parse_wait([]).timeout_s) == (1, 10.0)
    assert parse_wait([("count", "5"), ("timeout", "60")]).timeout_s == 60
    with pytest.raises(BadRequest):
        parse_wait([("timeout", "nan")])
