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

from ..core.errors import BadRequest, ConfigError, Forbidden
from ..store import snapshots as files
from . import clock, engine
from .context import Context


def _store_clock(ctx: Context) -> None:
    """The snapshot carries the clock as it is now (a clock handed to ``create_app`` is only
    stored once it changes)."""
    clock._save(ctx)


def folder(ctx: Context) -> str:
    """Where server-side snapshot paths may point: ``snapshot_dir``, else the database's
    folder (symbolic links resolved)."""
    return os.path.realpath(ctx.settings.snapshot_dir or
                            os.path.dirname(os.path.abspath(ctx.settings.db)))


def confined(ctx: Context, path: str) -> str:
    """A path received over HTTP, resolved (a relative one against the snapshot folder);
    ``Forbidden`` unless it is inside that folder, so a request cannot write or read a file
    anywhere the process can."""
    if not path or "\0" in path:
        raise BadRequest("path must be a file name, without NUL bytes", path="path")
    base = folder(ctx)
    full = os.path.realpath(os.path.join(base, path))
    if full == base or os.path.commonpath([full, base]) != base:
        raise Forbidden("path must name a file inside the snapshot folder "
                        "(MOESIM_SNAPSHOT_DIR; default: the database's folder)", path="path")
    return full


def export(ctx: Context, path: str) -> dict:
    path = confined(ctx, path)
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


def restore_path(ctx: Context, path: str) -> dict:
    """A restore from a path received over HTTP (confined to the snapshot folder)."""
    return restore(ctx, confined(ctx, path))


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
