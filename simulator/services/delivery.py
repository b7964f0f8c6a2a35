"""Sending a campaign: one request per targeted user, rendered, sent, evaluated, recorded.

One user's trip, top to bottom: the audience comes from the store a page at a time
(``send_audience``); the gates admit or remove each user; ``Send.requests`` builds the user's
request (a template problem is that user's Failed outcome, and nothing is sent); the transport
sends it; ``Send.outcome`` judges the response into the delivery row and the events it
creates; ``record`` writes them. The transport hands back results as they finish, and each
group is recorded (committed) before more requests go out, so a crash repeats at the partner
at most the ``send_concurrency`` requests that were in flight (``docs/decisions.md``).
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Callable, Iterable, Iterator

from ..core import attributes as attributes_
from ..core import campaigns as rules
from ..core import evaluation, form_values, jsontext, masking, recurrence, templating
from ..core import gates as gates_rules
from ..core.http import HttpResult, OutboundRequest
from ..core.timestamps import to_ms
from ..store import attribute_types, deliveries, events, jobs, users
from ..store import campaigns as campaign_table
from ..store.database import ForeignKeys
from ..transport import Transport
from . import gates, segments
from .context import Context
from .send_plan import Plan, TokenUnavailable, build, prepare

__all__ = ["Plan", "Send", "prepare", "record", "send_audience", "send_campaign", "send_users"]

log = logging.getLogger("moesim.delivery")

BATCH = 500  # users read from the store at a time
# [I] The best hour of a SEND_IN_BTS user: MoEngage's derived attributes "Best time to send SMS"
# then "... Push" (data-export glossary); none: the campaign's not-available policy applies.
BTS_ATTRIBUTES = ("moe_ds_bts_sms_hour", "moe_ds_bts_push_hour")
BODY_EXCERPT = 2048  # characters of a request or response body kept in the delivery log
MASK = form_values.MASK


class _User:
    """One user of a send, from its request to its outcome."""

    __slots__ = ("attrs", "cid", "context", "event", "position", "request", "row_id", "token")

    def __init__(self, row_id: int, cid: str, attrs: dict, event: dict | None, position: int):
        self.row_id, self.cid, self.attrs, self.event = row_id, cid, attrs, event
        self.position = position
        self.request: OutboundRequest | None = None
        self.context: dict | None = None  # Connected Apps: the pass-2 template context
        self.token: str | None = None  # the OAuth token the request was built with


class Send:
    """One send of a campaign (a run, an instance, a wave of triggers): the plan, the time, the
    renderer, the position of the next user (the throttle paces by it) and how many users'
    rows are made. ``pacer``: the campaign's throttle (``gates.Pacer``), or None to stamp every
    row with ``now_ms``."""

    def __init__(self, plan: Plan, now, now_ms: int, pacer: gates.Pacer | None = None):
        self.plan, self.now, self.now_ms, self.pacer = plan, now, now_ms, pacer
        self.renderer = templating.Renderer(now)
        self.position = 0
        self.finished = 0
        self.catalogued: set[tuple] = set()  # event attribute slots typed in this send

    @property
    def in_flight(self) -> int:
        """Users taken whose rows are not made yet: requests out, and users who failed before
        sending whose rows wait for the next group."""
        return self.position - self.finished

    def groups(self, transport: Transport, batch: Iterable[tuple]
               ) -> Iterator[tuple[list[tuple], tuple[list, dict]]]:
        """Delivery rows and created events ``(event rows, catalogue)`` of ``batch``'s users,
        a group as soon as it is ready: the users who failed before sending, and the results
        the transport handed back together. ``batch``: ``(row id, customer id, attrs)`` per
        user, or with a fourth item, the triggering event's attributes."""
        failed: list[tuple] = []
        results = transport.send_all(self.requests(batch, failed))
        for group in results:
            if self.plan.oauth and self.plan.oauth.reattempt_codes:
                group = self._reattempt(transport, group)
            rows, created = failed[:], ([], {})
            failed.clear()
            for user, result in sorted(group, key=lambda pair: pair[0].position):
                rows.append(self.outcome(user, result, created))
            self.finished += len(rows)
            yield rows, created
        if failed:
            self.finished += len(failed)
            yield failed, ([], {})

    def requests(self, batch: Iterable[tuple], failed: list[tuple]
                 ) -> Iterator[tuple[_User, OutboundRequest]]:
        """Each user's request, built when the transport asks for it; the users whose request
        cannot be built go to ``failed`` as their delivery rows."""
        plan = self.plan
        for row_id, cid, attrs, *trigger in batch:
            user = _User(row_id, cid, attrs, trigger[0] if trigger else None, self.position)
            self.position += 1
            try:
                user.request, user.context = build(plan, self.renderer, cid, attrs, user.event)
            except templating.NotSend as stop:
                failed.append(self._row(user, "failed", f"not_send:{stop.reason}"))
                continue
            except TokenUnavailable:
                failed.append(self._row(user, "failed", "oauth:token_unavailable"))
                continue
            except templating.PersonalizationFailed as problem:
                detail = masking.mask(problem.detail, plan.secrets)
                failed.append(self._row(user, "failed", f"personalization:{problem.category}",
                                        response=jsontext.dumps({"detail": detail})))
                continue
            user.token = plan.token
            if self.pacer is not None:
                self.pacer.wait_for(user.position)
            yield user, user.request

    def outcome(self, user: _User, result: HttpResult, created: tuple[list, dict]) -> tuple:
        """The user's delivery row; the events the response creates go to ``created``."""
        plan = self.plan
        outcome, render_failed = _judge(plan, user.context, result, self.now)
        ok = outcome.sent and not outcome.failed
        reason = None if ok else (render_failed or _reason(result))
        event_rows, catalogue = created
        for made in outcome.events:
            event_rows.append((user.row_id, made.name, self.now_ms,
                               jsontext.dumps({**made.attributes, **plan.standard}),
                               None, None, None, None))
            _catalogue(catalogue, self.catalogued, made.name, plan.standard)
            _catalogue(catalogue, self.catalogued, made.name, made.attributes, plan.standard)
        return self._row(user, "sent" if ok else "failed", reason, result.status,
                         _request_record(user.request, plan.secrets),
                         _response_record(result, plan.secrets, outcome.fallback),
                         round(result.elapsed_ms, 2))

    def _row(self, user: _User, outcome: str, reason: str | None, status: int | None = None,
             request: str | None = None, response: str | None = None,
             elapsed_ms: float | None = None) -> tuple:
        """A row in ``deliveries.insert``'s column order."""
        ts = self.now_ms if self.pacer is None else self.pacer.at(user.position)
        return (self.plan.campaign["id"], user.row_id, user.cid, outcome, reason, status,
                request, response, elapsed_ms, ts)

    def _reattempt(self, transport: Transport, group: list[tuple[_User, HttpResult]]
                   ) -> list[tuple[_User, HttpResult]]:
        """Spec §6.6 (S7): on a reattempt error code, refresh the token and send once more. A
        token is renewed once: not again for requests that were built with an older one."""
        plan = self.plan
        again = [user for user, result in group if result.status in plan.oauth.reattempt_codes]
        if not again:
            return group
        if any(user.token == plan.token for user in again) and not plan.renew_token():
            return group
        for user in again:
            user.request, user.context = build(plan, self.renderer, user.cid, user.attrs,
                                               user.event)
            user.token = plan.token
        resent: dict[_User, HttpResult] = {}
        for results in transport.send_all((user, user.request) for user in again):
            resent.update(results)
        return [(user, resent.get(user, result)) for user, result in group]


