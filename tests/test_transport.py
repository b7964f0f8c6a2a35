"""``simulator.transport``: real sockets on 127.0.0.1 against the standalone sink, plus a
scripted raw server for the response shapes the sink never produces."""

import http.client
import itertools
import json
import pickle
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import datetime, timezone

import pytest

from simulator.core import jsontext
from simulator.core.clock import VirtualClock
from simulator.core.http import CONNECTION_ERROR, INVALID_URL, TIMEOUT, OutboundRequest
from simulator.sinkserver import make_server
from simulator.transport import MAX_BODY_BYTES, Transport

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


class Sink:
    """The standalone sink in a thread, counting the connections it accepts."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.server = make_server("127.0.0.1", 0, seed=0, clock=VirtualClock(NOW))
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.accepted: list[tuple[tuple, socket.socket]] = []
        self.control_ports: set[int] = set()
        self.server.verify_request = self._accept
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _accept(self, request, address) -> bool:
        self.accepted.append((address, request))
        return True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def control(self, method: str, path: str, payload=None):
        """Our own http.client connection, so checks never go through the code under test."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        connection.connect()
        self.control_ports.add(connection.sock.getsockname()[1])
        try:
            body = None if payload is None else json.dumps(payload)
            connection.request(method, path, body=body)
            response = connection.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            connection.close()

    def configure(self, name: str, **behaviour) -> None:
        assert self.control("PUT", f"/_sim/sinks/{name}", behaviour)[0] == 200

    def records(self, name: str) -> list[dict]:
        return self.control("GET", f"/_sim/sinks/{name}")[1]["requests"]

    def transport_sockets(self) -> list[socket.socket]:
        return [s for address, s in self.accepted if address[1] not in self.control_ports]

    def drop_idle_connections(self) -> None:
        """What a server does to keep-alive connections left idle: close them."""
        for sock in self.transport_sockets():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def sink():
    server = Sink()
    yield server
    server.stop()


@pytest.fixture
def transport():
    with Transport(timeout_s=5, concurrency=4) as transport:
        yield transport


class RawServer:
    """A raw HTTP server on a thread: ``handle`` serves each accepted connection in turn (or,
    ``threaded``, each on a thread of its own), while ``serving()``. Subclasses set their
    state before calling ``__init__``."""

    threaded = False

    def __init__(self):
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def serving(self) -> bool:
        return True

    def handle(self, sock: socket.socket) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while self.serving():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.threaded:
                threading.Thread(target=self._handle, args=(sock,), daemon=True).start()
            else:
                self._handle(sock)

    def _handle(self, sock: socket.socket) -> None:
        with sock:
            self.handle(sock)

    def close(self) -> None:
        self.listener.close()


class Scripted(RawServer):
    """A raw HTTP server answering each request with the next canned response, verbatim.
    ``None`` in the script closes the connection instead of answering; so does the script's
    end, right after its last response."""

    def __init__(self, script: list[bytes | None]):
        self.script, self.requests = list(script), []
        super().__init__()

    def serving(self) -> bool:
        return bool(self.script)

    def handle(self, sock: socket.socket) -> None:
        buffer = b""
        while self.script:
            request, buffer = read_request(sock, buffer)
            if request is None:
                break
            self.requests.append(request[0] + b"\r\n\r\n" + request[1])
            reply = self.script.pop(0)
            if reply is None:
                break
            sock.sendall(reply)


