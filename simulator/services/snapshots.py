"""Snapshots of a workspace: export to a file, restore from one (``/_sim/snapshot``, ``moesim
export``, ``moesim import-snapshot``, ``moesim serve --snapshot``).

A restore replaces the stored data the way ``/_sim/reset`` does (one page copy under the writer
lock, with no engine run in progress), then the clock resumes from the snapshot's stored state
and jobs the snapshot caught mid-run are re-queued (the engine's restart policy: nobody is sent
twice). The state ``/_sim/reset`` returns to is not changed by a restore.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO

from ..core.errors import ConfigError
from ..store import snapshots as files
from . import clock, engine
from .context import Context


def _store_clock(ctx: Context) -> None:
    """The snapshot carries the clock as it is now (a clock handed to ``create_app`` is only
    stored once it changes)."""
    clock._save(ctx)


def export(ctx: Context, path: str) -> dict:
    _store_clock(ctx)
    size = files.export(ctx.store, path)
    return {"path": os.path.abspath(path), "bytes": size, **clock.view(ctx)}


def exported(ctx: Context) -> BinaryIO:
    """A snapshot as an open file to stream; its temporary file is already unlinked (POSIX),
    so closing the stream frees it."""
    directory = tempfile.mkdtemp(prefix="moesim-export-")
    path = os.path.join(directory, "snapshot.db")
    try:
        _store_clock(ctx)
        files.export(ctx.store, path)
        return open(path, "rb")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def restore(ctx: Context, path: str) -> dict:
    """Replace the workspace's data with the snapshot at ``path`` (checked first: a file that is
    not a moesim snapshot changes nothing)."""
    with ctx.engine_lock:
        files.restore(ctx.store, path)
        ctx.data_api_log.clear()
        clock.reload(ctx)
        ctx.renew_ids()
        requeued = engine.recover(ctx)
    ctx.wake()
    return {"status": "restored", "requeued_jobs": requeued, **clock.view(ctx)}


def restore_bytes(ctx: Context, data: bytes) -> dict:
    """An uploaded snapshot."""
    if not data:
        raise ConfigError("no snapshot: send {\"path\": ...} as JSON or the file as the body",
                          path="body")
    handle, path = tempfile.mkstemp(prefix="moesim-upload-", suffix=".db")
    try:
        with os.fdopen(handle, "wb") as upload:
            upload.write(data)
        return restore(ctx, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def export_file(db_path: str, path: str) -> int:
    """Offline: snapshot a database file; returns the snapshot's size in bytes."""
    return files.export_file(db_path, path)


def restore_file(db_path: str, path: str) -> None:
    """Offline: replace a database file's contents with a snapshot (no server may be using
    it: a running server would keep its old clock in memory; restore through its API)."""
    files.restore_file(db_path, path)