def record(ctx: Context, rows: list, created: tuple, now_ms: int) -> None:
    """One transaction: delivery rows and the events the responses (or the gates) created:
    ``(event rows, catalogue)``, rows in ``TrackedEvent.row()`` form with the user's row id in
    place of the customer id. The send read those users, and users are never deleted, so
    foreign keys are not checked again row by row (``ForeignKeys.TRUSTED``)."""
    with ctx.store.write(ForeignKeys.TRUSTED) as db:
        deliveries.insert(db, rows)
        event_rows, catalogue = created
        if catalogue:
            attribute_types.register(db, [(*k, t) for k, t in catalogue.items()])
        if event_rows:
            events.insert(db, event_rows, now_ms)


def send_users(ctx: Context, send: Send, batch: Iterable[tuple], *,
               at_once: bool = False) -> list[tuple]:
    """Send to ``batch`` (see ``Send.groups``), recording each group as it comes in, or with
    ``at_once`` the whole batch in one transaction at the end; returns the rows recorded.
    ``at_once`` is for a wave of event-triggered sends: their jobs are marked done together
    after it, and a re-run after a crash sends the whole wave again, so a wave is recorded
    whole or not at all (no user gets two rows for one trigger)."""
    recorded: list[tuple] = []
    created: tuple[list, dict] = ([], {})
    for rows, made in send.groups(ctx.sender(), batch):
        if at_once:
            created[0].extend(made[0])
            created[1].update({k: v for k, v in made[1].items() if k not in created[1]})
        else:
            record(ctx, rows, made, send.now_ms)
        recorded += rows
    if at_once and recorded:
        record(ctx, recorded, created, send.now_ms)
    return recorded


