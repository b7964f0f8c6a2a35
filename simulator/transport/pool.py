"""``Transport``: sends over kept-alive connections, one pool of them per worker thread, with
retries; ``send_all`` streams a batch through the workers in input order, optionally pipelined
(``pipeline`` requests written on a connection before their responses are read).
"""

from __future__ import annotations

import collections
import itertools
import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from ..core.http import CONNECTION_ERROR, INVALID_URL, TIMEOUT, HttpResult, OutboundRequest
from .connection import BadResponse, Connection, Stale
from .wire import Origin, Unsendable, Wire, to_wire

MAX_BODY_BYTES = 64 * 1024  # of a response body: the first bytes kept, the rest read and dropped
WINDOW_PER_WORKER = 4  # send_all: requests taken from the input ahead of the oldest unyielded one
MAX_ORIGINS_PER_WORKER = 64  # kept-alive connections one worker holds, oldest closed first
# pipelined requests written before reading: under any socket buffer, so writing all of them
# before reading a response cannot deadlock against a server blocked on writing its responses
PIPELINE_BYTES = 64 * 1024
# without pipelining, consecutive requests a worker takes at a time when the caller says how
# many there are (one hand-off between threads per chunk instead of per request)
SEQUENTIAL_CHUNK = 8


class _Batch:
    """One ``send_all`` call: where its workers put results, and whether it was abandoned."""

    __slots__ = ("cancelled", "results")

    def __init__(self):
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.cancelled = False


