"""``Transport``: sends ``OutboundRequest``s through aiohttp's client, at most ``concurrency`` in
flight, each with its own timeout, and hands back each result as soon as it is in.

aiohttp was chosen by measurement on the 2-CPU development machine against urllib3 (threads),
httpx (sync and async) and pycurl (docs/decisions.md, "The transport"): it passes every
requirement below at about half urllib3's CPU per request; pycurl costs less CPU but libcurl
sends a POST again on a new connection when a reused one closes before answering, and no
option turns that off.

What aiohttp does and moesim relies on: keep-alive connections per origin, dropped when the
partner closes them while idle; a non-idempotent request (POST, PATCH) is never sent again by
the library; interim 1xx answers skipped; chunked, Content-Length and close-delimited bodies;
gzip and deflate Content-Encoding undone; TLS with certificate checks. What moesim adds: one
timeout per request (connect to the last body byte), a cap on the body kept, the charset from
the Content-Type, no redirects followed, no cookies kept, no headers added but Host,
Content-Length and a ``User-Agent`` naming moesim (when the request has none), and outcomes
for the failures (``core.http``).
"""

from __future__ import annotations

import asyncio
import codecs
import re
from importlib import metadata
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import aiohttp
from yarl import URL

from ..core.http import (CONNECTION_CLOSED, CONNECTION_ERROR, INVALID_URL, TIMEOUT, HttpResult,
                         OutboundRequest)

USER_AGENT = f"moesim/{metadata.version('moesim')}"
MAX_BODY_BYTES = 1 << 20  # of a response body: the first bytes are kept and evaluated
MAX_HEAD_LINE = 64 * 1024  # a response's status line or one header field, in bytes
# aiohttp leaves these out of a request unless it sets them: the partner sees the request the
# connector config or campaign describes (and ``User-Agent``).
_NOT_ADDED = ("Accept", "Accept-Encoding", "Content-Type")
# The body's framing is the transport's: it must match the bytes sent.
_FRAMING = ("content-length", "transfer-encoding")
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f]")
MAX_IDLE_LANES = 2
CATCH_UP_AFTER_S = 0.005  # a caller away this long: its idle connections may have changed


class _Lane:
    """An event loop with an aiohttp session on it. The loop runs only inside ``send_all``,
    on the calling thread: one thread at a time borrows a lane, so the sends share no thread
    (handing each request and result between threads cost more than sending them)."""

    def __init__(self, session_factory):
        self.loop = asyncio.new_event_loop()
        self.session: aiohttp.ClientSession = self.loop.run_until_complete(session_factory())

    def catch_up(self) -> None:
        """Take in what happened to the kept-alive connections while the loop stood still
        (the partner closed one, or answered 408 on it and closed): a few turns of the loop,
        without waiting, so no request goes out on a connection that is already gone."""
        for _ in range(3):
            self.loop.run_until_complete(asyncio.sleep(0))

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