def _user_due(campaign: dict, now) -> Callable[[dict], int | None] | None:
    """Per-user send times of a one-time SEND_IN_USER_TIMEZONE / SEND_IN_BTS campaign."""
    schedule = campaign["body"]["scheduling_details"]
    kind = schedule["delivery_type"]
    if kind == recurrence.SEND_IN_USER_TIMEZONE:
        def due(attrs: dict) -> int | None:
            offset = attrs.get("moe_dtzo")
            fire = recurrence.user_timezone_fire(
                schedule, int(offset) if isinstance(offset, (int, float)) else None, now)
            return None if fire is None else to_ms(fire)
        return due
    if kind == recurrence.SEND_IN_BTS:
        def due(attrs: dict) -> int | None:
            hour = next((attrs[k] for k in BTS_ATTRIBUTES if isinstance(attrs.get(k), int)), None)
            fire = recurrence.bts_fire(schedule, hour, None, now)
            return None if fire is None else to_ms(fire)
        return due
    return None


def send_audience(ctx: Context, campaign: dict, plan: Plan, draw: Any = 0
                  ) -> tuple[dict, int | None]:
    """Send to every user of the campaign's audience not reached yet whose send time has come;
    returns the totals and the next per-user send time still ahead, if any.

    The audience streams through one send, so no page waits for the one before it to be
    answered. Each page of users passes the gates (spec §5.6) first; held-back users are
    recorded as ``removed``. The audience limit stops the sends when reached (the rest are
    removed with ``audience_limit`` and ``totals["limit_reached"]`` is set): no more requests
    go out than can still be sent within it. Send times are paced at the campaign's throttle:
    virtual timestamps in virtual time, real waits in system time."""
    now, now_ms = ctx.clock.now(), ctx.clock.now_ms()
    where, params = segments.audience(ctx, campaign["body"]["segmentation_details"])
    totals = {"attempted": 0, "sent": 0, "failed": 0, "removed": 0}
    keeper = gates.Gatekeeper(ctx, campaign, draw)
    keeper.find_duplicates(where, params)
    limit = keeper.audience_limit()
    room = None if limit is None else max(0, limit["limit"] - keeper.sent_against_limit(now))
    with ctx.store.read() as db:
        pacer = gates.Pacer(ctx, campaign, _audience_size(db, campaign, where, params), now_ms)
        # a run that starts over (a restart, a later per-user send time) skips the users the
        # campaign reached
        skip = campaign["id"] if deliveries.any_for(db, campaign["id"]) else None
    audience = _Audience(ctx, campaign, keeper, where, params, skip, totals)
    send = Send(plan, now, now_ms, pacer)
    while True:
        # with a limit: only as many in flight as could still be sent within it
        batch = audience.users() if room is None else audience.users(
            lambda: send.in_flight < room - totals["sent"])
        for rows, created in send.groups(ctx.sender(), batch):
            record(ctx, rows, created, now_ms)
            for row in rows:
                totals["attempted"] += 1
                totals[row[3]] += 1
        if room is None or audience.done:
            break
        if totals["sent"] >= room:  # spec §5.5: nobody else of this run is sent to
            removed = [keeper.removed_row(entry, gates_rules.AUDIENCE_LIMIT, now_ms)
                       for entry in audience.users()]
            if removed:
                record(ctx, removed, ([], {}), now_ms)
                totals["removed"] += len(removed)
                totals["limit_reached"] = True
            break
    return totals, audience.next_due


class _Audience:
    """A campaign's audience, a page at a time from the store, through the per-user send
    times and the gates; the users held back are recorded as removed as their page is read.
    ``next_due``: the earliest per-user send time still ahead."""

    def __init__(self, ctx: Context, campaign: dict, keeper: gates.Gatekeeper, where: str,
                 params: list, skip: str | None, totals: dict):
        self.ctx, self.keeper, self.where, self.params = ctx, keeper, where, params
        self.skip, self.totals = skip, totals
        self.now, self.now_ms = ctx.clock.now(), ctx.clock.now_ms()
        self.due = _user_due(campaign, self.now)
        self.next_due: int | None = None
        self.done = False
        self._after = 0
        self._kept: collections.deque = collections.deque()

    def users(self, go: Callable[[], bool] = lambda: True) -> Iterator[tuple]:
        """The next users to send to, while ``go()``; ``done`` once none is left."""
        while go():
            if not self._kept and not self._next_page():
                self.done = True
                return
            yield self._kept.popleft()

    def _next_page(self) -> bool:
        while True:
            with self.ctx.store.read() as db:
                page = users.audience_page(db, self.where, self.params, self._after, BATCH,
                                           self.skip)
            if not page:
                return False
            self._after = page[-1][0]
            if self.due is not None:
                page = self._due_now(page)
            kept, removed, created = self.keeper.admit(page, self.now, self.now_ms)
            if removed or created:
                record(self.ctx, removed, (created, {}), self.now_ms)
            self.totals["removed"] += len(removed)
            if kept:
                self._kept.extend(kept)
                return True

    def _due_now(self, page: list) -> list:
        ready = []
        for entry in page:
            at = self.due(entry[2])
            if at is None:
                continue
            if at <= self.now_ms:
                ready.append(entry)
            elif self.next_due is None or at < self.next_due:
                self.next_due = at
        return ready


