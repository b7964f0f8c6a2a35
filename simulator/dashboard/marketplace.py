"""App Marketplace: apps, an app's Configure tab (connector configs, versions, diffs, upload
with every error at its JSON path) and Integrate tab (connections through the form generated
from the config's ``app_marketplace`` input variables)."""

from __future__ import annotations

import difflib
import json

from flask import redirect, request, url_for

from ..core import form_values
from ..core.connectors import validate_config
from ..services import connected_apps, connections
from . import bp, jsonview
from .common import attempt, context, error_values, page, pretty
from .forms import connection_body


@bp.get("/apps")
def apps():
    return page("apps.html", apps=connected_apps.apps(context()))


@bp.post("/apps")
def apps_create():
    ctx = context()
    body = {"name": request.form.get("name", ""), "type": request.form.get("type", "CHANNEL")}
    created, problem = attempt(lambda: connected_apps.create_app(ctx, body))
    if problem:
        return page("apps.html", problem.status, apps=connected_apps.apps(ctx), form=body,
                    **error_values(problem))
    return redirect(url_for("dashboard.app", app_id=created["id"],
                            done=f"App {created['name']!r} created"), 303)


def _diff(connector_id: int, left: int, right: int) -> list[str]:
    ctx = context()
    a = connected_apps.connector(ctx, connector_id, left)["config"]
    b = connected_apps.connector(ctx, connector_id, right)["config"]
    return list(difflib.unified_diff(pretty(a).splitlines(), pretty(b).splitlines(),
                                     f"version {left}", f"version {right}", lineterm=""))


def _app_page(app_id: int, tab: str, status: int = 200, **values):
    ctx = context()
    app = connected_apps.app(ctx, app_id)
    versions = {c["id"]: connected_apps.connector_versions(ctx, c["id"])
                for c in app["connectors"]}
    chosen_id = values.pop("connector_id", None) or request.args.get("connector_id", type=int)
    if chosen_id is None and app["connectors"]:
        chosen_id = app["connectors"][0]["id"]
    chosen = next((c for c in app["connectors"] if c["id"] == chosen_id), None)
    listed = [{**conn, "connector": c["name"]} for c in app["connectors"]
              for conn in connections.all_(ctx, c["id"])]
    diff = None
    if request.args.get("diff_connector", type=int):
        diff = _diff(request.args.get("diff_connector", type=int),
                     request.args.get("left", 1, type=int), request.args.get("right", 1, type=int))
    return page("app.html", status, app=app, tab=tab, versions=versions, chosen=chosen,
                connections=listed, diff=diff, **values)


@bp.get("/apps/<int:app_id>")
def app(app_id: int):
    tab = request.args.get("tab", "configure")
    return _app_page(app_id, "integrate" if tab == "integrate" else "configure")


@bp.post("/apps/<int:app_id>/configure")
def app_upload(app_id: int):
    """Upload a config (pasted, picked or dropped; the browser puts the text in ``config``):
    a new connector, or a new version of ``connector_id``."""
    ctx = context()
    text = request.form.get("config") or ""
    target = request.form.get("target", type=int)
    try:
        config = json.loads(text)
    except ValueError as exc:
        return _app_page(app_id, "configure", 422, upload_text=text, upload_target=target,
                         message=f"The file is not JSON: {exc}",
                         errors={"(root)": [f"not JSON: {exc}"]})
    if target:
        uploaded, problem = attempt(lambda: connected_apps.replace_connector(ctx, target, config))
    else:
        uploaded, problem = attempt(lambda: connected_apps.upload_connector(ctx, app_id, config))
    if problem:
        marks = [(e.path, e.message) for e in problem.errors]
        warnings = [(w.path, w.message) for w in validate_config(config).warnings]
        return _app_page(app_id, "configure", problem.status, upload_text=text,
                         upload_target=target, lines=jsonview.annotate(config, marks),
                         upload_warnings=warnings, **error_values(problem))
    warned = "; ".join(f"{w['path']}: {w['message']}" for w in uploaded.get("warnings", []))
    done = (f"Connector {uploaded['name']!r} version {uploaded['version']} added"
            + (f". Warnings: {warned}" if warned else ""))
    return redirect(url_for("dashboard.app", app_id=app_id, connector_id=uploaded["id"],
                            done=done), 303)


@bp.post("/apps/<int:app_id>/integrate")
def app_connect(app_id: int):
    ctx = context()
    connector_id = request.form.get("connector_id", type=int)
    config = connected_apps.connector(ctx, connector_id)["config"] if connector_id else {}
    body = connection_body(connector_id, config.get("input_variables", []), request.form)
    created, problem = attempt(lambda: connections.create(ctx, body))
    if problem:
        secrets = form_values.secret_keys(config.get("input_variables", []))
        shown = {k: v for k, v in body["values"].items() if k not in secrets}
        return _app_page(app_id, "integrate", problem.status, connector_id=connector_id,
                         form_values=shown, form_name=body["name"], **error_values(problem))
    return redirect(url_for("dashboard.app", app_id=app_id, tab="integrate",
                            connector_id=connector_id,
                            done=f"Connection {created['name']!r} is {created['status']}"), 303)