class Transport:
    """Sends ``OutboundRequest``s; safe to share between threads (each sending thread borrows
    a lane of kept-alive connections of its own). ``retries`` sends a request again after
    ``retry_wait_s`` when it got no response (but ``INVALID_URL``) or a 5xx; with no retries a
    request goes out once, whatever happens to it. ``ca_bundle``: a PEM file of certificates
    trusted beside the system's (a partner's own TLS endpoint)."""

    def __init__(self, timeout_s: float = 5.0, concurrency: int = 16, retries: int = 0,
                 retry_wait_s: float = 5.0, *, ca_bundle: str | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES):
        if timeout_s <= 0 or concurrency < 1 or retries < 0 or retry_wait_s < 0:
            raise ValueError("timeout_s > 0, concurrency >= 1, retries >= 0, retry_wait_s >= 0")
        self.timeout_s, self.concurrency = timeout_s, concurrency
        self.retries, self.retry_wait_s = retries, retry_wait_s
        self.ca_bundle, self.max_body_bytes = ca_bundle, max_body_bytes
        self._tls = self._tls_context()  # a CA bundle that cannot be read fails here, at once
        self._lock = threading.Lock()
        self._idle: list[_Lane] = []  # lanes no thread is sending on, most recent last
        self._closed = False

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, request: OutboundRequest) -> HttpResult:
        """Send one request and wait for its result."""
        for group in self.send_all([(None, request)], concurrency=1):
            return group[0][1]
        raise AssertionError("unreachable: one request gives one result")

    def send_all(self, requests: Iterable[tuple[Any, OutboundRequest]],
                 concurrency: int | None = None) -> Iterator[list[tuple[Any, HttpResult]]]:
        """Send ``(tag, request)`` pairs, at most ``concurrency`` (default: the transport's) in
        flight, and yield ``(tag, result)`` pairs in the order they finish, grouped: each list
        holds the exchanges that finished together. The input is read lazily: a new request is
        taken only while fewer are in flight, and only once the caller has come back for the
        next group, so a caller that records each group before asking for the next has at most
        ``concurrency`` requests sent and not recorded. Requests make progress only while the
        caller waits here (see ``_Lane``). An error raised by the input stops the taking of
        requests; it is raised once the requests already sent have been handed back. Closing
        the generator early cancels the requests in flight (they may have reached the
        partner)."""
        limit = concurrency or self.concurrency
        lane = self._borrow()
        pending: dict[asyncio.Task, Any] = {}
        source: Iterator | None = iter(requests)
        failure: BaseException | None = None
        try:
            lane.catch_up()
            while True:
                while source is not None and len(pending) < limit:
                    try:
                        item = next(source, None)
                    except Exception as exc:  # noqa: BLE001 - raised once the sent are back
                        item, failure = None, exc
                    if item is None:
                        source = None
                    else:
                        tag, request = item
                        pending[lane.loop.create_task(self._exchange(lane, request))] = tag
                if not pending:
                    if failure is not None:
                        raise failure
                    return
                done, _ = lane.loop.run_until_complete(
                    asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED))
                left = time.monotonic()
                yield [(pending.pop(task), task.result()) for task in done]
                if time.monotonic() - left > CATCH_UP_AFTER_S:
                    lane.catch_up()  # the caller was away: take in what happened meanwhile
        finally:
            for task in pending:
                task.cancel()
            if pending:
                lane.loop.run_until_complete(asyncio.wait(pending))
            self._give_back(lane)

    def close(self) -> None:
        """Close the kept-alive connections; later sends raise ``RuntimeError``. A lane lent
        out is closed when it comes back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for lane in idle:
            lane.close()

    def _borrow(self) -> _Lane:
        with self._lock:
            if self._closed:
                raise RuntimeError("the transport is closed")
            if self._idle:
                return self._idle.pop()
        return _Lane(self._new_session)

    def _give_back(self, lane: _Lane) -> None:
        """Kept for the next send, up to ``MAX_IDLE_LANES`` (their connections would only go
        stale): the rest are closed."""
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE_LANES:
                self._idle.append(lane)
                return
        lane.close()

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_bundle:
            context.load_verify_locations(cafile=self.ca_bundle)
        return context

    # -- on a lane's loop

    async def _new_session(self) -> aiohttp.ClientSession:
        # limit=0: the bound is ``send_all``'s, per call; a timeout counts from the start of
        # the exchange, connecting included. ceil_threshold: aiohttp would round a deadline of
        # 5 s or more up to a whole second.
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ssl=self._tls),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s, ceil_threshold=float("inf")),
            cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=_NOT_ADDED,
            headers={"User-Agent": USER_AGENT}, max_line_size=MAX_HEAD_LINE,
            max_field_size=MAX_HEAD_LINE)
        # aiohttp sends an idempotent request (GET, PUT, DELETE) again when the connection
        # closes before the answer; a send goes out once (``retries`` is moesim's own)
        session._retry_connection = False
        return session

    async def _exchange(self, lane: _Lane, request: OutboundRequest) -> HttpResult:
        result = await self._attempt(lane.session, request)
        for _ in range(self.retries):
            if not _worth_retrying(result):
                break
            await asyncio.sleep(self.retry_wait_s)
            result = await self._attempt(lane.session, request)
        return result

    async def _attempt(self, session: aiohttp.ClientSession, request: OutboundRequest
                       ) -> HttpResult:
        started = time.perf_counter()

        def failed(error: str, detail: str) -> HttpResult:
            return HttpResult(None, elapsed_ms=(time.perf_counter() - started) * 1000,
                              error=error, detail=detail)

        if _UNSAFE_IN_URL.search(request.url):  # yarl would send a space, drop a tab or CR
            return failed(INVALID_URL, "URL contains whitespace or control characters: "
                                       f"{request.url[:200]!r}")
        try:
            url = URL(request.url, encoded=True)  # sent as rendered: no re-encoding
            if url.scheme not in ("http", "https") or not url.host:
                return failed(INVALID_URL, f"URL must be absolute, http(s)://host/...: "
                                           f"{request.url[:200]!r}")
            async with session.request(
                    request.method, url, data=request.body,
                    headers=[(n, v) for n, v in request.headers if n.lower() not in _FRAMING],
                    allow_redirects=False) as response:
                body, truncated = await self._body(response)
                status, headers = response.status, _headers(response.raw_headers)
                charset = _codec(response.charset)
        except asyncio.TimeoutError:
            return failed(TIMEOUT, f"no response within {self.timeout_s:g} s")
        except aiohttp.ServerDisconnectedError:
            return failed(CONNECTION_CLOSED, "the partner closed the connection before "
                                             "answering")
        except aiohttp.InvalidURL as exc:
            return failed(INVALID_URL, f"{type(exc).__name__}: {exc}")
        except (aiohttp.ClientError, OSError) as exc:  # ssl.SSLError is an OSError
            return failed(CONNECTION_ERROR, f"{type(exc).__name__}: {exc}")
        except (ValueError, TypeError) as exc:  # a method or header aiohttp will not write
            return failed(INVALID_URL, f"{type(exc).__name__}: {exc}")
        detail = ""
        if 300 <= status < 400 and "location" in headers:
            detail = f"redirect not followed: Location {headers['location']}"
        if truncated:
            detail = f"body over {self.max_body_bytes} bytes: the first ones kept"
        return HttpResult(status, headers, body, (time.perf_counter() - started) * 1000,
                          detail=detail, charset=charset, truncated=truncated)

    async def _body(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """The body up to the cap; past it, the rest is not read (the connection is closed)."""
        cap = self.max_body_bytes
        chunks, size = [], 0
        async for chunk in response.content.iter_any():
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                return b"".join(chunks)[:cap], True
        return b"".join(chunks), False


def _worth_retrying(result: HttpResult) -> bool:
    if result.status is None:
        return result.error != INVALID_URL
    return result.status >= 500


def _headers(raw: tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
    """Names lower-cased, in the order they came; a repeated name's values joined by ", "."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _codec(charset: str | None) -> str | None:
    """A declared charset as Python's codec name, or None when there is none or it is unknown."""
    if not charset:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None
