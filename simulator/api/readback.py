"""Read-back API for tests and the dashboard: users and events as stored."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..services import profiles
from . import context
from .contract import query

bp = Blueprint("readback", __name__, url_prefix="/api")


@bp.get("/users")
def list_users():
    return jsonify(profiles.user_page(context(), query("limit"), query("after", 0)))


@bp.get("/users/<path:customer_id>/events")
def user_events(customer_id: str):
    events, following = profiles.user_events(context(), customer_id, query("limit"),
                                              query("after"))
    response = jsonify(events)
    if following:
        response.headers["X-Next-Cursor"] = following
        response.headers["Link"] = f'<{request.path}?after={following}>; rel="next"'
    return response


@bp.get("/users/<path:customer_id>")
def get_user(customer_id: str):
    return jsonify(profiles.user(context(), customer_id))


@bp.get("/events")
def list_events():
    return jsonify(profiles.event_page(context(), query("limit"), query("after", 0),
                                       query("name")))
