"""Sent/Failed at moesim equals what the partner's endpoint did, against real server stacks and
a raw server for the edge cases (docs/decisions.md, "The transport"). Each case asserts the
outcome, that the partner received exactly one request per user, and the logged response."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time

import pytest
import uvicorn
from aiohttp import web
from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware

from simulator.app import create_app
from simulator.core.settings import Settings

from .conftest import KEY, WORKSPACE, basic
from .partners import CLOSE, HANG, response

AUTH = basic(WORKSPACE, KEY)


def _moesim(tmp_path, **settings):
    return create_app(Settings(db=str(tmp_path / "m.db"), fixtures="none",
                               workspace_id=WORKSPACE, data_api_key=KEY, **settings))


@pytest.fixture
def moesim(tmp_path):
    made = []

    def make(**settings):
        app = _moesim(tmp_path / str(len(made)), **settings)
        made.append(app)
        return app.test_client()

    (tmp_path / "0").mkdir()
    yield make
    for app in made:
        app.extensions["moesim.workspaces"].close()
        app.extensions["moesim"].close()


def _users(client, names):
    for name in names:
        answer = client.post(f"/v1/customer/{WORKSPACE}", headers=AUTH, json={
            "type": "customer", "customer_id": name, "attributes": {"first_name": name}})
        assert answer.status_code == 200, answer.json


def _connector_campaign(client, url, headers=()) -> str:
    """A Connector campaign (200 is Sent, anything else Failed, spec §4.2) sent at once."""
    created = client.post("/api/campaigns", json={
        "request_id": f"r-{time.monotonic_ns()}", "channel": "CONNECTOR",
        "campaign_delivery_type": "ONE_TIME", "created_by": "dev@example.com",
        "basic_details": {"name": "To the partner"},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": url, "url_params": [],
            "headers": [{"key": k, "value": v} for k, v in headers], "body_type": "JSON",
            "body": {"user": "{{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}})
    assert created.status_code == 201, created.json
    client.post("/_sim/run-due")
    return created.json["campaign_id"]


# A Connected App whose response entries read the body: Sent when "status" is "accepted".
_ON_STATUS = {"name": "response_body", "data_type": "object", "filter_operator": "and",
              "filters": [{"name": "status", "data_type": "string", "operator": "is",
                           "value": "accepted"}]}


def _config(url: str, headers: dict) -> dict:
    def entry(event, negate):
        return {"body_type": "JSON", "evaluation_criteria": {"filter_operator": "and", "filters": [
            {**_ON_STATUS, "filters": [{**_ON_STATUS["filters"][0], "negate": negate}]}]},
            "actions": [{"type": "CREATE_EVENT", "config": {"event": {"name": event},
                                                             "attributes": []}}]}
    return {
        "basic_info": {"name": "Echo", "description": "Echoes", "type": "CHANNEL"},
        "input_variables": [{"visibility_scope": "campaign", "key": "user",
                             "event_export_key": "user", "name": "User", "required": True,
                             "type": "text"}],
        "auth": {"auth_type": "no_auth", "auth_info": {}, "alias": "none"},
        "modules": [{"name": "default", "type": "REQUEST_RESPONSE", "params": {
            "request": {"method": "POST", "headers": headers, "url": url, "url_params": {},
                        "body_type": "JSON",
                        "body": "{\"user\": \"{{CampaignCreationForm['user']}}\"}"},
            "response": [entry("Connected App Campaign Sent", False),
                         entry("Connected App Campaign Failed", True)]}}]}


def _connected_app_campaign(client, url, headers=None) -> str:
    app_id = client.post("/api/apps", json={"name": "Echo"}).json["id"]
    connector = client.post(f"/api/apps/{app_id}/connectors", json=_config(url, headers or {}))
    assert connector.status_code == 201, connector.json
    connection = client.post("/api/connections", json={
        "connector_id": connector.json["id"], "name": "Partner", "values": {}})
    created = client.post("/api/campaigns", json={
        "request_id": f"r-{time.monotonic_ns()}", "channel": "CONNECTED_APP",
        "campaign_delivery_type": "ONE_TIME", "created_by": "dev@example.com",
        "basic_details": {"name": "Echo campaign"},
        "campaign_content": {"content": {"connected_app": {
            "connector_id": connector.json["id"], "connection_id": connection.json["id"],
            "inputs": {"user": "{{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}})
    assert created.status_code == 201, created.json
    client.post("/_sim/run-due")
    return created.json["campaign_id"]


def _deliveries(client, campaign_id) -> dict[str, dict]:
    found = client.get(f"/_sim/deliveries?campaign_id={campaign_id}&limit=1000").json
    return {d["customer_id"]: d for d in found["deliveries"]}


def _outcomes(client, campaign_id) -> dict[str, tuple]:
    return {cid: (d["status"], d["reason"]) for cid, d in _deliveries(client, campaign_id).items()}


NAMES = [f"u{n}" for n in range(6)]
SENT = ("sent", None)


# --- the raw server: edge cases of HTTP/1.1 -----------------------------------------------------

def test_an_idle_408_is_never_read_as_the_next_campaigns_answer(moesim, raw):
    """RFC 9110 §15.5.9: a server may send 408 on an idle kept-alive connection and close it;
    the next campaign's requests go on new connections and get their own answers."""
    client = moesim(send_concurrency=2)
    partner = raw(lambda request: response(200), idle_408_after=0.05)
    _users(client, NAMES)
    first = _connector_campaign(client, partner.url + "/send")
    connections = {r.connection for r in partner.requests}
    deadline = time.monotonic() + 10  # waits on the partner, not on moesim's scheduler
    while partner.idle_408s < len(connections) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert partner.idle_408s == len(connections)
    second = _connector_campaign(client, partner.url + "/send")
    assert _outcomes(client, first) == _outcomes(client, second) == dict.fromkeys(NAMES, SENT)
    assert partner.per_user() == dict.fromkeys(NAMES, 2)
    assert all(d["response"]["status"] == 200 for d in _deliveries(client, second).values())


