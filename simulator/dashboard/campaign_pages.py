"""Campaigns: the list with filters and actions, the three-step create wizard (with Show
count, the test send and the next fire times), editing, and the performance page."""

from __future__ import annotations

import json
import secrets

from flask import redirect, request, url_for

from ..core import recurrence, schedule_checks
from ..core.errors import FieldError, MoesimError, ValidationFailed
from ..services import activity, campaigns, connected_apps, connections, oauth_configs
from ..services import segments, trial
from . import bp
from .common import PAGE_SIZE, attempt, context, error_values, fragment, page, pretty
from .forms import campaign_body, test_body

STATUSES = ("SCHEDULED", "ACTIVE", "PAUSED", "SENT", "STOPPED", "EXPIRED")
DELIVERY_TYPES = ("ONE_TIME", "PERIODIC", "EVENT_TRIGGERED")
CHANNELS = ("CONNECTED_APP", "CONNECTOR")
# action -> the delivery types and statuses it applies to (campaign-api.md §2.3)
ACTIONS = {"PAUSE": (("PERIODIC", "EVENT_TRIGGERED"), ("ACTIVE", "SCHEDULED")),
           "RESUME": (("PERIODIC", "EVENT_TRIGGERED"), ("PAUSED",)),
           "STOP": (("ONE_TIME",), ("ACTIVE", "SCHEDULED", "PAUSED"))}


def _actions(campaign: dict) -> list[str]:
    return [a for a, (types, statuses) in ACTIONS.items()
            if campaign["campaign_delivery_type"] in types and campaign["status"] in statuses]


@bp.get("/campaigns")
def campaigns_page():
    ctx = context()
    wanted = {key: request.args.get(key) or None for key in ("status", "delivery_type", "channel")}
    rows = [c for c in campaigns.all_(ctx)
            if (wanted["status"] in (None, c["status"]))
            and (wanted["delivery_type"] in (None, c["campaign_delivery_type"]))
            and (wanted["channel"] in (None, c["channel"]))]
    number = max(1, request.args.get("page", 1, type=int))
    shown = rows[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]
    names: dict[int, str] = {}
    for c in shown:
        if c["connection_id"] and c["connection_id"] not in names:
            found, _ = attempt(lambda: connections.get(ctx, c["connection_id"]))
            names[c["connection_id"]] = found["name"] if found else f"#{c['connection_id']}"
        stats = campaigns.stats(ctx, c["campaign_id"])
        c["sent"], c["failed"] = stats["sent"], stats["failed"]
        c["next_fire"] = (campaigns.schedule(ctx, c["campaign_id"], 1)["next"] or [None])[0]
        c["actions"] = _actions(c)
    following = url_for("dashboard.campaigns_page", page=number + 1,
                        **{k: v for k, v in wanted.items() if v}) \
        if len(rows) > number * PAGE_SIZE else None
    return page("campaigns.html", campaigns=shown, wanted=wanted, connection_names=names,
                statuses=STATUSES, delivery_types=DELIVERY_TYPES, channels=CHANNELS,
                next_url=following, total=len(rows))


@bp.post("/campaigns/<campaign_id>/status")
def campaign_status(campaign_id: str):
    ctx = context()
    body = {"request_id": f"dashboard-{secrets.token_hex(6)}",
            "action": request.form.get("action"), "campaign_ids": [campaign_id]}
    _, problem = attempt(lambda: campaigns.change_status(ctx, body))
    back = request.form.get("back") or url_for("dashboard.campaigns_page")
    if problem:
        return page("error.html", problem.status, error=problem)
    return redirect(f"{back}{'&' if '?' in back else '?'}done={body['action']}+done", 303)


# ---- the wizard ----------------------------------------------------------------------------

def _connectors(ctx) -> list[dict]:
    found = []
    for app in connected_apps.apps(ctx):
        for c in connected_apps.app(ctx, app["id"])["connectors"]:
            found.append({**c, "app": app["name"],
                          "connections": connections.all_(ctx, c["id"])})
    return found


