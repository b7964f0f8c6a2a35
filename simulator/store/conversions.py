"""SQL for conversion attribution, read from ``deliveries`` and ``events`` at query time.

An event counts for a campaign when it is a goal event (name and attribute condition) of a
user the campaign touched, strictly after a touch and at most the attribution window after it.
Each event is credited once, to the latest touch before it (last touch), so the instances of a
periodic campaign share out its conversions without counting one twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from ..core.conversions import json_path

SENT = ("sent", None)


@dataclass(frozen=True)
class Credit:
    """One user's goal events credited to one campaign."""

    campaign_id: str
    user_id: int
    events: int
    revenue: float


def credited(db: Database, campaign_ids: list[str], touch: tuple[str, str | None], *,
             event_name: str, condition: tuple[str, list], window_ms: int,
             revenue_attribute: str | None = None,
             event_range: tuple[int, int] | None = None) -> list[Credit]:
    """Goal events credited to ``campaign_ids``. ``touch`` is the delivery ``(outcome,
    reason)`` that exposes a user: ``("sent", None)``, or ``("removed", "campaign_control_group")``
    for a control group's hold-back. ``event_range`` ``[from, to)`` limits the events counted
    (epoch ms); ``condition`` is ``core.conversions.condition_sql`` over ``e.attrs``."""
    if not campaign_ids:
        return []
    marks = ",".join("?" * len(campaign_ids))
    outcome, reason = touch
    touch_sql = "d.outcome = ?" + (" AND d.reason = ?" if reason is not None else "")
    touch_params = [outcome] + ([reason] if reason is not None else [])
    revenue = "0"
    if revenue_attribute:
        path = json_path(revenue_attribute)
        revenue = (f"CASE WHEN json_type(e.attrs, {path}) IN ('integer', 'real') "
                   f"THEN json_extract(e.attrs, {path}) ELSE 0 END")
    where, where_params = condition
    in_range, range_params = "", []
    if event_range is not None:
        in_range, range_params = " AND e.ts >= ? AND e.ts < ?", list(event_range)
    sql = f"""
        SELECT campaign_id, user_id, count(*), total(revenue) FROM (
            SELECT e.user_id AS user_id, {revenue} AS revenue, (
                SELECT d.campaign_id FROM deliveries d
                WHERE d.campaign_id IN ({marks}) AND d.user_id = e.user_id AND {touch_sql}
                  AND d.ts < e.ts AND d.ts >= e.ts - ?
                ORDER BY d.ts DESC, d.id DESC LIMIT 1) AS campaign_id
            FROM events e
            WHERE e.name = ? AND e.user_id IN (
                SELECT d.user_id FROM deliveries d
                WHERE d.campaign_id IN ({marks}) AND {touch_sql})
              AND {where}{in_range})
        WHERE campaign_id IS NOT NULL
        GROUP BY campaign_id, user_id ORDER BY campaign_id, user_id"""
    params = [*campaign_ids, *touch_params, window_ms, event_name, *campaign_ids,
              *touch_params, *where_params, *range_params]
    return [Credit(*row) for row in db.execute(sql, params).fetchall()]


def touches(db: Database, campaign_ids: list[str], *,
            time_range: tuple[int, int] | None = None) -> dict[tuple[str, str, str | None], int]:
    """Delivery rows per ``(campaign_id, outcome, reason)``, optionally with ``ts`` in
    ``[from, to)``: the denominators (sent, control-group sizes) and the stats API's counts."""
    if not campaign_ids:
        return {}
    marks = ",".join("?" * len(campaign_ids))
    in_range, params = "", list(campaign_ids)
    if time_range is not None:
        in_range = " AND ts >= ? AND ts < ?"
        params += list(time_range)
    rows = db.execute(f"SELECT campaign_id, outcome, reason, count(*) FROM deliveries "
                      f"WHERE campaign_id IN ({marks}){in_range} "
                      "GROUP BY campaign_id, outcome, reason", params).fetchall()
    return {(campaign_id, outcome, reason): n for campaign_id, outcome, reason, n in rows}


def active_between(db: Database, start_ms: int, end_ms: int) -> list[str]:
    """Campaigns (instances, and the parents of instances) with a delivery in ``[start,
    end)``, in creation order."""
    return [row[0] for row in db.execute(
        """WITH touched AS (SELECT DISTINCT campaign_id FROM deliveries WHERE ts >= ? AND ts < ?)
           SELECT id FROM campaigns WHERE id IN (SELECT campaign_id FROM touched)
              OR id IN (SELECT parent_id FROM campaigns WHERE id IN touched)
           ORDER BY created_at, id""", [start_ms, end_ms]).fetchall()]
