"""HTTP edges: one blueprint per area, one error translation point."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ..core import json_input
from ..core.errors import BadRequest, MoesimError, Unauthorized
from ..core.exposure import token_accepted
from ..services.context import Context
from . import contract

log = logging.getLogger("moesim.api")


HEADER = "X-Moesim-Workspace"
# Not guarded by the admin token: MoEngage's own endpoints keep MoEngage's auth (the Data API,
# the stats and search APIs, the OAuth redirect back from a partner), the capture sink stands in
# for a partner endpoint that moesim itself sends to, and health/readiness reveal nothing.
OPEN_BLUEPRINTS = {"data_api", "reports", "oauth_callback"}
OPEN_ENDPOINTS = {"sim.sink", "sim.health", "sim.ready"}
REALM = 'Basic realm="moesim", charset="UTF-8"'


def guarded(endpoint: str) -> bool:
    """Whether ``MOESIM_ADMIN_TOKEN`` (when set) guards the route."""
    return endpoint.split(".")[0] not in OPEN_BLUEPRINTS and endpoint not in OPEN_ENDPOINTS


def context() -> Context:
    """The workspace this request is for: the ``/_ws/<id>/`` prefix, else the
    ``X-Moesim-Workspace`` header, else (Data API) the workspace id in the path or ``app_id``,
    else the server's own workspace."""
    chosen = g.get("moesim_ctx")
    if chosen is not None:
        return chosen
    workspaces = current_app.extensions["moesim.workspaces"]
    name = request.environ.get("moesim.workspace") or request.headers.get(HEADER)
    if request.blueprint == "data_api":
        # an unknown id falls through to the default, whose checks answer MoEngage's error
        app_id = (request.view_args or {}).get("app_id") or request.args.get("app_id")
        chosen = workspaces.get(name or app_id) or workspaces.default
    elif request.blueprint == "reports":
        # MoEngage's stats and search APIs name the workspace in MOE-APPKEY
        chosen = workspaces.get(name or request.headers.get("MOE-APPKEY")) or workspaces.default
    else:
        chosen = workspaces.require(name)
    g.moesim_ctx = chosen
    return chosen


def json_body():
    """The request's JSON body (decoded by ``json_input``'s rules), or our 400 naming the path."""
    raw = request.get_data(cache=True)
    if not request.is_json or not raw.strip():
        raise BadRequest("body must be JSON (Content-Type: application/json)", path="body")
    return contract.validated_body(json_input.decode(raw))


def optional_json_body():
    """The JSON body if there is one (None for an empty or non-JSON body), same rules."""
    raw = request.get_data(cache=True)
    if not request.is_json or not raw.strip():
        return None
    return contract.validated_body(json_input.decode(raw))


class BoundedInt(IntegerConverter):
    """``<int:...>`` path segments fit SQLite's signed 64 bits; a larger number matches no
    route (404) instead of overflowing in the store."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", json_input.INT_MAX)
        super().__init__(url_map, *args, **kwargs)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.add_url_rule("/openapi.json", "openapi",
                     lambda: jsonify(contract.document(app, guarded)))
    from . import campaigns, connected_apps, data_api, delivery_settings, oauth_callback, readback
    from . import sim, workspaces

    app.register_blueprint(campaigns.bp)
    app.register_blueprint(oauth_callback.bp)
    app.register_blueprint(connected_apps.bp)
    app.register_blueprint(data_api.bp)
    app.register_blueprint(readback.bp)
    app.register_blueprint(sim.bp)
    from . import segments
    app.register_blueprint(segments.bp)
    from . import reports
    app.register_blueprint(reports.bp)
    app.register_blueprint(workspaces.bp)
    app.register_blueprint(delivery_settings.bp)
    from . import index
    app.register_blueprint(index.bp)

    @app.before_request
    def require_admin_token():
        """``MOESIM_ADMIN_TOKEN``, when set, guards everything but the open routes above."""
        token = app.extensions["moesim"].settings.admin_token
        if not token or not guarded(request.endpoint or ""):
            return
        if not token_accepted(request.headers.get("Authorization"), token):
            raise Unauthorized("admin token required: send 'Authorization: Bearer <token>' "
                               "(or the token as the Basic-auth password)",
                               path="Authorization")

    contract.install(app)  # after the token check: an unauthenticated request learns nothing

    @app.errorhandler(MoesimError)
    def moesim_error(error: MoesimError):
        if request.blueprint == data_api.bp.name:
            return jsonify(data_api.failure_body(error)), error.status
        if request.blueprint == "reports":
            body, status = reports.failure(error)
            return jsonify(body), status
        if isinstance(error, Unauthorized):  # a browser then asks for the token itself
            return jsonify(error.body()), error.status, {"WWW-Authenticate": REALM}
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        wrapped = MoesimError(error.description or error.name)
        wrapped.status, wrapped.code = error.code or 500, error.name.lower().replace(" ", "_")
        return moesim_error(wrapped)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return moesim_error(MoesimError("internal error; see the server log"))


def openapi_document() -> dict:
    """The OpenAPI document of the routes ``register`` adds (no store needed: it is built from
    the route table alone)."""
    app = Flask("moesim")
    register(app)
    return contract.document(app, guarded)
