"""SQL the delivery gates need: a user's recent sends, a campaign's sends, duplicates."""

from __future__ import annotations

from sqlite_utils import Database

_FAMILY = "(SELECT id FROM campaigns WHERE id = ? OR parent_id = ?)"


def _marks(items) -> str:
    return ",".join("?" * len(items))


def recent_sends(db: Database, user_ids: list[int], since_ms: int
                 ) -> list[tuple[int, str, int]]:
    """``(user_id, campaign_id, ts)`` of successful sends to these users since ``since_ms``."""
    if not user_ids:
        return []
    return db.execute(
        f"SELECT user_id, campaign_id, ts FROM deliveries WHERE user_id IN ({_marks(user_ids)}) "
        "AND ts >= ? AND outcome = 'sent'", [*user_ids, since_ms]).fetchall()


def campaign_facts(db: Database, campaign_ids: list[str]) -> list[tuple[str, str, str, str]]:
    """``(id, delivery_type, body, parent_id)`` of campaigns (frequency-capping rules look at
    their type, tags and controls)."""
    if not campaign_ids:
        return []
    return db.execute(f"SELECT id, delivery_type, body, parent_id FROM campaigns "
                      f"WHERE id IN ({_marks(campaign_ids)})", campaign_ids).fetchall()


def family_sends_by_user(db: Database, family_id: str, user_ids: list[int], since_ms: int
                         ) -> dict[int, int]:
    """Successful sends of a campaign (a periodic one with all its instances) per user after
    ``since_ms`` (a rolling window: a send exactly one window ago has left it)."""
    if not user_ids:
        return {}
    return dict(db.execute(
        f"SELECT user_id, count(*) FROM deliveries WHERE campaign_id IN {_FAMILY} "
        f"AND user_id IN ({_marks(user_ids)}) AND ts > ? AND outcome = 'sent' "
        "GROUP BY user_id", [family_id, family_id, *user_ids, since_ms]).fetchall())


def sent_count(db: Database, campaign_ids: list[str] | None = None, family_id: str | None = None,
               since_ms: int | None = None) -> int:
    """Successful sends of the campaigns (or a campaign family) since ``since_ms``."""
    if family_id is not None:
        where, params = f"campaign_id IN {_FAMILY}", [family_id, family_id]
    else:
        where, params = f"campaign_id IN ({_marks(campaign_ids)})", list(campaign_ids or [])
    if since_ms is not None:
        where += " AND ts >= ?"
        params.append(since_ms)
    return db.execute(f"SELECT count(*) FROM deliveries WHERE {where} AND outcome = 'sent'",
                      params).fetchone()[0]


def duplicates(db: Database, where: str, params: list, keys: list[str]) -> set[int]:
    """Users of an audience whose values of ``keys`` (all set) an earlier user (lower id) of the
    same audience already has: the ones "remove duplicate users" holds back."""
    columns = ["json_extract(attrs, '$.\"' || ? || '\"')" for _ in keys]
    present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    group = ", ".join(columns)
    rows = db.execute(
        f"SELECT id FROM users WHERE {where} AND {present} AND id NOT IN ("
        f"SELECT min(id) FROM users WHERE {where} AND {present} GROUP BY {group})",
        [*params, *keys, *params, *keys, *keys]).fetchall()
    return {row[0] for row in rows}


def users_with_event(db: Database, user_ids: list[int], name: str) -> set[int]:
    if not user_ids:
        return set()
    return {row[0] for row in db.execute(
        f"SELECT DISTINCT user_id FROM events WHERE name = ? AND user_id IN ({_marks(user_ids)})",
        [name, *user_ids])}
