"""``Transport``: sends over kept-alive connections, with retries. ``send_all`` runs on the
calling thread: it keeps up to ``concurrency`` flights on the wire, each on a connection of its
own, and reads their responses in input order. A flight is one request, or with pipelining up
to ``pipeline`` consecutive requests to one origin written together.
"""

from __future__ import annotations

import collections
import itertools
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from ..core.http import CONNECTION_ERROR, INVALID_URL, TIMEOUT, HttpResult, OutboundRequest
from .connection import BadResponse, Connection, Stale
from .wire import Origin, Unsendable, Wire, to_wire

MAX_BODY_BYTES = 64 * 1024  # of a response body: the first bytes kept, the rest read and dropped
MAX_IDLE_ORIGINS = 64  # origins whose kept-alive connections one pool holds, oldest closed first
# pipelined requests written before reading: under any socket buffer, so writing all of them
# before reading a response cannot deadlock against a server blocked on writing its responses
PIPELINE_BYTES = 64 * 1024

Pool = dict  # origin (scheme, host, port) -> idle kept-alive Connections, most recent last


class _Run:
    """Requests written together on one connection, not read yet: ``run`` of ``items``
    (``(index, wire)``, one origin), or the exception writing them raised."""

    __slots__ = ("connection", "deadline", "error", "items", "origin", "reused", "run",
                 "started")

    def __init__(self, origin, items, run, connection, reused, started, deadline, error):
        self.origin, self.items, self.run = origin, items, run
        self.connection, self.reused, self.error = connection, reused, error
        self.started, self.deadline = started, deadline


