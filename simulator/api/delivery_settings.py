"""``/api/settings/<name>``: the workspace's delivery settings that MoEngage keeps under
Settings: the global control group, frequency capping and DND (spec §5.5)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..core.errors import NotFound
from ..services import gates
from . import context, json_body

bp = Blueprint("delivery_settings", __name__, url_prefix="/api/settings")


def _known(name: str) -> str:
    if name not in gates.SETTINGS:
        raise NotFound(f"no setting {name!r}; one of {', '.join(gates.SETTINGS)}", path="name")
    return name


@bp.get("/<name>")
def read(name: str):
    return jsonify(gates.read_setting(context(), _known(name)))


@bp.put("/<name>")
def write(name: str):
    return jsonify(gates.write_setting(context(), _known(name), json_body()))
