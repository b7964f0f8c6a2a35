"""MoEngage's Campaign Stats API and V1 campaign search under MoEngage's own paths
(campaign-api.md §3-4). Credentials are checked before the body. Errors are MoEngage's bodies:
the stats API's ``{"title", "description", "code"}``, search's V1 ``{"error": {...}}``."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..core.errors import MoesimError
from ..services import reports
from . import context, json_body, optional_json_body

bp = Blueprint("reports", __name__, url_prefix="/core-services/v1")

# campaign-api.md §3: titles of the stats API's error bodies
_STATS_TITLES = {400: "Invalid Field Value", 401: "Authentication required",
                 403: "Forbidden Request", 500: "Server Error"}
_SERVER_ERROR = ("An unexpected error was encountered while processing this request. Please "
                 "contact MoEngage Team")
# campaign-api.md §2.2: V1 codes are the status plus a reason phrase
_V1_CODES = {400: "400 Bad Request", 401: "401 Authentication error",
             500: "500 Internal Server Error"}


def _authenticate() -> None:
    reports.authenticate(context(), request.headers.get("Authorization"),
                         request.headers.get("MOE-APPKEY"))


@bp.post("/campaign-stats")
def campaign_stats():
    _authenticate()
    return jsonify(reports.campaign_stats(context(), json_body()))


@bp.post("/campaigns/search")
def search_campaigns():
    _authenticate()
    return jsonify(reports.search(context(), json_body()))


def _status(error: MoesimError) -> int:
    """Input problems are MoEngage's 400 whatever moesim calls them (422, 404, 415, ...)."""
    if error.status >= 500:
        return 500
    return error.status if error.status in (401, 403) else 400


def failure(error: MoesimError) -> tuple[dict, int]:
    """The error body of the endpoint that failed, and its status."""
    status = _status(error)
    details = [(e.path, e.message) for e in error.errors] or [(error.path, error.message)]
    if request.endpoint == "reports.search_campaigns":
        try:
            payload = optional_json_body()
        except MoesimError:
            payload = None
        lines = [{"target": path, "message": f"{path} {message}" if path else message}
                 for path, message in details]
        if status == 401:
            lines = [{"target": "authorization", "message": "Authentication required"}]
        elif status == 500:
            lines = [{"target": "server",
                      "message": "Something went wrong. Please contact Moengage team"}]
        return {"error": {
            "code": _V1_CODES.get(status, f"{status} {error.code}"),
            "message": lines[0]["message"], "target": lines[0]["target"], "details": lines,
            "request_id": payload.get("request_id") if isinstance(payload, dict) else None,
        }}, status
    if status == 500:
        description = _SERVER_ERROR
    elif status == 401:
        description = error.message
    else:
        description = "; ".join(f"{path} - {message}" if path else message
                                for path, message in details)
    # MoEngage's code is an opaque reference (its examples: "wUcwPRZF")
    try:
        code = context().ids.request_id()[-8:]
    except MoesimError:  # no workspace to draw from: the error is about choosing one
        code = "00000000"
    return {"title": _STATS_TITLES.get(status, "Invalid Field Value"),
            "description": description, "code": code}, status