def test_a_post_read_and_then_closed_unanswered_is_failed_and_never_sent_again(moesim, raw):
    """With retries off a request goes out once (docs/decisions.md): the partner closing the
    connection after reading it is that user's no_response:connection_closed."""
    client = moesim(send_concurrency=2)
    partner = raw(lambda request: CLOSE if request.index == 2 else response(200))
    _users(client, NAMES)
    campaign = _connector_campaign(client, partner.url + "/send")
    outcomes = _outcomes(client, campaign)
    closed = {r.user for r in partner.requests if r.index == 2}
    assert closed and outcomes == {
        name: ("failed", "no_response:connection_closed") if name in closed else SENT
        for name in NAMES}
    assert partner.per_user() == dict.fromkeys(NAMES, 1)


def test_hanging_answers_hold_only_their_own_slot(moesim, raw):
    """Each request has its own timeout; the others go on meanwhile (at most
    send_concurrency in flight, a new one as soon as any finishes)."""
    client = moesim(send_concurrency=4, send_timeout_s=1.0)
    hanging = {"u3", "u17"}
    partner = raw(lambda request: HANG if request.user in hanging else response(200))
    names = [f"u{n}" for n in range(40)]
    _users(client, names)
    started = time.monotonic()
    campaign = _connector_campaign(client, partner.url + "/send")
    assert time.monotonic() - started < 1.0 + 3
    assert _outcomes(client, campaign) == {
        name: ("failed", "no_response:timeout") if name in hanging else SENT for name in names}
    assert partner.per_user() == dict.fromkeys(names, 1)