class Transport:
    """Sends ``OutboundRequest``s over kept-alive connections; see the package docstring.

    ``retries`` re-sends a request that got no response (other than ``INVALID_URL``) or a 5xx,
    waiting ``retry_wait_s`` through ``sleep`` before each; the wait holds the worker.
    ``elapsed_ms`` is the duration of the attempt whose result is returned.

    ``pipeline`` > 1: ``send_all`` hands each worker up to that many consecutive requests and
    writes those to one origin together on one connection (HTTP/1.1 pipelining, at most
    ``PIPELINE_BYTES`` at a time), then reads the responses in order. Requests the server left
    unanswered (it closed, or said ``Connection: close``) go again on a new connection; when
    the deadline passes, every unanswered one is a ``TIMEOUT``.
    """

    def __init__(self, timeout_s: float = 5.0, concurrency: int = 16, retries: int = 0,
                 retry_wait_s: float = 5.0, *, sleep: Callable[[float], object] = time.sleep,
                 max_body_bytes: int = MAX_BODY_BYTES, ssl_context: ssl.SSLContext | None = None,
                 pipeline: int = 1):
        if timeout_s <= 0 or concurrency < 1 or retries < 0 or retry_wait_s < 0 or pipeline < 1:
            raise ValueError("timeout_s > 0, concurrency >= 1, retries >= 0, retry_wait_s >= 0, "
                             "pipeline >= 1")
        self.timeout_s, self.concurrency, self.pipeline = timeout_s, concurrency, pipeline
        self.retries, self.retry_wait_s = retries, retry_wait_s
        self._sleep, self._cap = sleep, max_body_bytes
        self._tls = ssl_context or ssl.create_default_context()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._pools: list[dict] = []  # every connection pool made, for close()
        self._idle_pools: list[dict] = []  # pools lent to send() callers between calls
        self._closed = False
        self._origins: dict[str, Origin] = {}
        self._heads: dict[tuple, tuple] = {}  # request heads by (method, url, headers)

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

    def send_all(self, requests: Iterable[OutboundRequest], expected: int | None = None
                 ) -> Iterator[HttpResult]:
        """Results in input order, ``concurrency`` requests in flight (times ``pipeline``).
        Workers take chunks: ``pipeline`` requests, or without pipelining, when ``expected``
        (about how many requests the input holds) is given, up to ``SEQUENTIAL_CHUNK`` sent one after
        the other on one connection, fewer when there are too few to keep every worker busy.
        The input is read lazily, at most ``concurrency * WINDOW_PER_WORKER * chunk`` ahead of
        the last result yielded; closing the iterator early skips the requests read but not yet
        sent. A worker hands back a chunk's results together."""
        self._check_open()
        self._start_workers()
        size = self.pipeline if self.pipeline > 1 or not expected else \
            max(1, min(SEQUENTIAL_CHUNK, expected // self.concurrency))
        batch, jobs = _Batch(), self._jobs
        window = self.concurrency * WINDOW_PER_WORKER * size
        arrived: dict[int, list] = {}  # chunk start -> its results
        starts: collections.deque[int] = collections.deque()
        source, taken, yielded = iter(requests), 0, 0
        try:
            while True:
                while source is not None and taken - yielded < window:
                    chunk = list(itertools.islice(source, size))
                    if len(chunk) < size:
                        source = None
                    if not chunk:
                        break
                    jobs.put((batch, taken, chunk))
                    starts.append(taken)
                    taken += len(chunk)
                if not starts:
                    return
                first = starts.popleft()
                while first not in arrived:
                    index, outcomes = batch.results.get()
                    arrived[index] = outcomes
                for outcome in arrived.pop(first):
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
        pool: dict[tuple[str, str, int], Connection] = {}
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
            batch, first, chunk = job
            if batch.cancelled:
                continue
            try:
                if self.pipeline == 1 or len(chunk) == 1:
                    outcomes = [self._send(pool, request) for request in chunk]
                else:
                    outcomes = self._send_pipelined(pool, chunk)
            except BaseException as exc:  # noqa: BLE001 - a bug: the caller raises it
                outcomes = [exc] * len(chunk)
            batch.results.put((first, outcomes))

    def _send(self, pool: dict, request: OutboundRequest) -> HttpResult:
        return self._retried(pool, request, self._attempt(pool, request))

    def _retried(self, pool: dict, request: OutboundRequest, result: HttpResult) -> HttpResult:
        for _ in range(self.retries):
            if not (result.status is None and result.error != INVALID_URL
                    or result.status is not None and result.status >= 500):
                break
            self._sleep(self.retry_wait_s)
            result = self._attempt(pool, request)
        return result

    def _send_pipelined(self, pool: dict, chunk: list[OutboundRequest]) -> list[HttpResult]:
        """The chunk's requests, pipelined per origin; retries one by one afterwards."""
        results: list = [None] * len(chunk)
        by_origin: dict[tuple[str, str, int], list[tuple[int, Wire]]] = {}
        for index, request in enumerate(chunk):
            try:
                wire = to_wire(request, self._origins, self._heads)
            except Unsendable as exc:
                results[index] = HttpResult(None, elapsed_ms=0.0, error=INVALID_URL,
                                            detail=str(exc))
                continue
            by_origin.setdefault(wire.origin, []).append((index, wire))
        for origin, items in by_origin.items():
            self._pipeline(pool, origin, items, results)
        return [self._retried(pool, request, result) for request, result in zip(chunk, results)]

    def _pipeline(self, pool: dict, origin: tuple[str, str, int], items: list,
                  results: list) -> None:
        """Write ``items`` (``(index, wire)``) on one connection, read their responses in order;
        what stays unanswered goes again on a new connection."""
        while items:
            run, size = [], 0
            for index, wire in items:
                size += len(wire.head) + len(wire.body)
                if run and size > PIPELINE_BYTES:
                    break
                run.append((index, wire))
                if wire.close:
                    break  # nothing may follow a request that closes the connection
            started = time.perf_counter()
            deadline = started + self.timeout_s
            connection = pool.pop(origin, None)
            reused, done, keep = connection is not None, 0, False
            try:
                if connection is None:
                    connection = Connection(origin, self._tls, deadline)
                connection.write(b"".join(w.head + w.body for _, w in run), deadline)
                for index, wire in run:
                    # a close before any byte of a response: not read, so sent again
                    status, headers, body, keep = connection.receive(
                        wire, deadline, self._cap, reused or done > 0, done < len(run) - 1)
                    results[index] = HttpResult(status, headers, body,
                                                (time.perf_counter() - started) * 1000)
                    done += 1
                    if not keep:
                        break
            except Stale:  # closed before answering the rest: they go again
                connection.close()
                items = items[done:]
                continue
            except Exception as exc:  # classified as in _attempt; anything else is a bug
                if connection is not None:
                    connection.close()
                elapsed = (time.perf_counter() - started) * 1000
                if isinstance(exc, TimeoutError):
                    for index, _ in run[done:]:  # all of them were on the wire that long
                        results[index] = HttpResult(None, elapsed_ms=elapsed, error=TIMEOUT,
                                                    detail=f"no response within {self.timeout_s:g} s")
                    items = items[len(run):]
                    continue
                if not isinstance(exc, (OSError, BadResponse)):
                    raise
                results[run[done][0]] = HttpResult(None, elapsed_ms=elapsed,
                                                   error=CONNECTION_ERROR,
                                                   detail=f"{type(exc).__name__}: {exc}")
                items = items[done + 1:]
                continue
            items = items[done:]
            if keep:
                self._keep(pool, origin, connection)
            else:
                connection.close()

    def _keep(self, pool: dict, origin: tuple[str, str, int], connection: Connection) -> None:
        pool[origin] = connection
        if len(pool) > MAX_ORIGINS_PER_WORKER:
            pool.pop(next(iter(pool))).close()

    def _attempt(self, pool: dict, request: OutboundRequest) -> HttpResult:
        started = time.perf_counter()
        try:
            wire = to_wire(request, self._origins, self._heads)
        except Unsendable as exc:
            return HttpResult(None, elapsed_ms=(time.perf_counter() - started) * 1000,
                              error=INVALID_URL, detail=str(exc))
        deadline = started + self.timeout_s
        connection = pool.pop(wire.origin, None)
        response = None
        try:
            if connection is not None:
                try:
                    response = connection.exchange(wire, deadline, self._cap)
                except Stale:  # closed while idle: the server never read it, so resend
                    connection.close()
            if response is None:
                connection = Connection(wire.origin, self._tls, deadline)
                response = connection.exchange(wire, deadline, self._cap)
        except Exception as exc:  # classified below; anything else is a bug, re-raised
            if connection is not None:
                connection.close()
            elapsed = (time.perf_counter() - started) * 1000
            if isinstance(exc, TimeoutError):
                return HttpResult(None, elapsed_ms=elapsed, error=TIMEOUT,
                                  detail=f"no response within {self.timeout_s:g} s")
            if isinstance(exc, (OSError, BadResponse)):  # ssl.SSLError is an OSError
                return HttpResult(None, elapsed_ms=elapsed, error=CONNECTION_ERROR,
                                  detail=f"{type(exc).__name__}: {exc}")
            raise
        status, headers, body, keep = response
        if keep:
            self._keep(pool, wire.origin, connection)
        else:
            connection.close()
        return HttpResult(status, headers, body, (time.perf_counter() - started) * 1000)
