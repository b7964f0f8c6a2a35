"""Campaigns (campaign-api.md §1-2): create, read, status changes. Sending is ``delivery``;
when it happens is ``engine``."""

from __future__ import annotations

from typing import Any

from ..core import campaigns as rules
from ..core import form_values, gates, outbound, recurrence, templating
from ..core import connectors as connector_rules
from ..core import segments as segment_rules
from ..core.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..core.timestamps import iso
from ..store import campaigns as table
from ..store import connections, connectors, deliveries, jobs, users
from ..store import oauth_configs as oauth_table
from . import conversions, segments
from .connections import CONNECTED
from . import scheduling
from .context import Context

_APP = "campaign_content.content.connected_app"


def _check_connected_app(db, app: dict, errors: list[FieldError], now) -> dict | None:
    """The pinned connector version, after checking the connection and the campaign fields."""
    connector = connectors.version(db, app["connector_id"])
    if connector is None:
        errors.append(FieldError(f"{_APP}.connector_id",
                                 f"no connector with id {app['connector_id']}"))
        return None
    connection = connections.get(db, app["connection_id"])
    if connection is None or connection["connector_id"] != app["connector_id"]:
        errors.append(FieldError(f"{_APP}.connection_id", f"connector {app['connector_id']} has "
                                 f"no connection with id {app['connection_id']}"))
    elif connection["status"] != CONNECTED:
        errors.append(FieldError(f"{_APP}.connection_id",
                                 "the connection's authorization has not been completed"))
    inputs = connector["config"]["input_variables"]
    values, problems = form_values.check(inputs, "campaign", app.get("inputs", {}),
                                         path=f"{_APP}.inputs")
    errors += problems
    env = templating.environment()
    fields = [(f"{_APP}.inputs.{key}", str(text)) for key, value in values.items()
              for text in ([value] if isinstance(value, str) else [
                  part for row in value if isinstance(row, dict)
                  for part in (row.get("key"), row.get("value"))] if isinstance(value, list)
                  else [])]
    for path, text in fields:
        try:
            templating.parse(env, text)
        except templating.TemplateSyntaxError as exc:
            errors.append(FieldError(path, f"Jinja does not parse: {exc.message}"))
    app["inputs"] = values
    _within_bounds(db, fields, errors, now)
    if connection is not None and not errors:
        # the connector's own request templates, with this connection's and campaign's values
        found: list[FieldError] = []
        leaves = connector_rules.string_leaves(connector["config"].get("modules"), "modules")
        _within_bounds(db, leaves, found, now, connection["values"], values)
        errors += [FieldError(f"{_APP}.connector_id", f"the connector config's {e.path} "
                              f"{e.message}") for e in found]
    return connector


def _within_bounds(db, texts, errors: list[FieldError], now, app_form: dict | None = None,
                   campaign_form: dict | None = None) -> None:
    """A template that cannot render within ``template_limits``' bounds for a sample user
    (the first stored one, else a user without attributes) is refused before it is sent to
    anyone (issue 19: output size, loop iterations, time)."""
    sample = users.page(db, 1, 0)
    renderer = templating.Renderer(now)
    context = renderer.context(sample[0]["attrs"] if sample else {}, None, app_form,
                               campaign_form)
    for path, text in texts:
        if templating.is_template(text):
            problem = templating.limit_problem(renderer, text, context)
            if problem:
                errors.append(FieldError(path, "cannot render within bounds for a sample "
                                               f"user: {problem}"))


