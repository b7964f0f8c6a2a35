"""SQL for behaviour filters (spec §5.1, §5.4; campaign-api.md §1.5.1): ``actions`` (executed or
not, execution counts, first/last time, event-attribute filters, aggregations) and
``psychographic_event`` (affinity).

Every filter is ``users.id IN (SELECT user_id FROM events WHERE name = ? AND ts ... GROUP BY
user_id HAVING ...)`` or its ``NOT IN``: the subquery does not refer to ``users``, so SQLite runs
it once (through the ``(name, user_id, ts)`` index) and probes the result per user, or drives
the whole query from it.

Decisions where MoEngage is silent ([I], docs/decisions.md "Audiences"):
- No ``primary_time_range``: all time. Event times are compared up to ``now`` only for
  ``inTheLast``; other windows are the calendar windows of ``segment_dates``.
- ``atmost N`` includes users who never did the event; with an aggregation it does not (a user
  without events has no sum to compare).
- ``firstTime``/``lastTime``: the user's first (last) event of that name matching the
  attribute filters, over all time, falls inside the window.
- Affinity: the base is the events of ``action_name`` in the window that pass ``attributes``;
  see ``affinity`` for each ``operator_type``.
"""

from __future__ import annotations

from . import segment_dates
from .segment_sql import Column, Sql, When, condition, negated, number_test
from .timestamps import to_ms

AGGREGATES = {"sum": "sum", "avg": "avg", "min": "min", "max": "max", "median": "moe_median"}
EXECUTION_TYPES = ("atleast", "exactly", "atmost", "firstTime", "lastTime")
RANGE_TYPES = ("inTheLast", "between", "on", "before", "after")


def time_range(raw: dict | None) -> dict | None:
    """A ``primary_time_range`` in one shape: ``value``/``value1``, whichever of the documented
    spellings it came in (``days``/``days1`` from dashboards, ``from``/``to`` for affinity)."""
    if not raw:
        return None
    shaped = dict(raw)
    for new, old in (("value", "days"), ("value1", "days1"), ("value", "from"), ("value1", "to")):
        if new not in shaped and old in shaped:
            shaped[new] = shaped[old]
    if shaped.get("type") is True:  # A5's YAML turned `on` into true (campaign-api.md §5.5)
        shaped["type"] = "on"
    return shaped


def _event_rows(item: dict, when: When, *, with_window: bool = True) -> Sql:
    """``FROM events WHERE ...``: the name, the time window and the attribute filters."""
    sql, params = "FROM events WHERE events.name = ?", [item["action_name"]]
    shaped = time_range(item.get("primary_time_range"))
    if with_window and shaped:
        start, end = window_ms(shaped, when)
        if start is not None:
            sql, params = sql + " AND events.ts >= ?", params + [start]
        if end is not None:
            sql, params = sql + " AND events.ts < ?", params + [end]
    attrs = event_group(item.get("attributes"), when)
    if attrs:
        sql, params = sql + f" AND {attrs[0]}", params + attrs[1]
    return sql, params


def window_ms(shaped: dict, when: When) -> tuple[int | None, int | None]:
    default = "relative_past" if shaped["type"] == "inTheLast" else "absolute"
    start, end = segment_dates.window(shaped["type"], shaped, when.now, when.zone,
                                      default_type=shaped.get("value_type") or default)
    return (None if start is None else to_ms(start)), (None if end is None else to_ms(end))


def event_group(group: dict | None, when: When) -> Sql | None:
    """Event-attribute filters (``attributes``, ``psychographic_attributes``) over
    ``events.attrs``; None when the group is empty."""
    if not group or not group.get("filters"):
        return None
    parts, params = [], []
    for item in group["filters"]:
        sql, more = condition(item, Column.event(item["name"]), when)
        parts.append(sql)
        params += more
    joiner = " AND " if group.get("filter_operator", "and") == "and" else " OR "
    return "(" + joiner.join(parts) + ")", params


