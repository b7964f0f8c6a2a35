"""``/_sim/workspaces``: isolated workspaces inside one server (see services/workspaces.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..services import workspaces as service
from . import json_body

bp = Blueprint("workspaces", __name__, url_prefix="/_sim/workspaces")


def _registry() -> service.Workspaces:
    return current_app.extensions["moesim.workspaces"]


@bp.get("")
def listing():
    return jsonify({"workspaces": [service.view(ctx) for ctx in _registry().all()]})


@bp.post("")
def create():
    ctx = _registry().create(json_body())
    return jsonify(service.view(ctx)), 201


@bp.get("/<name>")
def read(name: str):
    return jsonify(service.view(_registry().require(name)))


@bp.delete("/<name>")
def delete(name: str):
    _registry().delete(name)
    return "", 204
