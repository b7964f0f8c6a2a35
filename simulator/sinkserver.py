"""``moesim sink``: the capture sink as a standalone server, without Flask.

The same sink as the app's ``/_sim/sink/<name>`` (the rules are ``core.sinks``; the routes and
JSON bodies match ``api/sim.py``), kept in memory and served by the standard library's
``ThreadingHTTPServer``: one daemon thread per connection, HTTP/1.1 keep-alive, Nagle off.

Routes::

    <any method> /_sim/sink/<name>[/<path>]   answered per the sink's behaviour, recorded
    GET    /_sim/sinks/<name>                 behaviour, counters and recorded requests
    PUT    /_sim/sinks/<name>                 set the behaviour (JSON body)
    DELETE /_sim/sinks/<name>                 forget the sink (204)
    POST   /_sim/reset                        forget every sink
    GET    /_sim/health, GET /_sim/ready      {"status": "ok"} / {"status": "ready"}

Like the app: unknown paths answer 404 and a known path with the wrong method 405, both with
our JSON error body; request headers are recorded with title-cased names, repeated headers
joined with ``,``, names containing ``_`` dropped (what werkzeug does), so a record reads the
same from either server. Differences, on purpose: a ``PUT`` body is read as JSON whatever its
``Content-Type``; an unrecognised method token answers 501.

Request bodies are read by ``Content-Length``, or decoded when sent with
``Transfer-Encoding: chunked``; any other transfer coding, a malformed length or a body over
``MAX_BODY_BYTES`` is answered (400 or 413) and the connection closed, since the next request
on it cannot be found. Responses always carry ``Content-Length``, except where HTTP forbids a
body (1xx, 204, 304). Each sink keeps its newest ``max_records`` requests in memory (the
``sink_max_records`` setting) until ``DELETE`` or reset; ``served`` counts every request.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import unquote

from .core import json_input
from .core.clock import Clock, SystemClock
from .core.errors import BadRequest, MoesimError, NotFound, PayloadTooLarge
from .core.sinks import (ReceivedRequest, SinkAnswer, SinkBehaviour, SinkState, answer,
                         configure, record)
from .core.settings import Settings
from .core.timestamps import iso

log = logging.getLogger("moesim.sink")

MAX_BODY_BYTES = 32 * 1024 * 1024
IDLE_TIMEOUT_S = 300  # a keep-alive connection silent this long is closed, freeing its thread
_NO_BODY_STATUSES = {HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED}
_FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection"}


@dataclass
class _Sink:
    requests: deque
    state: SinkState = field(default_factory=SinkState)


class SinkLedger:
    """Every sink's state and its newest ``max_records`` requests, behind one lock."""

    def __init__(self, seed: int, clock: Clock, max_records: int | None = None):
        self._seed = seed
        self._clock = clock
        self._max_records = max_records or Settings().sink_max_records
        self._lock = threading.Lock()
        self._sinks: dict[str, _Sink] = {}

    def _new(self) -> _Sink:
        return _Sink(deque(maxlen=self._max_records))

    def receive(self, name: str, request: ReceivedRequest) -> SinkAnswer:
        """Answer and record one request; the caller waits ``delay_ms``, outside the lock."""
        with self._lock:
            sink = self._sinks.get(name)
            if sink is None:
                sink = self._sinks[name] = self._new()
            reply, sink.state = answer(sink.state, name, self._seed)
            sink.requests.append(record(request, reply, iso(self._clock.now_ms())))
        return reply

    def configure(self, name: str, behaviour: SinkBehaviour) -> dict:
        with self._lock:
            sink = self._sinks.get(name) or self._sinks.setdefault(name, self._new())
            sink.state = configure(behaviour, sink.state)
        return self.view(name)

    def view(self, name: str) -> dict:
        with self._lock:
            sink = self._sinks.get(name) or self._new()
            state, recorded = sink.state, list(sink.requests)
        return {"name": name, "behaviour": state.behaviour.as_dict(), "served": state.served,
                "fail_next_left": state.fail_next_left, "requests": recorded}

    def clear(self, name: str) -> None:
        with self._lock:
            self._sinks.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self._sinks.clear()


def _http_error(status: HTTPStatus, message: str) -> MoesimError:
    """An HTTP-level error in our body, coded as the app codes werkzeug's (``not_found``)."""
    error = MoesimError(message)
    error.status, error.code = int(status), status.phrase.lower().replace(" ", "_")
    return error