def check(db, body: Any, errors: list[FieldError], now) -> dict | None:
    """Every problem of a campaign body into ``errors``; the pinned connector version of a
    Connected App campaign. Campaign field values in ``body`` are replaced by their checked,
    normalised form."""
    errors += rules.check_create(body, now)
    if not errors:
        # what needs the store: attribute types and saved segment ids (spec §5.4 bad input)
        errors += segment_rules.check(body["segmentation_details"], "segmentation_details",
                                      segments.catalogue(db))
    if errors:
        return None
    if body["channel"] == rules.CONNECTED_APP:
        content = body["campaign_content"]["content"]
        content["connected_app"] = dict(content["connected_app"])
        return _check_connected_app(db, content["connected_app"], errors, now)
    errors += outbound.check_connector_content(body["campaign_content"]["content"])
    if not errors:
        connector = body["campaign_content"]["content"]["connector"]
        _within_bounds(db, connector_rules.string_leaves(
            connector, "campaign_content.content.connector"), errors, now)
    settings = outbound.connector_oauth(body["campaign_content"]["content"]["connector"])
    if not errors and settings is not None:
        config = oauth_table.get(db, settings.config_id) if isinstance(
            settings.config_id, int) else None
        where = "campaign_content.content.connector.oauth_config_id"
        if config is None:
            errors.append(FieldError(where, f"no OAuth configuration with id "
                                            f"{settings.config_id!r}"))
        elif config["status"] != "ACTIVE":
            # spec §6.6: "A Failed config cannot be chosen"
            errors.append(FieldError(where, f"OAuth configuration {settings.config_id} is "
                                            f"{config['status']}: {config['detail']}"))
    return None


def create(ctx: Context, body: Any) -> dict:
    errors: list[FieldError] = []
    now = ctx.clock.now_ms()
    if isinstance(body, dict) and isinstance(body.get("campaign_content"), dict):
        body = {**body, "campaign_content": {**body["campaign_content"], "content": dict(
            body["campaign_content"].get("content") or {})}}
    with ctx.store.write() as db:
        connector = check(db, body, errors, ctx.clock.now())
        if errors:
            raise ValidationFailed("invalid campaign", errors=errors)
        if table.by_request_id(db, body["request_id"]) is not None:
            raise Conflict(f"request_id {body['request_id']!r} was already used",
                           path="request_id")
        campaign_id = table.new_id(db, ctx.ids)
        app = body["campaign_content"]["content"].get("connected_app", {})
        table.insert(db, {
            "id": campaign_id, "request_id": body["request_id"], "channel": body["channel"],
            "delivery_type": body["campaign_delivery_type"],
            "name": body["basic_details"]["name"].strip(), "status": rules.SCHEDULED,
            "body": body, "connector_id": app.get("connector_id"),
            "connector_version": connector["version"] if connector else None,
            "connection_id": app.get("connection_id"), "created_at": now, "updated_at": now,
            "sent_at": None})
        status = scheduling.schedule_new(db, table.get(db, campaign_id), ctx.clock.now())
        if status != rules.SCHEDULED:
            table.set_status(db, campaign_id, status, now)
    ctx.wake()
    return {"campaign_id": campaign_id}


def _view(row: dict) -> dict:
    return {"campaign_id": row["id"], "parent_campaign_id": row["parent_id"],
            "instance": row["instance"], "version": row["version"], "request_id": row["request_id"], "channel": row["channel"],
            "campaign_delivery_type": row["delivery_type"], "name": row["name"],
            "status": row["status"], "connector_id": row["connector_id"],
            "connector_version": row["connector_version"],
            "connection_id": row["connection_id"], "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
            "sent_at": iso(row["sent_at"]) if row["sent_at"] else None,
            "campaign": row["body"]}


def get(ctx: Context, campaign_id: str) -> dict:
    with ctx.store.read() as db:
        row = table.get(db, campaign_id)
    if row is None:
        raise NotFound(f"no campaign with id {campaign_id!r}", path="campaign_id")
    return _view(row)


def all_(ctx: Context) -> list[dict]:
    with ctx.store.read() as db:
        return [_view(row) for row in table.all_(db)]


