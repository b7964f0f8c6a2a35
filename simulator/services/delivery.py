"""Sending a campaign: one request per targeted user, rendered, sent, evaluated, recorded.

Users stream from the store in batches (a campaign's audience is never held in memory); each
batch is rendered, sent through the transport with ``send_concurrency`` requests in flight,
evaluated, and written in one transaction: delivery rows plus the events the responses
create. A template problem for one user is that user's Failed outcome with its category.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from ..core import campaigns as rules
from ..core import attributes as attributes_
from ..core import evaluation, form_values, jsontext, outbound, recurrence, templating
from ..core import gates as gates_rules
from ..core import oauth_configs as oauth_rules
from ..core.http import HttpResult, OutboundRequest
from ..core.timestamps import to_ms
from ..store import campaigns as campaign_table
from ..store import attribute_types, connections, connectors, deliveries, events, jobs, users
from ..store.database import ForeignKeys
from ..transport import Transport
from . import gates, oauth, oauth_configs, segments
from .context import Context

log = logging.getLogger("moesim.delivery")

BATCH = 500
# [I] The best hour of a SEND_IN_BTS user: MoEngage's derived attributes "Best time to send SMS"
# then "... Push" (data-export glossary); none: the campaign's not-available policy applies.
BTS_ATTRIBUTES = ("moe_ds_bts_sms_hour", "moe_ds_bts_push_hour")
BODY_EXCERPT = 2048
MASK = form_values.MASK


@dataclass
class Plan:
    """Everything a campaign send needs that does not depend on the user."""
    campaign: dict
    channel: str
    request: dict | None = None
    auth: dict | None = None
    responses: list | None = None
    app_form: dict | None = None
    campaign_values: dict | None = None
    content: dict | None = None
    secrets: tuple[str, ...] = ()
    standard: dict | None = None
    config_request: outbound.ConfigRequest | None = None  # its user-independent part, once
    app_namespace: Any = None  # AppMarketplaceForm, built once for every user
    # (key, compiled template) of the campaign values when all are text, else None
    campaign_templates: list | None = None
    standard_json: str = "{}"  # ``standard`` as JSON text
    standard_tail: str = "}"  # ``standard_json`` after its opening brace, after a comma
    standard_keys: frozenset = frozenset()
    # Connector campaigns with authorization settings (spec §6.6)
    oauth: outbound.ConnectorOAuth | None = None
    token: str | None = None
    refresh: Callable[[], str | None] | None = None
    # what every user's request is built from, when nothing else goes in (``_signature``):
    # requests built before for this signature are used again (``_BUILT``)
    signature: str | None = None

    def renew_token(self) -> bool:
        """A reattempt code came back: fetch a new token (False when that failed)."""
        token = self.refresh() if self.refresh else None
        if token:
            self.token = token
            self.secrets = (*self.secrets, token)
        return token is not None


def _plan(db, campaign: dict, token: str | None) -> Plan:
    body = campaign["body"]
    plan = Plan(campaign, campaign["channel"])
    content = body["campaign_content"]["content"]
    standard = {"Campaign Name": campaign["name"], "Campaign Id": campaign["id"],
                "Readable Campaign Id": campaign["id"],
                "Campaign Type": body["campaign_delivery_type"],
                "Delivery Type": body["scheduling_details"]["delivery_type"],
                "Campaign Tags": body["basic_details"].get("tags", [])}
    if plan.channel == rules.CONNECTED_APP:
        version = connectors.version(db, campaign["connector_id"], campaign["connector_version"])
        config = version["config"]
        module = config["modules"][0]["params"]
        connection = connections.get(db, campaign["connection_id"])
        plan.request, plan.auth, plan.responses = module["request"], config["auth"], \
            module["response"]
        specials = {"MOE_ACCESS_TOKEN_DEFAULT": token} if token else None
        plan.app_form = templating.app_form_values(connection["values"], specials)
        plan.config_request = outbound.ConfigRequest(
            plan.request, plan.auth,
            outbound.connection_texts(plan.request, plan.auth, plan.app_form))
        plan.app_namespace = templating.form_namespace(plan.app_form)
        plan.campaign_values = content["connected_app"].get("inputs", {})
        if all(isinstance(v, str) for v in plan.campaign_values.values()):
            plan.campaign_templates = [(k, templating.compiled(v))
                                       for k, v in plan.campaign_values.items()]
        secret_keys = form_values.secret_keys(config["input_variables"])
        plan.secrets = tuple(str(v) for k, v in connection["values"].items()
                             if k in secret_keys and v not in (None, "")) + ((token,) if token else ())
        standard.update({"App name": str(version["app_id"]), "Integration type": version["name"],
                         "Campaign Channel": "Connected Apps"})
        plan.signature = _signature(plan)
    else:
        plan.content = content
        plan.oauth = outbound.connector_oauth(content["connector"])
        standard["Campaign Channel"] = "Connector"
    plan.standard = standard
    plan.standard_json = jsontext.dumps(standard)
    plan.standard_tail = f",{plan.standard_json[1:]}"
    plan.standard_keys = frozenset(standard)
    return plan


def _signature(plan: Plan) -> str | None:
    """A Connected App send's request, auth, responses, connection values (the token too),
    secrets and campaign field values as one text, when they are all a user's request and
    pass-2 context depend on: every template in them is plain text or value lookups, so no
    filter reads the clock. None otherwise."""
    templates = [plan.request, plan.auth, plan.responses, plan.campaign_values]
    if not all(templating.lookups_only(text) for text in _texts(templates)):
        return None
    try:  # the stdlib's JSON: orjson writes inf, -inf and NaN alike, as null
        signature = json.dumps([*templates, plan.app_form, plan.secrets], separators=(",", ":"),
                               ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return _BUILT.signature(signature)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


class _Built:
    """A user's request and pass-2 context as ``_build`` made them from ``attrs``, the request
    as logged, once asked for, and the last judging of the user's response: ``(actions,
    outcome, render failure, created events' attributes as JSON text but the closing brace)``.
    The context and the actions are all ``_judge`` reads (Connected Apps), and they are
    interned by what makes them (``_Kept.actions``), so a kept request's judging stands for
    the same actions in any later batch or instance."""

    __slots__ = ("attrs", "context", "judged", "record", "request")

    def __init__(self, attrs: dict, request: OutboundRequest, context: dict | None):
        self.attrs, self.request, self.context, self.record = attrs, request, context, None
        self.judged: tuple[evaluation.Actions | None, evaluation.Outcome, str | None,
                           list[str]] | None = None


class _Kept:
    """Requests built before, by (user row id, send signature): a periodic campaign's
    instances, and campaigns with the same content and connection, build a user's request once
    while the user's attributes stay the same. An entry counts only for the very attributes
    object it was built from: ``users.audience_page`` shares the parsed attributes of an
    unchanged user (and only reads them), and a changed user's are a new object. At most
    ``max_entries`` entries and about ``max_bytes`` (an entry: its body four times, as body,
    bytes on the wire, logged copy and rendered field values, and ~1.5 KB of objects); it
    starts over when full."""

    def __init__(self, max_entries: int = 20_000, max_bytes: int = 64 << 20):
        self.entries: dict[tuple[int, str], _Built] = {}
        self.max_entries, self.max_bytes, self.bytes = max_entries, max_bytes, 0
        self._signatures: dict[str, str] = {}
        self._actions: dict[tuple, evaluation.Actions] = {}

    def signature(self, text: str) -> str:
        """One object per signature text, so that the entries' keys compare by identity."""
        if len(self._signatures) >= 256:
            self._signatures.clear()
        return self._signatures.setdefault(text, text)

    def actions(self, signature: str, responses: list, matched: list[int], status: int | None
                ) -> evaluation.Actions:
        """One ``Actions`` per signature, matched entries and status (all they are made of),
        so that a kept user's judged outcome is used again for the same actions in any batch
        or instance."""
        key = (signature, tuple(matched), status)
        actions = self._actions.get(key)
        if actions is None:
            if len(self._actions) >= 1024:
                self._actions.clear()
            actions = self._actions[key] = evaluation.Actions(responses, matched, status,
                                                              templating.compiled)
        return actions

    def keep(self, key: tuple[int, str], built: _Built) -> None:
        size = 1536 + 4 * len(built.request.body or b"")
        if len(self.entries) >= self.max_entries or self.bytes + size > self.max_bytes:
            self.entries.clear()
            self.bytes = 0
        self.entries[key] = built
        self.bytes += size


