"""Connected Apps, connector configs and connections: ``/api/apps``, ``/api/connectors``,
``/api/connections``."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, request

from ..core.connector_schema import CONFIG_SCHEMA
from ..services import connected_apps, connections, oauth, oauth_configs
from . import context, json_body
from .contract import query

bp = Blueprint("connected_apps", __name__, url_prefix="/api")


@bp.post("/apps")
def create_app():
    return jsonify(connected_apps.create_app(context(), json_body())), 201


@bp.get("/apps")
def list_apps():
    return jsonify({"apps": connected_apps.apps(context())})


@bp.get("/apps/<int:app_id>")
def get_app(app_id: int):
    return jsonify(connected_apps.app(context(), app_id))


@bp.post("/apps/<int:app_id>/connectors")
def upload_connector(app_id: int):
    return jsonify(connected_apps.upload_connector(context(), app_id, json_body(),
                                                   request.get_data(as_text=True))), 201


@bp.get("/connectors/schema")
def connector_schema():
    return jsonify(CONFIG_SCHEMA)


@bp.get("/connectors/<int:connector_id>")
def get_connector(connector_id: int):
    return jsonify(connected_apps.connector(context(), connector_id))


@bp.put("/connectors/<int:connector_id>")
def replace_connector(connector_id: int):
    return jsonify(connected_apps.replace_connector(context(), connector_id, json_body(),
                                                    request.get_data(as_text=True)))


@bp.get("/connectors/<int:connector_id>/versions")
def connector_versions(connector_id: int):
    return jsonify({"versions": connected_apps.connector_versions(context(), connector_id)})


@bp.get("/connectors/<int:connector_id>/versions/<int:version>")
def connector_version(connector_id: int, version: int):
    return jsonify(connected_apps.connector(context(), connector_id, version))


@bp.post("/connections")
def create_connection():
    return jsonify(connections.create(context(), json_body())), 201


@bp.get("/connections")
def list_connections():
    connector_id = query("connector_id")
    return jsonify({"connections": connections.all_(context(), connector_id)})


@bp.get("/connections/<int:connection_id>")
def get_connection(connection_id: int):
    return jsonify(connections.get(context(), connection_id))


@bp.get("/connections/<int:connection_id>/authorize")
def authorize_connection(connection_id: int):
    """Start the OAuth flow: the partner's authorization URL (``?redirect=1``: a 302 to it)."""
    started = oauth.authorize(context(), connection_id, request.url_root)
    if request.args.get("redirect"):
        return redirect(started["authorization_url"])
    return jsonify(started)


@bp.post("/oauth-configs")
def create_oauth_config():
    return jsonify(oauth_configs.create(context(), json_body())), 201


@bp.get("/oauth-configs")
def list_oauth_configs():
    return jsonify({"oauth_configs": oauth_configs.all_(context())})


@bp.get("/oauth-configs/<int:config_id>")
def get_oauth_config(config_id: int):
    return jsonify(oauth_configs.get(context(), config_id))
