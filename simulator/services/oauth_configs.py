"""Connector-campaign OAuth configurations (spec §6.6): created with a test call to the token
endpoint ("Send test & continue"), ACTIVE or FAILED, tokens fetched again when they expire or a
campaign's reattempt code says so. Tokens are secrets: never shown."""

from __future__ import annotations

import logging
from typing import Any

from ..core import masking
from ..core import oauth_configs as rules
from ..core.errors import Conflict, NotFound, ValidationFailed
from ..core.oauth import OAuthError
from ..core.templating import Renderer
from ..core.timestamps import iso
from ..store import oauth_configs as table
from .context import Context

log = logging.getLogger("moesim.oauth_configs")


def secrets(spec: Any) -> set[str]:
    """The secrets of a configuration: values under secret-looking names (``client_secret``,
    ``Authorization``, ...) in its token request."""
    return masking.secret_values(spec.get("request") if isinstance(spec, dict) else None)


def _view(row: dict) -> dict:
    hidden = secrets(row["spec"]) | ({row["token"]} if row.get("token") else set())
    return {"id": row["id"], "name": row["name"], "status": row["status"],
            "token_expires_at": iso(row["expires_at"]) if row["expires_at"] else None,
            "detail": masking.mask(row["detail"] or "", hidden) or row["detail"],
            "config": masking.mask_structure(row["spec"], hidden),
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}


def create(ctx: Context, spec: Any) -> dict:
    errors = rules.check(spec)
    if errors:
        raise ValidationFailed("invalid OAuth configuration", errors=errors)
    with ctx.store.write() as db:
        config_id = table.insert(db, spec["name"].strip(), spec, ctx.clock.now_ms())
    if config_id is None:
        raise Conflict(f"an OAuth configuration named {spec['name']!r} exists", path="name")
    _fetch(ctx, config_id, spec)
    return get(ctx, config_id)


def get(ctx: Context, config_id: int) -> dict:
    with ctx.store.read() as db:
        row = table.get(db, config_id)
    if row is None:
        raise NotFound(f"no OAuth configuration with id {config_id}", path="oauth_config_id")
    return _view(row)


def all_(ctx: Context) -> list[dict]:
    with ctx.store.read() as db:
        return [_view(r) for r in table.all_(db)]


def _fetch(ctx: Context, config_id: int, spec: dict) -> str | None:
    request = rules.token_request(spec, Renderer(ctx.clock.now()))
    result = ctx.sender().send(request)
    now = ctx.clock.now_ms()
    try:
        token = rules.read_token(spec, result, now)
    except OAuthError as problem:
        with ctx.store.write() as db:
            table.save_token(db, config_id, rules.FAILED, None, None, str(problem), now)
        log.warning("OAuth configuration %s: %s", config_id,
                    masking.mask(str(problem), secrets(spec)))
        return None
    with ctx.store.write() as db:
        table.save_token(db, config_id, rules.ACTIVE, token.value, token.expires_at, None, now)
    return token.value


def token(ctx: Context, config_id: int, *, refresh: bool = False) -> tuple[str | None, dict]:
    """The configuration's token (fetched again when expired or ``refresh``; None when that
    fails: MoEngage then answers the send with a generic 500, spec §6.6) and its spec."""
    with ctx.store.read() as db:
        row = table.get(db, config_id)
    if row is None:
        raise NotFound(f"no OAuth configuration with id {config_id}", path="oauth_config_id")
    current = rules.Token(row["token"], row["expires_at"]) if row["token"] else None
    if current and not refresh and not current.expired(ctx.clock.now_ms()):
        return current.value, row["spec"]
    return _fetch(ctx, config_id, row["spec"]), row["spec"]