def read_request(sock: socket.socket, buffer: bytes) -> tuple[tuple[bytes, bytes] | None, bytes]:
    """The next ``(head, body)`` off a raw server socket (None when it closed), and the bytes
    after it (pipelined requests)."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return None, buffer
        buffer += data
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(buffer) < length:
        buffer += sock.recv(65536)
    return (head, buffer[:length]), buffer[length:]


@pytest.fixture
def scripted():
    servers = []

    def start(*script):
        servers.append(Scripted(list(script)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def get(url: str, headers=()) -> OutboundRequest:
    return OutboundRequest("GET", url, tuple(headers))


@pytest.mark.parametrize("method, body", [
    ("GET", None), ("POST", b'{"to": "+919800000001", "text": "Hi \\u00e9"}'),
    ("PUT", b"plain \x00 bytes \xff"), ("DELETE", b'{"id": 7}'), ("DELETE", None)])
def test_method_headers_and_body_arrive_exactly(sink, transport, method, body):
    headers = (("Content-Type", "application/json"), ("X-Api-Key", "k-1"),
               ("Authorization", "Bearer t0k3n"), ("X-Multi", "a"), ("X-Multi", "b"))
    result = transport.send(OutboundRequest(method, f"{sink.url}/_sim/sink/p/v1/send?a=1&b=%20x",
                                            headers, body))
    assert (result.status, result.error, result.body) == (200, None, b'{"status": "success"}')
    assert result.header("Content-Type") == "application/json" and result.elapsed_ms > 0
    [record] = sink.records("p")
    assert (record["method"], record["path"], record["query"]) == (method, "/v1/send",
                                                                   "a=1&b=%20x")
    expected = {"Host": f"127.0.0.1:{sink.port}", "Content-Type": "application/json",
                "X-Api-Key": "k-1", "Authorization": "Bearer t0k3n", "X-Multi": "a,b"}
    if body is not None:
        expected["Content-Length"] = str(len(body))
    assert record["headers"] == expected
    sent = body or b""
    assert record["body"] == (sent.decode() if record["body_encoding"] == "utf-8" else
                              __import__("base64").b64encode(sent).decode())


def test_a_body_larger_than_the_socket_buffers_is_written_whole(sink, transport):
    """The non-blocking socket takes a large body in parts, waiting for room between them."""
    body = bytes(range(256)) * (6 * 4096)  # 6 MB
    result = transport.send(OutboundRequest("POST", f"{sink.url}/_sim/sink/big", (), body))
    assert (result.status, result.error) == (200, None)
    [record] = sink.records("big")
    assert __import__("base64").b64decode(record["body"]) == body


def test_status_headers_and_body_of_the_answer_are_returned(sink, transport):
    sink.configure("p", status=202, headers={"X-Trace": "t-1"}, body={"queued": True})
    result = transport.send(OutboundRequest("POST", f"{sink.url}/_sim/sink/p", (), b"{}"))
    assert (result.status, result.header("x-trace"), json.loads(result.body)) == (
        202, "t-1", {"queued": True})
    assert all(name == name.lower() for name in result.headers)


def test_head_answers_have_no_body_to_read(sink, transport):
    head = transport.send(OutboundRequest("HEAD", f"{sink.url}/_sim/sink/h"))
    assert (head.status, head.body, head.header("content-length")) == (200, b"", "21")
    assert transport.send(get(f"{sink.url}/_sim/sink/h")).body == b'{"status": "success"}'
    assert len(sink.transport_sockets()) == 1


def test_send_all_yields_results_in_input_order_under_concurrency(sink):
    for n in range(12):  # slower and faster partners, each answering with its own name
        sink.configure(f"s{n}", body={"sink": n}, delay_ms=(n * 7) % 20)
    order = [n % 12 for n in range(0, 7 * 120, 7)]
    with Transport(concurrency=8) as transport:
        results = list(transport.send_all(get(f"{sink.url}/_sim/sink/s{n}") for n in order))
    assert [json.loads(r.body)["sink"] for r in results] == order
    assert 1 < len(sink.transport_sockets()) <= 8


def test_send_all_reads_its_input_lazily(sink):
    pulled = []

    def endless():
        for n in itertools.count():
            pulled.append(n)
            yield get(f"{sink.url}/_sim/sink/lazy?n={n}")

    with Transport(concurrency=4) as transport:
        results = transport.send_all(endless())
        first = list(itertools.islice(results, 30))
        results.close()
    assert [r.status for r in first] == [200] * 30
    assert len(pulled) <= 30 + 4  # one flight a connection ahead of the last result


def test_connections_are_kept_alive_and_reused(sink, transport):
    for n in range(50):
        assert transport.send(get(f"{sink.url}/_sim/sink/ka?n={n}")).status == 200
    assert len(sink.transport_sockets()) == 1
    results = list(transport.send_all(get(f"{sink.url}/_sim/sink/ka?n={n}") for n in range(200)))
    assert [r.status for r in results] == [200] * 200
    assert len(sink.records("ka")) == 250
    assert len(sink.transport_sockets()) <= 1 + 4


def test_a_slow_partner_times_out(sink):
    sink.configure("slow", delay_ms=3000)
    with Transport(timeout_s=0.2) as transport:
        result = transport.send(get(f"{sink.url}/_sim/sink/slow"))
        assert (result.status, result.error) == (None, TIMEOUT)
        assert 190 <= result.elapsed_ms < 2000
        assert transport.send(get(f"{sink.url}/_sim/sink/fast")).status == 200


@pytest.mark.parametrize("retries", [0, 1])
def test_a_slow_partner_does_not_time_out_the_answered_requests_behind_it(sink, retries):
    """Responses are read in input order: those behind a slow one are read after its timeout,
    past their own deadlines, and still count (and are not sent again)."""
    sink.configure("slow", delay_ms=800)
    with Transport(timeout_s=0.3, concurrency=8, retries=retries,
                   sleep=(slept := Waits())) as transport:
        results = list(transport.send_all([get(f"{sink.url}/_sim/sink/slow")] + [
            get(f"{sink.url}/_sim/sink/fast{n}") for n in range(5)]))
    assert [(r.status, r.error) for r in results] == [(None, TIMEOUT)] + [(200, None)] * 5
    assert [len(sink.records(f"fast{n}")) for n in range(5)] == [1] * 5
    assert slept == [5.0] * retries


def test_a_refused_connection_is_a_connection_error(transport):
    with socket.socket() as bound_not_listening:
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]
        result = transport.send(get(f"http://127.0.0.1:{port}/x"))
    assert (result.status, result.error) == (None, CONNECTION_ERROR)
    assert "refused" in result.detail.lower()


@pytest.mark.parametrize("request_", [
    get("ftp://partner.test/x"), get("partner.test/no-scheme"), get("http:///no-host"),
    get("http://partner.test:99999/"), get("http://partner.test:0/"), get("http://part ner.test/"),
    get("http://partner.test/a\r\nX-Injected: 1"), get(""),
    get("http://partner.test/", [("Bad Name", "v")]),
    get("http://partner.test/", [("X-Split", "v\r\nX-Injected: 1")]),
    OutboundRequest("GE T", "http://partner.test/"),
])
def test_an_unsendable_request_is_invalid_url(transport, request_):
    result = transport.send(request_)
    assert (result.status, result.error) == (None, INVALID_URL) and result.detail


def test_idle_connections_closed_by_the_server_are_survived(sink, transport):
    assert transport.send(get(f"{sink.url}/_sim/sink/idle")).status == 200
    batch = [get(f"{sink.url}/_sim/sink/idle") for _ in range(16)]
    assert [r.status for r in transport.send_all(batch)] == [200] * 16
    before = len(sink.transport_sockets())
    sink.drop_idle_connections()
    assert transport.send(get(f"{sink.url}/_sim/sink/idle")).status == 200
    assert [r.status for r in transport.send_all(batch)] == [200] * 16
    assert len(sink.records("idle")) == 34  # each sent once: no duplicate from the resend
    assert len(sink.transport_sockets()) > before


def test_connection_close_is_honoured_both_ways(sink, transport, scripted):
    for _ in range(3):
        assert transport.send(get(f"{sink.url}/_sim/sink/c", [("Connection", "close")])).status \
            == 200
    assert len(sink.transport_sockets()) == 3
    server = scripted(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na",
                      b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb")
    assert [transport.send(get(server.url)).body for _ in range(2)] == [b"a", b"b"]
    assert server.connections == 2


def test_chunked_and_close_delimited_bodies(transport, scripted):
    server = scripted(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nX-Folded: a\r\n b\r\n\r\nuntil close")
    results = [transport.send(get(server.url)) for _ in range(3)]
    assert [(r.status, r.body) for r in results] == [
        (200, b"hello world"), (201, b"ok"), (200, b"until close")]
    assert results[2].header("x-folded") == "a b"
    assert server.connections == 1  # kept alive across the chunked and the 100-continue answers


@pytest.mark.parametrize("reply, detail", [
    (b"garbage\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "before the body's end"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "Content-Length"),
    (None, "before a complete response"),
    ("HTTP/1.1 ²00 OK\r\nContent-Length: 0\r\n\r\n".encode("latin-1"), "status line"),
    ("HTTP/1.1 200 OK\r\nContent-Length: ²\r\n\r\n".encode("latin-1"), "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc", "chunk size"),
])
def test_a_broken_response_is_a_connection_error(transport, scripted, reply, detail):
    server = scripted(reply)  # then the script is over: the server closes the connection
    result = transport.send(OutboundRequest("POST", server.url, (), b"{}"))
    assert (result.status, result.error) == (None, CONNECTION_ERROR)
    assert detail in result.detail


def test_bodies_are_capped_and_the_connection_stays_usable(sink, transport, scripted):
    sink.configure("big", body="x" * (MAX_BODY_BYTES + 40_000))
    for _ in range(2):
        result = transport.send(get(f"{sink.url}/_sim/sink/big"))
        assert result.status == 200 and result.body == b"x" * MAX_BODY_BYTES
    assert len(sink.transport_sockets()) == 1
    server = scripted(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")
    with Transport(max_body_bytes=4) as small:
        assert small.send(get(server.url)).body == b"abcd"


class Waits(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.mark.parametrize("behaviour, retries, status, waits, sent", [
    ({"fail_next": {"count": 2, "status": 503}}, 3, 200, [5.0, 5.0], 3),
    ({"fail_next": {"count": 5, "status": 500}}, 2, 500, [5.0, 5.0], 3),
    ({"status": 400}, 3, 400, [], 1),
    ({"fail_next": {"count": 1, "status": 502}}, 0, 502, [], 1),
])
def test_retries_on_5xx_with_an_injected_wait(sink, behaviour, retries, status, waits, sent):
    sink.configure("r", **behaviour)
    with Transport(retries=retries, sleep=(slept := Waits())) as transport:
        assert transport.send(get(f"{sink.url}/_sim/sink/r")).status == status
    assert (slept, len(sink.records("r"))) == (waits, sent)


def test_retries_on_no_response_but_never_on_an_invalid_url(sink):
    with socket.socket() as bound_not_listening:
        bound_not_listening.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{bound_not_listening.getsockname()[1]}/"
        with Transport(retries=2, retry_wait_s=1.5, sleep=(slept := Waits())) as transport:
            assert transport.send(get(refused)).error == CONNECTION_ERROR
            assert slept == [1.5, 1.5]
            assert transport.send(get("gopher://x/")).error == INVALID_URL
            assert slept == [1.5, 1.5]
    sink.configure("flaky", fail_next={"count": 1, "status": 500})
    with Transport(concurrency=2, retries=1, sleep=(slept := Waits())) as transport:
        results = list(transport.send_all([get(f"{sink.url}/_sim/sink/flaky")] * 3))
    assert ([r.status for r in results], slept) == ([200] * 3, [5.0])


def test_an_error_in_the_input_reaches_the_caller(sink, transport):
    def failing():
        yield get(f"{sink.url}/_sim/sink/e")
        raise ValueError("bad user row")

    with pytest.raises(ValueError, match="bad user row"):
        list(transport.send_all(failing()))


def test_a_closed_transport_refuses_to_send(sink):
    transport = Transport()
    transport.close()
    with pytest.raises(RuntimeError):
        transport.send(get(f"{sink.url}/_sim/sink/x"))


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


def test_https_with_certificate_verification(certificate):
    cert, key = certificate
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    sink = Sink(tls=server_side)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        with Transport(ssl_context=trusting) as transport:
            for body in (b'{"a": 1}', b"x" * (3 * 1024 * 1024)):  # TLS records in parts
                result = transport.send(OutboundRequest("POST", f"{sink.url}/_sim/sink/tls",
                                                        (), body))
                assert result.status == 200
        assert len(sink.transport_sockets()) == 1  # (200: the sink read the whole body)
        with Transport() as default:  # the default context does not trust a self-signed cert
            refused = default.send(get(f"{sink.url}/_sim/sink/tls"))
        assert refused.error == CONNECTION_ERROR and "CERTIFICATE_VERIFY_FAILED" in refused.detail
    finally:
        sink.stop()


def test_only_an_https_connection_loads_the_default_ca_certificates(sink):
    """Loading them takes tens of milliseconds: a transport that sends over http never does."""
    with Transport() as transport:
        assert transport.send(get(f"{sink.url}/_sim/sink/x")).status == 200
        assert transport._tls is None
        transport.send(get(sink.url.replace("http://", "https://") + "/_sim/sink/x"))
        assert isinstance(transport._tls, ssl.SSLContext)


def test_https_to_a_plain_http_port_is_a_connection_error(sink, transport):
    result = transport.send(get(sink.url.replace("http://", "https://") + "/_sim/sink/x"))
    assert (result.status, result.error) == (None, CONNECTION_ERROR)


# --- pipelining (Transport(pipeline=N), MOESIM_SEND_PIPELINE) ---------------------------------

class KeepAliveLimit(RawServer):
    """A server answering at most ``per_connection`` requests per connection, echoing each
    request's body, then closing, with or without saying ``Connection: close`` first, and
    dropping whatever further requests it had read (as nginx's ``keepalive_requests`` does)."""

    def __init__(self, per_connection: int, announce: bool):
        self.per_connection, self.announce = per_connection, announce
        self.answered: list[bytes] = []
        super().__init__()
        self.url += "/"

    def handle(self, sock: socket.socket) -> None:
        buffer, served = b"", 0
        while served < self.per_connection:
            request, buffer = read_request(sock, buffer)
            if request is None:
                break
            body, length = request[1], len(request[1])
            served += 1
            self.answered.append(body)
            last = served == self.per_connection and self.announce
            sock.sendall(b"HTTP/1.1 200 OK\r\n" + (b"Connection: close\r\n" if last
                         else b"") + b"Content-Length: %d\r\n\r\n" % length + body)


class OneAtATime(RawServer):
    """Echoes each request's body; counts requests that arrived on a connection before the
    one ahead of them was answered (pipelined)."""

    threaded = True

    def __init__(self):
        self.early = 0
        super().__init__()
        self.url += "/"

    def handle(self, sock: socket.socket) -> None:
        buffer = b""
        while True:
            request, buffer = read_request(sock, buffer)
            if request is None:
                return
            self.early += bool(buffer)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(request[1])
                         + request[1])


