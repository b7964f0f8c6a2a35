"""When campaigns send (spec §5.3): the first job of a new campaign, periodic instances (child
runs with their own stats), event-triggered sends (from Data API events, one job per user), and
the active window of event-triggered campaigns. Every piece is a ``jobs`` row run by ``engine``.

Paused campaigns do not fire and do not back-fill on resume [I: MoEngage says nothing]: an
instance due while paused is skipped (not counted towards ``no_of_occurences``) and the next
one is scheduled; a triggered send due while paused is dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ..core import campaigns as rules
from ..core import gates as gate_rules
from ..core import recurrence, triggers
from ..core.timestamps import from_ms, to_ms
from ..core.tracking import TrackedEvent
from ..store import campaigns as table
from ..store import events as event_table
from ..store import jobs, users
from . import delivery, gates, segments, user_admin
from .context import Context

log = logging.getLogger("moesim.scheduling")

SEND = "send_campaign"          # a one-time campaign's send
INSTANCE = "periodic_instance"  # one periodic instance
TRIGGERED = "triggered_send"    # one user's event-triggered send
ACTIVATE, EXPIRE = "activate", "expire"
RESUME = "resume"               # a daily audience limit's pause ends


def schedule_new(db, campaign: dict, now: datetime) -> str:
    """Queue a new campaign's first work; returns its initial status."""
    body = campaign["body"]
    schedule, kind = body["scheduling_details"], body["campaign_delivery_type"]
    if kind == recurrence.EVENT_TRIGGERED:
        start, expiry = recurrence.active_window(schedule)
        if expiry is not None:
            jobs.add(db, to_ms(expiry), EXPIRE, campaign["id"])
        if start is not None and start > now:
            jobs.add(db, to_ms(start), ACTIVATE, campaign["id"])
            return rules.SCHEDULED
        return rules.ACTIVE
    first = recurrence.first_fire(schedule, kind, now)
    if kind == recurrence.PERIODIC:
        if first is None:
            return rules.SENT
        jobs.add(db, to_ms(first), INSTANCE, campaign["id"], {"fired": 0})
    else:
        jobs.add(db, to_ms(first or now), SEND, campaign["id"])
    return rules.SCHEDULED


def periodic_instance(ctx: Context, job: dict) -> dict:
    """One instance: a child campaign (``parent_id``, ``instance``) sent to the audience, then
    the next instance queued (or the campaign ends)."""
    fired = job["payload"].get("fired", 0)
    with ctx.store.read() as db:
        parent = table.get(db, job["campaign_id"])
    if parent is None or parent["status"] in (rules.STOPPED, rules.SENT, rules.EXPIRED):
        return {"skipped": parent["status"] if parent else "missing"}
    schedule = parent["body"]["scheduling_details"]
    summary: dict = {"instance": None}
    if parent["status"] == rules.PAUSED:
        summary["skipped"] = rules.PAUSED
    else:
        fired += 1
        child = _child(ctx, parent, fired)
        plan = delivery.prepare(ctx, child)
        totals, _ = delivery.send_audience(ctx, child, plan, draw=fired)
        now_ms = ctx.clock.now_ms()
        limit = (parent["body"].get("campaign_audience_limit") or {})
        with ctx.store.write() as db:
            table.set_status(db, child["id"], rules.SENT, now_ms, sent=True)
            # spec §5.5: a TOTAL limit reached pauses the campaign; INSTANCE ends the instance
            paused = totals.get("limit_reached") and limit.get("frequency") == "TOTAL"
            table.set_status(db, parent["id"], rules.PAUSED if paused else rules.ACTIVE, now_ms)
            if paused:
                return {"instance": fired, "instance_id": child["id"], **totals,
                        "paused": "audience limit reached"}
        summary = {"instance": fired, "instance_id": child["id"], **totals}
    upcoming = recurrence.next_fire(schedule, from_ms(job["due_at"]), fired)
    # Restart policy: instances that fell due while the server was down ran once (this one);
    # the others are skipped, not back-filled.
    while upcoming is not None and upcoming < ctx.clock.now():
        upcoming = recurrence.next_fire(schedule, upcoming, fired)
    with ctx.store.write() as db:
        if upcoming is None:
            table.set_status(db, parent["id"], rules.SENT, ctx.clock.now_ms(), sent=True)
        else:
            jobs.add(db, to_ms(upcoming), INSTANCE, parent["id"], {"fired": fired})
    return summary


