"""What every page shares: the workspace's context, rendering with the clock and workspace in
the header, and turning a service's error into the same errors, at their fields."""

from __future__ import annotations

import json
from typing import Any, Callable, TypeVar

from flask import jsonify, render_template, request

from ..api import REALM, context
from ..core.errors import MoesimError, Unauthorized
from ..services import clock as sim_clock
from . import bp
from .forms import errors_by_path

T = TypeVar("T")
PAGE_SIZE = 50


def page(template: str, status: int = 200, **values: Any):
    ctx = context()
    values.setdefault("errors", {})
    values.setdefault("message", None)
    return render_template(f"dashboard/{template}", workspace=ctx.settings.workspace_id,
                           clock=sim_clock.view(ctx), **values), status


def fragment(template: str, status: int = 200, **values: Any):
    values.setdefault("errors", {})
    return render_template(f"dashboard/{template}", **values), status


def attempt(action: Callable[[], T]) -> tuple[T | None, MoesimError | None]:
    """Run a service call; its error, if any, is kept for the page to show at its fields."""
    try:
        return action(), None
    except MoesimError as error:
        return None, error


def error_values(error: MoesimError | None) -> dict:
    if error is None:
        return {"errors": {}, "message": None}
    return {"errors": errors_by_path(error.body()["errors"]), "message": error.message}


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def wants_fragment() -> bool:
    return request.headers.get("HX-Request") == "true"


@bp.app_template_filter("pretty")
def pretty_filter(value: Any) -> str:
    return pretty(value)


@bp.app_template_filter("pretty_body")
def pretty_body(text: Any) -> str:
    """A JSON body pretty-printed; any other text as it is."""
    if not isinstance(text, str):
        return pretty(text)
    try:
        return pretty(json.loads(text))
    except ValueError:
        return text


@bp.errorhandler(MoesimError)
def moesim_error(error: MoesimError):
    if isinstance(error, Unauthorized):
        # MOESIM_ADMIN_TOKEN: the API's one 401 body; its WWW-Authenticate makes the browser ask
        return jsonify(error.body()), error.status, {"WWW-Authenticate": REALM}
    return page("error.html", error.status, error=error)


@bp.app_template_filter("header_pairs")
def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Headers as the delivery log and the sink keep them (a list of pairs or a mapping)."""
    if not headers:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return [(str(h[0]), str(h[1])) for h in headers]
