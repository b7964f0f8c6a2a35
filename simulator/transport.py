"""Sending requests to partner endpoints: the only code in moesim that speaks HTTP outwards.

``Transport.send`` sends one ``OutboundRequest``; ``Transport.send_all`` streams many through
a bounded pool of worker threads and yields their ``HttpResult`` in input order. A partner
failing is an outcome, never an exception: no response at all is ``status=None`` with
``error`` set to ``TIMEOUT``, ``CONNECTION_ERROR`` (refused, reset, DNS, TLS, a malformed or
cut-short response) or ``INVALID_URL`` (nothing could be put on the wire: a bad URL, scheme,
method or header).

The HTTP/1.1 client is our own, over plain sockets, because the send path is the per-user hot
loop and it shares two cores with the app and the local sink. Measured on loopback, a bare
request/response loop costs ~35 us of CPU over a socket against ~130 us with ``http.client``
(its header parsing goes through ``email``); with the thread pool, ``send_all`` stays near
70-85 us a request. Its scope is what a client needs and no more: one request at a time per
connection (no pipelining), keep-alive per (scheme, host, port), TCP_NODELAY, TLS with the
default verifying context, bodies framed by Content-Length, chunked or connection close,
interim 1xx answers skipped. A kept-alive connection the server closed while idle is
reopened once, transparently, when it fails before any response byte.
"""

from __future__ import annotations

import base64
import queue
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from .core.http import CONNECTION_ERROR, INVALID_URL, TIMEOUT, HttpResult, OutboundRequest

MAX_BODY_BYTES = 64 * 1024  # of a response body: the first bytes kept, the rest read and dropped
MAX_HEAD_BYTES = 64 * 1024
WINDOW_PER_WORKER = 4  # send_all: requests taken from the input ahead of the oldest unyielded one
MAX_ORIGINS_PER_WORKER = 64  # kept-alive connections one worker holds, oldest closed first
MAX_CACHED_ORIGINS = 1024  # parsed scheme://host:port prefixes; the cache restarts when full
_READ_SIZE = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f]")
_ABSOLUTE_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)(.*)", re.DOTALL)
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # quote() only the non-ASCII; existing escapes stay
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_DIGITS = re.compile(r"[0-9]{1,18}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_BODYLESS_STATUSES = (204, 304)
_FRAMING_HEADERS = ("content-length", "transfer-encoding")


class _Unsendable(Exception):
    """The request cannot be written as given (INVALID_URL)."""


class _Stale(Exception):
    """A reused keep-alive connection was closed by the server before any response byte."""


class _BadResponse(Exception):
    """What came back is not (a complete) HTTP/1.x response."""


@dataclass(frozen=True, slots=True)
class _Origin:
    """The scheme://[user@]host[:port] part of a URL, parsed once and cached per transport."""

    key: tuple[str, str, int]  # scheme, host, port: the keep-alive key
    host_header: str
    authorization: str | None  # from user:password@ in the URL


@dataclass(frozen=True, slots=True)
class _Wire:
    """A request ready to write: where to, and the bytes."""

    origin: tuple[str, str, int]
    head: bytes
    body: bytes
    method: str
    close: bool  # the caller asked for "Connection: close"


def _parse_origin(text: str) -> _Origin:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _Unsendable(f"{exc}: {text[:200]!r}") from None
    scheme, host = parts.scheme, parts.hostname
    if scheme not in _DEFAULT_PORTS:
        raise _Unsendable(f"URL scheme must be http or https: {text[:200]!r}")
    if not host:
        raise _Unsendable(f"URL has no host: {text[:200]!r}")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _Unsendable(f"URL host is not a valid domain name: {host!r}") from None
    if port == 0:
        raise _Unsendable(f"URL port must be 1-65535: {text[:200]!r}")
    port = port or _DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    authorization = None
    if parts.username is not None:  # http://user:pass@host, as browsers do
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = f"Basic {base64.b64encode(token).decode()}"
    return _Origin((scheme, host, port),
                   shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}", authorization)


def _wire(request: OutboundRequest, origins: dict[str, _Origin]) -> _Wire:
    url, method = request.url, request.method
    if _UNSAFE_IN_URL.search(url):
        raise _Unsendable(f"URL contains whitespace or control characters: {url[:200]!r}")
    split = _ABSOLUTE_URL.fullmatch(url)
    if split is None:
        raise _Unsendable(f"URL must be absolute, http(s)://host/...: {url[:200]!r}")
    origin_text, target = split.groups()
    origin = origins.get(origin_text)
    if origin is None:
        if len(origins) >= MAX_CACHED_ORIGINS:
            origins.clear()
        origin = origins[origin_text] = _parse_origin(origin_text)
    target = target.partition("#")[0]
    if not target.startswith("/"):
        target = "/" + target  # "" or "?query"
    if not target.isascii():
        target = quote(target, safe=_URL_SAFE)
    if not _TOKEN.fullmatch(method):
        raise _Unsendable(f"invalid HTTP method {method!r}")
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    has_host = has_auth = close = False
    for name, value in request.headers:
        lowered = name.lower()
        if lowered in _FRAMING_HEADERS:
            continue  # framing is ours: it must match the bytes we send
        if not _TOKEN.fullmatch(name):
            raise _Unsendable(f"invalid header name {name!r}")
        if "\r" in value or "\n" in value or "\0" in value:
            raise _Unsendable(f"header {name} contains CR, LF or NUL")
        if lowered == "host":
            has_host = True
        elif lowered == "authorization":
            has_auth = True
        elif lowered == "connection" and "close" in value.lower():
            close = True
        lines.append(f"{name}: {value}\r\n")
    if not has_host:
        lines.insert(1, f"Host: {origin.host_header}\r\n")
    if origin.authorization and not has_auth:
        lines.append(f"Authorization: {origin.authorization}\r\n")
    body = request.body
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}\r\n")
    lines.append("\r\n")
    text = "".join(lines)
    try:
        head = text.encode("latin-1")  # what servers decode header values as
    except UnicodeEncodeError:
        head = text.encode("utf-8")
    return _Wire(origin.key, head, body or b"", method, close)