@pytest.mark.parametrize("reply, body", [
    pytest.param(b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 16\n\n"
                 b'{"status": "ok"}', '{"status": "ok"}', id="LF-only head"),
    pytest.param(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                 + response(200), '{"status": "ok"}', id="interim 1xx answer first"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                 b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n", "hello world",
                 id="chunked with trailers"),
    pytest.param(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", "until the end",
                 id="close-delimited body"),
])
def test_every_way_of_framing_a_200_is_sent_with_its_body_logged(moesim, raw, reply, body):
    client = moesim(send_concurrency=2)
    partner = raw(lambda request: reply)
    _users(client, NAMES)
    campaign = _connector_campaign(client, partner.url + "/send")
    deliveries = _deliveries(client, campaign)
    assert {cid: (d["status"], d["http_status"]) for cid, d in deliveries.items()} == \
        dict.fromkeys(NAMES, ("sent", 200))
    assert {d["response"]["body"] for d in deliveries.values()} == {body}
    assert partner.per_user() == dict.fromkeys(NAMES, 1)


def test_a_body_in_its_declared_charset_is_decoded_before_its_filters_read_it(moesim, raw):
    """spec §2.7 response_body filters read the JSON a Latin-1 answer declares."""
    client = moesim()
    text = '{"status": "accepted", "name": "José"}'
    partner = raw(lambda request: response(200, text.encode("latin-1"), headers=(
        "Content-Type: application/json; charset=ISO-8859-1",)))
    _users(client, NAMES)
    campaign = _connected_app_campaign(client, partner.url + "/send")
    deliveries = _deliveries(client, campaign)
    assert {cid: d["status"] for cid, d in deliveries.items()} == dict.fromkeys(NAMES, "sent")
    assert {d["response"]["body"] for d in deliveries.values()} == {text}
    assert partner.per_user() == dict.fromkeys(NAMES, 1)


def test_a_100_kb_body_is_evaluated_whole_and_logged_as_an_excerpt(moesim, raw):
    client = moesim()
    big = json.dumps({"padding": "x" * 100_000, "status": "accepted"}).encode()
    partner = raw(lambda request: response(200, big))
    _users(client, NAMES)
    campaign = _connected_app_campaign(client, partner.url + "/send")
    deliveries = _deliveries(client, campaign)
    assert {cid: d["status"] for cid, d in deliveries.items()} == dict.fromkeys(NAMES, "sent")
    logged = deliveries["u0"]["response"]
    assert logged["body"] == big[:2048].decode() and "truncated" not in logged
    assert partner.per_user() == dict.fromkeys(NAMES, 1)


def test_a_redirect_is_not_followed_and_the_record_says_where_it_pointed(moesim, raw):
    """[I] MoEngage does not document redirects: moesim does not follow them (docs/decisions.md);
    the 307 is the partner's answer, Failed for a Connector campaign."""
    client = moesim()
    partner = raw(lambda request: response(307, b"", headers=("Location: /send/",),
                                           reason="Temporary Redirect"))
    _users(client, NAMES)
    campaign = _connector_campaign(client, partner.url + "/send")
    deliveries = _deliveries(client, campaign)
    assert {cid: (d["status"], d["reason"]) for cid, d in deliveries.items()} == \
        dict.fromkeys(NAMES, ("failed", "http:307"))
    logged = deliveries["u0"]["response"]
    assert logged["headers"]["location"] == "/send/"
    assert logged["detail"] == "redirect not followed: Location /send/"
    assert partner.per_user() == dict.fromkeys(NAMES, 1)


# --- real server stacks -------------------------------------------------------------------------

class _Stack:
    """A server stack run in a thread of the test, on a free loopback port."""

    def __init__(self, serve):
        self.received: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=serve, args=(self,), daemon=True)
        self._thread.start()

    def per_user(self) -> dict[str, int]:
        return {user: self.received.count(user) for user in set(self.received)}


