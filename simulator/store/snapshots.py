"""Snapshot files: consistent copies of a moesim database, written atomically, checked on import.

A snapshot is the database itself (users, events, campaigns, jobs, connectors, connections with
their secrets, sinks, the clock in ``meta``), copied with SQLite's backup API from a read
transaction, so writers carry on and the copy is one consistent moment. It is written to a
temporary file beside the target, fsynced, and moved onto the target with ``os.replace``: a
failure (or crash) mid-export leaves the old file or no file, never a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from typing import Iterator

from sqlite_utils import Database

from ..core.errors import ConfigError, MoesimError, ValidationFailed
from .database import Store
from .migrations import MIGRATIONS

_TEMP_PREFIX = ".moesim-snapshot-"


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    """The page copy (one step: the source's read transaction spans the whole copy)."""
    source.backup(target)


def usable(path: str, key: str) -> str:
    """``path`` if the operating system can take it as a file name (the check every snapshot
    path gets before it is used), else a 400 naming ``key``."""
    if not isinstance(path, str) or not path.strip():
        raise ConfigError("a snapshot path must be a non-empty file name", path=key)
    if "\0" in path:
        raise ConfigError("a snapshot path cannot contain a NUL character", path=key)
    return path


def write(source: sqlite3.Connection, path: str) -> int:
    """Copy the database of ``source`` to ``path`` atomically; returns the file's size."""
    usable(path, "path")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigError(f"{path}: no such directory {directory}", path="path")
    if os.path.isdir(path):
        raise ConfigError(f"{path} is a directory", path="path")
    if os.path.exists(path):
        try:
            check(path)
        except ValidationFailed:
            raise ConfigError(f"{path} exists and is not a moesim snapshot: not replaced",
                              path="path") from None
    try:
        handle, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigError(f"cannot write in {directory}: {exc.strerror}", path="path") from None
    os.close(handle)
    try:
        target = sqlite3.connect(temp, isolation_level=None)
        try:
            _copy(source, target)
            # one self-contained file: no -wal beside it
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        with open(temp, "rb+") as copied:
            os.fsync(copied.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, (OSError, sqlite3.Error)):
            raise MoesimError(f"snapshot to {path} failed ({exc}); {path} is unchanged") \
                from exc
        raise
    _fsync_directory(directory)
    return os.path.getsize(path)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def export(store: Store, path: str) -> int:
    """A snapshot of a live store, from one of its read connections."""
    if os.path.exists(path) and os.path.samefile(path, store.path):
        raise ConfigError(f"{path} is the live database", path="path")
    with store.read() as db:
        return write(db.conn, path)


def export_file(db_path: str, path: str) -> int:
    """A snapshot of a database file (no server needed; a running one may keep writing)."""
    usable(path, "path")
    if not os.path.isfile(db_path):
        raise ConfigError(f"no database at {db_path}", path="db")
    if os.path.exists(path) and os.path.samefile(path, db_path):
        raise ConfigError(f"{path} is the database itself", path="path")
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return write(source, path)
    finally:
        source.close()


def _problem(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path} is not a moesim snapshot: {message}", path="snapshot")


def check(path: str) -> list[str]:
    """The migrations a snapshot file has applied; ``ValidationFailed`` unless it is a sound
    SQLite file made by this moesim or an earlier one."""
    if not os.path.isfile(usable(path, "snapshot")):
        raise ConfigError(f"no snapshot file at {path}", path="snapshot")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            applied = MIGRATIONS.applied(Database(conn))
        except sqlite3.DatabaseError as exc:
            raise _problem(path, str(exc)) from None
    finally:
        conn.close()
    if verdict != "ok":
        raise _problem(path, f"integrity check failed ({verdict})")
    names = [m.name for m in applied]
    known = [m.name for m in MIGRATIONS.pending(Database(memory=True))]
    if not names:
        raise _problem(path, "it has no moesim schema")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise _problem(path, f"made by a newer moesim (migration {unknown[0]})")
    if names != known[:len(names)]:
        raise _problem(path, "its migrations are out of order")
    return names


@contextlib.contextmanager
def staged(path: str, page_size: int) -> Iterator[str]:
    """A checked, migrated private copy of the snapshot at ``path`` (deleted afterwards): the
    file given is never modified, and the live data is only touched once the copy is sound.
    The copy has the live database's ``page_size``: SQLite copies pages into a WAL database
    only of its own size (a file made by a moesim of another page size is rewritten)."""
    check(path)
    handle, temp = tempfile.mkstemp(prefix="moesim-restore-", suffix=".db")
    os.close(handle)
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(temp, isolation_level=None)
        try:
            source.backup(target)
            MIGRATIONS.apply(Database(target))
            if target.execute("PRAGMA page_size").fetchone()[0] != page_size:
                target.execute(f"PRAGMA page_size={int(page_size)}")
                target.execute("VACUUM")
        finally:
            source.close()
            target.close()
        check(temp)
        yield temp
    finally:
        for leftover in (temp, temp + "-wal", temp + "-shm", temp + "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)


def restore(store: Store, path: str) -> None:
    """Replace the live store's contents with the snapshot at ``path``."""
    with staged(path, store.page_size()) as ready:
        store.replace_with(ready)


def restore_file(db_path: str, path: str) -> None:
    """Replace a database file's contents with the snapshot (created if missing). Done through
    SQLite, not by moving files, so a WAL beside the database can never be paired with the
    wrong file."""
    check(path)  # before the database file is created
    store = Store(db_path)
    try:
        with staged(path, store.page_size()) as ready:
            store.replace_with(ready)
    finally:
        store.close()
