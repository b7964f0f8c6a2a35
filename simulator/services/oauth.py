"""MoEngage's part of a connection's OAuth flow (spec §2.5): send the customer to the
partner's authorization URL with ``state`` and a ``redirect_uri`` on moesim, take the code at
``/v3/partner/oauth/callback`` (MoEngage's own callback path), exchange it for tokens, refresh
them when needed. Token requests go through the transport; tokens are never shown."""

from __future__ import annotations

import logging

from ..core import oauth, templating
from ..core.errors import BadRequest, Conflict, NotFound
from ..store import connections as table
from ..store import connectors
from .connections import CONNECTED, _view
from .context import Context

log = logging.getLogger("moesim.oauth")
CALLBACK_PATH = "/v3/partner/oauth/callback"


def _oauth_connection(db, connection_id: int) -> tuple[dict, dict]:
    row = table.get(db, connection_id)
    if row is None:
        raise NotFound(f"no connection with id {connection_id}", path="connection_id")
    config = connectors.version(db, row["connector_id"], row["connector_version"])["config"]
    if config["auth"]["auth_type"] != "oauth":
        raise Conflict(f"connection {connection_id} does not use OAuth", path="connection_id")
    return row, config


def authorize(ctx: Context, connection_id: int, base_url: str) -> dict:
    """The partner's authorization URL for this connection (a new ``state`` each time)."""
    state = ctx.ids.oauth_state()
    redirect_uri = base_url.rstrip("/") + CALLBACK_PATH
    with ctx.store.write() as db:
        row, config = _oauth_connection(db, connection_id)
        table.set_oauth_state(db, connection_id, state)
    info = config["auth"]["auth_info"]
    form = templating.app_form_values(row["values"], {"state": state,
                                                      "redirect_uri": redirect_uri})
    url = oauth.authorization_url(templating.Renderer(ctx.clock.now()),
                                  info["authorization_mapping"], form)
    return {"authorization_url": url, "state": state, "redirect_uri": redirect_uri}


def callback(ctx: Context, args: dict, base_url: str) -> dict:
    """The partner redirected the browser back with a code: exchange it for tokens."""
    state = args.get("state")
    if not state:
        raise BadRequest("state is missing from the callback", path="state")
    with ctx.store.read() as db:
        row = table.by_oauth_state(db, state)
        if row is None:
            raise NotFound("no authorization is waiting for this state", path="state")
        _, config = _oauth_connection(db, row["id"])
    info = config["auth"]["auth_info"]
    code_param = info["authorization_mapping"].get("auth_code_mapping") or "code"
    code = args.get(code_param)
    if not code:
        raise BadRequest(f"{code_param} is missing from the callback", path=code_param)
    form = templating.app_form_values(row["values"], {
        "auth_code": code, "state": state, "redirect_uri": base_url.rstrip("/") + CALLBACK_PATH})
    tokens = _exchange(ctx, info["access_token_mapping"], info, form, None)
    with ctx.store.write() as db:
        table.save_tokens(db, row["id"], tokens.as_dict(), CONNECTED)
        return _view(table.get(db, row["id"]), config)


def _exchange(ctx: Context, mapping: dict, info: dict, form: dict,
              previous: oauth.Tokens | None) -> oauth.Tokens:
    request = oauth.token_request(templating.Renderer(ctx.clock.now()), mapping, form)
    result = ctx.sender().send(request)
    try:
        return oauth.read_tokens(result, info["access_token_mapping"],
                                 info["refresh_token_mapping"], ctx.clock.now_ms(), previous)
    except oauth.OAuthError as problem:
        raise Conflict(f"OAuth token request failed: {problem}", path="oauth") from None


def access_token(ctx: Context, connection_id: int) -> str:
    """The connection's current access token (``MOE_ACCESS_TOKEN_DEFAULT``), refreshed first
    when it has expired or is about to."""
    with ctx.store.read() as db:
        row, config = _oauth_connection(db, connection_id)
        stored = table.tokens(db, connection_id)
    if stored is None:
        raise Conflict(f"connection {connection_id} has not completed authorization",
                       path="connection_id")
    tokens = oauth.Tokens.from_dict(stored)
    if not tokens.access_expired(ctx.clock.now_ms()):
        return tokens.access_token
    info = config["auth"]["auth_info"]
    if not tokens.refresh_token:
        raise Conflict(f"connection {connection_id}: access token expired and no refresh token",
                       path="connection_id")
    form = templating.app_form_values(row["values"], {"refresh_token": tokens.refresh_token})
    fresh = _exchange(ctx, info["refresh_token_mapping"], info, form, tokens)
    with ctx.store.write() as db:
        table.save_tokens(db, connection_id, fresh.as_dict(), CONNECTED)
    log.info("connection %s: access token refreshed", connection_id)
    return fresh.access_token