@pytest.fixture
def fastapi_gzip():
    """uvicorn + FastAPI with GZipMiddleware: answers gzip to an Accept-Encoding: gzip."""
    api = FastAPI()
    api.add_middleware(GZipMiddleware, minimum_size=10)
    servers = []

    @api.post("/send/")  # a request to /send is redirected here (307)
    async def send(request: Request):
        user = (await request.json())["user"]
        stack.received.append(user)
        return {"status": "accepted", "user": user, "note": "compressed " * 20}

    def serve(stack):
        server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="off"))
        servers.append(server)
        server.run(sockets=[stack._sock])

    stack = _Stack(serve)
    deadline = time.monotonic() + 10
    while not (servers and servers[0].started) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield stack
    servers[0].should_exit = True
    stack._thread.join(10)


def test_fastapi_gzip_answers_are_decoded_and_judged(moesim, fastapi_gzip):
    """A connector copied from curl or Postman sends Accept-Encoding: gzip; the compressed
    answer is decoded before the response entries read it (spec §2.7)."""
    client = moesim()
    _users(client, NAMES)
    campaign = _connected_app_campaign(client, fastapi_gzip.url + "/send/",
                                       {"Accept-Encoding": "gzip"})
    deliveries = _deliveries(client, campaign)
    assert {cid: d["status"] for cid, d in deliveries.items()} == dict.fromkeys(NAMES, "sent")
    logged = deliveries["u1"]["response"]
    assert logged["headers"]["content-encoding"] == "gzip"
    assert json.loads(logged["body"])["user"] == "u1"
    assert fastapi_gzip.per_user() == dict.fromkeys(NAMES, 1)


def test_starlette_redirects_a_missing_slash_and_moesim_shows_it(moesim, fastapi_gzip):
    """Starlette answers /send with a 307 to /send/: Failed, not followed, the record shows
    the Location."""
    client = moesim()
    _users(client, NAMES)
    campaign = _connected_app_campaign(client, fastapi_gzip.url + "/send")
    deliveries = _deliveries(client, campaign)
    assert {(d["status"], d["http_status"]) for d in deliveries.values()} == {("failed", 307)}
    assert deliveries["u0"]["response"]["detail"].startswith("redirect not followed: Location ")
    assert fastapi_gzip.received == []


@pytest.fixture
def aiohttp_web():
    """aiohttp.web answering deflate-compressed JSON."""
    loop = asyncio.new_event_loop()

    async def send(request):
        user = (await request.json())["user"]
        stack.received.append(user)
        answer = web.json_response({"status": "accepted", "user": user})
        answer.enable_compression(web.ContentCoding.deflate)
        return answer

    def serve(stack):
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_post("/send", send)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, stack._sock).start())
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    stack = _Stack(serve)
    yield stack
    loop.call_soon_threadsafe(loop.stop)
    stack._thread.join(10)


def test_aiohttp_web_deflate_answers_are_decoded_and_judged(moesim, aiohttp_web):
    client = moesim(send_concurrency=3)
    names = [f"u{n}" for n in range(30)]
    _users(client, names)
    campaign = _connected_app_campaign(client, aiohttp_web.url + "/send",
                                       {"Accept-Encoding": "deflate"})
    deliveries = _deliveries(client, campaign)
    assert {cid: d["status"] for cid, d in deliveries.items()} == dict.fromkeys(names, "sent")
    assert deliveries["u7"]["response"]["headers"]["content-encoding"] == "deflate"
    assert json.loads(deliveries["u7"]["response"]["body"]) == {"status": "accepted",
                                                                "user": "u7"}
    assert aiohttp_web.per_user() == dict.fromkeys(names, 1)


def test_gzip_is_decoded_only_when_the_partner_says_so(moesim, raw):
    """A body that merely looks compressed is logged as it came (no Content-Encoding)."""
    client = moesim()
    packed = gzip.compress(b'{"status": "accepted"}')
    partner = raw(lambda request: response(200, packed, headers=(
        "Content-Type: application/octet-stream",)))
    _users(client, ["u0"])
    campaign = _connected_app_campaign(client, partner.url + "/send")
    assert _deliveries(client, campaign)["u0"]["status"] == "failed"
