"""The moesim pytest plugin (registered as the ``pytest11`` entry point ``moesim``): a partner's
test suite gets a running simulator and a capture endpoint with ``pip install moesim`` alone.

Fixtures:

- ``moesim``: a simulator served in-process on a free loopback port, on a new SQLite file, with a
  virtual clock (``--moesim-start``, default 2026-01-01T09:00:00Z) and no fixtures; yields a
  ``Moesim`` client whose verbs talk HTTP to it (load users, post events, apps, connectors,
  connections, campaigns, advance the clock, read deliveries, stats and the built-in sink).
- ``moesim_sink``: a standalone capture endpoint (``moesim sink``) on a free port.

Nothing waits on wall-clock time: work runs when the test advances the clock.
"""

from __future__ import annotations

from typing import Iterator

import pytest

# The client lives in its own module (also used by ``moesim scenario run``); re-exported here.
from .client import KEY, WORKSPACE, Moesim, MoesimError, Sink, serve_in_process

__all__ = ["KEY", "WORKSPACE", "Moesim", "MoesimError", "Sink"]


def pytest_addoption(parser) -> None:
    group = parser.getgroup("moesim")
    group.addoption("--moesim-start", default="2026-01-01T09:00:00Z",
                    help="the virtual clock's start for the moesim fixture")


@pytest.fixture
def moesim(request) -> Iterator[Moesim]:
    """A simulator on a free loopback port, new database, virtual clock (``--moesim-start``)."""
    with serve_in_process(request.config.getoption("--moesim-start")) as client:
        yield client


@pytest.fixture
def moesim_sink() -> Iterator[Sink]:
    """A standalone capture endpoint: ``url(name)``, ``requests(name)``, ``configure(name, ...)``."""
    sink = Sink()
    try:
        yield sink
    finally:
        sink.close()
