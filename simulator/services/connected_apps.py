"""Connected Apps and their connectors (spec §1-2): apps by unique name, connector configs
validated on upload, every upload kept as a new version."""

from __future__ import annotations

from typing import Any

from ..core.connectors import Validation, require_valid
from ..core.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..core.timestamps import iso
from ..store import connectors as table
from .context import Context

APP_TYPES = ("CHANNEL",)  # Connected Sources (inbound) are not emulated


def _app_view(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "type": row["type"],
            "created_at": iso(row["created_at"])}


def _connector_view(row: dict, validation: Validation | None = None) -> dict:
    view = {"id": row["id"], "app_id": row["app_id"], "name": row["name"],
            "version": row["version"], "current_version": row["current_version"],
            "created_at": iso(row["created_at"]), "config": row["config"]}
    if validation is not None:
        view["warnings"] = [w.as_dict() for w in validation.warnings]
    return view


def create_app(ctx: Context, payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise ValidationFailed("body must be a JSON object", path="body")
    errors = []
    name, type_ = payload.get("name"), payload.get("type", "CHANNEL")
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("name", "is required (a non-empty string)"))
    if type_ not in APP_TYPES:
        errors.append(FieldError("type", f"must be one of {', '.join(APP_TYPES)}"))
    if errors:
        raise ValidationFailed("invalid app", errors=errors)
    with ctx.store.write() as db:
        app_id = table.insert_app(db, name.strip(), type_, ctx.clock.now_ms())
        if app_id is None:
            raise Conflict(f"an app named {name.strip()!r} exists", path="name")
        return _app_view(table.app(db, app_id))


def apps(ctx: Context) -> list[dict]:
    with ctx.store.read() as db:
        return [_app_view(row) for row in table.apps(db)]


def app(ctx: Context, app_id: int) -> dict:
    with ctx.store.read() as db:
        row = table.app(db, app_id)
        if row is None:
            raise NotFound(f"no app with id {app_id}", path="app_id")
        return {**_app_view(row),
                "connectors": [_connector_view(c) for c in table.for_app(db, app_id)]}


def upload_connector(ctx: Context, app_id: int, config: Any, source: str | None = None) -> dict:
    """``source``: the JSON text ``config`` was read from, so that problems name lines."""
    validation = require_valid(config, source)
    with ctx.store.write() as db:
        if table.app(db, app_id) is None:
            raise NotFound(f"no app with id {app_id}", path="app_id")
        connector_id = table.insert_connector(db, app_id, config["basic_info"]["name"], config,
                                              ctx.clock.now_ms())
        return _connector_view(table.version(db, connector_id), validation)


def replace_connector(ctx: Context, connector_id: int, config: Any,
                      source: str | None = None) -> dict:
    """A new version; campaigns created earlier keep the version they were created with."""
    validation = require_valid(config, source)
    with ctx.store.write() as db:
        current = table.version(db, connector_id)
        if current is None:
            raise NotFound(f"no connector with id {connector_id}", path="connector_id")
        number = current["current_version"] + 1
        table.add_version(db, connector_id, number, config["basic_info"]["name"], config,
                          ctx.clock.now_ms())
        return _connector_view(table.version(db, connector_id, number), validation)


def connector(ctx: Context, connector_id: int, version: int | None = None) -> dict:
    with ctx.store.read() as db:
        row = table.version(db, connector_id, version)
    if row is None:
        what = f"connector {connector_id}" + (f" version {version}" if version else "")
        raise NotFound(f"no {what}", path="connector_id")
    return _connector_view(row)


def connector_versions(ctx: Context, connector_id: int) -> list[dict]:
    with ctx.store.read() as db:
        rows = table.versions(db, connector_id)
    if not rows:
        raise NotFound(f"no connector with id {connector_id}", path="connector_id")
    return [_connector_view(r) for r in rows]