_BUILT = _Kept()


def _build(plan: Plan, renderer: templating.Renderer, attrs: dict,
           event: dict | None) -> tuple[OutboundRequest, dict | None]:
    """The user's request, and (Connected Apps) the pass-2 context, with the pass-1 campaign
    field values, which the response actions render with again. ``event``: the triggering
    event's attributes (event-triggered sends only)."""
    if plan.channel == rules.CONNECTED_APP:
        context = renderer.user_context(attrs, event)
        if plan.campaign_templates is not None:  # the usual case: text fields, in order
            form = {key: template.render(context) for key, template in plan.campaign_templates}
        else:
            form = templating.render_campaign_values(renderer, plan.campaign_values, attrs,
                                                     event, context=context)
        context = renderer.fill_forms(context, plan.app_namespace, form)
        return plan.config_request.build(renderer, context), context
    if plan.oauth is not None and plan.token is None:
        raise TokenUnavailable()
    return outbound.from_connector_content(renderer, plan.content, attrs, event,
                                           oauth_token=plan.token), None


class TokenUnavailable(Exception):
    """MoEngage could not fetch the OAuth token: the send fails (spec §6.6: a generic 500)."""


def _mask(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _masked_headers(headers: tuple, secrets: tuple[str, ...]) -> list:
    masked = []
    for name, value in headers:
        if name.lower() == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {MASK}".strip()
        masked.append([name, _mask(value, secrets)])
    return masked


def _request_record(request: OutboundRequest, secrets: tuple[str, ...], masked: dict) -> str:
    """The request as logged, JSON text. ``masked``: the text before the body by method, url
    and headers, shared by a batch's users."""
    where = (request.method, request.url, request.headers)
    head = masked.get(where)
    if head is None:
        head = masked[where] = jsontext.dumps({
            "method": request.method, "url": _mask(request.url, secrets),
            "headers": _masked_headers(request.headers, secrets)})[:-1] + ',"body":'
    body = request.body.decode("utf-8", "replace") if request.body else None
    return f"{head}{jsontext.dumps(_mask(body[:BODY_EXCERPT], secrets)) if body else 'null'}}}"


def _response_record(result: HttpResult, secrets: tuple[str, ...]) -> str:
    return jsontext.dumps({"status": result.status, "headers": result.headers,
                           "body": _mask(result.body[:BODY_EXCERPT].decode("utf-8", "replace"),
                                         secrets),
                           "error": result.error, "detail": result.detail})


def _reason(result: HttpResult) -> str:
    return f"http:{result.status}" if result.status is not None else f"no_response:{result.error}"


def _oauth_token(ctx: Context, campaign: dict) -> str | None:
    """A Connected App campaign on an OAuth connection sends with a fresh access token."""
    if campaign["channel"] != rules.CONNECTED_APP:
        return None
    with ctx.store.read() as db:
        version = connectors.version(db, campaign["connector_id"], campaign["connector_version"])
    if version["config"]["auth"]["auth_type"] != "oauth":
        return None
    return oauth.access_token(ctx, campaign["connection_id"])


def prepare(ctx: Context, campaign: dict) -> Plan:
    """The user-independent part of a send (an OAuth token is fetched or refreshed here)."""
    token = _oauth_token(ctx, campaign)
    with ctx.store.read() as db:
        plan = _plan(db, campaign, token)
    if plan.oauth is not None:
        config_id = plan.oauth.config_id
        plan.token, spec = oauth_configs.token(ctx, config_id)
        connector = plan.content["connector"]
        # the campaign's prefix wins; else the configuration's preferred one (spec §6.6)
        overrides = connector.get("oauth") or {}
        plan.content = {**plan.content, "connector": {**connector, "oauth": {
            **overrides, "prefix": overrides.get("prefix", oauth_rules.prefix(spec))}}}
        plan.oauth = outbound.connector_oauth(plan.content["connector"])
        plan.secrets = (*plan.secrets, *([plan.token] if plan.token else []))
        plan.refresh = lambda: oauth_configs.token(ctx, config_id, refresh=True)[0]
    return plan


def transport_for(ctx: Context) -> Transport:
    """The process's sending transport: kept-alive connections are reused across campaigns."""
    with ctx.transport_lock:
        if ctx.transport is None:
            settings = ctx.settings
            ctx.transport = Transport(timeout_s=settings.send_timeout_s,
                                      concurrency=settings.send_concurrency,
                                      retries=settings.send_retries,
                                      pipeline=settings.send_pipeline)
        return ctx.transport


def record(ctx: Context, rows: list, created: tuple, now_ms: int) -> None:
    """One transaction: the batch's delivery rows and the events its responses (or the gates)
    created: ``(event rows, catalogue)``, rows in ``TrackedEvent.row()`` form with the user's
    row id in place of the customer id. The send read those users, and users are never
    deleted, so foreign keys are not checked again row by row (``ForeignKeys.TRUSTED``).
    The COMMIT runs behind (``Store.write(commit_behind=True)``) while the send goes on; this
    thread's next read or write, and everyone's next write, wait for it, and the engine
    settles it before a job counts as done."""
    with ctx.store.write(ForeignKeys.TRUSTED, commit_behind=True) as db:
        deliveries.insert(db, rows)
        event_rows, catalogue = created
        if catalogue:
            attribute_types.register(db, [(*k, t) for k, t in catalogue.items()])
        if event_rows:
            events.insert(db, event_rows, now_ms)


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

    Each batch passes the gates (spec §5.6) first; held-back users are recorded as
    ``removed``. The audience limit stops the sends when reached (the rest are removed with
    ``audience_limit`` and ``totals["limit_reached"]`` is set). Send times are paced at the
    campaign's throttle: virtual timestamps in virtual time, real waits in system time."""
    now, now_ms = ctx.clock.now(), ctx.clock.now_ms()
    where, params = segments.audience(ctx, campaign["body"]["segmentation_details"])
    renderer = templating.Renderer(now)
    due = _user_due(campaign, now)
    totals = {"attempted": 0, "sent": 0, "failed": 0, "removed": 0}
    next_due: int | None = None
    transport = transport_for(ctx)
    keeper = gates.Gatekeeper(ctx, campaign, draw)
    keeper.find_duplicates(where, params)
    limit = keeper.audience_limit()
    room = None if limit is None else max(0, limit["limit"] - keeper.sent_against_limit(now))
    with ctx.store.read() as db:
        pacer = gates.Pacer(ctx, campaign, _audience_size(db, campaign, where, params), now_ms)
        # a run that starts over (a restart, a later per-user send time) skips the users the
        # campaign reached; a first run pages by id, so its own rows are behind each page
        skip = campaign["id"] if deliveries.any_for(db, campaign["id"]) else None
    after = 0
    while True:
        # the page before is still being committed: its rows concern other users
        with ctx.store.reads_before_own_commit(), ctx.store.read() as db:
            batch = users.audience_page(db, where, params, after, BATCH, skip)
        if not batch:
            break
        after = batch[-1][0]
        if due is not None:
            ready = []
            for entry in batch:
                at = due(entry[2])
                if at is None:
                    continue
                if at <= now_ms:
                    ready.append(entry)
                elif next_due is None or at < next_due:
                    next_due = at
            batch = ready
        with ctx.store.reads_before_own_commit():
            kept, removed, events = keeper.admit(batch, now, now_ms)
        if removed or events:
            record(ctx, removed, (events, {}), now_ms)
        totals["removed"] += len(removed)
        while kept:
            take = kept if room is None else kept[:room]
            kept = kept[len(take):]
            if take:
                rows, created = send_batch(plan, renderer, transport, take, now, now_ms)
                pacer.stamp(rows)
                record(ctx, rows, created, now_ms)
                for row in rows:
                    totals["attempted"] += 1
                    totals[row[3]] += 1
                    if room is not None and row[3] == "sent":
                        room -= 1
            if room == 0 and kept:
                # spec §5.5: the limit is reached; nobody else of this run is sent to
                record(ctx, [keeper.removed_row(e, gates_rules.AUDIENCE_LIMIT, now_ms)
                             for e in kept], ([], {}), now_ms)
                totals["removed"] += len(kept)
                totals["limit_reached"] = True
                kept = []
    return totals, next_due


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


def send_batch(plan: Plan, renderer, transport: Transport, batch: list, now, now_ms: int
               ) -> tuple[list[tuple], tuple[list, dict]]:
    """``batch``: ``(row id, customer id, attrs)`` per user, or with a fourth item, the
    triggering event's attributes. Requests are built as the transport asks for them, so the
    first ones are on the wire while the rest are rendered. The rows: users who failed before
    sending, then the others, each in batch order."""
    # (row id, customer id, attrs, event, built) of users sent to
    ready: list[tuple[int, str, dict, dict | None, _Built]] = []
    rows: list[tuple] = []  # failed before sending
    campaign_id = plan.campaign["id"]
    signature, kept = plan.signature, _BUILT

    def requests() -> Iterator[OutboundRequest]:
        for row_id, cid, attrs, *trigger in batch:
            event = trigger[0] if trigger else None
            key = (row_id, signature) if signature is not None and event is None else None
            built = kept.entries.get(key) if key is not None else None
            if built is not None and built.attrs is attrs:
                ready.append((row_id, cid, attrs, event, built))
                yield built.request
                continue
            try:
                built = _Built(attrs, *_build(plan, renderer, attrs, event))
            except templating.NotSend as stop:
                rows.append((campaign_id, row_id, cid, "failed", f"not_send:{stop.reason}",
                             None, None, None, None, now_ms))
                continue
            except TokenUnavailable:
                rows.append((campaign_id, row_id, cid, "failed", "oauth:token_unavailable",
                             None, None, None, None, now_ms))
                continue
            except templating.PersonalizationFailed as problem:
                rows.append((campaign_id, row_id, cid, "failed",
                             f"personalization:{problem.category}", None, None,
                             json.dumps({"detail": _mask(problem.detail, plan.secrets)}), None,
                             now_ms))
                continue
            if key is not None:
                kept.keep(key, built)
            ready.append((row_id, cid, attrs, event, built))
            yield built.request

    sent: list[tuple] = []
    event_rows: list = []
    catalogue: dict = {}
    catalogued: set[str] = set()  # event names whose standard attributes are catalogued
    results: Iterable[HttpResult] = transport.send_all(requests())
    if plan.oauth and plan.oauth.reattempt_codes:
        ready, results = _reattempt(plan, renderer, transport, ready, list(results))
    # identical responses (the usual case) are matched and recorded once per batch
    seen: dict[tuple, tuple[evaluation.Actions | None, str]] = {}
    masked: dict[tuple, str] = {}
    last: HttpResult | None = None
    for index, result in enumerate(results):  # the ith result answers ready[i]
        row_id, cid, attrs, event, built = ready[index]
        if result is not last:  # the transport gives responses read together one result
            if last is None or not _same_response(result, last):
                key = (result.status, result.body, result.error, result.detail,
                       tuple(result.headers.items()))
                known = seen.get(key)
                if known is None:
                    known = seen[key] = (_actions(plan, result, now),
                                         _response_record(result, plan.secrets))
            last, elapsed = result, round(result.elapsed_ms, 2)
        actions, judged = known[0], built.judged
        if actions is None or judged is None or judged[0] is not actions:
            outcome, render_failed = _judge(plan, built.context, result, actions)
            judged = built.judged = (actions, outcome, render_failed, [
                jsontext.dumps(made.attributes)[:-1] for made in outcome.events])
        _, outcome, render_failed, heads = judged
        ok = outcome.sent and not outcome.failed
        reason = None if ok else (render_failed or _reason(result))
        record = built.record
        if record is None:
            record = built.record = _request_record(built.request, plan.secrets, masked)
        sent.append((campaign_id, row_id, cid, "sent" if ok else "failed", reason,
                     result.status, record, known[1], elapsed, now_ms))
        for made, head in zip(outcome.events, heads):
            event_rows.append((row_id, made.name, now_ms,
                               _event_attributes(plan, made.attributes, head),
                               None, None, None, None))
            if made.name not in catalogued:
                catalogued.add(made.name)
                _catalogue(catalogue, made.name, plan.standard)
            _catalogue(catalogue, made.name, made.attributes, plan.standard)
    return rows + sent, (event_rows, catalogue)


def _actions(plan: Plan, result: HttpResult, now) -> evaluation.Actions | None:
    """What the response's matching entries do (Connected Apps). Matching may read the clock;
    what the entries do then depends on which matched and the status alone."""
    if plan.channel != rules.CONNECTED_APP:
        return None
    matched = evaluation.matching(plan.responses, result, now=now)
    if plan.signature is None:
        return evaluation.Actions(plan.responses, matched, result.status, templating.compiled)
    return _BUILT.actions(plan.signature, plan.responses, matched, result.status)


def _event_attributes(plan: Plan, attributes: dict, head: str) -> str:
    """JSON text of a response-created event's attributes followed by the standard campaign
    attributes (which win), as ``{**attributes, **plan.standard}`` would print. ``head``: the
    attributes' JSON text but its closing brace."""
    if not attributes:
        return plan.standard_json
    if not plan.standard_keys or not plan.standard_keys.isdisjoint(attributes):
        return jsontext.dumps({**attributes, **plan.standard})
    return head + plan.standard_tail


def _catalogue(catalogue: dict, name: str, attributes: dict, overridden=()) -> None:
    """The types of an event's attributes, but for ``overridden`` keys."""
    for key, value in attributes.items():
        slot = ("event", name, key)
        if slot not in catalogue and key not in overridden:  # the first typed value decides
            kind = attributes_.typed(value)[1]
            if kind:
                catalogue[slot] = kind


def _reattempt(plan: Plan, renderer, transport: Transport, ready: list, results: list
               ) -> tuple[list, list]:
    """Spec §6.6 (S7): on a reattempt error code, refresh the token and retry once."""
    again = [i for i, result in enumerate(results)
             if result.status in plan.oauth.reattempt_codes]
    if not again or not plan.renew_token():
        return ready, results
    ready, results = list(ready), list(results)
    retried = [(*ready[i][:4], _Built(ready[i][2], *_build(plan, renderer, ready[i][2],
                                                           ready[i][3]))) for i in again]
    for i, entry, result in zip(again, retried,
                                transport.send_all(entry[4].request for entry in retried)):
        ready[i], results[i] = entry, result
    return ready, results


def _same_response(result: HttpResult, other: HttpResult) -> bool:
    """Identical, headers in the same order too (the logged response keeps their order). The
    transport gives identical heads one shared dict, so they compare by identity first."""
    return result.status == other.status and result.body == other.body and (
        result.headers is other.headers or result.headers == other.headers and
        list(result.headers) == list(other.headers)) and \
        result.error == other.error and result.detail == other.detail


def _judge(plan: Plan, context: dict | None, result: HttpResult,
           actions: evaluation.Actions | None) -> tuple[evaluation.Outcome, str | None]:
    """``context``: the user's pass-2 context; ``actions``: what the response's matching
    entries do (Connected Apps)."""
    if plan.channel != rules.CONNECTED_APP:
        return evaluation.connector_outcome(result), None
    try:
        outcome = actions.outcome(context)
    except (templating.NotSend, templating.PersonalizationFailed) as problem:
        category = getattr(problem, "category", "Unknown")
        return evaluation.Outcome(sent=False, failed=True), f"personalization:{category}"
    if outcome.fallback:
        log.debug("no response entry decided Sent/Failed: HTTP %s fallback", result.status)
    return outcome, None
