"""What the dashboard reads besides the API's own services: the workspace's counts, the live
feed, the next jobs, the sinks and their inboxes, one delivery, sends over time, the attribute
catalogue and user search. Secrets are masked here, before anything reaches a page."""

from __future__ import annotations

from ..core import form_values, masking
from ..core.errors import NotFound
from ..core.record_filters import DeliveryFilter
from ..core.timestamps import iso
from ..store import activity, attribute_types, connections, connectors, oauth_configs, users
from ..store import campaigns as campaign_table
from ..store import segments as segment_table
from ..store import sinks as sink_table
from .context import Context

HOUR_MS = 3_600_000
# A user is found by these stored attributes, in this order (MoEngage's "search users").
SEARCH_KEYS = ("customer_id", "u_em", "u_mb")


def counts(ctx: Context) -> dict:
    now = ctx.clock.now_ms()
    with ctx.store.read() as db:
        recent = activity.deliveries_since(db, now - HOUR_MS)
        return {"users": activity.user_count(db), "events": activity.event_count(db),
                "campaigns": activity.campaign_count(db),
                "deliveries_last_hour": sum(recent.values()),
                "failed_last_hour": recent.get("failed", 0),
                "pending_jobs": activity.pending_job_count(db)}


def feed(ctx: Context, limit: int = 30) -> list[dict]:
    """The latest events in and deliveries out, newest first."""
    with ctx.store.read() as db:
        events = activity.latest_events(db, limit)
        sends = activity.deliveries_before(db, DeliveryFilter(), None, limit)
        names = {cid: (campaign_table.get(db, cid) or {}).get("name", cid)
                 for cid in {d["campaign_id"] for d in sends}}
    items = [{"kind": "event", "ts": e["ts"], "time": iso(e["ts"]), "customer_id": e["customer_id"],
              "what": e["name"], "id": e["id"]} for e in events]
    items += [{"kind": d["outcome"], "ts": d["ts"], "time": iso(d["ts"]),
               "customer_id": d["customer_id"], "what": d["campaign_id"], "id": d["id"],
               "campaign": names[d["campaign_id"]],
               "reason": d["reason"], "http_status": d["http_status"]} for d in sends]
    items.sort(key=lambda item: (item["ts"], item["id"]), reverse=True)
    return items[:limit]


def _delivery_view(row: dict) -> dict:
    row["time"] = iso(row.pop("ts"))
    row["status"] = row.pop("outcome")
    return row


def latest_deliveries(ctx: Context, match: DeliveryFilter, before: int | None,
                      limit: int = 50, reason: str | None = None) -> dict:
    """The delivery log newest first; ``reason`` narrows it to one failure or hold-back reason
    (``http:503``, ``duplicate``) or a group of them (``http``, ``no_response``)."""
    with ctx.store.read() as db:
        rows = activity.deliveries_before(db, match, before, limit, reason)
    return {"deliveries": [_delivery_view(r) for r in rows],
            "next": rows[-1]["id"] if len(rows) == limit else None}


def delivery(ctx: Context, delivery_id: int) -> dict:
    with ctx.store.read() as db:
        row = activity.delivery(db, delivery_id)
    if row is None:
        raise NotFound(f"no delivery with id {delivery_id}", path="delivery_id")
    return _delivery_view(row)


def sends_over_time(ctx: Context, campaign_ids: list[str], buckets: int = 40) -> dict:
    """Sent and failed per time bucket (whole minutes, at most ``buckets`` of them over the
    campaigns' span), per campaign id: one pass over the deliveries, regrouped here."""
    if not campaign_ids:
        return {"bucket_ms": 60_000, "series": {}}
    with ctx.store.read() as db:
        rows = activity.sends_per_minute(db, campaign_ids)
    if not rows:
        return {"bucket_ms": 60_000, "series": {}}
    first = min(r[1] for r in rows)
    span = max(r[1] for r in rows) - first
    bucket = max(60_000, -(-span // buckets // 60_000) * 60_000)
    series: dict[str, dict[str, dict[str, int]]] = {}
    for campaign_id, minute, outcome, n in sorted(rows, key=lambda r: r[1]):
        start = iso(first + (minute - first) // bucket * bucket)
        slot = series.setdefault(campaign_id, {}).setdefault(start, {})
        slot[outcome] = slot.get(outcome, 0) + n
    return {"bucket_ms": bucket, "series": series}


def next_jobs(ctx: Context, limit: int = 20) -> list[dict]:
    with ctx.store.read() as db:
        rows = activity.pending_jobs(db, limit)
    return [{**r, "due": iso(r["due_at"])} for r in rows]


def _secrets(db) -> frozenset[str]:
    """Every secret value of the workspace: connections' secret fields and OAuth tokens, OAuth
    configurations' tokens and the secret-named values of their requests."""
    found: set[str] = set()
    for row in connections.all_(db):
        config = connectors.version(db, row["connector_id"], row["connector_version"])["config"]
        keys = form_values.secret_keys(config.get("input_variables", []))
        found.update(str(v) for k, v in row["values"].items() if k in keys and v not in (None, ""))
        found.update(v for v in (connections.tokens(db, row["id"]) or {}).values()
                     if isinstance(v, str))
    for config in oauth_configs.all_(db):
        found |= masking.secret_values(config)
    return frozenset(v for v in found if v)


def _masked_request(record: dict, secrets: frozenset[str]) -> dict:
    headers = {name: masking.authorization(value)
               if name.lower() in ("authorization", "proxy-authorization") else value
               for name, value in (record.get("headers") or {}).items()}
    return masking.mask_structure({**record, "headers": headers}, secrets)


def sinks(ctx: Context) -> list[dict]:
    with ctx.store.read() as db:
        rows = activity.sinks(db)
    return [{**r, "last": iso(r["last_ms"]) if r["last_ms"] else None} for r in rows]


def sink_inbox(ctx: Context, name: str, before: int | None, limit: int = 50) -> list[dict]:
    """A sink's requests, newest first, with the workspace's secrets and credentials masked:
    the dashboard shows what arrived, never a password."""
    with ctx.store.read() as db:
        records = activity.sink_requests(db, name, limit, before)
        secrets = _secrets(db)
    return [_masked_request(r, secrets) for r in records]


def catalogue(ctx: Context) -> dict:
    """The workspace's user attributes and events with their attribute types, for the
    personalization helper and the audience builder."""
    with ctx.store.read() as db:
        return {"user": attribute_types.of(db, attribute_types.USER),
                "events": segment_table.event_types(db)}


def find_user(ctx: Context, query: str) -> str | None:
    """The customer id of the user whose customer id, email or mobile is ``query``."""
    with ctx.store.read() as db:
        for key in SEARCH_KEYS:
            found = users.find_by(db, key, query)
            if found is not None:
                return found[1]
    return None


def sink_state(ctx: Context, name: str) -> dict:
    """A sink's behaviour and counters (``GET /_sim/sinks/<name>`` without its requests)."""
    with ctx.store.read() as db:
        state = sink_table.state(db, name)
    return {"name": name, "behaviour": state.behaviour.as_dict(), "served": state.served,
            "fail_next_left": state.fail_next_left}