def _aggregation(item: dict) -> Sql | None:
    group = item.get("aggregation_attributes")
    if not group or not group.get("filters"):
        return None
    rule = group["filters"][0]
    value = f"{AGGREGATES[rule['aggregation_type']]}" \
            f"({Column.event(rule['attribute_name']).value})"
    sql, params = number_test("in" if rule["operator"] == "is" else rule["operator"], value, rule)
    return (negated(sql) if rule.get("negate") else sql), params


def actions(item: dict, when: When) -> Sql:
    execution = item.get("execution") or {}
    kind, count = execution.get("type", "atleast"), execution.get("count", 1)
    if item.get("executed") is False or (kind == "exactly" and count == 0):
        rows, params = _event_rows(item, when)
        return f"users.id NOT IN (SELECT events.user_id {rows})", params
    if kind in ("firstTime", "lastTime"):
        rows, params = _event_rows(item, when, with_window=False)
        start, end = window_ms(time_range(item["primary_time_range"]), when) \
            if item.get("primary_time_range") else (None, None)
        edge = "min" if kind == "firstTime" else "max"
        having = f"{edge}(events.ts) BETWEEN ? AND ?"
        params += [-2 ** 62 if start is None else start, 2 ** 62 if end is None else end - 1]
        return (f"users.id IN (SELECT events.user_id {rows} GROUP BY events.user_id "
                f"HAVING {having})"), params
    rows, params = _event_rows(item, when)
    aggregation = _aggregation(item)
    tests, more = [], []
    if kind == "atmost" and aggregation is None:
        return (f"users.id NOT IN (SELECT events.user_id {rows} GROUP BY events.user_id "
                f"HAVING count(*) > ?)"), params + [count]
    if kind != "atleast" or count > 1:
        tests.append("count(*) " + {"atleast": ">=", "exactly": "=", "atmost": "<="}[kind] + " ?")
        more.append(count)
    if aggregation is not None:
        tests.append(aggregation[0])
        more += aggregation[1]
    if not tests:
        return f"users.id IN (SELECT events.user_id {rows})", params
    return (f"users.id IN (SELECT events.user_id {rows} GROUP BY events.user_id "
            f"HAVING {' AND '.join(tests)})"), params + more


def affinity(item: dict, when: When) -> Sql:
    """User affinity over the base events (name, window, ``attributes``); "matching" events also
    pass ``psychographic_attributes``.

    - ``predominant``: the user's most frequent combination of the psychographic attributes'
      values matches (a tie for most frequent counts as predominant);
    - ``minimum``: matching events are at least ``percent_of_times`` % of the user's events;
    - ``top``/``bottom``: users with at least one matching event, ranked by their number of
      matching events (ties by user id, earlier first), the first ceil(N x P / 100) of them.
    """
    rows, params = _event_rows(item, when)
    test, more = event_group(item["psychographic_attributes"], when)
    operator = item["operator_type"]
    if operator == "predominant":
        names = sorted({f["name"] for f in item["psychographic_attributes"]["filters"]})
        key = "json_array(" + ", ".join(Column.event(n).value for n in names) + ")"
        return (f"users.id IN (SELECT user_id FROM (SELECT events.user_id AS user_id, "
                f"count(*) AS c, max(ifnull({test}, 0)) AS m {rows} "
                f"GROUP BY events.user_id, {key}) GROUP BY user_id "
                f"HAVING max(CASE WHEN m THEN c END) >= max(c))"), more + params
    if operator == "minimum":
        return (f"users.id IN (SELECT events.user_id {rows} GROUP BY events.user_id HAVING "
                f"sum(ifnull({test}, 0)) * 100.0 >= ? * count(*) AND sum(ifnull({test}, 0)) > 0)"
                ), params + more + [item["percent_of_times"]] + more
    order = "DESC" if operator == "top" else "ASC"
    return (f"users.id IN (SELECT user_id FROM (SELECT user_id, row_number() OVER "
            f"(ORDER BY c {order}, user_id) AS r, count(*) OVER () AS n FROM "
            f"(SELECT events.user_id AS user_id, count(*) AS c {rows} AND {test} "
            f"GROUP BY events.user_id)) WHERE (r - 1) * 100 < n * ?)"
            ), params + more + [item["percent_of_users"]]