def _variables(ctx, form) -> list[dict] | None:
    """The chosen connector's input variables (its campaign fields), if one is chosen."""
    connector_id = form.get("connector_id", type=int)
    if not connector_id:
        return None
    found, _ = attempt(lambda: connected_apps.connector(ctx, connector_id))
    return found["config"]["input_variables"] if found else None


def _wizard(status: int = 200, **values):
    ctx = context()
    form = values.pop("form", request.form if request.method == "POST" else request.args)
    connectors = _connectors(ctx)
    chosen_id = form.get("connector_id", type=int)
    chosen = next((c for c in connectors if c["id"] == chosen_id),
                  connectors[0] if connectors else None)
    return page("wizard.html", status, form=form, connectors=connectors, chosen=chosen,
                catalogue=activity.catalogue(ctx), saved_segments=segments.all_(ctx),
                oauth_configs=oauth_configs.all_(ctx),
                request_id=form.get("request_id") or f"dashboard-{secrets.token_hex(8)}",
                **values)


@bp.get("/campaigns/new")
def campaign_new():
    return _wizard()


@bp.get("/campaigns/new/content")
def campaign_new_content():
    """The Connected App part of step 2 for the connector chosen (htmx swaps it in)."""
    ctx = context()
    connectors = _connectors(ctx)
    chosen_id = request.args.get("connector_id", type=int)
    chosen = next((c for c in connectors if c["id"] == chosen_id), None)
    return fragment("_wizard_app.html", connectors=connectors, chosen=chosen, form=request.args)


def _body_or_error(build):
    try:
        return build(), None
    except MoesimError as error:
        return None, error


@bp.post("/campaigns/new")
def campaign_create():
    ctx, form = context(), request.form
    variables = _variables(ctx, form)
    action = form.get("action", "create")
    if action == "count":
        return _show_count(ctx, form)
    if action == "test":
        return _test_send(ctx, form, variables)
    if action == "preview":
        return _preview(ctx, form)
    body, problem = _body_or_error(lambda: campaign_body(form, variables, form["request_id"]))
    if problem is None:
        created, problem = attempt(lambda: campaigns.create(ctx, body))
    if problem:
        return _wizard(problem.status, **error_values(problem))
    return redirect(url_for("dashboard.campaign", campaign_id=created["campaign_id"],
                            done="Campaign launched"), 303)


def _show_count(ctx, form):
    found, problem = _body_or_error(
        lambda: segments.count(ctx, {"segmentation_details": campaign_body(
            form, None, "count")["segmentation_details"]}))
    return fragment("_count.html", problem.status if problem else 200, count=found,
                    **error_values(problem))


def _test_send(ctx, form, variables):
    answer, problem = _body_or_error(lambda: trial.send(ctx, test_body(form, variables)))
    return fragment("_test_result.html", problem.status if problem else 200, answer=answer,
                    **error_values(problem))


def _preview(ctx, form):
    """The next fire times of the schedule filled in (pure recurrence, as the engine reads it)."""
    body, problem = _body_or_error(lambda: campaign_body(form, None, "preview"))
    times: list[str] = []
    if problem is None:
        scheduling, kind = body["scheduling_details"], body["campaign_delivery_type"]
        errors = schedule_checks.check_schedule(scheduling, kind, ctx.clock.now())
        if errors:
            problem = ValidationFailed("invalid schedule", errors=errors)
        elif kind == "EVENT_TRIGGERED":
            times = []
        elif kind == "ONE_TIME":
            first = recurrence.first_fire(scheduling, kind, ctx.clock.now())
            times = [first.isoformat()] if first else []
        else:
            times = [t.isoformat() for t in recurrence.fire_times(scheduling, 5,
                                                                  after=ctx.clock.now())]
    return fragment("_preview.html", problem.status if problem else 200, times=times,
                    kind=body["campaign_delivery_type"] if body else None,
                    **error_values(problem))