def _audience_size(db, campaign: dict, where: str, params: list) -> int:
    """What the throttle needs: the audience, counted only when it could be large enough to
    raise the rate (more users than 4 hours at the campaign's rpm); else all users, a bound."""
    everyone = users.count(db)
    if everyone <= gates_rules.throttle_rpm(campaign["body"], 0) * \
            gates_rules.THROTTLE_FINISH_MINUTES:
        return everyone
    return users.count_where(db, where, params)


def send_campaign(ctx: Context, job: dict) -> dict:
    """A one-time campaign's send (again at each later per-user send time)."""
    now_ms = ctx.clock.now_ms()
    with ctx.store.read() as db:
        campaign = campaign_table.get(db, job["campaign_id"])
    if campaign is None or campaign["status"] in (rules.STOPPED, rules.SENT):
        return {"skipped": campaign["status"] if campaign else "missing"}
    plan = prepare(ctx, campaign)
    with ctx.store.write() as db:
        campaign_table.set_status(db, campaign["id"], rules.ACTIVE, now_ms)
    totals, next_due = send_audience(ctx, campaign, plan)
    with ctx.store.write() as db:
        if next_due is not None and not totals.get("limit_reached"):
            jobs.add(db, next_due, job["kind"], campaign["id"])
        else:
            campaign_table.set_status(db, campaign["id"], rules.SENT, ctx.clock.now_ms(),
                                      sent=True)
    log.info("campaign %s: %s", campaign["id"], totals)
    return totals


def _judge(plan: Plan, context: dict | None, result: HttpResult, now
           ) -> tuple[evaluation.Outcome, str | None]:
    """The outcome of a response; ``context``: the user's pass-2 context (Connected Apps),
    which the matching entries' event attributes render with."""
    if plan.channel != rules.CONNECTED_APP:
        return evaluation.connector_outcome(result), None
    matched = evaluation.matching(plan.responses, result, now=now)
    actions = evaluation.Actions(plan.responses, matched, result.status, templating.compiled)
    try:
        outcome = actions.outcome(context)
    except (templating.NotSend, templating.PersonalizationFailed) as problem:
        category = getattr(problem, "category", "Unknown")
        return evaluation.Outcome(sent=False, failed=True), f"personalization:{category}"
    return outcome, None


def _catalogue(catalogue: dict, known: set, name: str, attributes: dict, overridden=()) -> None:
    """The types of an event's attributes, but for ``overridden`` keys and the ``known``
    slots (catalogued earlier in the send: the first typed value decides)."""
    for key, value in attributes.items():
        slot = ("event", name, key)
        if slot not in known and key not in overridden:
            kind = attributes_.typed(value)[1]
            if kind:
                catalogue[slot] = kind
                known.add(slot)


def _masked_headers(headers, secrets: tuple[str, ...]) -> list:
    return [[name, masking.authorization(value) if name.lower() == "authorization"
             else masking.mask(value, secrets)] for name, value in headers]


def _request_record(request: OutboundRequest, secrets: tuple[str, ...]) -> str:
    """The request as logged, JSON text, secrets masked."""
    body = request.body.decode("utf-8", "replace")[:BODY_EXCERPT] if request.body else None
    return jsontext.dumps({"method": request.method, "url": masking.mask(request.url, secrets),
                           "headers": _masked_headers(request.headers, secrets),
                           "body": masking.mask(body, secrets) if body else None})


def _response_record(result: HttpResult, secrets: tuple[str, ...], fallback: bool) -> str:
    """The response as logged, JSON text: the body decoded (its charset, Content-Encoding
    undone), the first ``BODY_EXCERPT`` characters; ``decided_by`` says whether a response
    entry or the HTTP-status fallback decided Sent/Failed (spec §2.7)."""
    record = {"status": result.status,
              "headers": dict(_masked_headers(result.headers.items(), secrets)),
              "body": masking.mask(result.text()[:BODY_EXCERPT], secrets),
              "error": result.error, "detail": result.detail}
    if result.truncated:
        record["truncated"] = True
    if fallback:
        record["decided_by"] = "fallback"
    return jsontext.dumps(record)


def _reason(result: HttpResult) -> str:
    return f"http:{result.status}" if result.status is not None else f"no_response:{result.error}"
