"""``Transport`` over real loopback sockets: what goes on the wire, how results come back, and
each failure's outcome (docs/decisions.md, "The transport")."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
import time

import pytest

from simulator.core.http import (CONNECTION_CLOSED, CONNECTION_ERROR, INVALID_URL, TIMEOUT,
                                  OutboundRequest)
from simulator.transport import USER_AGENT, Transport

from .partners import CLOSE, HANG, free_port, response


@pytest.fixture
def transport():
    with Transport(timeout_s=2) as made:
        yield made


def post(url: str, body: bytes = b'{"user": "u"}', headers=()) -> OutboundRequest:
    return OutboundRequest("POST", url, tuple(headers), body)


def test_the_request_goes_out_as_built_with_only_host_length_and_user_agent_added(raw, transport):
    partner = raw(lambda request: response(200))
    result = transport.send(post(partner.url + "/v1/send?q=a%20b&x=%2F", b'{"a": 1}',
                                 [("X-Api-Key", "k"), ("X-Api-Key", "k2")]))
    assert result.status == 200
    (received,) = partner.requests
    lines = received.head.decode().split("\r\n")
    assert lines[0] == "POST /v1/send?q=a%20b&x=%2F HTTP/1.1"  # not re-encoded
    names = [line.split(":", 1)[0].lower() for line in lines[1:] if line]
    assert sorted(names) == ["content-length", "host", "user-agent", "x-api-key", "x-api-key"]
    assert f"User-Agent: {USER_AGENT}" in lines and USER_AGENT.startswith("moesim/")
    assert received.body == b'{"a": 1}'


def test_a_user_agent_of_the_request_wins(raw, transport):
    partner = raw(lambda request: response(200))
    transport.send(post(partner.url, headers=[("user-agent", "PartnerSDK/2")]))
    assert b"\r\nuser-agent: PartnerSDK/2\r\n" in partner.requests[0].head
    assert USER_AGENT.encode() not in partner.requests[0].head


def test_status_headers_and_body_of_the_answer_come_back(raw, transport):
    partner = raw(lambda request: response(201, b'{"id": 7}', headers=(
        "Content-Type: application/json", "X-Trace: a", "x-trace: b")))
    result = transport.send(post(partner.url))
    assert (result.status, result.body, result.error) == (201, b'{"id": 7}', None)
    assert result.headers["x-trace"] == "a, b" and result.header("Content-Type") == \
        "application/json"
    assert result.elapsed_ms > 0


def test_send_all_reads_its_input_lazily_and_keeps_at_most_concurrency_in_flight(raw):
    partner = raw(lambda request: response(200))
    taken = []

    def requests():
        for n in range(20):
            taken.append(n)
            yield n, post(partner.url, f'{{"user": "u{n}"}}'.encode())
    with Transport(concurrency=3) as transport:
        results = transport.send_all(requests())
        first = next(results)
        assert len(taken) == 3 and len(first) >= 1  # the rest waits for the caller
        done = [tag for tag, _ in first] + [tag for group in results for tag, _ in group]
    assert sorted(done) == list(range(20))
    assert sorted(r.user for r in partner.requests) == sorted(f"u{n}" for n in range(20))


def test_results_come_back_as_they_finish_not_in_input_order(raw):
    partner = raw(lambda request: HANG if request.user == "slow" else response(200))
    with Transport(timeout_s=1, concurrency=4) as transport:
        order = [tag for group in transport.send_all(
            (name, post(partner.url, f'{{"user": "{name}"}}'.encode()))
            for name in ("slow", "a", "b", "c", "d")) for tag, _ in group]
    assert order[-1] == "slow" and sorted(order[:-1]) == ["a", "b", "c", "d"]


def test_a_hanging_answer_times_out_on_its_own(raw):
    partner = raw(lambda request: HANG)
    with Transport(timeout_s=0.3) as transport:
        result = transport.send(post(partner.url))
    assert (result.status, result.error) == (None, TIMEOUT)
    assert 250 < result.elapsed_ms < 2000 and result.detail == "no response within 0.3 s"


@pytest.mark.parametrize("retries, answers, statuses, sent", [
    (0, [503], [503], 1),  # retries off: once, whatever came back
    (2, [503, 502, 200], [200], 3),
    (2, [500, 500, 500], [500], 3),
    (3, [400], [400], 1),  # a 4xx is an answer: never retried
])
def test_retries_on_5xx(raw, retries, answers, statuses, sent):
    replies = iter(answers)
    partner = raw(lambda request: response(next(replies)))
    with Transport(retries=retries, retry_wait_s=0) as transport:
        assert transport.send(post(partner.url)).status == statuses[-1]
    assert len(partner.requests) == sent


def test_retries_on_no_response_but_never_on_an_invalid_url():
    with Transport(retries=2, retry_wait_s=0, timeout_s=1) as transport:
        refused = transport.send(post(f"http://127.0.0.1:{free_port()}/"))
        assert refused.error == CONNECTION_ERROR
        assert transport.send(post("ftp://partner/")).error == INVALID_URL


@pytest.mark.parametrize("request_", [
    post("ftp://partner.test/x"),
    post("partner.test/x"),
    post("http:///x"),
    OutboundRequest("PO ST", "{url}"),
    post("{url}", headers=[("X-Bad", "a\r\nInjected: 1")]),
])
def test_a_request_that_cannot_be_put_on_the_wire_is_invalid_url(raw, transport, request_):
    partner = raw(lambda request: response(200))
    result = transport.send(OutboundRequest(request_.method, request_.url.format(url=partner.url),
                                            request_.headers, request_.body))
    assert (result.status, result.error) == (None, INVALID_URL) and result.detail


def test_a_refused_connection_is_a_connection_error(transport):
    result = transport.send(post(f"http://127.0.0.1:{free_port()}/"))
    assert (result.status, result.error) == (None, CONNECTION_ERROR)


def test_a_body_past_the_cap_keeps_its_first_bytes_and_says_so(raw):
    partner = raw(lambda request: response(200, b"x" * 5000))
    with Transport(max_body_bytes=1000) as transport:
        result = transport.send(post(partner.url))
        assert (result.status, len(result.body), result.truncated) == (200, 1000, True)
        assert result.detail == "body over 1000 bytes: the first ones kept"
        assert transport.send(post(partner.url)).status == 200  # the transport goes on


def test_a_declared_charset_is_kept_for_decoding(raw, transport):
    partner = raw(lambda request: response(200, "é".encode("latin-1"), headers=(
        "Content-Type: text/plain; charset=latin-1",)))
    result = transport.send(post(partner.url))
    assert (result.charset, result.text()) == ("iso8859-1", "é")


def test_a_closed_transport_refuses_to_send():
    transport = Transport()
    transport.close()
    with pytest.raises(RuntimeError):
        transport.send(post("http://127.0.0.1:9/"))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_partner(certificate):
    """A TLS endpoint with a self-signed certificate, as a partner's local one would be."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port = []

    async def serve(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(response(200))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client that does not trust the certificate hangs up
        finally:
            writer.close()

    def run():
        loop.set_exception_handler(lambda loop, context: None)  # refused handshakes
        server = loop.run_until_complete(asyncio.start_server(serve, "127.0.0.1", 0,
                                                              ssl=context))
        port.append(server.sockets[0].getsockname()[1])
        started.set()
        loop.run_forever()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    yield f"https://127.0.0.1:{port[0]}/send", str(cert)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_a_partners_own_certificate_is_trusted_through_the_ca_bundle_setting(tls_partner):
    url, cert = tls_partner
    with Transport(ca_bundle=cert) as trusting:
        assert trusting.send(OutboundRequest("GET", url)).status == 200
    with Transport() as default:  # the system's CAs do not trust a self-signed certificate
        refused = default.send(OutboundRequest("GET", url))
    assert refused.error == CONNECTION_ERROR and "CERTIFICATE_VERIFY_FAILED" in refused.detail


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST", "PATCH"])
def test_no_method_is_sent_again_when_the_partner_closes_before_answering(raw, method):
    """aiohttp would send an idempotent request again on a new connection: a send goes out
    once whatever its method (docs/decisions.md, "The transport")."""
    partner = raw(lambda request: CLOSE)
    with Transport(timeout_s=2) as transport:
        result = transport.send(OutboundRequest(method, partner.url + "/x"))
    assert (result.status, result.error) == (None, CONNECTION_CLOSED)
    assert len(partner.requests) == 1


@pytest.mark.parametrize("url", ["{url}/search?q=a b", "{url}/a\tb", "{url}/a\r\nX: 1"])
def test_whitespace_or_control_characters_in_the_url_are_invalid_not_sent(raw, transport, url):
    partner = raw(lambda request: response(200))
    result = transport.send(post(url.format(url=partner.url)))
    assert result.error == INVALID_URL and partner.requests == []


def test_framing_headers_of_the_request_are_the_transports(raw, transport):
    """A configured Content-Length would cut the body or leave the partner waiting."""
    partner = raw(lambda request: response(200))
    result = transport.send(post(partner.url, b'{"a": 1}', [("Content-Length", "2")]))
    assert result.status == 200 and partner.requests[0].body == b'{"a": 1}'


def test_a_ca_bundle_that_cannot_be_read_fails_when_the_transport_is_made(tmp_path):
    with pytest.raises(OSError):
        Transport(ca_bundle=str(tmp_path / "missing.pem"))


def test_an_error_in_the_input_comes_after_the_results_of_what_was_sent(raw):
    partner = raw(lambda request: response(200))

    def requests():
        yield "a", post(partner.url)
        yield "b", post(partner.url)
        raise RuntimeError("a bug while building the next request")
    seen = []
    with Transport() as transport:
        with pytest.raises(RuntimeError, match="a bug"):
            for group in transport.send_all(requests()):
                seen += [tag for tag, _ in group]
    assert sorted(seen) == ["a", "b"] and len(partner.requests) == 2


def test_a_connection_closed_while_the_caller_was_away_is_not_used_again(raw):
    """Mid-send, the partner closes an idle kept-alive connection while moesim records; the
    next request goes on a new connection and gets its answer."""
    partner = raw(lambda request: response(200, headers=("Content-Type: application/json",))
                  if request.index == 1 else response(500), idle_408_after=0.05)
    results = []
    with Transport(timeout_s=2, concurrency=1) as transport:
        for group in transport.send_all((n, post(partner.url)) for n in range(3)):
            results += [result.status for _, result in group]
            time.sleep(0.2)  # the caller records: the partner times the connection out
    assert results == [200, 200, 200] and partner.idle_408s >= 2