def _child(ctx: Context, parent: dict, number: int) -> dict:
    """The instance's campaign row; the same one again when a crashed run is resumed."""
    with ctx.store.write() as db:
        for existing in table.instances(db, parent["id"]):
            if existing["instance"] == number:
                return existing
        now = ctx.clock.now_ms()
        child = {**{k: parent[k] for k in ("channel", "delivery_type", "body", "connector_id",
                                            "connector_version", "connection_id")},
                 "id": table.new_id(db, ctx.ids), "request_id": f"{parent['request_id']}#{number}",
                 "name": f"{parent['name']} #{number}", "status": rules.ACTIVE,
                 "created_at": now, "updated_at": now, "sent_at": None,
                 "version": parent["version"], "parent_id": parent["id"], "instance": number}
        table.insert(db, child)
        return child


def on_events(ctx: Context, tracked: list[TrackedEvent]) -> int:
    """Data API events that trigger an active event-triggered campaign queue that user's send
    (audience filters evaluated now, at trigger time). Returns how many were queued."""
    if not tracked:
        return 0
    now = ctx.clock.now()
    now_ms = to_ms(now)
    latency_ms = int(ctx.settings.asap_latency_s * 1000)
    queued = 0
    with ctx.store.write() as db:
        for campaign in table.triggered_active(db):
            body = campaign["body"]
            trigger, schedule = body["trigger_condition"], body["scheduling_details"]
            where, params = segments.audience(ctx, body["segmentation_details"], db)
            for event in tracked:
                if not recurrence.is_active(schedule, from_ms(event.ts)) or \
                        not triggers.matching_trigger(trigger, event.name, event.attributes,
                                                      event_ms=event.ts):
                    continue
                if not users.in_audience(db, event.customer_id, where, params):
                    continue
                due = triggers.due_at(trigger, event.ts, event.attributes, received_ms=now_ms,
                                      asap_latency_ms=latency_ms)
                if due.at_ms is None:
                    log.info("campaign %s: %s not queued: %s", campaign["id"],
                             event.customer_id, due.reason)
                    continue
                jobs.add(db, due.at_ms, TRIGGERED, campaign["id"], {
                    "customer_id": event.customer_id, "version": campaign["version"],
                    "event": {"name": event.name, "ts": event.ts,
                              "attributes": event.attributes}})
                queued += 1
    if queued:
        ctx.wake()
    return queued


def triggered_send(ctx: Context, job: dict) -> dict:
    payload = job["payload"]
    with ctx.store.read() as db:
        campaign = table.get(db, job["campaign_id"])
        user = users.find_by(db, "customer_id", payload["customer_id"])
    if campaign is None or campaign["status"] != rules.ACTIVE:
        return {"dropped": campaign["status"] if campaign else "missing"}
    dropped = _why_dropped(ctx, campaign, job, user)
    if dropped:
        return {"dropped": dropped}
    event = payload["event"]
    now, now_ms = ctx.clock.now(), ctx.clock.now_ms()
    # the campaign control group is re-drawn per trigger (a DND-queued send keeps its draw)
    keeper = gates.Gatekeeper(ctx, campaign, draw=payload.get("draw", job["id"]))
    entry = (*user, event["attributes"])
    held = _held_back(ctx, keeper, job, entry, now, now_ms)
    if held is not None:
        return {"customer_id": payload["customer_id"], **held}
    plan = delivery.prepare(ctx, campaign)
    rows = delivery.send_users(ctx, delivery.Send(plan, now, now_ms), [entry])
    limit = keeper.audience_limit()
    if limit and rows[0][3] == "sent" and keeper.sent_against_limit(now) >= limit["limit"]:
        _pause_at_limit(ctx, keeper, now)
    return {"customer_id": payload["customer_id"], "outcome": rows[0][3]}


