"""Route lists: ``GET /api`` (moesim's API) and ``GET /_sim`` (the control plane).

Both come from ``routes()``, read off Flask's URL map; when the project has an OpenAPI
document, that function is the one place to read it from instead.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("index", __name__)

_HIDDEN_METHODS = {"HEAD", "OPTIONS"}


def routes(prefix: str) -> list[dict]:
    """``{"path", "methods", "summary"}`` per route under ``prefix``, by path; the summary is
    the first line of the view's docstring, where it has one."""
    found = []
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint == "static" or not (rule.rule == prefix or
                                             rule.rule.startswith(prefix + "/")):
            continue
        view = current_app.view_functions[rule.endpoint]
        summary = (view.__doc__ or "").strip().split("\n", 1)[0]
        found.append({"path": rule.rule, "methods": sorted(rule.methods - _HIDDEN_METHODS),
                      "summary": summary})
    found.sort(key=lambda r: (r["path"], r["methods"]))
    return found


@bp.get("/api")
def api_index():
    """moesim's own API: users, events, apps, connectors, connections, campaigns."""
    return jsonify({"routes": routes("/api")})


@bp.get("/_sim")
def sim_index():
    """The sandbox control plane: clock, reset, sinks, deliveries, snapshots, workspaces."""
    return jsonify({"routes": routes("/_sim")})