@pytest.mark.parametrize("concurrency", [1, 2, 16])
def test_without_pipelining_a_connection_carries_one_request_at_a_time(concurrency):
    """Several requests in flight, each on a connection of its own: a request goes on a
    connection only once the one before it there was answered; results stay in order."""
    server = OneAtATime()
    try:
        with Transport(timeout_s=5, concurrency=concurrency) as transport:
            results = list(transport.send_all(post(server.url, n) for n in range(64)))
        assert [json.loads(r.body)["n"] for r in results] == list(range(64))
        assert server.early == 0
    finally:
        server.close()


def post(url: str, n: int) -> OutboundRequest:
    return OutboundRequest("POST", url, (("Content-Type", "application/json"),),
                           json.dumps({"n": n}).encode())


def test_pipelined_send_all_keeps_input_order_and_sends_each_request_once(sink):
    for n in range(5):
        sink.configure(f"p{n}", body={"sink": n}, delay_ms=(n * 7) % 20)
    order = [n % 5 for n in range(0, 3 * 150, 3)]
    with Transport(concurrency=2, pipeline=8) as transport:
        results = list(transport.send_all(get(f"{sink.url}/_sim/sink/p{n}") for n in order))
    assert [json.loads(r.body)["sink"] for r in results] == order
    assert sum(len(sink.records(f"p{n}")) for n in range(5)) == 150
    assert len(sink.transport_sockets()) <= 2


