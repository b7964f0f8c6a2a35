"""Looking inside: the delivery log, the sinks' inboxes (Mailpit-like), users and their events,
and a segment-count tool."""

from __future__ import annotations

import json

from flask import redirect, request, url_for

from ..core.errors import FieldError, ValidationFailed
from ..core.record_filters import parse_delivery_filter
from ..services import activity, profiles, segments
from ..services import sinks as sink_service
from . import bp
from .common import PAGE_SIZE, attempt, context, error_values, fragment, page, wants_fragment

DELIVERY_FILTERS = ("campaign_id", "customer_id", "status", "since", "until")


def _delivery_values() -> dict:
    ctx = context()
    given = [(k, v) for k, v in request.args.items(multi=True) if k in DELIVERY_FILTERS and v]
    match, problem = attempt(lambda: parse_delivery_filter(given))
    if problem:
        return {"listing": {"deliveries": [], "next": None}, **error_values(problem),
                "wanted": dict(given)}
    reason = (request.args.get("reason") or "").strip() or None
    listing = activity.latest_deliveries(ctx, match, request.args.get("before", type=int),
                                         PAGE_SIZE, reason)
    chosen_id = request.args.get("id", type=int)
    chosen, _ = attempt(lambda: activity.delivery(ctx, chosen_id)) if chosen_id else (None, None)
    return {"listing": listing, "wanted": {**dict(given), "reason": reason or ""},
            "chosen": chosen,
            "errors": {}, "message": None}


@bp.get("/deliveries")
def deliveries():
    return page("deliveries.html", **_delivery_values())


@bp.get("/fragments/deliveries")
def deliveries_live():
    return fragment("_deliveries_table.html", **_delivery_values())


@bp.get("/sinks")
def sinks():
    return page("sinks.html", sinks=activity.sinks(context()), current=None)


def _sink_values(name: str) -> dict:
    ctx = context()
    state = activity.sink_state(ctx, name)
    inbox = activity.sink_inbox(ctx, name, request.args.get("before", type=int), PAGE_SIZE)
    seq = request.args.get("seq", type=int)
    chosen = next((r for r in inbox if r["seq"] == seq), inbox[0] if inbox else None)
    return {"name": name, "state": state, "inbox": inbox, "chosen": chosen}


@bp.get("/sinks/<name>")
def sink(name: str):
    return page("sink.html", sinks=activity.sinks(context()), **_sink_values(name))


@bp.get("/fragments/sinks/<name>")
def sink_live(name: str):
    return fragment("_sink_inbox.html", **_sink_values(name))


def _behaviour(form) -> dict:
    """The sink's behaviour as ``PUT /_sim/sinks/<name>`` takes it; numbers stay text when
    they are not numbers, so the sink's own checks name the field."""
    def number(text: str):
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return text
    body: dict = {"status": number(form.get("status") or "200")}
    if (form.get("body") or "").strip():
        try:  # a JSON body is answered as JSON, any other text as text (as the API takes it)
            body["body"] = json.loads(form["body"])
        except ValueError:
            body["body"] = form["body"]
    if (form.get("delay_ms") or "").strip():
        body["delay_ms"] = number(form["delay_ms"].strip())
    if (form.get("fail_next_count") or "").strip():
        body["fail_next"] = {"count": number(form["fail_next_count"].strip()),
                             "status": number((form.get("fail_next_status") or "503").strip())}
    if (form.get("fail_rate") or "").strip():
        body["fail_rate"] = {"rate": number(form["fail_rate"].strip()),
                             "status": number((form.get("fail_rate_status") or "500").strip())}
    return body


@bp.post("/sinks/<name>")
def sink_configure(name: str):
    ctx = context()
    if request.form.get("action") == "clear":
        sink_service.clear(ctx, name)
        return redirect(url_for("dashboard.sink", name=name, done="Sink cleared"), 303)
    body = _behaviour(request.form)
    _, problem = attempt(lambda: sink_service.configure(ctx, name, body))
    if problem:
        return page("sink.html", problem.status, sinks=activity.sinks(ctx), form=request.form,
                    **_sink_values(name), **error_values(problem))
    return redirect(url_for("dashboard.sink", name=name, done="Behaviour saved"), 303)


@bp.get("/users")
def users():
    ctx = context()
    query = (request.args.get("q") or "").strip()
    if query:
        found = activity.find_user(ctx, query)
        if found is not None:
            return redirect(url_for("dashboard.user", customer_id=found), 303)
    listing = profiles.user_page(ctx, PAGE_SIZE, request.args.get("after", 0, type=int))
    following = url_for("dashboard.users", after=listing["next"]) if listing["next"] else None
    return page("users.html", listing=listing, query=query, not_found=bool(query),
                next_url=following, segment_text=None, count=None)


@bp.post("/users/count")
def users_count():
    """The segment-count tool: ``segmentation_details`` as JSON, counted now."""
    ctx = context()
    text = request.form.get("segmentation") or ""
    try:
        payload = {"segmentation_details": json.loads(text)}
    except ValueError as exc:
        found, problem = None, ValidationFailed(
            f"not JSON: {exc}", errors=[FieldError("segmentation_details", f"not JSON: {exc}")])
    else:
        found, problem = attempt(lambda: segments.count(ctx, payload))
    if wants_fragment():
        return fragment("_count.html", problem.status if problem else 200, count=found,
                        **error_values(problem))
    listing = profiles.user_page(ctx, PAGE_SIZE, 0)
    return page("users.html", problem.status if problem else 200, listing=listing, query="",
                not_found=False, next_url=None, segment_text=text, count=found,
                **error_values(problem))


@bp.get("/users/<path:customer_id>")
def user(customer_id: str):
    ctx = context()
    profile = profiles.user(ctx, customer_id)
    events, following = profiles.user_events(ctx, customer_id, PAGE_SIZE,
                                             request.args.get("after"))
    next_url = url_for("dashboard.user", customer_id=customer_id, after=following) \
        if following else None
    return page("user.html", profile=profile, events=events, next_url=next_url)
