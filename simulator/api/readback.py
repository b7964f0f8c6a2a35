"""Read-back API for tests and the dashboard: users and events as stored."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..core.errors import BadRequest
from ..services import profiles
from . import context

bp = Blueprint("readback", __name__, url_prefix="/api")


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer", path=name) from None


@bp.get("/users")
def list_users():
    return jsonify(profiles.user_page(context(), _int_arg("limit", None), _int_arg("after", 0)))


@bp.get("/users/<path:customer_id>/events")
def user_events(customer_id: str):
    events, following = profiles.user_events(context(), customer_id, _int_arg("limit", None),
                                              request.args.get("after"))
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
    return jsonify(profiles.event_page(context(), _int_arg("limit", None), _int_arg("after", 0),
                                       request.args.get("name")))
