"""HTTP edges: one blueprint per area, one error translation point."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..core.errors import BadRequest, MoesimError
from ..services.context import Context

log = logging.getLogger("moesim.api")


def context() -> Context:
    return current_app.extensions["moesim"]


def json_body():
    """The request's JSON body, or our 400 naming ``body``."""
    payload = request.get_json(silent=True)
    if payload is None:
        raise BadRequest("body must be JSON (Content-Type: application/json)", path="body")
    return payload


def register(app: Flask) -> None:
    from . import campaigns, connected_apps, data_api, oauth_callback, readback, sim

    app.register_blueprint(campaigns.bp)
    app.register_blueprint(oauth_callback.bp)
    app.register_blueprint(connected_apps.bp)
    app.register_blueprint(data_api.bp)
    app.register_blueprint(readback.bp)
    app.register_blueprint(sim.bp)

    @app.errorhandler(MoesimError)
    def moesim_error(error: MoesimError):
        if request.blueprint == data_api.bp.name:
            return jsonify(data_api.failure_body(error)), error.status
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