def _remaining(deadline: float) -> float:
    left = deadline - time.perf_counter()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _Connection:
    """One socket to one origin; ``exchange`` writes a request and reads its response."""

    __slots__ = ("buffer", "reused", "sock")

    def __init__(self, origin: tuple[str, str, int], tls: ssl.SSLContext, deadline: float):
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=_remaining(deadline))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock.settimeout(_remaining(deadline))
                sock = tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self.sock, self.buffer, self.reused = sock, b"", False

    def close(self) -> None:
        self.sock.close()

    def exchange(self, wire: _Wire, deadline: float, cap: int):
        """(status, headers, body, keep_alive); ``_Stale`` if a reused socket was dead."""
        sock, reused = self.sock, self.reused
        self.reused = True
        sock.settimeout(_remaining(deadline))
        try:
            if len(wire.body) <= 16384:
                sock.sendall(wire.head + wire.body)  # one segment for the usual small request
            else:
                sock.sendall(wire.head)
                sock.sendall(wire.body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            if reused:
                raise _Stale() from None
            raise
        while True:
            status, headers, keep = self._read_head(deadline, reused)
            if status >= 200 or status == 101:
                break
            reused = False  # an interim 1xx: bytes arrived, so the socket was alive
        if (wire.method == "HEAD" or status < 200 or status in _BODYLESS_STATUSES):
            body = b""
        elif "transfer-encoding" in headers:
            if headers["transfer-encoding"].rsplit(",", 1)[-1].strip().lower() == "chunked":
                body = self._read_chunked(deadline, cap)
            else:
                body, keep = self._read_to_close(deadline, cap), False
        elif "content-length" in headers:
            lengths = {v.strip() for v in headers["content-length"].split(",")}
            length = lengths.pop() if len(lengths) == 1 else ""
            if not _DIGITS.fullmatch(length):
                raise _BadResponse(f"invalid Content-Length {headers['content-length']!r}")
            body = self._read_exact(int(length), deadline, cap)
        else:
            body, keep = self._read_to_close(deadline, cap), False
        if self.buffer or status == 101 or wire.close:
            keep = False  # bytes past the response, or a protocol switch: reuse is unsafe
        return status, headers, body, keep

    def _recv(self, deadline: float) -> bytes:
        self.sock.settimeout(_remaining(deadline))
        return self.sock.recv(_READ_SIZE)

    def _read_head(self, deadline: float, reused: bool):
        buffer = self.buffer
        while (end := _HEAD_END.search(buffer)) is None:
            if len(buffer) > MAX_HEAD_BYTES:
                raise _BadResponse(f"response head over {MAX_HEAD_BYTES} bytes")
            try:
                data = self._recv(deadline)
            except (ConnectionResetError, ConnectionAbortedError):
                if reused and not buffer:
                    raise _Stale() from None
                raise
            if not data:
                if reused and not buffer:
                    raise _Stale()
                raise _BadResponse("connection closed before a complete response head")
            buffer += data
        self.buffer = buffer[end.end():]
        lines = buffer[:end.start()].decode("latin-1").split("\n")
        version, _, rest = lines[0].rstrip("\r").partition(" ")
        code = rest[:3]
        if not (version.startswith("HTTP/1.") and _DIGITS.fullmatch(code) and len(code) == 3
                and rest[3:4] in ("", " ")):
            raise _BadResponse(f"not an HTTP/1.x status line: {lines[0][:100]!r}")
        headers: dict[str, str] = {}
        name = None
        for line in lines[1:]:
            line = line.rstrip("\r")
            if line[:1] in (" ", "\t") and name:  # obsolete line folding
                headers[name] = f"{headers[name]} {line.strip()}"
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise _BadResponse(f"malformed response header line {line[:100]!r}")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        connection = headers.get("connection", "").lower()
        keep = ("keep-alive" in connection if version == "HTTP/1.0"
                else "close" not in connection)
        return int(code), headers, keep

    def _read_exact(self, size: int, deadline: float, cap: int) -> bytes:
        """``size`` bytes off the connection, of which the first ``cap`` are returned."""
        buffer = self.buffer
        if len(buffer) >= size:
            self.buffer = buffer[size:]
            return buffer[:min(size, cap)]
        kept, stored, left = [buffer[:cap]], min(len(buffer), cap), size - len(buffer)
        self.buffer = b""
        while left:
            data = self._recv(deadline)
            if not data:
                raise _BadResponse(f"connection closed {left} bytes before the body's end")
            if len(data) > left:
                data, self.buffer = data[:left], data[left:]
            left -= len(data)
            if stored < cap:
                kept.append(data[:cap - stored])
                stored += len(kept[-1])
        return b"".join(kept)

    def _read_line(self, deadline: float) -> bytes:
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise _BadResponse("chunked body line too long")
            data = self._recv(deadline)
            if not data:
                raise _BadResponse("connection closed inside a chunked body")
            self.buffer += data
        line, self.buffer = self.buffer[:end], self.buffer[end + 1:]
        return line.rstrip(b"\r")

    def _read_chunked(self, deadline: float, cap: int) -> bytes:
        kept, stored = [], 0
        while True:
            size_text = self._read_line(deadline).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise _BadResponse(f"malformed chunk size {size_text[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                break
            kept.append(self._read_exact(size, deadline, cap - stored))
            stored += len(kept[-1])
            if self._read_line(deadline):
                raise _BadResponse("chunk not followed by CRLF")
        while self._read_line(deadline):
            pass  # trailer fields, ignored
        return b"".join(kept)

    def _read_to_close(self, deadline: float, cap: int) -> bytes:
        kept, stored = [self.buffer[:cap]], min(len(self.buffer), cap)
        self.buffer = b""
        while data := self._recv(deadline):
            if stored < cap:
                kept.append(data[:cap - stored])
                stored += len(kept[-1])
        return b"".join(kept)


class _Batch:
    """One ``send_all`` call: where its workers put results, and whether it was abandoned."""

    __slots__ = ("cancelled", "results")

    def __init__(self):
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.cancelled = False


class Transport:
    """Sends ``OutboundRequest``s over kept-alive connections; see the module docstring.

    ``retries`` re-sends a request that got no response (other than ``INVALID_URL``) or a 5xx,
    waiting ``retry_wait_s`` through ``sleep`` before each; the wait holds the worker.
    ``elapsed_ms`` is the duration of the attempt whose result is returned.
    """

    def __init__(self, timeout_s: float = 5.0, concurrency: int = 16, retries: int = 0,
                 retry_wait_s: float = 5.0, *, sleep: Callable[[float], object] = time.sleep,
                 max_body_bytes: int = MAX_BODY_BYTES, ssl_context: ssl.SSLContext | None = None):
        if timeout_s <= 0 or concurrency < 1 or retries < 0 or retry_wait_s < 0:
            raise ValueError("timeout_s > 0, concurrency >= 1, retries >= 0, retry_wait_s >= 0")
        self.timeout_s, self.concurrency = timeout_s, concurrency
        self.retries, self.retry_wait_s = retries, retry_wait_s
        self._sleep, self._cap = sleep, max_body_bytes
        self._tls = ssl_context or ssl.create_default_context()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._pools: list[dict] = []  # every connection pool made, for close()
        self._idle_pools: list[dict] = []  # pools lent to send() callers between calls
        self._closed = False
        self._origins: dict[str, _Origin] = {}

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, request: OutboundRequest) -> HttpResult:
        """Send one request (with retries) on the calling thread; safe from any thread."""
        self._check_open()
        try:
            pool = self._idle_pools.pop()
        except IndexError:
            pool = self._new_pool()
        try:
            return self._send(pool, request)
        finally:
            self._idle_pools.append(pool)

    def send_all(self, requests: Iterable[OutboundRequest]) -> Iterator[HttpResult]:
        """Results in input order, ``concurrency`` requests in flight. The input is read
        lazily, at most ``concurrency * WINDOW_PER_WORKER`` ahead of the last result yielded;
        closing the iterator early skips the requests read but not yet sent."""
        self._check_open()
        self._start_workers()
        batch, window, jobs = _Batch(), self.concurrency * WINDOW_PER_WORKER, self._jobs
        arrived: dict[int, HttpResult | BaseException] = {}
        source, taken, yielded = iter(requests), 0, 0
        try:
            while True:
                while source is not None and taken - yielded < window:
                    try:
                        request = next(source)
                    except StopIteration:
                        source = None
                        break
                    jobs.put((batch, taken, request))
                    taken += 1
                if yielded == taken:
                    return
                while yielded not in arrived:
                    index, outcome = batch.results.get()
                    arrived[index] = outcome
                outcome = arrived.pop(yielded)
                yielded += 1
                if isinstance(outcome, BaseException):
                    raise outcome  # a bug in here, not a partner failing
                yield outcome
        finally:
            batch.cancelled = True

    def close(self) -> None:
        """Stop the workers and close every kept-alive connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers = self._workers, []
        for _ in workers:
            self._jobs.put(None)
        for worker in workers:
            worker.join(timeout=self.timeout_s * (self.retries + 1) + 1)
        for pool in self._pools:
            for connection in list(pool.values()):
                connection.close()
            pool.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the transport is closed")

    def _new_pool(self) -> dict:
        pool: dict[tuple[str, str, int], _Connection] = {}
        with self._lock:
            self._pools.append(pool)
        return pool

    def _start_workers(self) -> None:
        with self._lock:
            while len(self._workers) < self.concurrency:
                worker = threading.Thread(target=self._work, daemon=True,
                                          name=f"moesim-transport-{len(self._workers)}")
                self._workers.append(worker)
                worker.start()

    def _work(self) -> None:
        pool, jobs = self._new_pool(), self._jobs
        while (job := jobs.get()) is not None:
            batch, index, request = job
            if batch.cancelled:
                continue
            try:
                outcome = self._send(pool, request)
            except BaseException as exc:  # noqa: BLE001 - a bug: the caller raises it
                outcome = exc
            batch.results.put((index, outcome))

    def _send(self, pool: dict, request: OutboundRequest) -> HttpResult:
        result = self._attempt(pool, request)
        for _ in range(self.retries):
            if not (result.status is None and result.error != INVALID_URL
                    or result.status is not None and result.status >= 500):
                break
            self._sleep(self.retry_wait_s)
            result = self._attempt(pool, request)
        return result

    def _attempt(self, pool: dict, request: OutboundRequest) -> HttpResult:
        started = time.perf_counter()
        try:
            wire = _wire(request, self._origins)
        except _Unsendable as exc:
            return HttpResult(None, elapsed_ms=(time.perf_counter() - started) * 1000,
                              error=INVALID_URL, detail=str(exc))
        deadline = started + self.timeout_s
        connection = pool.pop(wire.origin, None)
        response = None
        try:
            if connection is not None:
                try:
                    response = connection.exchange(wire, deadline, self._cap)
                except _Stale:  # closed while idle: the server never read it, so resend
                    connection.close()
            if response is None:
                connection = _Connection(wire.origin, self._tls, deadline)
                response = connection.exchange(wire, deadline, self._cap)
        except Exception as exc:  # classified below; anything else is a bug, re-raised
            if connection is not None:
                connection.close()
            elapsed = (time.perf_counter() - started) * 1000
            if isinstance(exc, TimeoutError):
                return HttpResult(None, elapsed_ms=elapsed, error=TIMEOUT,
                                  detail=f"no response within {self.timeout_s:g} s")
            if isinstance(exc, (OSError, _BadResponse)):  # ssl.SSLError is an OSError
                return HttpResult(None, elapsed_ms=elapsed, error=CONNECTION_ERROR,
                                  detail=f"{type(exc).__name__}: {exc}")
            raise
        status, headers, body, keep = response
        if keep:
            pool[wire.origin] = connection
            if len(pool) > MAX_ORIGINS_PER_WORKER:
                pool.pop(next(iter(pool))).close()
        else:
            connection.close()
        return HttpResult(status, headers, body, (time.perf_counter() - started) * 1000)
