"""Connections (spec §3): a customer's integration of a connector, holding the values of its
``app_marketplace`` fields. Secret values are stored and never shown (masked in every view)."""

from __future__ import annotations

from typing import Any

from ..core import form_values
from ..core.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..core.timestamps import iso
from ..store import connections as table
from ..store import connectors
from .context import Context

CONNECTED = "connected"
# spec §1 (S4): a connection is usable only once its authorization has completed
AUTHORIZATION_PENDING = "authorization_pending"


def _view(row: dict, config: dict) -> dict:
    secrets = form_values.secret_keys(config.get("input_variables", []))
    return {"id": row["id"], "connector_id": row["connector_id"],
            "connector_version": row["connector_version"], "name": row["name"],
            "status": row["status"], "values": form_values.mask(row["values"], secrets),
            "created_at": iso(row["created_at"])}


def create(ctx: Context, payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise ValidationFailed("body must be a JSON object", path="body")
    errors: list[FieldError] = []
    connector_id, name = payload.get("connector_id"), payload.get("name")
    valid_id = isinstance(connector_id, int) and not isinstance(connector_id, bool)
    if not valid_id:
        errors.append(FieldError("connector_id", "is required (an integer)"))
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("name", "is required (a non-empty string)"))
    with ctx.store.write() as db:
        connector = connectors.version(db, connector_id) if valid_id else None
        if valid_id and connector is None:
            errors.append(FieldError("connector_id", f"no connector with id {connector_id}"))
        values: dict = {}
        if connector is not None:
            values, problems = form_values.check(connector["config"]["input_variables"],
                                                 "app_marketplace", payload.get("values", {}))
            errors += problems
        if errors:
            raise ValidationFailed("invalid connection", errors=errors)
        oauth = connector["config"]["auth"]["auth_type"] == "oauth"
        connection_id = table.insert(db, connector_id, connector["version"], name.strip(), values,
                                     AUTHORIZATION_PENDING if oauth else CONNECTED,
                                     ctx.clock.now_ms())
        if connection_id is None:
            raise Conflict(f"connector {connector_id} already has a connection named "
                           f"{name.strip()!r}", path="name")
        return _view(table.get(db, connection_id), connector["config"])


def _config(db, row: dict) -> dict:
    return connectors.version(db, row["connector_id"], row["connector_version"])["config"]


def get(ctx: Context, connection_id: int) -> dict:
    with ctx.store.read() as db:
        row = table.get(db, connection_id)
        if row is None:
            raise NotFound(f"no connection with id {connection_id}", path="connection_id")
        return _view(row, _config(db, row))


def all_(ctx: Context, connector_id: int | None = None) -> list[dict]:
    with ctx.store.read() as db:
        return [_view(row, _config(db, row)) for row in table.all_(db, connector_id)]
