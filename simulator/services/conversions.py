"""Conversion goal figures of a campaign (spec §4.2, §5.3): the goal events attributed to its
sends, and to its control groups' hold-backs for uplift, computed at read time."""

from __future__ import annotations

import functools
from typing import Callable

from ..core import conversions as rules
from ..store import campaigns as table
from ..store import conversions as store
from .context import Context

# delivery reason of a control group's hold-back (the gates' 'removed' rows) -> stats key
CONTROL_GROUPS = ("campaign_control_group", "global_control_group")


def _scope(db, campaign_id: str) -> tuple[dict, list[str], dict[str, set[str]]] | None:
    """The campaign body holding the goals, the campaign ids attribution runs over, and the
    parts to report: ``{campaign id: the ids whose figures it adds up}``. A periodic
    campaign's instances share its conversions out between them (last touch), so an instance
    is read among its siblings, and a parent reports itself and each instance."""
    row = table.get(db, campaign_id)
    if row is None:
        return None
    if row["parent_id"] is not None:
        ids = [c["id"] for c in table.instances(db, row["parent_id"])]
        return row["body"], ids, {campaign_id: {campaign_id}}
    ids = [c["id"] for c in table.instances(db, campaign_id)]
    if not ids:
        return row["body"], [campaign_id], {campaign_id: {campaign_id}}
    return row["body"], ids, {campaign_id: set(ids), **{i: {i} for i in ids}}


def _figures(credits: list[store.Credit], reached: int) -> dict:
    return rules.figures(sum(c.events for c in credits), len({c.user_id for c in credits}),
                         sum(c.revenue for c in credits), reached)


def goal_stats(db, campaign_id: str, *, time_range: tuple[int, int] | None = None
               ) -> dict[str, dict]:
    """``{campaign id: {goal name: figures}}`` for the campaign and each of its periodic
    instances. ``time_range`` ``[from, to)`` (epoch ms) limits the sends and goal events
    counted. Figures: ``conversions`` (events), ``converted_users``, ``cvr``, ``revenue``,
    ``aov``, ``arpu``; per control group the same over its held-back ``users``; ``uplift`` and
    ``gcg_uplift`` compare the CVR with the campaign and global control groups'."""
    scope = _scope(db, campaign_id)
    if scope is None:
        return {}
    body, ids, parts = scope
    result: dict[str, dict] = {part: {} for part in parts}
    if not rules.goals_of(body):
        return result  # nothing to attribute: no need to read the campaign's deliveries
    window = rules.window_ms(body.get("conversion_goal_details"))
    counts = store.touches(db, ids, time_range=time_range)
    touches = [store.SENT, *(("removed", group) for group in CONTROL_GROUPS)]
    for goal in rules.goals_of(body):
        credits = {touch: store.credited(
            db, ids, touch, event_name=goal.event_name,
            condition=rules.condition_sql(goal.attribute), window_ms=window,
            revenue_attribute=goal.revenue_attribute, event_range=time_range)
            for touch in touches}
        for part, members in parts.items():
            def figures(touch: tuple[str, str | None]) -> dict:
                reached = sum(n for (cid, outcome, reason), n in counts.items()
                              if cid in members and outcome == touch[0]
                              and touch[1] in (None, reason))
                return {"users": reached, **_figures(
                    [c for c in credits[touch] if c.campaign_id in members], reached)}

            sent = figures(store.SENT)
            del sent["users"]
            stats = {"goal_event_name": goal.event_name, "primary": goal.primary,
                     "revenue_currency": goal.currency, **sent}
            for group in CONTROL_GROUPS:
                stats[group] = figures(("removed", group))
            stats["uplift"] = rules.uplift(stats["cvr"], stats["campaign_control_group"]["cvr"])
            stats["gcg_uplift"] = rules.uplift(stats["cvr"], stats["global_control_group"]["cvr"])
            result[part][goal.name] = stats
    return result


def merged_into_stats(stats: Callable[..., dict]) -> Callable[..., dict]:
    """Adds ``conversions`` ({goal name: figures}) to a ``stats(ctx, campaign_id)`` result and
    to each of its ``instances``. A decorator, so the delivery figures and the conversion
    figures are computed and edited apart."""
    @functools.wraps(stats)
    def with_conversions(ctx: Context, campaign_id: str, *args, **kwargs) -> dict:
        result = stats(ctx, campaign_id, *args, **kwargs)
        with ctx.store.read() as db:
            parts = goal_stats(db, campaign_id)
        result["conversions"] = parts.get(campaign_id, {})
        for instance in result.get("instances", ()):
            instance["conversions"] = parts.get(instance["campaign_id"], {})
        return result
    return with_conversions
