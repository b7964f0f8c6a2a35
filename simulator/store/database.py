"""Connections to the SQLite file: one writer behind a lock, a pool of readers.

WAL lets readers run beside the writer. Writes go through ``Store.write()``, which holds the
lock for one transaction (sqlite-utils ``atomic``), so a request is stored whole or not at
all. A campaign's batches may leave their ``COMMIT`` (writing the pages to the WAL, ~40 % of a
batch's write time) to a helper thread (``write(commit_behind=True)``), which runs it while the
sender renders and sends the next batch; every other use of the writer waits for it first.
WAL checkpoints run on a thread and connection of their own (``_Checkpointer``), so a COMMIT
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
from concurrent.futures import Future, ThreadPoolExecutor
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
        self._committer: ThreadPoolExecutor | None = None  # made on the first commit_behind
        self._pending: tuple[Future, int] | None = None  # a COMMIT on it, the handing thread
        self._local = threading.local()  # .lagging: see ``reads_before_own_commit``
        self._checkpointer: _Checkpointer | None = None  # see ``_nudge_checkpointer``
        self._checkpointer_lock = threading.Lock()
        self._closed = False

    def migrate(self) -> list[str]:
        with self._write_lock:
            self._settle()
            self._check_foreign_keys(True)
            pending = [m.name for m in MIGRATIONS.pending(self.db)]
            MIGRATIONS.apply(self.db)
            return pending

    @contextlib.contextmanager
    def write(self, foreign_keys: ForeignKeys = ForeignKeys.CHECKED, *,
              commit_behind: bool = False) -> Iterator[Database]:
        """One transaction. ``commit_behind``: the block's statements run here, the COMMIT on
        the committer thread, and this returns at once. The rows are then visible to readers
        (and the write hooks run) once it lands, and every later use of the writer waits for
        it. If it fails, it is rolled back and the error is raised in the thread that handed
        it over, at its next write or ``settle()``."""
        with self._write_lock:
            self._settle(commit_behind)
            outer = not self._writer.in_transaction
            if outer:  # the pragma is a no-op inside a transaction
                self._check_foreign_keys(foreign_keys is ForeignKeys.CHECKED)
            if commit_behind and outer:
                self._writer.execute("BEGIN")
                try:
                    yield self.db
                except BaseException:
                    self._writer.rollback()
                    raise
                try:
                    if self._committer is None:
                        self._committer = ThreadPoolExecutor(1, "moesim-commit")
                    self._pending = (self._committer.submit(self._commit),
                                     threading.get_ident())
                except BaseException:  # e.g. no new threads at interpreter shutdown
                    self._writer.rollback()
                    raise
                return
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

    def settle(self) -> None:
        """Wait for a COMMIT handed over by ``write(commit_behind=True)``; raise its error if
        this thread handed it over."""
        with self._write_lock:
            self._settle()

    def _settle(self, any_error: bool = False) -> None:
        """Under the write lock: wait for the pending COMMIT. Its error is raised in the
        thread that handed it over (or, ``any_error``, in any), and left for it otherwise."""
        if self._pending is None:
            return
        future, owner = self._pending
        error = future.exception()
        if error is not None and not any_error and owner != threading.get_ident():
            return
        self._pending = None
        if error is not None:
            raise error

    def _commit(self) -> None:
        """On the committer thread, while the write lock's holders wait in ``_settle``."""
        try:
            self._writer.execute("COMMIT")
        except BaseException:
            self._writer.rollback()
            raise
        self._written()

    @contextlib.contextmanager
    def reads_before_own_commit(self) -> Iterator[None]:
        """Reads on this thread in the block do not wait for its pending COMMIT (by default
        a thread reads its own writes): for a send reading the next users' page while the
        page before it is committed, whose rows concern other users."""
        self._local.lagging = True
        try:
            yield
        finally:
            self._local.lagging = False

    @contextlib.contextmanager
    def read(self) -> Iterator[Database]:
        pending = self._pending
        if pending is not None and pending[1] == threading.get_ident() \
                and not getattr(self._local, "lagging", False):
            self.settle()  # this thread reads its own writes
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
            self._settle()
            self._reset_point.take()

    def reset(self) -> None:
        with self._write_lock:
            self._settle()
            if not self._reset_point.taken:
                raise RuntimeError("reset() before mark_baseline()")
            self._check_foreign_keys(False)  # rows come back table by table
            self._reset_point.restore()
            for hook in self._reset_hooks:
                hook()
        self._written()

    def replace_with(self, path: str) -> None:
        """Replace every row with the contents of the database at ``path`` in one page copy
        (a snapshot restore; the caller has checked the file). Readers see the old contents or
        the new, never a mix. The reset point stays where it was."""
        with self._write_lock:
            self._settle()
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
            self._settle()
            return self._writer.execute("PRAGMA page_size").fetchone()[0]

    def analyze(self) -> None:
        with self._write_lock:
            self._settle()
            self._writer.execute("ANALYZE")

    def close(self) -> None:
        with self._write_lock:
            if self._pending is not None:
                self._pending[0].exception()  # landed or rolled back; nobody left to tell
                self._pending = None
            if self._committer is not None:
                self._committer.shutdown()
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
