"""Overview, clock and jobs, and the workspace's delivery settings."""

from __future__ import annotations

import json

from flask import redirect, request, url_for

from ..services import activity, engine, gates
from ..services import clock as sim_clock
from . import bp
from .common import attempt, context, error_values, fragment, page, pretty
from .forms import setting_body


@bp.get("/")
def overview():
    ctx = context()
    return page("overview.html", counts=activity.counts(ctx), feed=activity.feed(ctx))


@bp.get("/fragments/overview")
def overview_live():
    ctx = context()
    return fragment("_overview_live.html", counts=activity.counts(ctx), feed=activity.feed(ctx))


@bp.get("/fragments/clock-badge")
def clock_badge():
    ctx = context()
    return fragment("_clock_badge.html", workspace=ctx.settings.workspace_id,
                    clock=sim_clock.view(ctx))


def _clock_page(status: int = 200, **values):
    ctx = context()
    return page("clock.html", status, jobs=activity.next_jobs(ctx), **values)


@bp.get("/clock")
def clock():
    return _clock_page()


@bp.post("/clock")
def clock_action():
    """Advance by a duration or to a time, run what is due, or switch the clock's mode."""
    ctx, form = context(), request.form
    action = form.get("action")
    if action == "advance":
        to = (form.get("to") or "").strip()
        payload = {"to": to} if to else None
        if payload is None:
            duration, problem = attempt(lambda: sim_clock.parse_duration(
                form.get("duration") or ""))
            if problem:
                return _clock_page(problem.status, **error_values(problem))
            payload = {"seconds": duration.total_seconds()}
        done, problem = attempt(lambda: sim_clock.advance(ctx, payload))
    elif action == "run-due":
        done, problem = attempt(lambda: {"ran": engine.run_due(ctx)})
    else:
        mode = {"mode": form.get("mode")}
        if form.get("now"):
            mode["now"] = form["now"]
        done, problem = attempt(lambda: sim_clock.change(ctx, mode))
    if problem:
        return _clock_page(problem.status, **error_values(problem))
    ran = done.get("ran", [])
    sent = sum(r.get("sent", 0) for r in ran)
    failed = sum(r.get("failed", 0) for r in ran)
    return redirect(url_for("dashboard.clock", done=f"{len(ran)} job(s) ran: {sent} sent, "
                                                     f"{failed} failed"), 303)


def _settings_page(status: int = 200, **values):
    ctx = context()
    current = {name: gates.read_setting(ctx, name) for name in gates.SETTINGS}
    texts = values.pop("texts", {})
    return page("settings.html", status, current=current,
                texts={name: texts.get(name, pretty(current[name])) for name in current},
                **values)


@bp.get("/settings")
def settings():
    return _settings_page()


@bp.post("/settings/<name>")
def settings_save(name: str):
    """One setting as the API takes it (``PUT /api/settings/<name>``), typed as JSON."""
    ctx, text = context(), request.form.get("value")
    if name not in gates.SETTINGS:
        return _settings_page(404, message=f"no setting {name!r}")
    if text is None:  # the global control group and DND have fields of their own
        body = setting_body(name, request.form)
        text = pretty(body)
    else:
        try:
            body = json.loads(text)
        except ValueError as exc:
            return _settings_page(422, errors={name: [f"is not JSON: {exc}"]},
                                  message=f"{name}: not JSON", texts={name: text}, failed=name)
    _, problem = attempt(lambda: gates.write_setting(ctx, name, body))
    if problem:
        return _settings_page(problem.status, texts={name: text}, failed=name, given=body,
                              **error_values(problem))
    return redirect(url_for("dashboard.settings", done=f"{name} saved"), 303)