@pytest.mark.parametrize("announce", [True, False], ids=["connection-close", "silent-close"])
def test_pipelined_requests_a_server_leaves_unanswered_go_again_on_a_new_connection(announce):
    server = KeepAliveLimit(per_connection=3, announce=announce)
    try:
        with Transport(concurrency=1, pipeline=8) as transport:
            results = list(transport.send_all(post(server.url, n) for n in range(20)))
    finally:
        server.close()
    assert [(r.status, json.loads(r.body)["n"]) for r in results] == [(200, n) for n in range(20)]
    assert sorted(json.loads(body)["n"] for body in server.answered) == list(range(20))
    assert server.connections == 7  # 3 answered per connection


def test_pipelined_requests_all_time_out_when_the_server_does_not_answer(sink):
    sink.configure("slowpipe", delay_ms=3000)
    with Transport(timeout_s=0.2, concurrency=1, pipeline=4) as transport:
        results = list(transport.send_all(get(f"{sink.url}/_sim/sink/slowpipe")
                                          for _ in range(4)))
        assert [(r.status, r.error) for r in results] == [(None, TIMEOUT)] * 4
        assert transport.send(get(f"{sink.url}/_sim/sink/fast")).status == 200


def test_pipelining_is_off_by_default_and_refuses_a_depth_below_one():
    assert Transport().pipeline == 1
    with pytest.raises(ValueError):
        Transport(pipeline=0)


