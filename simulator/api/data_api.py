"""MoEngage's Data API under MoEngage's own paths (spec §7; data.yaml, data-overview.mdx).

Checks run in this order [I: MoEngage documents no precedence]: body size, credentials,
workspace id, content type, JSON, payload. Every failure is answered with MoEngage's body:
``{"status": "fail", "error": {"type", "message", "attribute"?, "request_id"}}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from flask import Blueprint, jsonify, request

from ..core import json_input, tracking, user_requests
from ..core.errors import (BadRequest, Conflict, MoesimError, PayloadTooLarge, Unauthorized,
                           UnsupportedMediaType)
from ..services import ingest, profiles, scheduling, user_admin
from . import context, contract

bp = Blueprint("data_api", __name__, url_prefix="/v1")
log = logging.getLogger("moesim.data_api")

KB = 1024
BODY_LIMIT = 128 * KB      # data-overview.mdx: "The maximum limit for the request body is 128 KB."
BULK_BODY_LIMIT = 100 * KB  # data.yaml /transition: "a maximum of 100 KB in a single API call"
EXPORT_MAX_USERS = 20       # data.yaml /customers/export: "20 users per payload"
SUCCESS_MESSAGE = "Your request has been accepted and will be processed soon."
MALFORMED = tracking.MALFORMED_JSON


def failure_body(error: MoesimError) -> dict:
    body = {"type": error.moe_type, "message": error.message}
    if error.path:
        body["attribute"] = error.path.rsplit(".", 1)[-1].split("[", 1)[0]
    body["request_id"] = context().ids.request_id()
    return {"status": "fail", "error": body}


def _unauthorized(message: str) -> Unauthorized:
    return Unauthorized(message, moe_type="Authentication required")


def _check_credentials(app_id: str | None) -> None:
    settings = context().settings
    header = request.headers.get("Authorization")
    if not header:
        raise _unauthorized("Authentication Header Required")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("Invalid authorization used. MoEngage only supports 'Basic Auth' "
                            "authorization.")
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True) \
            .decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("Invalid identity information found") from None
    if not sep or not username:
        raise _unauthorized("APP_KEY missing in the authentication header")
    if not password:
        raise _unauthorized("APP_SECRET missing in the authentication header")
    header_key = request.headers.get("MOE-APPKEY")
    if header_key is not None and header_key != username:
        raise _unauthorized("MOE_APPKEY doesn't match the Username (APP_KEY) used in Basic "
                            "Auth authorization.")
    if app_id is None:
        raise BadRequest("app_id is required in path/query params.", path="app_id",
                         moe_type="ParamsRequired")
    if app_id != username:
        raise Conflict("App key mismatch in params and authentication",
                       moe_type="Authentication Mismatch")
    if app_id != settings.workspace_id:
        raise BadRequest("Given app_id is invalid.", path="app_id", moe_type="InvalidParams")
    if not hmac.compare_digest(password.encode(), settings.data_api_key.encode()):
        raise _unauthorized("App Secret key mismatch. Please login to the dashboard to verify key")


def _read_json(app_id: str | None, limit: int, unsupported: tuple[str, str]):
    """Size, credentials, content type and JSON of a Data API request."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"Payload size exceeds {limit // KB} KB", moe_type="PayloadTooLarge")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"Payload size exceeds {limit // KB} KB", moe_type="PayloadTooLarge")
    _check_credentials(app_id)
    mimetype = request.mimetype
    if not mimetype:
        raise BadRequest("The Content-Type Header is required", moe_type="Missing header value")
    if mimetype != "application/json":
        raise UnsupportedMediaType(unsupported[1], moe_type=unsupported[0])
    if not raw.strip():
        raise BadRequest("A valid JSON document is required", moe_type="Empty request body")
    try:
        return contract.validated_body(json_input.decode(raw))
    except json_input.MalformedJson as exc:
        # MoEngage's words for any undecodable body; the rule broken goes to the server log
        log.info("malformed Data API body at %s: %s", exc.path, exc.message)
        raise BadRequest(MALFORMED, moe_type="Malformed JSON",
                         path=None if exc.path == "body" else exc.path) from None


def _app_id(path_value: str | None) -> str | None:
    return path_value or request.args.get("app_id")


def _success():
    return jsonify({"status": "success", "message": SUCCESS_MESSAGE,
                    "request_id": context().ids.request_id()})


# data.yaml words the 415 differently per endpoint; each route uses its own.
_USER_415 = ("MediaTypeError", "Unsupported Media Type")
_EVENT_415 = ("Unsupported media type", "Content type is not supported")


# Fixed paths are routes of their own, so that /customer/merge and /customer/delete are never
# read as a workspace id (Flask prefers a static segment over a converter).
@bp.post("/customer/merge")
def merge_users():
    payload = _read_json(request.args.get("app_id"), BODY_LIMIT, _USER_415)
    user_admin.merge(context(), user_requests.parse_merge(payload))
    # data.yaml /customer/merge 200: "operation": "created" when the payload has no error
    return jsonify({"status": "success", "operation": "created"})


@bp.post("/customer/delete")
def delete_user():
    payload = _read_json(request.args.get("app_id"), BODY_LIMIT, _USER_415)
    user_admin.request_delete(context(), user_requests.parse_delete(payload))
    return _success()


@bp.post("/device")
@bp.post("/device/<app_id>")
def track_device(app_id: str | None = None):
    payload = _read_json(_app_id(app_id), BODY_LIMIT, _EVENT_415)
    user_admin.track_device(context(), user_requests.parse_device(payload))
    return _success()


@bp.post("/customer")
@bp.post("/customer/<app_id>")
def track_user(app_id: str | None = None):
    payload = _read_json(_app_id(app_id), BODY_LIMIT, _USER_415)
    change = tracking.parse_customer(payload)
    ingest.apply(context(), [change])
    return _success()


@bp.post("/event")
@bp.post("/event/<app_id>")
def track_event(app_id: str | None = None):
    ctx = context()
    payload = _read_json(_app_id(app_id), BODY_LIMIT, _EVENT_415)
    tracked = tracking.parse_event(payload, ctx.clock.now_ms())
    ingest.apply(ctx, tracked)
    scheduling.on_events(ctx, tracked)
    return _success()


@bp.post("/transition")
@bp.post("/transition/<app_id>")
def bulk_import(app_id: str | None = None):
    ctx = context()
    payload = _read_json(_app_id(app_id), BULK_BODY_LIMIT, _USER_415)
    parsed = tracking.parse_bulk(payload, ctx.clock.now_ms())
    result = ingest.apply(ctx, parsed.items, reject=parsed.rejected.append)
    for device in parsed.devices:  # after the users the same request creates
        try:
            user_admin.track_device(ctx, device)
        except MoesimError as problem:
            parsed.rejected.append(problem)
    scheduling.on_events(ctx, [item for item in parsed.items
                               if isinstance(item, tracking.TrackedEvent)])
    for problem in parsed.rejected:
        ctx.data_api_log.append({"time": ctx.clock.now_ms(), "endpoint": "transition",
                                 "path": problem.path, "type": problem.moe_type,
                                 "message": problem.message})
        log.warning("bulk element rejected: %s: %s", problem.path, problem.message)
    log.info("bulk import: %s, %d element(s) rejected, %d device element(s)",
             result.as_dict(), len(parsed.rejected), len(parsed.devices))
    return _success()


@bp.post("/customers/export")
def export_users():
    payload = _read_json(request.args.get("app_id"), BODY_LIMIT, _USER_415)
    return jsonify(profiles.export(context(), payload, EXPORT_MAX_USERS))