class Transport:
    """Sends ``OutboundRequest``s over kept-alive connections; see the package docstring.

    ``retries`` re-sends a request that got no response (other than ``INVALID_URL``) or a 5xx,
    waiting ``retry_wait_s`` through ``sleep`` before each; the wait holds the sender.
    ``elapsed_ms`` runs from the writing of the request's flight to the reading of its
    response.

    ``pipeline`` > 1: a flight is up to that many consecutive requests, written to one origin
    together on one connection (HTTP/1.1 pipelining, at most ``PIPELINE_BYTES`` at a time);
    their responses are read in order. Requests the server left unanswered (it closed, or said
    ``Connection: close``) go again on a new connection; when the deadline passes, every
    unanswered one is a ``TIMEOUT``.
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
        self._tls = ssl_context  # the default one is made at the first https connection
        self._lock = threading.Lock()
        self._pools: list[Pool] = []  # every connection pool made, for close()
        self._idle_pools: list[Pool] = []  # pools lent to callers between their calls
        self._closed = False
        self._origins: dict[str, Origin] = {}
        self._heads: dict[tuple, tuple] = {}  # request heads by (method, url, headers)

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, request: OutboundRequest) -> HttpResult:
        """Send one request (with retries) on the calling thread; safe from any thread."""
        pool = self._borrow()
        try:
            return next(self._land(pool, *self._launch(pool, [request])))
        finally:
            self._idle_pools.append(pool)

    def send_all(self, requests: Iterable[OutboundRequest]) -> Iterator[HttpResult]:
        """Results in input order, sent on the calling thread (safe from any thread, each call
        with connections of its own): up to ``concurrency`` flights on the wire at once, each
        on its own connection, so that without pipelining a connection carries one request at
        a time. The input is read lazily, one flight ahead of the ``concurrency``-th flight
        not yet answered; closing the iterator early closes the connections of the flights
        still unread (their requests were sent)."""
        pool = self._borrow()
        flights: collections.deque[tuple[list, list, list[_Run]]] = collections.deque()
        source: Iterator | None = iter(requests)
        try:
            while True:
                while source is not None and len(flights) < self.concurrency:
                    chunk = list(itertools.islice(source, self.pipeline))
                    if len(chunk) < self.pipeline:
                        source = None
                    if chunk:
                        flights.append(self._launch(pool, chunk))
                if not flights:
                    return
                yield from self._land(pool, *flights.popleft())
        finally:
            for _, _, runs in flights:
                for run in runs:
                    if run.connection is not None:
                        run.connection.close()
            self._idle_pools.append(pool)

    def close(self) -> None:
        """Close every kept-alive connection; later sends raise ``RuntimeError``."""
        with self._lock:
            self._closed = True
            pools = list(self._pools)
        for pool in pools:
            for connections in list(pool.values()):
                for connection in connections:
                    connection.close()
            pool.clear()

    def _tls_context(self) -> ssl.SSLContext:
        """Loading the system's CA certificates takes tens of milliseconds (36 ms here): only a
        transport that opens an https connection pays for it."""
        if self._tls is None:
            with self._lock:
                if self._tls is None:
                    self._tls = ssl.create_default_context()
        return self._tls

    def _borrow(self) -> Pool:
        if self._closed:
            raise RuntimeError("the transport is closed")
        try:
            return self._idle_pools.pop()
        except IndexError:
            pool: Pool = {}
            with self._lock:
                self._pools.append(pool)
            return pool

    def _launch(self, pool: Pool, chunk: list[OutboundRequest]) -> tuple[list, list, list]:
        """Write the chunk's first run to each of its origins: (chunk, results so far, runs)."""
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
        runs = [self._write(pool, origin, items) for origin, items in by_origin.items()]
        return chunk, results, runs

    def _land(self, pool: Pool, chunk: list, results: list, runs: list[_Run]
              ) -> Iterator[HttpResult]:
        """The flight's results in order, each after its retries (one request at a time)."""
        self._complete(pool, results, runs)
        for request, result in zip(chunk, results):
            for _ in range(self.retries):
                if not (result.status is None and result.error != INVALID_URL
                        or result.status is not None and result.status >= 500):
                    break
                self._sleep(self.retry_wait_s)
                _, again, runs = self._launch(pool, [request])
                self._complete(pool, again, runs)
                result = again[0]
            yield result

    def _complete(self, pool: Pool, results: list, runs: list[_Run]) -> None:
        """Read the runs' responses into ``results``; what a run left unanswered goes again,
        run by run, on the same origin."""
        for run in runs:
            items = self._read(pool, run, results)
            while items:
                items = self._read(pool, self._write(pool, run.origin, items), results)

    def _write(self, pool: Pool, origin: tuple[str, str, int], items: list) -> _Run:
        """Write the longest run of ``items`` that fits ``PIPELINE_BYTES`` (and ends at a
        request that closes the connection) on a kept-alive or new connection."""
        run, size = [], 0
        for index, wire in items:
            size += len(wire.data)
            if run and size > PIPELINE_BYTES:
                break
            run.append((index, wire))
            if wire.close:
                break  # nothing may follow a request that closes the connection
        started = time.perf_counter()
        deadline = started + self.timeout_s
        idle = pool.get(origin)
        connection = idle.pop() if idle else None
        reused, error = connection is not None, None
        try:
            if connection is None:
                connection = Connection(origin, self._tls_context() if origin[0] == "https"
                                        else None, deadline)
            connection.write(b"".join([w.data for _, w in run]) if len(run) > 1
                             else run[0][1].data, deadline)
        except Exception as exc:  # noqa: BLE001 - classified when the run is read
            error = exc
        return _Run(origin, items, run, connection, reused, started, deadline, error)

    def _read(self, pool: Pool, flight: _Run, results: list) -> list:
        """The run's responses into ``results``; returns the items still to send."""
        connection, run, items = flight.connection, flight.run, flight.items
        done, keep, started = 0, False, flight.started
        try:
            if flight.error is not None:
                raise flight.error
            while done < len(run):
                index, wire = run[done]
                # a close before any byte of a response: not read, so sent again
                status, headers, body, keep = connection.receive(
                    wire, flight.deadline, self._cap, flight.reused or done > 0,
                    done < len(run) - 1)
                result = results[index] = HttpResult(status, headers, body,
                                                     (time.perf_counter() - started) * 1000)
                done += 1
                if not keep:
                    break
                # the same bytes again for the next ones, read at the same moment: the same
                # result (results are never changed)
                if done < len(run) and (count := connection.again(run[done:])):
                    for index, _ in run[done:done + count]:
                        results[index] = result
                    done += count
                    keep = done < len(run) or not connection.buffer
        except Stale:  # closed before answering the rest: they go again
            connection.close()
            return items[done:]
        except Exception as exc:  # classified here; anything else is a bug, re-raised
            if connection is not None:
                connection.close()
            elapsed = (time.perf_counter() - started) * 1000
            if isinstance(exc, TimeoutError):
                for index, _ in run[done:]:  # all of them were on the wire that long
                    results[index] = HttpResult(None, elapsed_ms=elapsed, error=TIMEOUT,
                                                detail=f"no response within {self.timeout_s:g} s")
                return items[len(run):]
            if not isinstance(exc, (OSError, BadResponse)):  # ssl.SSLError is an OSError
                raise
            results[run[done][0]] = HttpResult(None, elapsed_ms=elapsed, error=CONNECTION_ERROR,
                                               detail=f"{type(exc).__name__}: {exc}")
            return items[done + 1:]
        finally:
            flight.connection = None  # read: no longer the flight's to close
        if keep:
            self._keep(pool, flight.origin, connection)
        else:
            connection.close()
        return items[done:]

    def _keep(self, pool: Pool, origin: tuple[str, str, int], connection: Connection) -> None:
        idle = pool.pop(origin, None) or []  # re-inserted: the dict's order is by last use
        idle.append(connection)
        pool[origin] = idle
        if len(pool) > MAX_IDLE_ORIGINS:
            for stale in pool.pop(next(iter(pool))):
                stale.close()