class _MethodNotAllowed(Exception):
    def __init__(self, allowed: tuple[str, ...]):
        super().__init__(allowed)
        self.allowed = allowed


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "moesim-sink"
    disable_nagle_algorithm = True  # StreamRequestHandler sets TCP_NODELAY on the socket
    wbufsize = 64 * 1024  # status line, headers and body leave in one send, at the flush
    timeout = IDLE_TIMEOUT_S
    server: "SinkServer"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's signature
        """Quiet: a sink under load must not spend its time printing."""

    def _dispatch(self) -> None:
        try:
            try:
                body = self._read_body()
            except MoesimError:
                self.close_connection = True  # the next request's start is unknown
                raise
            self._route(body)
        except _MethodNotAllowed as refused:
            error = _http_error(HTTPStatus.METHOD_NOT_ALLOWED,
                                f"method {self.command} is not allowed on {self._path()}")
            self._reply_json(error.status, error.body(), {"Allow": ", ".join(refused.allowed)})
        except MoesimError as error:
            self._reply_json(error.status, error.body())
        except Exception:
            log.exception("unhandled error on %s %s", self.command, self.path)
            self.close_connection = True
            self._reply_json(500, MoesimError("internal error; see the server log").body())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _path(self) -> str:
        return unquote(self.path.partition("?")[0], errors="replace")

    def _route(self, body: bytes) -> None:
        path = self._path()
        parts = path.split("/", 4)  # "", "_sim", area, name, rest
        area = parts[2] if len(parts) > 2 and parts[:2] == ["", "_sim"] else None
        name = parts[3] if len(parts) > 3 else ""
        if area == "sink" and name and (len(parts) == 4 or parts[4]):
            rest = parts[4] if len(parts) == 5 else ""
            return self._receive(name, "/" + rest, body)
        if area == "sinks" and name and len(parts) == 4:
            return self._control(name, body)
        if len(parts) == 3 and area in ("health", "ready"):
            self._allow("GET", "HEAD")
            return self._reply_json(200, {"status": "ok" if area == "health" else "ready"})
        if len(parts) == 3 and area == "reset":
            self._allow("POST")
            started = time.perf_counter()
            self.server.ledger.reset()
            took_ms = round((time.perf_counter() - started) * 1000, 1)
            return self._reply_json(200, {"status": "reset", "took_ms": took_ms})
        raise NotFound(f"no such route: {path}")

    def _allow(self, *methods: str) -> None:
        if self.command not in methods:
            raise _MethodNotAllowed(methods)

    def _receive(self, name: str, sub_path: str, body: bytes) -> None:
        received = ReceivedRequest(method=self.command, path=sub_path,
                                   query=self.path.partition("?")[2],
                                   headers=self._header_dict(), body=body)
        reply = self.server.ledger.receive(name, received)
        if reply.delay_ms:
            time.sleep(reply.delay_ms / 1000)  # a slow partner endpoint, in real time
        headers = {k: v for k, v in reply.headers.items() if k.lower() not in _FRAMING_HEADERS}
        self._reply(reply.status, reply.body, headers)

    def _control(self, name: str, body: bytes) -> None:
        ledger = self.server.ledger
        self._allow("GET", "HEAD", "PUT", "DELETE")
        if self.command in ("GET", "HEAD"):
            return self._reply_json(200, ledger.view(name))
        if self.command == "DELETE":
            ledger.clear(name)
            return self._reply(204, b"", {})
        try:
            payload = json_input.decode(body) if body else None
        except json_input.MalformedJson:
            payload = None
        if payload is None:
            raise BadRequest("body must be a JSON object", path="body")
        self._reply_json(200, ledger.configure(name, SinkBehaviour.parse(payload)))

    def _header_dict(self) -> dict[str, str]:
        """Request headers as werkzeug presents them to the app (see the module docstring)."""
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            if "_" in key:
                continue
            key, value = key.title(), value.replace("\r\n", "")
            if key in ("Content-Type", "Content-Length"):
                if value:
                    headers[key] = value
            else:
                headers[key] = f"{headers[key]},{value}" if key in headers else value
        return headers

    def _read_body(self) -> bytes:
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            if coding.split(",")[-1].strip().lower() != "chunked":
                raise BadRequest(f"unsupported Transfer-Encoding: {coding}",
                                 path="Transfer-Encoding")
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise BadRequest(f"invalid Content-Length: {length!r}", path="Content-Length")
        size = int(length)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"body of {size} bytes is over {MAX_BODY_BYTES}")
        body = self.rfile.read(size)
        if len(body) < size:
            raise BadRequest(f"body ended after {len(body)} of {size} bytes", path="body")
        return body

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("malformed chunk size line", path="body") from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"chunked body is over {MAX_BODY_BYTES} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequest("chunked body ended early", path="body")
            chunks.append(chunk)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields, ignored
        return b"".join(chunks)

    def _reply_json(self, status: int, payload, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._reply(status, body, {"Content-Type": "application/json", **(headers or {})})

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        bodiless = status < 200 or status in _NO_BODY_STATUSES
        if status < 200:
            self.close_connection = True  # a 1xx cannot end an exchange; nothing can follow
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if not bodiless:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")  # 1.0 clients assume close otherwise
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """Errors found by the base class (bad request line, unknown method) in our body."""
        self.close_connection = True
        status = HTTPStatus(code)
        error = _http_error(status, message or status.phrase)
        self._reply_json(error.status, error.body())


class SinkServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of new connections must not overflow the backlog

    def __init__(self, address: tuple[str, int], ledger: SinkLedger):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.ledger = ledger
        super().__init__(address, SinkHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves our own fully qualified name, a DNS query we never use
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        # a client that closes a kept-alive connection with responses unread resets it: that
        # is the client's business, not a sink error worth a traceback
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(host: str = "127.0.0.1", port: int = 0, seed: int = 0,
                clock: Clock | None = None, max_records: int | None = None) -> SinkServer:
    """A bound, not yet serving sink server; ``port=0`` picks a free port."""
    return SinkServer((host, port), SinkLedger(seed, clock or SystemClock(), max_records))


def run(host: str = "127.0.0.1", port: int = 5056, seed: int = 0,
        max_records: int | None = None) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(host, port, seed, max_records=max_records)
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{server.server_address[1]}"
    print(f"moesim sink listening on {base}  (send to {base}/_sim/sink/<name>, "
          f"records at {base}/_sim/sinks/<name>; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
