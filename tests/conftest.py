import base64
import os
import re
import subprocess
import threading
import sys
import time
from datetime import datetime, timezone

import pytest
import requests

from simulator.app import create_app
from simulator.core.clock import VIRTUAL, SimClock
from simulator.core.settings import Settings
from simulator.sinkserver import make_server

WORKSPACE, KEY = "W1", "K1"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def settings(tmp_path):
    return Settings(db=str(tmp_path / "moesim.db"), fixtures="none", workspace_id=WORKSPACE,
                    data_api_key=KEY)


@pytest.fixture
def clock():
    return SimClock(VIRTUAL, NOW)


@pytest.fixture
def app(settings, clock):
    app = create_app(settings, clock=clock)
    yield app
    app.extensions["moesim.workspaces"].close()
    app.extensions["moesim"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth():
    return basic(WORKSPACE, KEY)


@pytest.fixture
def ctx(app):
    return app.extensions["moesim"]


def wait_for(check, timeout: float = 20.0) -> None:
    """Poll a condition of another process (its start-up, a file watcher), never the
    scheduler: that is driven through the virtual clock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.02)
    raise TimeoutError("condition not met")


class Server:
    """``moesim serve`` in a subprocess, on a free loopback port. Its output is kept in
    ``lines`` by a thread (a chatty server never blocks on a full pipe)."""

    def __init__(self, args, env, cwd=None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
            env={**os.environ, **env})
        first = self.proc.stdout.readline()
        match = re.search(r"http://[\d.]+:(\d+)", first)
        if not match:
            self.stop()
            raise RuntimeError(f"moesim serve did not start: {first}{self.proc.stdout.read()}")
        self.url = f"http://127.0.0.1:{match.group(1)}"
        self.banner = first
        self.lines = [first]
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Poll ``/_sim/ready`` of a separate process (start-up, not the scheduler)."""
        session = requests.Session()
        wait_for(lambda: session.get(self.url + "/_sim/ready", timeout=1).status_code == 200,
                 timeout)

    def stop(self, sig=None) -> int:
        """SIGTERM (or ``sig``); the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig) if sig else self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def serve_ready(*args, env=None, cwd=None) -> Server:
    """A ready ``moesim serve`` with these arguments; the caller stops it."""
    server = Server(args, env or {}, cwd)
    try:
        server.wait_ready()
    except TimeoutError:
        server.stop()
        raise
    return server


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(*args, env=None):
        server = Server(args, env or {})
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def partner():
    """A real partner endpoint on loopback: the standalone capture sink."""
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture
def raw():
    """Raw partner endpoints (``tests/partners.py``): ``raw(answer, ...)`` starts one; all
    are closed after the test."""
    from .partners import RawPartner
    partners = []

    def start(answer, **options):
        partner = RawPartner(answer, **options)
        partners.append(partner)
        return partner

    yield start
    for partner in partners:
        partner.close()
