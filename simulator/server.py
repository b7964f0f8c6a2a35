"""The HTTP server under ``moesim serve`` (an edge): a WSGI server bound to a port, served until
asked to stop, then stopped gracefully (no new connections; requests in flight finish).

cheroot is the default (docs/decisions.md, "The HTTP server"; tests/bench/bench_server.py
measures it against the others): one thread per connection writes its own response, so a stop
waits for exactly the requests in flight. ``werkzeug`` (Flask's development server) stays
available for comparison and debugging.
"""

from __future__ import annotations

import threading
from typing import Callable

SERVERS = ("cheroot", "werkzeug")
DEFAULT = "cheroot"
THREADS = 32         # connections served at once (a tail, a long-poll and 16 clients fit)
STOP_TIMEOUT_S = 10  # how long a stop waits for requests in flight


class Server:
    """One bound server: ``port`` is known before ``serve_forever``; ``stop`` may be called
    from any thread (a signal handler's) and returns once requests in flight are done."""

    port: int

    def serve_forever(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class _Cheroot(Server):
    def __init__(self, app: Callable, host: str, port: int):
        from cheroot.wsgi import Server as WSGIServer

        self._server = WSGIServer((host, port), app, numthreads=THREADS,
                                  server_name="moesim", shutdown_timeout=STOP_TIMEOUT_S,
                                  request_queue_size=128, timeout=30)
        self._server.prepare()  # binds: the real port of port 0 is known from here
        self.port = self._server.bind_addr[1]
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        try:
            self._server.serve()
        finally:
            self._stopped.set()

    def stop(self) -> None:
        self._server.stop()


class _Werkzeug(Server):
    def __init__(self, app: Callable, host: str, port: int):
        from werkzeug.serving import make_server

        self._server = make_server(host, port, app, threaded=True)
        self.port = self._server.server_port

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.1)
        finally:
            self._server.server_close()

    def stop(self) -> None:
        # serve_forever returns after the current poll; its request threads are not joined
        threading.Thread(target=self._server.shutdown, daemon=True).start()


def make(kind: str, app: Callable, host: str, port: int) -> Server:
    """Bind ``app`` on ``host:port`` with the server ``kind`` (one of ``SERVERS``)."""
    return {"cheroot": _Cheroot, "werkzeug": _Werkzeug}[kind](app, host, port)
