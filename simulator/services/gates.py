"""Applying the delivery gates (``core/gates.py``) to a campaign's users, batch by batch.

A held-back user gets a delivery row with outcome ``removed`` and the gate as reason, so the
delivery log explains every user of the segment and the stats funnel adds up
(in segment = removed + attempted). The workspace's global control group, frequency capping
and DND settings are JSON in ``meta`` (``/api/settings/...``).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ..core import attributes, gates
from ..core.clock import VIRTUAL
from ..core.errors import ValidationFailed
from ..core.timestamps import to_ms
from ..core.tracking import TrackedEvent
from ..store import gates as sql
from ..store import meta
from .context import Context

SETTINGS = {"global-control-group": ("gcg", gates.check_global_control_group),
            "frequency-capping": ("frequency_capping", gates.check_frequency_capping),
            "dnd": ("dnd", gates.check_dnd)}
DEFAULTS = {"gcg": {"enabled": False}, "frequency_capping": {"enabled": False, "rules": []},
            "dnd": {"enabled": False}}


def read_setting(ctx: Context, name: str) -> dict:
    key, _ = SETTINGS[name]
    with ctx.store.read() as db:
        return meta.get(db, key) or DEFAULTS[key]


def write_setting(ctx: Context, name: str, body: Any) -> dict:
    key, check = SETTINGS[name]
    errors = check(body)
    if errors:
        raise ValidationFailed(f"invalid {name} settings", errors=errors)
    with ctx.store.write() as db:
        if key == "frequency_capping":
            # spec §5.5 (S15): changing a rule's tags resets the counters
            old = meta.get(db, key) or DEFAULTS[key]
            old_tags = [sorted(r.get("tags") or []) for r in old.get("rules", [])]
            new_tags = [sorted(r.get("tags") or []) for r in body.get("rules", [])]
            changed = bool(old_tags) and old_tags != new_tags
            body = {**body, "counting_since": ctx.clock.now_ms() if changed
                    else old.get("counting_since", -1)}
        meta.put(db, key, body)
    return body


def _zone_of(attrs: dict, app_zone: ZoneInfo):
    offset = attrs.get("moe_dtzo")
    if isinstance(offset, (int, float)) and not isinstance(offset, bool):
        return timezone(timedelta(minutes=offset))
    return app_zone


class Gatekeeper:
    """The gates of one campaign run (a one-time send, a periodic instance or one trigger)."""

    def __init__(self, ctx: Context, campaign: dict, draw: Any):
        self.ctx = ctx
        self.campaign = campaign
        self.body = campaign["body"]
        self.family = campaign.get("parent_id") or campaign["id"]
        self.draw = draw
        self.seed = ctx.settings.seed
        self.app_zone = ZoneInfo(ctx.settings.app_timezone)
        with ctx.store.read() as db:
            self.gcg = meta.get(db, "gcg") or DEFAULTS["gcg"]
            self.fc = meta.get(db, "frequency_capping") or DEFAULTS["frequency_capping"]
            self.dnd = meta.get(db, "dnd") or DEFAULTS["dnd"]
        self.gcg_members = frozenset(self.gcg.get("customer_ids") or ())
        self.gcg_on = gates.global_control_group_applies(self.gcg, self.body)
        controls = gates.controls(self.body)
        limit = controls.get("limit_send_config") or {}
        self.limit = limit if limit.get("enabled") else None
        self.fc_on = bool(self.fc.get("enabled")) and not controls.get("ignore_frequency_capping")
        self.ccg_on = gates.campaign_control_group_enabled(self.body)
        self.duplicates: set[int] = set()
        self._facts: dict[str, tuple[str, list, bool]] = {}

    def find_duplicates(self, where: str, params: list) -> None:
        keys = [attributes.storage_key(k) for k in gates.dedup_keys(self.body)]
        if keys:
            with self.ctx.store.read() as db:
                self.duplicates = sql.duplicates(db, where, params, keys)

    def admit(self, batch: list, now: datetime, now_ms: int, draws: list | None = None
              ) -> tuple[list, list[tuple], list[tuple]]:
        """``(kept users, removed delivery rows, events)`` for a batch of
        ``(row id, customer id, attrs, ...)``; gates 1-5 of §5.6 (the audience limit and DND
        are the caller's, who knows the run). ``draws``: each user's campaign-control-group
        draw (a batch of triggers), else the run's."""
        if not (self.duplicates or self.gcg_on or self.limit or self.fc_on or self.ccg_on):
            return list(batch), [], []  # no gate applies: the usual send
        removed: dict[int, str] = {}
        events: list[tuple] = []
        ids = [entry[0] for entry in batch]
        for entry in batch:
            if entry[0] in self.duplicates:
                removed[entry[0]] = gates.DUPLICATE
        if self.gcg_on:
            members = [e for e in batch if e[0] not in removed and gates.in_global_control_group(
                self.gcg, self.seed, e[1], self.gcg_members)]
            with self.ctx.store.read() as db:
                told = sql.users_with_event(db, [e[0] for e in members], gates.CONTROL_GROUP_EVENT)
            for entry in members:
                removed[entry[0]] = gates.GLOBAL_CONTROL_GROUP
                if entry[0] not in told:  # raised once, when the membership first counts
                    events.append(self._event(entry, now_ms, "Global"))
        if self.limit is not None:
            since = to_ms(gates.limit_window_start(now, self.limit))
            with self.ctx.store.read() as db:
                sent = sql.family_sends_by_user(db, self.family, [i for i in ids
                                                                  if i not in removed], since)
            for user_id, count in sent.items():
                if count >= self.limit["max_count"]:
                    removed[user_id] = gates.LIMIT_PER_USER
        if self.fc_on:
            for user_id in self._capped([e for e in batch if e[0] not in removed], now):
                removed[user_id] = gates.FREQUENCY_CAPPING
        for index, entry in enumerate(batch):
            draw = self.draw if draws is None else draws[index]
            if entry[0] not in removed and gates.in_campaign_control_group(
                    self.body, self.seed, self.family, draw, entry[1]):
                removed[entry[0]] = gates.CAMPAIGN_CONTROL_GROUP
                events.append(self._event(entry, now_ms, "Campaign"))
        kept = [entry for entry in batch if entry[0] not in removed]
        rows = [self.removed_row(entry, removed[entry[0]], now_ms)
                for entry in batch if entry[0] in removed]
        return kept, rows, events

    def removed_row(self, entry: tuple, reason: str, now_ms: int) -> tuple:
        return (self.campaign["id"], entry[0], entry[1], "removed", reason, None, None, None,
                None, now_ms)

    def _event(self, entry: tuple, now_ms: int, kind: str) -> tuple:
        """The control-group event row, for ``delivery.record``: the user's row id first."""
        attributes_ = {"Control Group type": kind, "campaign_id": self.family}
        row = TrackedEvent(entry[1], gates.CONTROL_GROUP_EVENT, now_ms, attributes_, {}).row()
        return (entry[0], *row[1:])

    def _capped(self, batch: list, now: datetime) -> set[int]:
        """Users at a frequency-capping rule's limit (spec §5.5: N per D days, refreshed at
        00:00 in the app's or the user's zone; sends of campaigns that count for FC)."""
        rules = self.fc.get("rules") or []
        if not batch or not rules:
            return set()
        # sends up to the moment a rule's tags changed no longer count (spec §5.5, S15)
        since_floor = self.fc.get("counting_since", -1) + 1
        # a bound below every rule's window in any zone: local midnights lie within a day
        earliest = to_ms(now - timedelta(days=max(rule["days"] for rule in rules) + 1))
        with self.ctx.store.read() as db:
            sends = sql.recent_sends(db, [e[0] for e in batch], max(earliest, since_floor))
            self._learn(db, {campaign for _, campaign, _ in sends})
        by_user: dict[int, list[tuple[str, int]]] = {}
        for user_id, campaign_id, ts in sends:
            by_user.setdefault(user_id, []).append((campaign_id, ts))
        mine = (self.campaign["delivery_type"], self._tags(self.body))
        capped = set()
        for row_id, _, attrs, *_ in batch:
            history = by_user.get(row_id)
            if not history:
                continue
            zone = _zone_of(attrs, self.app_zone) if self.fc.get("refresh") == "user" \
                else self.app_zone
            for rule in rules:
                if not gates.rule_applies(rule, *mine):
                    continue
                start = max(to_ms(gates.day_start(now, zone, rule["days"] - 1)), since_floor)
                count = sum(1 for campaign_id, ts in history if ts >= start and
                            self._facts[campaign_id][2] and
                            gates.rule_applies(rule, *self._facts[campaign_id][:2]))
                if count >= rule["max_messages"]:
                    capped.add(row_id)
                    break
        return capped

    @staticmethod
    def _tags(body: dict) -> list:
        return (body.get("basic_details") or {}).get("tags") or []

    def _learn(self, db, campaign_ids: set[str]) -> None:
        unknown = [c for c in campaign_ids if c not in self._facts]
        for campaign_id, delivery_type, body, _ in sql.campaign_facts(db, unknown):
            parsed = json.loads(body)
            self._facts[campaign_id] = (delivery_type, self._tags(parsed),
                                        gates.counts_for_frequency_capping(parsed))

    # ---- the caller's gates ----------------------------------------------------------

    def audience_limit(self) -> dict | None:
        limit = self.body.get("campaign_audience_limit") or {}
        return limit if limit.get("is_campaign_audience_limit_enabled") else None

    def sent_against_limit(self, now: datetime) -> int:
        """Sends counted against the audience limit: the campaign with its instances (TOTAL),
        this instance (INSTANCE) or today in the campaign's zone (DAILY)."""
        limit = self.audience_limit() or {}
        frequency = limit.get("frequency", "TOTAL")
        with self.ctx.store.read() as db:
            if frequency == "INSTANCE":
                return sql.sent_count(db, [self.campaign["id"]])
            since = None
            if frequency == "DAILY":
                since = to_ms(gates.day_start(now, self.campaign_zone()))
            return sql.sent_count(db, family_id=self.family, since_ms=since)

    def campaign_zone(self) -> ZoneInfo:
        return ZoneInfo((self.body.get("scheduling_details") or {}).get("timezone") or "UTC")

    def per_user_checks(self) -> bool:
        """Whether a trigger's send depends on the sends before it beyond the per-user gates:
        an audience limit (counted and paused at) or DND (held and queued)."""
        dnd = bool(self.dnd.get("enabled")) and not gates.controls(self.body).get("bypass_dnd")
        return bool(self.audience_limit()) or dnd

    def dnd_release(self, attrs: dict, now: datetime) -> datetime | None:
        """Event-triggered only: the end of the user's DND window when now falls in it."""
        if gates.controls(self.body).get("bypass_dnd"):
            return None
        local = now.astimezone(_zone_of(attrs, self.app_zone))
        return gates.dnd_end(self.dnd, local)


class Pacer:
    """Throttle (spec §5.3): request *i* of a run goes at ``start + i * 60 s / rpm``, the rate
    raised so the run ends within 4 hours. Virtual time stamps the rows with those times; system
    time also waits for them, before each request, unless ``throttle_realtime`` is off."""

    def __init__(self, ctx: Context, campaign: dict, audience: int, start_ms: int):
        self.ctx = ctx
        self.rpm = gates.throttle_rpm(campaign["body"], audience)
        self.start_ms = start_ms
        self.virtual = ctx.clock.mode == VIRTUAL
        self.wait = not self.virtual and ctx.settings.throttle_realtime

    def at(self, position: int) -> int:
        """The send time of the ``position``-th user of the run (its row's timestamp)."""
        if not self.virtual and not self.wait:
            return self.start_ms
        return self.start_ms + gates.paced_offset_ms(position, self.rpm)

    def wait_for(self, position: int) -> None:
        """System time with ``throttle_realtime``: wait until that user's send time."""
        if self.wait:
            ahead_ms = self.at(position) - self.ctx.clock.now_ms()
            if ahead_ms > 0:
                threading.Event().wait(ahead_ms / 1000)