def test_repeated_heads_share_one_read_only_headers_mapping(sink, transport):
    """Identical response heads are parsed once and their results share the headers (no copy
    per response), so a caller cannot change them for the others."""
    first, second = (transport.send(get(f"{sink.url}/_sim/sink/heads")) for _ in range(2))
    assert second.status == 200 and second.headers is first.headers
    assert second.headers["content-type"].startswith("application/json")
    for change in (lambda h: h.__setitem__("x-changed", "1"), lambda h: h.pop("content-type"),
                   lambda h: h.update(x=1), lambda h: h.clear(), lambda h: h.__delitem__("date"),
                   lambda h: h.setdefault("x", "1"), lambda h: h.popitem()):
        with pytest.raises(TypeError, match="read-only"):
            change(first.headers)
    assert dict(second.headers) == dict(first.headers) and "x-changed" not in first.headers
    assert pickle.loads(pickle.dumps(first.headers)) == first.headers
    assert json.loads(jsontext.dumps(first.headers)) == dict(first.headers)


def test_a_timeout_of_weeks_is_waited_in_turns(sink):
    """Review finding: ``poll`` takes milliseconds as a C int, so a timeout above ~24.8 days
    (someone meaning "no timeout") overflowed instead of being waited."""
    with Transport(timeout_s=3_000_000.0) as patient:
        result = patient.send(get(f"{sink.url}/_sim/sink/x"))
    assert (result.status, result.error) == (200, None)


