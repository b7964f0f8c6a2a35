"""Connections to the SQLite file: one writer behind a lock, a pool of readers.

WAL lets readers run beside the writer. Writes go through ``Store.write()``, which holds the
lock for one transaction (sqlite-utils ``atomic``), so a request is stored whole or not at
all. ``mark_baseline``/``reset`` copy the whole database with SQLite's backup API: reset is
a page copy, not a replay.
"""

from __future__ import annotations

import contextlib
import enum
import os
import queue
import sqlite3
import tempfile
import threading
from typing import Iterator

from sqlite_utils import Database

from .migrations import MIGRATIONS
from .segments import register_functions

_PRAGMAS = (
    # A new file only (an existing one keeps its size; WAL cannot change it). A send writes
    # whole ranges of the per-user indexes every run: 16 KB pages write the same bytes in a
    # quarter of the WAL frames and checkpoint copies (bench_scheduling.py storage: 5.4 s ->
    # 4.1 s).
    "PRAGMA page_size=16384",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA cache_size=-131072",
    "PRAGMA foreign_keys=ON",
)


class ForeignKeys(enum.Enum):
    """Whether SQLite checks foreign keys row by row during a write transaction."""
    CHECKED = "checked"
    # For bulk loads whose code takes every referenced id from the same transaction (the
    # event import: user ids from ``users.find``/``users.insert``). Checking costs a B-tree
    # probe per inserted event, ~1.7 s of the single writer's time per million.
    TRUSTED = "trusted"


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    register_functions(conn)  # moe_median (aggregations), moe_distance_m (geopoints)
    return conn


class Store:
    """The SQLite file. SQL lives in the sibling modules (users, events, ...), which take the
    ``Database`` handle that ``write()`` or ``read()`` yields."""

    def __init__(self, path: str):
        self.path = path
        self._write_lock = threading.RLock()
        self._writer = connect(path)
        self.db = Database(self._writer)
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._baseline_path: str | None = None
        self._reset_hooks: list = []
        self._write_hooks: list = []

    def migrate(self) -> list[str]:
        with self._write_lock:
            pending = [m.name for m in MIGRATIONS.pending(self.db)]
            MIGRATIONS.apply(self.db)
            return pending

    @contextlib.contextmanager
    def write(self, foreign_keys: ForeignKeys = ForeignKeys.CHECKED) -> Iterator[Database]:
        with self._write_lock:
            trusted = foreign_keys is ForeignKeys.TRUSTED and not self._writer.in_transaction
            if trusted:  # the pragma is a no-op inside a transaction
                self._writer.execute("PRAGMA foreign_keys=OFF")
            try:
                with self.db.atomic():
                    yield self.db
            finally:
                if trusted:
                    self._writer.execute("PRAGMA foreign_keys=ON")
        self._written()

    @contextlib.contextmanager
    def read(self) -> Iterator[Database]:
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = connect(self.path)
        try:
            yield Database(conn)
        finally:
            if conn.in_transaction:
                conn.rollback()
            self._readers.put(conn)

    def on_write(self, hook) -> None:
        """Register a callable run after every write (outside the lock): long-polls wake on it."""
        self._write_hooks.append(hook)

    def _written(self) -> None:
        for hook in self._write_hooks:
            hook()

    def on_reset(self, hook) -> None:
        """Register a callable that drops in-memory caches of stored data."""
        self._reset_hooks.append(hook)

    def mark_baseline(self) -> None:
        """Remember the current contents as the state ``reset()`` returns to."""
        with self._write_lock:
            if self._baseline_path is None:
                handle, self._baseline_path = tempfile.mkstemp(prefix="moesim-baseline-",
                                                               suffix=".db")
                os.close(handle)
            target = sqlite3.connect(self._baseline_path)
            try:
                self._writer.backup(target)
            finally:
                target.close()

    def reset(self) -> None:
        with self._write_lock:
            if self._baseline_path is None:
                raise RuntimeError("reset() before mark_baseline()")
            self._replace_from(self._baseline_path)
        self._written()

    def replace_with(self, path: str) -> None:
        """Replace every row with the contents of the database at ``path`` in one page copy
        (a snapshot restore; the caller has checked the file). Readers see the old contents or
        the new, never a mix."""
        with self._write_lock:
            self._replace_from(path)
        self._written()

    def _replace_from(self, path: str) -> None:
        source = sqlite3.connect(path)
        try:
            source.backup(self._writer)
        finally:
            source.close()
        for hook in self._reset_hooks:
            hook()

    def page_size(self) -> int:
        with self._write_lock:
            return self._writer.execute("PRAGMA page_size").fetchone()[0]

    def analyze(self) -> None:
        with self._write_lock:
            self._writer.execute("ANALYZE")

    def close(self) -> None:
        with self._write_lock:
            while True:
                try:
                    self._readers.get_nowait().close()
                except queue.Empty:
                    break
            self._writer.close()
            if self._baseline_path:
                with contextlib.suppress(OSError):
                    os.unlink(self._baseline_path)
                self._baseline_path = None
