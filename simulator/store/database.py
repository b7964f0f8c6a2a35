"""Connections to the SQLite file: one writer behind a lock, a pool of readers.

WAL lets readers run beside the writer. Writes go through ``Store.write()``, which holds the
lock for one transaction (sqlite-utils ``atomic``), so a request is stored whole or not at
all. WAL checkpoints run on a thread and connection of their own (``_Checkpointer``), so a COMMIT
does not wait on their disk syncs (unless the WAL passes the writer's backstop, 16k pages).
``mark_baseline``/``reset`` keep and replay an undo log beside the database (``reset_point``):
taking the point copies nothing, and what it keeps grows with the data that changes.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import sqlite3
import threading
from typing import Iterator

from sqlite_utils import Database

from .migrations import MIGRATIONS
from .reset_point import ResetPoint
from .segments import register_functions

log = logging.getLogger("moesim.store")

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
    # Checkpoints run on a thread of their own (``_Checkpointer``); a writer checkpoints itself
    # only when the WAL passes this many pages (256 MB of 16 KB pages).
    f"PRAGMA wal_autocheckpoint={16 * 1024}",
    # While a long send writes, the background checkpoints lag its commits and the WAL does
    # not start over, so it grows, usually to that backstop (further if a reader holds an old
    # snapshot); when it does start over, the file is cut back to 64 MB.
    f"PRAGMA journal_size_limit={64 * 1024 * 1024}",
)
# A checkpoint copies the WAL into the database file and, with synchronous=NORMAL, syncs
# both: tens to hundreds of milliseconds on a slow disk, which a writer checkpointing itself
# (SQLite's default, every 1000 pages) spends inside a COMMIT, holding up every write behind
# it. The checkpointer runs them beside the writer, at most one per ``CHECKPOINT_GAP_S``.
CHECKPOINT_GAP_S = 0.1


class _Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection after writes land."""

    def __init__(self, path: str):
        self._wake, self._stop = threading.Event(), threading.Event()
        # nudges so far, and how many of them the last finished checkpoint covers
        self.asked = self.covered = 0
        self.ran = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True,
                                        name="moesim-checkpoint")
        self._thread.start()

    def nudge(self) -> None:
        with self.ran:
            self.asked += 1
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self, path: str) -> None:
        try:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error:  # the writer's own checkpoints (the backstop) remain
            log.exception("the checkpointer cannot open %s", path)
            return
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            while True:
                self._wake.wait()
                if self._stop.is_set():
                    return
                self._wake.clear()
                with self.ran:
                    covering = self.asked
                with contextlib.suppress(sqlite3.Error):  # the next one tries again
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                with self.ran:
                    self.covered = covering
                    self.ran.notify_all()
                self._stop.wait(CHECKPOINT_GAP_S)
        finally:
            conn.close()


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
        self._foreign_keys_on = True  # connect() turns them on; see _check_foreign_keys
        self.db = Database(self._writer)
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._reset_point = ResetPoint(self._writer, path)
        self._reset_hooks: list = []
        self._write_hooks: list = []
        self._checkpointer: _Checkpointer | None = None  # see ``_nudge_checkpointer``
        self._checkpointer_lock = threading.Lock()
        self._closed = False

    def migrate(self) -> list[str]:
        with self._write_lock:
            self._check_foreign_keys(True)
            pending = [m.name for m in MIGRATIONS.pending(self.db)]
            MIGRATIONS.apply(self.db)
            return pending

    @contextlib.contextmanager
    def write(self, foreign_keys: ForeignKeys = ForeignKeys.CHECKED) -> Iterator[Database]:
        """One transaction, committed when the block ends."""
        with self._write_lock:
            if not self._writer.in_transaction:  # the pragma is a no-op inside a transaction
                self._check_foreign_keys(foreign_keys is ForeignKeys.CHECKED)
            with self.db.atomic():
                yield self.db
        self._written()

    def _check_foreign_keys(self, on: bool) -> None:
        """Under the write lock, outside a transaction: SQLite's foreign-key checks on or off.
        The setting stays until a write wants the other: changing it expires every prepared
        statement of the connection (SQLite recompiles each at its next use, ~20 % of a send
        batch's insert time when it was switched off and on again around every batch)."""
        if self._foreign_keys_on != on:
            self._writer.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
            self._foreign_keys_on = on

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
        self._nudge_checkpointer()
        for hook in self._write_hooks:
            hook()

    def _nudge_checkpointer(self) -> None:
        """After a write lands (any thread, outside the write lock): one checkpointer per
        open store, started by the first write."""
        with self._checkpointer_lock:
            if self._closed:
                return
            if self._checkpointer is None:
                try:
                    self._checkpointer = _Checkpointer(self.path)
                except RuntimeError:  # no new threads (interpreter shutdown): the backstop
                    return
            self._checkpointer.nudge()

    def checkpoint_landed(self, timeout_s: float = 10.0) -> bool:
        """Wait until a checkpoint attempt has finished since the last write (tests)."""
        checkpointer = self._checkpointer
        if checkpointer is None:
            return True
        with checkpointer.ran:
            asked = checkpointer.asked
            return checkpointer.ran.wait_for(lambda: checkpointer.covered >= asked, timeout_s)

    def on_reset(self, hook) -> None:
        """Register a callable that drops in-memory caches of stored data."""
        self._reset_hooks.append(hook)

    def mark_baseline(self) -> None:
        """Remember the current contents as the state ``reset()`` returns to."""
        with self._write_lock:
            self._reset_point.take()

    def reset(self) -> None:
        with self._write_lock:
            if not self._reset_point.taken:
                raise RuntimeError("reset() before mark_baseline()")
            self._check_foreign_keys(False)  # rows come back table by table
            self._reset_point.restore()
            for hook in self._reset_hooks:
                hook()
        self._written()

    def empty(self, keep: tuple[str, ...] = ("meta", "_sqlite_migrations")) -> None:
        """Delete every row of every table but ``keep`` (settings and the schema's history),
        in one transaction. The reset point sees the deletes like any others, so ``reset``
        still returns to the start-up state."""
        with self.write(ForeignKeys.TRUSTED) as db:
            tables = [name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            for name in tables:
                if name not in keep:
                    db.execute(f'DELETE FROM "{name}"')
        for hook in self._reset_hooks:
            hook()

    def replace_with(self, path: str) -> None:
        """Replace every row with the contents of the database at ``path`` in one page copy
        (a snapshot restore; the caller has checked the file). Readers see the old contents or
        the new, never a mix. The reset point stays where it was."""
        with self._write_lock:
            if self._reset_point.taken:
                self._reset_point.copy_all()  # the page copy passes its triggers by
            source = sqlite3.connect(path)
            try:
                source.backup(self._writer)
            finally:
                source.close()
            for hook in self._reset_hooks:
                hook()
        self._written()

    def page_size(self) -> int:
        with self._write_lock:
            return self._writer.execute("PRAGMA page_size").fetchone()[0]

    def analyze(self) -> None:
        with self._write_lock:
            self._writer.execute("ANALYZE")

    def close(self) -> None:
        with self._write_lock:
            with self._checkpointer_lock:
                self._closed = True
                checkpointer, self._checkpointer = self._checkpointer, None
            if checkpointer is not None:
                checkpointer.close()
            while True:
                try:
                    self._readers.get_nowait().close()
                except queue.Empty:
                    break
            self._reset_point.drop()
            # a clean shutdown leaves no WAL behind (it cannot while a reader still holds it)
            with contextlib.suppress(sqlite3.Error):
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()
