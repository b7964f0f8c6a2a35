"""The one object services receive: no Flask globals below the edges."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..core.clock import Clock
from ..core.ids import IdSource
from ..core.settings import Settings
from ..store import Store


@dataclass
class Context:
    settings: Settings
    store: Store
    clock: Clock
    ids: IdSource
    ready: threading.Event = field(default_factory=threading.Event)
    # Data API problems MoEngage would only show in its logs (rejected bulk elements).
    data_api_log: deque = field(default_factory=lambda: deque(maxlen=1000))
    # Set when work is queued, so the real-time ticker runs it without waiting for its poll.
    woken: threading.Event = field(default_factory=threading.Event)
    # One engine run at a time: the ticker and /_sim/run-due may both ask.
    engine_lock: threading.Lock = field(default_factory=threading.Lock)

    # The sending transport, made on first use (services.delivery.transport_for).
    transport: Any = None
    transport_lock: threading.Lock = field(default_factory=threading.Lock)

    def wake(self) -> None:
        self.woken.set()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.store.close()