class AllAtOnce(RawServer):
    """Reads the requests of each step of ``script`` (``(count, reply)``), then writes its
    reply bytes in one go, so a pipelined client finds all the responses in one read."""

    def __init__(self, script: list[tuple[int, bytes]]):
        self.script = list(script)
        super().__init__()
        self.url += "/"

    def serving(self) -> bool:
        return bool(self.script)

    def handle(self, sock: socket.socket) -> None:
        buffer = b""
        while self.script:
            count, reply = self.script[0]
            for _ in range(count):
                request, buffer = read_request(sock, buffer)
                if request is None:
                    return
            self.script.pop(0)
            sock.sendall(reply)


def one_flight(script: list[tuple[int, bytes]], make_requests):
    """``make_requests(url)`` sent as one pipelined flight to an ``AllAtOnce`` server, then one
    more request: (the flight's results, the one after, the connections the server took)."""
    server = AllAtOnce(script)
    try:
        requests = make_requests(server.url)
        with Transport(concurrency=1, pipeline=len(requests)) as transport:
            results = list(transport.send_all(requests))
            after = transport.send(post(server.url, len(requests)))
    finally:
        server.close()
    return results, after, server.connections


def ok(body: bytes, head_only: bool = False) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + (
        b"" if head_only else body)


def test_identical_pipelined_responses_read_together_share_one_result():
    """A partner's usual answer to a run of alike requests is the same bytes each time: the
    responses after one read whole off the buffer are recognised by comparing their bytes,
    and share its (read-only) result. A different one between them, or a HEAD request,
    still gets its own."""
    a, b = ok(b'{"ok": 1}'), ok(b'{"ok": 2}')
    results, after, connections = one_flight(
        [(8, a + a + a + b + a + ok(b'{"ok": 1}', head_only=True) + a + a), (1, a)],
        lambda url: [OutboundRequest("HEAD", url) if n == 5 else post(url, n) for n in range(8)])
    assert [(r.status, r.body) for r in results] == [
        (200, b'{"ok": 1}')] * 3 + [(200, b'{"ok": 2}'), (200, b'{"ok": 1}'), (200, b""),
                                    (200, b'{"ok": 1}'), (200, b'{"ok": 1}')]
    assert results[1] is results[2] and results[6] is results[7]
    assert results[3] is not results[4] and results[4] is not results[6]
    assert (after.status, after.body) == (200, b'{"ok": 1}')
    assert connections == 1  # kept alive throughout


