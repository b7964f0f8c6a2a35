"""The app factory. Nothing happens at import time: ``create_app()`` builds everything."""

from __future__ import annotations

import gc
import logging
import os
import threading
import weakref
from collections.abc import Mapping

from flask import Flask

from .api import register
from .core import masking
from .dashboard import register as register_dashboard
from .core.clock import Clock
from .core.exposure import check_exposure
from .core.settings import Settings
from .services import clock as sim_clock
from .services import engine, fixtures, secrets
from .services.context import Context, id_source
from .services.workspaces import Workspaces
from .store import Store

log = logging.getLogger("moesim")


# The cyclic garbage collector's first threshold (CPython's default: 700). A campaign batch
# keeps a few thousand containers alive (users' attributes, contexts, requests, results); at
# 700 the collector runs ~7 times a batch, promotes them all, and then walks them again in
# full collections: ~1 s of a 310k-send virtual bench run. Cycles are rare on the send path,
# so collecting them less often costs little memory.
GC_FIRST_THRESHOLD = 10_000


# Every live app's workspaces: the log records of this process are masked with their secrets.
_SERVED: weakref.WeakSet = weakref.WeakSet()
_FACTORY_LOCK = threading.Lock()
_INSIDE = threading.local()
_MASKED = ("moesim", "werkzeug", "simulator")


def _masking_records(previous):
    """A log record factory: a moesim or werkzeug record's message (and traceback) with every
    form of every known secret masked, before any handler formats it."""

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        if not record.name.startswith(_MASKED) or not _SERVED:
            return record
        if getattr(_INSIDE, "active", False):
            return record  # a record logged while the secrets are being read
        known: set[str] = set()
        _INSIDE.active = True
        try:
            for registry in list(_SERVED):
                for ctx in registry.all():
                    try:
                        known |= secrets.known(ctx)
                    except Exception:  # a closed workspace: it has nothing more to show
                        continue
        finally:
            _INSIDE.active = False
        if not known:
            return record
        message = record.getMessage()
        masked = masking.mask(message, known)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            record.exc_text = masking.mask(
                logging.Formatter().formatException(record.exc_info), known)
        return record

    factory.moesim_masking = True
    return factory


def _mask_logs(workspaces) -> None:
    _SERVED.add(workspaces)
    with _FACTORY_LOCK:
        current = logging.getLogRecordFactory()
        if not getattr(current, "moesim_masking", False):
            logging.setLogRecordFactory(_masking_records(current))


def create_context(settings: Settings, clock: Clock | None = None) -> tuple[Context, bool]:
    """Open and migrate the store; returns the context and whether the database is new."""
    if gc.get_threshold()[0] < GC_FIRST_THRESHOLD:
        gc.set_threshold(GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])
    store = Store(settings.db)
    applied = store.migrate()
    is_new = bool(applied) and applied[0] == "m001_users_events_sinks"
    return Context(settings, store, clock or sim_clock.load(settings, store),
                   id_source(settings, store)), is_new


def base_url(settings: Settings, port: int | None = None) -> str:
    """Where this server is reached from the same machine (fixture connectors point here)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{port if port is not None else settings.port}"


def bootstrap(ctx: Context, is_new: bool, url: str | None = None) -> None:
    """Load fixtures into a new database, remember the state ``/_sim/reset`` returns to, and
    declare the simulator ready."""
    where = fixtures.directory(ctx.settings.fixtures)
    if is_new and where is not None:
        summary = fixtures.load(ctx, where, url or base_url(ctx.settings))
        log.info("loaded fixtures from %s: %s", where, summary)
    requeued = engine.recover(ctx)
    if requeued:
        log.info("re-queued %d job(s) interrupted by the last shutdown", requeued)
    ctx.store.mark_baseline()
    ctx.ready.set()


def create_app(settings: Settings | None = None, *, environ: Mapping[str, str] | None = None,
               clock: Clock | None = None, start: bool = True) -> Flask:
    """Build the Flask app.

    ``settings`` default to ``MOESIM_*`` variables of ``environ`` (``os.environ``). With
    ``start=False`` the caller runs ``bootstrap`` itself (``moesim serve`` does, in the
    background, so ``/_sim/health`` answers while fixtures load).
    """
    if settings is None:
        settings = Settings.load(os.environ if environ is None else environ)
    check_exposure(settings.host, settings.admin_token)
    ctx, is_new = create_context(settings, clock)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["moesim"] = ctx
    app.extensions["moesim.is_new"] = is_new

    def open_workspace(ws_settings: Settings) -> Context:
        opened, new = create_context(ws_settings)
        opened.woken = ctx.woken  # one ticker wakes for every workspace
        url = app.extensions.get("moesim.base_url") or base_url(settings)
        bootstrap(opened, new, f"{url}/_ws/{ws_settings.workspace_id}")
        return opened

    workspaces = Workspaces(ctx, open_workspace)
    app.extensions["moesim.workspaces"] = workspaces
    _mask_logs(workspaces)
    app.wsgi_app = WorkspacePrefix(app.wsgi_app)
    register(app)
    register_dashboard(app)
    workspaces.discover()
    if start:
        bootstrap(ctx, is_new)
    return app


class WorkspacePrefix:
    """``/_ws/<id>/rest`` is ``/rest`` in workspace ``<id>`` (WSGI ``SCRIPT_NAME`` carries the
    prefix, so URLs the app builds from the request stay inside the workspace)."""

    KEY = "moesim.workspace"

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_ws/"):
            name, _, rest = path[len("/_ws/"):].partition("/")
            environ[self.KEY] = name
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/_ws/" + name
            environ["PATH_INFO"] = "/" + rest
        return self.wsgi_app(environ, start_response)
