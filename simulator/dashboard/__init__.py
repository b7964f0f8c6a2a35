"""The dashboard: MoEngage's partner journey in a browser, at ``/`` (outside the emulated API,
like ``/_sim/``). Server-rendered Jinja pages on the same services as the HTTP API (no SQL
here, no second code path), with htmx for polling and partial updates and Chart.js for charts,
both vendored under ``static/vendor`` (see ``VENDORED.md`` there)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard-static")


def register(app: Flask) -> None:
    from . import campaign_pages, inspect_pages, marketplace, overview  # noqa: F401 (routes)

    app.register_blueprint(bp)