def triggered_sends(ctx: Context, group: list[dict]) -> list[dict]:
    """Sends of one campaign triggered for the same due time, as batches; one summary per job,
    the same outcomes as ``triggered_send`` one by one. A user triggering twice goes in the
    next batch (their first send counts for the second's gates); campaigns whose sends depend
    on the sends before them (``Gatekeeper.per_user_checks``) run one by one."""
    with ctx.store.read() as db:
        campaign = table.get(db, group[0]["campaign_id"])
    if campaign is None or campaign["status"] != rules.ACTIVE:
        return [triggered_send(ctx, job) for job in group]
    keeper = gates.Gatekeeper(ctx, campaign, draw=None)
    if keeper.per_user_checks():
        return [triggered_send(ctx, job) for job in group]
    summaries: dict[int, dict] = {}
    wave: list[dict] = []
    seen: set[str] = set()
    for job in group:
        customer_id = job["payload"]["customer_id"]
        if customer_id in seen:
            _send_wave(ctx, campaign, keeper, wave, summaries)
            wave, seen = [], set()
        wave.append(job)
        seen.add(customer_id)
    _send_wave(ctx, campaign, keeper, wave, summaries)
    return [summaries[job["id"]] for job in group]


def _send_wave(ctx: Context, campaign: dict, keeper: gates.Gatekeeper, wave: list[dict],
               summaries: dict[int, dict]) -> None:
    """One batch of ``triggered_sends``: each customer once."""
    with ctx.store.read() as db:
        found = users.find(db, {job["payload"]["customer_id"] for job in wave})
    entries, draws, job_of = [], [], {}
    for job in wave:
        payload = job["payload"]
        user = found.get(payload["customer_id"])
        dropped = _why_dropped(ctx, campaign, job, user)
        if dropped:
            summaries[job["id"]] = {"dropped": dropped}
            continue
        entries.append((user[0], payload["customer_id"], user[1], payload["event"]["attributes"]))
        draws.append(payload.get("draw", job["id"]))
        job_of[user[0]] = job["id"]
    if not entries:
        return
    now, now_ms = ctx.clock.now(), ctx.clock.now_ms()
    kept, removed, events = keeper.admit(entries, now, now_ms, draws)
    if removed or events:
        delivery.record(ctx, removed, (events, {}), now_ms)
    rows = list(removed)
    if kept:
        plan = delivery.prepare(ctx, campaign)
        rows += delivery.send_users(ctx, delivery.Send(plan, now, now_ms), kept, at_once=True)
    for row in rows:
        summary = {"customer_id": row[2], "outcome": row[3]}
        summaries[job_of[row[1]]] = {**summary, "reason": row[4]} if row[3] == "removed" \
            else summary


def _why_dropped(ctx: Context, campaign: dict, job: dict, user: tuple | None) -> str | None:
    """Why a due trigger of an active campaign is not sent at all, or None. ``user``: its row
    id first, or None when the user is missing."""
    payload = job["payload"]
    if payload["version"] != campaign["version"]:
        # spec §5.3: editing a delayed campaign retires the old version's waiting users
        return "campaign edited"
    trigger = campaign["body"]["trigger_condition"]
    if trigger.get("secondary_included_filters") and user is not None:
        names = [f.get("action_name") for f in trigger["secondary_included_filters"]["filters"]]
        event = payload["event"]
        with ctx.store.read() as db:
            later = event_table.between(db, user[0], names, event["ts"], job["due_at"])
        if not triggers.not_executed_ok(trigger, later, event["ts"], job["due_at"]):
            return "the follow-up event happened"
    if user is None:
        return "user missing"
    return None


