"""The one object services receive: no Flask globals below the edges."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from ..core.clock import Clock
from ..core.ids import IdSource
from ..core.settings import Settings
from ..store import Store, meta
from ..transport import Transport

T = TypeVar("T")


def id_source(settings: Settings, store: Store) -> IdSource:
    """The workspace's id source at a new epoch of its database (``core.ids``)."""
    with store.write() as db:
        epoch = meta.claim_id_epoch(db)
    return IdSource(settings.seed, settings.workspace_id, epoch)


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

    # The sending transport, made on first use (``sender``).
    transport: Transport | None = None
    transport_lock: threading.Lock = field(default_factory=threading.Lock)
    # Notified after every committed write: the assertion API's long-polls (``wait_until``)
    # sleep on it instead of polling. ``writes`` counts writes, so no notification is missed.
    written: threading.Condition = field(default_factory=threading.Condition)
    writes: int = 0
    # services.retention's bookkeeping (made on first use)
    retention: Any = None

    def __post_init__(self) -> None:
        self.store.on_write(self._notify_written)
        self.store.on_reset(self._forget_retention)

    def _forget_retention(self) -> None:
        self.retention = None  # a reset or restore brings back rows it had pruned past

    def _notify_written(self) -> None:
        with self.written:
            self.writes += 1
            self.written.notify_all()

    def wait_until(self, check: Callable[[], T], done: Callable[[T], bool],
                   timeout_s: float) -> tuple[T, bool]:
        """Run ``check`` now and after each write until ``done(result)`` or ``timeout_s``
        (elapsed time, not the simulator's clock); returns the last result and whether it
        timed out. Holds a server thread, never spins."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.written:
                seen = self.writes
            result = check()
            if done(result):
                return result, False
            left = deadline - time.monotonic()
            if left <= 0:
                return result, True
            with self.written:
                self.written.wait_for(lambda: self.writes != seen, timeout=left)

    def sender(self) -> Transport:
        """The process's sending transport: kept-alive connections are reused across sends."""
        with self.transport_lock:
            if self.transport is None:
                settings = self.settings
                self.transport = Transport(timeout_s=settings.send_timeout_s,
                                           concurrency=settings.send_concurrency,
                                           retries=settings.send_retries,
                                           ca_bundle=settings.send_ca_bundle or None)
            return self.transport

    def renew_ids(self) -> None:
        """Move the id source to a new epoch of the database (after a restore or a reset
        brought back an older stored epoch), so no id made before comes again."""
        with self.store.write() as db:
            self.ids.restart(meta.claim_id_epoch(db, self.ids.epoch))

    def wake(self) -> None:
        self.woken.set()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.store.close()