def change_status(ctx: Context, body: Any) -> dict:
    """``POST /campaigns/status`` {request_id, action, campaign_ids}: the transitions of
    campaign-api.md §2.3, enforced for the V1 shape too."""
    errors = []
    if not isinstance(body, dict):
        raise ValidationFailed("body must be a JSON object", path="body")
    action, ids = body.get("action"), body.get("campaign_ids")
    if action not in ("STOP", "PAUSE", "RESUME"):
        errors.append(FieldError("action", "must be one of STOP, PAUSE, RESUME"))
    if not isinstance(ids, list) or not 1 <= len(ids) <= 10:
        errors.append(FieldError("campaign_ids", "must be a list of 1-10 campaign ids"))
    if not isinstance(body.get("request_id"), str):
        errors.append(FieldError("request_id", "is required"))
    if errors:
        raise ValidationFailed("invalid status change", errors=errors)
    now = ctx.clock.now_ms()
    with ctx.store.write() as db:
        rows = []
        for i, campaign_id in enumerate(ids):
            row = table.get(db, campaign_id) if isinstance(campaign_id, str) else None
            if row is None:
                raise NotFound(f"no campaign with id {campaign_id!r}", path=f"campaign_ids[{i}]")
            allowed = _TRANSITIONS[action]
            if row["delivery_type"] not in allowed[0] or row["status"] not in allowed[1]:
                errors.append(FieldError(f"campaign_ids[{i}]", f"Action {action} is not valid "
                                         f"for a {row['delivery_type']} campaign in status "
                                         f"{row['status']}."))
            rows.append(row)
        if errors:
            raise ValidationFailed("invalid status change", errors=errors)
        for row in rows:
            table.set_status(db, row["id"], _TRANSITIONS[action][2], now)
            if action == "STOP":
                jobs.cancel_for(db, row["id"], now)
    return {"action": action, "campaign_ids": ids}


# action -> (delivery types, from statuses, to status); campaign-api.md §2.3 (V5 table)
_TRANSITIONS = {
    "STOP": (("ONE_TIME",), (rules.ACTIVE, rules.SCHEDULED, rules.PAUSED), rules.STOPPED),
    "PAUSE": (("PERIODIC", "EVENT_TRIGGERED"), (rules.ACTIVE, rules.SCHEDULED), rules.PAUSED),
    "RESUME": (("PERIODIC", "EVENT_TRIGGERED"), (rules.PAUSED,), rules.ACTIVE),
}


# delivery-log reason prefix -> failure breakdown group (spec §4: personalization categories,
# HTTP codes, no response, MOE_NOT_SEND reasons)
BREAKDOWN_GROUPS = {"http": "http_status", "personalization": "personalization",
                    "no_response": "no_response", "not_send": "not_send", "oauth": "oauth"}


# spec §4 / campaign-api §3 [I]: the Connector funnel, in gate order
FUNNEL = ("in_segment", "after_duplicate_removal", "after_gates", "after_personalization",
          "sent")


@conversions.merged_into_stats
def stats(ctx: Context, campaign_id: str) -> dict:
    """Attempted, Sent, Failed, the funnel and the failure breakdown (held-back users under
    ``removed`` by gate), and the sends decided by the spec §2.7 fallback
    (``decided_by_fallback``, when any), from the delivery log; a periodic campaign adds up its instances and
    lists each one's own figures. in_segment = removed + attempted."""
    get(ctx, campaign_id)
    with ctx.store.read() as db:
        children = table.instances(db, campaign_id)
    if children:
        parts = [{"instance": c["instance"], **_stats(ctx, c["id"])} for c in children]
        total = {key: sum(p[key] for p in parts) for key in ("attempted", "sent", "failed")}
        breakdown: dict[str, dict[str, int]] = {}
        for part in parts:
            for group, counts in part["failure_breakdown"].items():
                for detail, n in counts.items():
                    breakdown.setdefault(group, {})
                    breakdown[group][detail] = breakdown[group].get(detail, 0) + n
        funnel = {key: sum(p["funnel"][key] for p in parts) for key in FUNNEL}
        answer = {"campaign_id": campaign_id, **total, "funnel": funnel,
                  "failure_breakdown": breakdown}
        fallback: dict[str, int] = {}
        for part in parts:
            for outcome, n in part.get("decided_by_fallback", {}).items():
                fallback[outcome] = fallback.get(outcome, 0) + n
        if fallback:
            answer["decided_by_fallback"] = fallback
        return {**answer, "instances": parts}
    return _stats(ctx, campaign_id)