def _held_back(ctx: Context, keeper: gates.Gatekeeper, job: dict, entry: tuple, now,
               now_ms: int) -> dict | None:
    """Gates of one trigger (spec §5.6): control groups, limits, FC, audience limit, DND."""
    kept, removed, events = keeper.admit([entry], now, now_ms)
    if not kept:  # control-group events come only with a removal
        delivery.record(ctx, removed, (events, {}), now_ms)
        return {"outcome": "removed", "reason": removed[0][4]}
    limit = keeper.audience_limit()
    if limit and keeper.sent_against_limit(now) >= limit["limit"]:
        reason = gate_rules.AUDIENCE_LIMIT
        _pause_at_limit(ctx, keeper, now)
    else:
        release = keeper.dnd_release(entry[2], now)
        if release is None:
            if not _superseded(ctx, keeper, job):
                return None
        elif keeper.dnd.get("action") == "queue":
            at = to_ms(release)
            with ctx.store.write() as db:
                jobs.add(db, at, TRIGGERED, job["campaign_id"],
                         {**job["payload"], "dnd": at, "draw": keeper.draw})
            return {"outcome": "queued", "until": at}
        reason = gate_rules.DND
    delivery.record(ctx, [keeper.removed_row(entry, reason, now_ms)], ([], {}), now_ms)
    return {"outcome": "removed", "reason": reason}


def _superseded(ctx: Context, keeper: gates.Gatekeeper, job: dict) -> bool:
    """spec §5.5 (S21) ``one_per_campaign``: of a user's sends of one campaign queued for the
    same DND end, only the first (FIFO) or the last (LIFO) goes."""
    payload = job["payload"]
    if not payload.get("dnd") or keeper.dnd.get("queue_mode") != "one_per_campaign":
        return False
    with ctx.store.read() as db:
        queued = jobs.queued_together(db, TRIGGERED, job["campaign_id"],
                                      payload["customer_id"], payload["dnd"])
    keep = min(queued) if keeper.dnd.get("order", "FIFO") == "FIFO" else max(queued)
    return job["id"] != keep


def _pause_at_limit(ctx: Context, keeper: gates.Gatekeeper, now) -> None:
    """spec §5.5: the campaign pauses at its audience limit; a DAILY limit resumes at 00:00 in
    the campaign's zone."""
    limit = keeper.audience_limit() or {}
    with ctx.store.write() as db:
        table.set_status(db, keeper.family, rules.PAUSED, ctx.clock.now_ms())
        if limit.get("frequency") == "DAILY":
            midnight = gate_rules.day_start(now, keeper.campaign_zone(), -1)
            jobs.add(db, to_ms(midnight), RESUME, keeper.family)


def resume(ctx: Context, job: dict) -> dict:
    """A daily audience limit's pause ends at midnight (not a marketer's pause)."""
    with ctx.store.write() as db:
        campaign = table.get(db, job["campaign_id"])
        if campaign and campaign["status"] == rules.PAUSED:
            table.set_status(db, campaign["id"], rules.ACTIVE, ctx.clock.now_ms())
            return {"resumed": campaign["id"]}
    return {}


def activate(ctx: Context, job: dict) -> dict:
    with ctx.store.write() as db:
        campaign = table.get(db, job["campaign_id"])
        if campaign and campaign["status"] == rules.SCHEDULED:
            table.set_status(db, campaign["id"], rules.ACTIVE, ctx.clock.now_ms())
    return {}


def expire(ctx: Context, job: dict) -> dict:
    with ctx.store.write() as db:
        campaign = table.get(db, job["campaign_id"])
        if campaign and campaign["status"] in (rules.ACTIVE, rules.SCHEDULED, rules.PAUSED):
            table.set_status(db, campaign["id"], rules.EXPIRED, ctx.clock.now_ms())
    return {}


HANDLERS = {SEND: delivery.send_campaign, INSTANCE: periodic_instance,
            TRIGGERED: triggered_send, ACTIVATE: activate, EXPIRE: expire, RESUME: resume,
            user_admin.DELETE_USER: user_admin.delete_due}
BATCHED = {TRIGGERED: triggered_sends}  # jobs due together for one campaign, run as one batch
BATCH_LIMIT = delivery.BATCH