# ---- one campaign ---------------------------------------------------------------------------

def _performance(ctx, campaign_id: str) -> dict:
    campaign = campaigns.get(ctx, campaign_id)
    stats = campaigns.stats(ctx, campaign_id)
    removed = stats["failure_breakdown"].get("removed", {})
    instance_ids = [i["campaign_id"] for i in stats.get("instances", [])]
    over_time = activity.sends_over_time(ctx, instance_ids or [campaign_id])
    labels = sorted({t for series in over_time["series"].values() for t in series})
    datasets = []
    for cid, series in over_time["series"].items():
        number = next((i["instance"] for i in stats.get("instances", [])
                       if i["campaign_id"] == cid), None)
        name = f"instance {number}" if number else "sent"
        datasets.append({"label": name, "data": [series.get(t, {}).get("sent", 0)
                                                 for t in labels]})
        if not number:
            datasets.append({"label": "failed", "data": [series.get(t, {}).get("failed", 0)
                                                         for t in labels]})
    # (group, detail, count, the delivery log's reason): the breakdown renames reason prefixes
    prefixes = {group: kind for kind, group in campaigns.BREAKDOWN_GROUPS.items()}
    failures = [(group, detail, n, f"{prefixes.get(group, group)}:{detail}")
                for group, details in stats["failure_breakdown"].items()
                if group != "removed" for detail, n in details.items()]
    goals = stats.get("conversions", {})
    charts = {
        "funnel": {"type": "bar", "labels": list(stats["funnel"]),
                   "datasets": [{"label": "users", "data": list(stats["funnel"].values())}]},
        "failures": {"type": "bar", "labels": [f"{g}: {d}" for g, d, _, _ in failures]
                     + [f"removed: {r}" for r in removed],
                     "datasets": [{"label": "deliveries",
                                   "data": [n for _, _, n, _ in failures]
                                   + list(removed.values())}]},
        "over_time": {"type": "line", "labels": labels, "datasets": datasets},
        "conversions": {"type": "bar", "labels": list(goals),
                        "datasets": [{"label": key, "data": [g.get(key, 0) for g in goals.values()]}
                                     for key in ("conversions", "revenue")]},
    }
    return {"campaign": campaign, "stats": stats, "removed": sum(removed.values()),
            "removed_by": removed, "failures": failures, "charts": charts,
            "schedule": campaigns.schedule(ctx, campaign_id, 5)["next"],
            "actions": _actions(campaign)}


@bp.get("/campaigns/<campaign_id>")
def campaign(campaign_id: str):
    return page("campaign.html", **_performance(context(), campaign_id))


@bp.get("/fragments/campaigns/<campaign_id>")
def campaign_live(campaign_id: str):
    return fragment("_performance.html", **_performance(context(), campaign_id))


EDITABLE = ("basic_details", "segmentation_details", "campaign_content", "trigger_condition")


@bp.route("/campaigns/<campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: str):
    """Edit what ``PATCH /api/campaigns/<id>`` replaces, as JSON."""
    ctx = context()
    current = campaigns.get(ctx, campaign_id)
    text = request.form.get("body") if request.method == "POST" else pretty(
        {k: current["campaign"][k] for k in EDITABLE if k in current["campaign"]})
    if request.method == "GET":
        return page("campaign_edit.html", campaign=current, text=text)
    try:
        body = json.loads(text or "")
    except ValueError as exc:
        problem = ValidationFailed(f"not JSON: {exc}", errors=[FieldError("body", str(exc))])
    else:
        _, problem = attempt(lambda: campaigns.update(ctx, campaign_id, body))
    if problem:
        return page("campaign_edit.html", problem.status, campaign=current, text=text,
                    **error_values(problem))
    return redirect(url_for("dashboard.campaign", campaign_id=campaign_id, done="Saved"), 303)