def _stats(ctx: Context, campaign_id: str) -> dict:
    with ctx.store.read() as db:
        rows = deliveries.counts(db, campaign_id)
        fallback = deliveries.fallback_counts(db, campaign_id)
    sent = sum(n for outcome, _, n in rows if outcome == "sent")
    failed = sum(n for outcome, _, n in rows if outcome == "failed")
    breakdown: dict[str, dict[str, int]] = {}
    for outcome, reason, n in rows:
        if outcome == "failed":
            kind, _, detail = (reason or "unknown:").partition(":")
            group = breakdown.setdefault(BREAKDOWN_GROUPS.get(kind, kind), {})
            group[detail] = group.get(detail, 0) + n
        elif outcome == "removed":
            group = breakdown.setdefault("removed", {})
            group[reason] = group.get(reason, 0) + n
    funnel = gates.funnel({(outcome, reason): n for outcome, reason, n in rows})
    answer = {"campaign_id": campaign_id, "attempted": sent + failed, "sent": sent,
              "failed": failed, "funnel": funnel, "failure_breakdown": breakdown}
    if fallback:  # sends no response entry decided: Sent/Failed came from the HTTP status
        answer["decided_by_fallback"] = fallback
    return answer


def schedule(ctx: Context, campaign_id: str, count: int | None) -> dict:
    """``GET /api/campaigns/<id>/schedule?count=N``: the next fire times."""
    size = count or 10
    if not 1 <= size <= 1000:
        raise ValidationFailed("count must be between 1 and 1000", path="count")
    with ctx.store.read() as db:
        row = table.get(db, campaign_id)
        if row is None:
            raise NotFound(f"no campaign with id {campaign_id!r}", path="campaign_id")
        fired = len(table.instances(db, campaign_id))
    body = row["body"]
    if row["status"] in (rules.STOPPED, rules.SENT, rules.EXPIRED) or \
            body["campaign_delivery_type"] == recurrence.EVENT_TRIGGERED:
        times = []
    else:
        times = recurrence.fire_times(body["scheduling_details"], size,
                                      after=ctx.clock.now(), fired_count=fired)
    return {"campaign_id": campaign_id, "status": row["status"],
            "next": [iso(t) for t in times]}


def update(ctx: Context, campaign_id: str, body: Any) -> dict:
    """``PATCH``: replace components (campaign_content, segmentation_details,
    trigger_condition, basic_details) of a campaign that has not ended. An event-triggered
    campaign gets a new version: users still waiting on the old one are dropped (spec §5.3)."""
    if not isinstance(body, dict):
        raise ValidationFailed("body must be a JSON object", path="body")
    allowed = ("campaign_content", "segmentation_details", "trigger_condition", "basic_details")
    errors = [FieldError(key, "cannot be changed") for key in body
              if key not in allowed + ("request_id", "updated_by")]
    with ctx.store.write() as db:
        row = table.get(db, campaign_id)
        if row is None:
            raise NotFound(f"no campaign with id {campaign_id!r}", path="campaign_id")
        if row["status"] in (rules.STOPPED, rules.SENT, rules.EXPIRED):
            raise Conflict(f"a {row['status']} campaign cannot be updated", path="campaign_id")
        merged = {**row["body"], **{k: v for k, v in body.items() if k in allowed}}
        if "campaign_content" in body:
            merged["campaign_content"] = {**body["campaign_content"], "content": dict(
                body["campaign_content"].get("content") or {})}
        check(db, merged, errors, ctx.clock.now())
        if errors:
            raise ValidationFailed("invalid campaign update", errors=errors)
        table.replace_body(db, campaign_id, merged, row["version"] + 1, ctx.clock.now_ms())
    return get(ctx, campaign_id)