def test_identical_responses_past_the_requests_sent_are_not_taken_as_answers():
    """Bytes after the last expected response make the connection unsafe to reuse, however
    alike they are: the results are the requests' own, and the next send connects again. (A
    run of three: the first response of a flight is read the slow way, so the third is the
    one ``Connection.again`` answers; review finding.)"""
    a = ok(b'{"ok": 1}')
    results, after, connections = one_flight(
        [(3, a + a + a + a), (1, ok(b'{"ok": 2}'))], lambda url: [post(url, n) for n in range(3)])
    assert [(r.status, r.body) for r in results] == [(200, b'{"ok": 1}')] * 3
    assert results[1] is results[2]
    assert (after.status, after.body) == (200, b'{"ok": 2}')
    assert connections == 2


def test_a_request_that_closes_the_connection_is_answered_the_usual_way():
    """``Connection: close`` ends a run and the connection after its answer, even when its
    answer is the same bytes as the one before (review finding)."""
    a = ok(b'{"ok": 1}')
    results, after, connections = one_flight(
        [(3, a + a + a), (1, ok(b'{"ok": 2}'))],
        lambda url: [post(url, 0), post(url, 1), OutboundRequest(
            "POST", url, (("Connection", "close"),), b'{"n": 2}')])
    assert [r.body for r in results] == [b'{"ok": 1}'] * 3
    assert (after.status, after.body) == (200, b'{"ok": 2}')
    assert connections == 2


def test_a_head_request_is_never_answered_by_the_bytes_of_a_response_with_a_body():
    """A HEAD answer has no body. Here the GET answer's body is the first bytes of its own
    head, so the HEAD answer followed by the next one starts with the GET answer's very bytes:
    only the method tells them apart."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    a = head + head[:10]
    results, after, connections = one_flight(
        [(4, a + a + head + a), (1, a)],
        lambda url: [OutboundRequest("HEAD", url) if n == 2 else post(url, n) for n in range(4)])
    assert [r.body for r in results] == [head[:10], head[:10], b"", head[:10]]
    assert after.body == head[:10] and connections == 1


def test_a_request_sent_again_goes_out_as_the_bytes_made_at_its_first_send(sink, transport):
    """A kept request (a periodic campaign's unchanged user) is written out once: its bytes
    stay on it (``OutboundRequest.wire``), which is not part of its value and not copied."""
    import dataclasses

    request = post(f"{sink.url}/_sim/sink/again", 1)
    assert transport.send(request).status == 200
    wire = request.wire
    assert wire is not None and wire.data.endswith(b"\r\n\r\n" + request.body)
    assert transport.send(request).status == 200 and request.wire is wire
    assert [r["json"] for r in sink.records("again")] == [{"n": 1}] * 2
    assert request == post(f"{sink.url}/_sim/sink/again", 1)
    changed = dataclasses.replace(request, body=b'{"n": 2}')
    assert changed.wire is None and transport.send(changed).status == 200
    assert [r["json"] for r in sink.records("again")] == [{"n": 1}] * 2 + [{"n": 2}]
