"""Isolated workspaces inside one server, so parallel CI jobs can share one instance.

A workspace is a MoEngage workspace (app id) of its own: its own SQLite file next to the
server's database (``moesim.db`` -> ``moesim.ws-<id>.db``), hence its own users, events,
connectors, connections, campaigns, jobs, sinks and clock. The server's configured workspace
(``MOESIM_WORKSPACE_ID``) is the default one and keeps the server's database. Nothing is shared
between workspaces but the process: the ticker drives each one's engine in turn.

Requests choose a workspace (``simulator.api.context``) by the Data API's workspace id, by the
path prefix ``/_ws/<id>/`` (which also makes the built-in sink URLs of a workspace its own) or
by the ``X-Moesim-Workspace`` header.
"""

from __future__ import annotations

import glob
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from ..core.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..core.settings import NO_FIXTURES, Settings
from ..core.timestamps import iso
from .context import Context

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUFFIX = ".ws-"

# settings -> a migrated, bootstrapped context (the app factory's job).
Opener = Callable[[Settings], Context]


def database_path(settings: Settings, name: str) -> str:
    root, ext = os.path.splitext(settings.db)
    return f"{root}{SUFFIX}{name}{ext or '.db'}"


class Workspaces:
    """The default workspace plus the ones created through ``POST /_sim/workspaces``."""

    def __init__(self, default: Context, opener: Opener):
        self.default = default
        self._open = opener
        self._others: dict[str, Context] = {}
        self._lock = threading.Lock()

    def discover(self) -> list[str]:
        """Reopen the workspaces a previous run created (their files are next to the database)."""
        root, ext = os.path.splitext(self.default.settings.db)
        found = []
        for path in sorted(glob.glob(glob.escape(root + SUFFIX) + "*" + glob.escape(ext or ".db"))):
            name = path[len(root + SUFFIX):len(path) - len(ext or ".db")]
            if NAME.match(name) and name not in self._others:
                self._others[name] = self._open(self._settings(name, {}))
                found.append(name)
        return found

    def _settings(self, name: str, options: dict[str, Any]) -> Settings:
        """A new workspace's clock starts where the server's own clock is, unless told."""
        base, clock = self.default.settings, self.default.clock
        mode = options.get("clock") or clock.mode
        start = options.get("start_time") or (iso(clock.now()) if mode == "virtual" else "")
        return base.replace(workspace_id=name, db=database_path(base, name),
                            fixtures=options.get("fixtures") or NO_FIXTURES,
                            data_api_key=options.get("data_api_key") or base.data_api_key,
                            clock=mode, start_time=start)

    def get(self, name: str | None) -> Context | None:
        if name is None or name == self.default.settings.workspace_id:
            return self.default
        return self._others.get(name)

    def require(self, name: str | None) -> Context:
        ctx = self.get(name)
        if ctx is None:
            raise NotFound(f"unknown workspace {name!r}; create it with POST /_sim/workspaces",
                           path="workspace")
        return ctx

    def all(self) -> list[Context]:
        with self._lock:
            return [self.default, *self._others.values()]

    def create(self, body: Any) -> Context:
        """``{"id", "data_api_key"?, "clock"?, "start_time"?, "fixtures"?: "none"|"bundled"}``."""
        if not isinstance(body, dict):
            raise ValidationFailed("invalid workspace",
                                   errors=[FieldError("body", "must be an object")])
        errors = []
        name = body.get("id")
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(FieldError("id", "must be 1-64 letters, digits, '_' or '-'"))
        for key in ("data_api_key", "start_time"):
            if key in body and not isinstance(body[key], str):
                errors.append(FieldError(key, "must be a string"))
        if body.get("clock", "virtual") not in ("system", "virtual"):
            errors.append(FieldError("clock", "must be 'system' or 'virtual'"))
        if body.get("fixtures", NO_FIXTURES) not in (NO_FIXTURES, "bundled"):
            errors.append(FieldError("fixtures", "must be 'none' or 'bundled'"))
        unknown = sorted(set(body) - {"id", "data_api_key", "clock", "start_time", "fixtures"})
        errors += [FieldError(key, "is not a workspace option") for key in unknown]
        if errors:
            raise ValidationFailed("invalid workspace", errors=errors)
        with self._lock:
            if self.get(name) is not None:
                raise Conflict(f"workspace {name!r} exists", path="id")
            ctx = self._open(self._settings(name, body))
            self._others[name] = ctx
        return ctx

    def delete(self, name: str) -> None:
        """Close the workspace and remove its files; the default workspace stays."""
        if name == self.default.settings.workspace_id:
            raise Conflict("the server's own workspace cannot be deleted", path="workspace")
        with self._lock:
            ctx = self._others.pop(name, None)
        if ctx is None:
            raise NotFound(f"unknown workspace {name!r}", path="workspace")
        ctx.close()
        for path in (ctx.settings.db, ctx.settings.db + "-wal", ctx.settings.db + "-shm"):
            if os.path.exists(path):
                os.remove(path)

    def close(self) -> None:
        with self._lock:
            others, self._others = list(self._others.values()), {}
        for ctx in others:
            ctx.close()


def view(ctx: Context) -> dict:
    return {"id": ctx.settings.workspace_id, "clock": ctx.clock.mode,
            "now": iso(ctx.clock.now()),
            "prefix": f"/_ws/{ctx.settings.workspace_id}"}
