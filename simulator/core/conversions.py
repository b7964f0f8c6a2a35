"""Conversion goals (campaign-api.md §1.8, spec §5.3 "Conversion goals"): the checks of
``conversion_goal_details``, a goal's attribute condition as SQL over an event's ``attrs``,
and the figures MoEngage shows for a goal (spec §4.2).

Attribution itself (which events count) is SQL in ``store.conversions``; its rules are in
docs/decisions.md, "Stats and conversions".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import FieldError
from .timestamps import canonical_datetime

MAX_GOALS = 5                 # spec §5.3: "Up to 5 goals; the first is primary"
DEFAULT_WINDOW_HOURS = 36     # spec §5.3: attribution window default 36 h ...
MAX_WINDOW_HOURS = 10 * 24    # ... maximum 10 days
HOUR_MS = 3_600_000

# campaign-api.md §1.8: data_type is UPPERCASE in goals (lowercase in segment filters)
DATA_TYPES = ("STRING", "DOUBLE", "BOOL", "NUMBER", "GEOPOINT", "DATETIME", "ARRAY_DOUBLE",
              "ARRAY_STRING", "OBJECT", "ARRAY_OBJECT")
# The conditions moesim evaluates, per data type (operator names of spec §5.4). [I] The other
# documented data types are refused by name rather than silently matching nothing.
CONDITIONS = {
    "STRING": ("is", "in", "contains", "startsWith", "endsWith", "exists"),
    "DOUBLE": ("is", "in", "lessThan", "greaterThan", "between", "exists"),
    "NUMBER": ("is", "in", "lessThan", "greaterThan", "between", "exists"),
    "BOOL": ("is", "exists"),
    "DATETIME": ("before", "after", "between", "exists"),
}


@dataclass(frozen=True)
class Goal:
    name: str
    event_name: str
    primary: bool
    attribute: dict | None        # the checked goal_event_attribute, or None for "any event"
    revenue_attribute: str | None
    currency: str | None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check(details: Any, path: str = "conversion_goal_details") -> list[FieldError]:
    """Every problem of an optional ``conversion_goal_details`` object, with its path."""
    if details is None:
        return []
    if not isinstance(details, dict):
        return [FieldError(path, "must be an object")]
    errors: list[FieldError] = []
    window = details.get("attribution_window_in_hours", DEFAULT_WINDOW_HOURS)
    if isinstance(window, bool) or not isinstance(window, int) or \
            not 1 <= window <= MAX_WINDOW_HOURS:
        errors.append(FieldError(f"{path}.attribution_window_in_hours",
                                 f"must be an integer from 1 to {MAX_WINDOW_HOURS} (10 days)"))
    goals = details.get("goals")
    if not isinstance(goals, list) or not 1 <= len(goals) <= MAX_GOALS:
        errors.append(FieldError(f"{path}.goals", f"must be a list of 1-{MAX_GOALS} goals"))
        return errors
    names: set[str] = set()
    for i, goal in enumerate(goals):
        where = f"{path}.goals[{i}]"
        if not isinstance(goal, dict):
            errors.append(FieldError(where, "must be an object"))
            continue
        name = goal.get("goal_name")
        if not _text(name):
            errors.append(FieldError(f"{where}.goal_name", "is required (a non-empty string)"))
        elif name.strip() in names:
            # the name keys conversion_goal_stats (campaign-api.md §3)
            errors.append(FieldError(f"{where}.goal_name", f"{name!r} is used by another goal"))
        else:
            names.add(name.strip())
        if not _text(goal.get("goal_event_name")):
            errors.append(FieldError(f"{where}.goal_event_name",
                                     "is required (a non-empty string)"))
        primary = goal.get("is_primary_goal", i == 0)
        if not isinstance(primary, bool):
            errors.append(FieldError(f"{where}.is_primary_goal", "must be true or false"))
        elif primary != (i == 0):
            errors.append(FieldError(f"{where}.is_primary_goal",
                                     "the first goal is the primary goal, and only the first"))
        for key in ("revenue_attribute", "revenue_currency"):
            if key in goal and goal[key] is not None and not _text(goal[key]):
                errors.append(FieldError(f"{where}.{key}", "must be a non-empty string"))
        errors += _check_attribute(goal.get("goal_event_attribute"),
                                   f"{where}.goal_event_attribute")
    return errors


def _check_attribute(attribute: Any, path: str) -> list[FieldError]:
    if attribute is None or attribute == {}:
        return []
    if not isinstance(attribute, dict):
        return [FieldError(path, "must be an object")]
    errors = []
    if not _text(attribute.get("name")):
        errors.append(FieldError(f"{path}.name", "is required (a non-empty string)"))
    data_type, condition = attribute.get("data_type"), attribute.get("condition")
    if isinstance(data_type, str) and data_type.upper() in DATA_TYPES and \
            data_type != data_type.upper():
        errors.append(FieldError(f"{path}.data_type",
                                 f"must be uppercase: {data_type.upper()}"))
        return errors
    if data_type not in DATA_TYPES:
        errors.append(FieldError(f"{path}.data_type", f"must be one of {', '.join(DATA_TYPES)}"))
        return errors
    if data_type not in CONDITIONS:
        errors.append(FieldError(f"{path}.data_type", f"{data_type} goal conditions are not "
                                 f"supported by moesim: {', '.join(CONDITIONS)}"))
        return errors
    if condition not in CONDITIONS[data_type]:
        errors.append(FieldError(f"{path}.condition", f"must be one of "
                                 f"{', '.join(CONDITIONS[data_type])} for {data_type}"))
        return errors
    for key in ("negate", "is_case_sensitive"):
        if key in attribute and not isinstance(attribute[key], bool):
            errors.append(FieldError(f"{path}.{key}", "must be true or false"))
    if condition == "exists":
        return errors
    keys = ("value", "value1") if condition == "between" else ("value",)
    for key in keys:
        for value in _values(attribute.get(key), condition if key == "value" else "is"):
            if not isinstance(value, str):
                errors.append(FieldError(f"{path}.{key}", "is required (values are strings)"))
            elif _typed(data_type, value) is None:
                errors.append(FieldError(f"{path}.{key}",
                                         f"{value!r} is not a {data_type} value"))
    return errors


def _values(value: Any, condition: str) -> list:
    """``in`` takes a list of strings or one comma-separated string; the rest one string."""
    if condition == "in":
        if isinstance(value, list) and value:
            return value
        if isinstance(value, str):
            return [part.strip() for part in value.split(",")]
    return [value]


def _typed(data_type: str, value: str) -> Any:
    """A goal's string value as the type it is compared as, or None if it is not one."""
    if data_type in ("DOUBLE", "NUMBER"):
        try:
            return float(value)
        except ValueError:
            return None
    if data_type == "BOOL":
        return {"true": 1, "false": 0}.get(value.strip().lower())
    if data_type == "DATETIME":
        return canonical_datetime(value.strip())
    return value


def window_ms(details: dict | None) -> int:
    hours = (details or {}).get("attribution_window_in_hours", DEFAULT_WINDOW_HOURS)
    return hours * HOUR_MS


def goals_of(body: dict) -> list[Goal]:
    """The goals of a checked campaign body, primary first."""
    details = body.get("conversion_goal_details") or {}
    return [Goal(goal["goal_name"].strip(), goal["goal_event_name"], i == 0,
                 goal.get("goal_event_attribute") or None, goal.get("revenue_attribute"),
                 goal.get("revenue_currency"))
            for i, goal in enumerate(details.get("goals") or ())]


def json_path(name: str) -> str:
    """A JSON path for a key of an ``attrs`` object, quoted for JSON path and SQL text."""
    return "'" + ('$."' + name.replace('"', '\\"') + '"').replace("'", "''") + "'"


def condition_sql(attribute: dict | None, attrs: str = "e.attrs") -> tuple[str, list]:
    """A goal's ``goal_event_attribute`` as a WHERE clause over an event's ``attrs``."""
    if not attribute:
        return "1", []
    column = f"json_extract({attrs}, {json_path(attribute['name'])})"
    data_type, condition = attribute["data_type"], attribute["condition"]
    text = data_type == "STRING" and not attribute.get("is_case_sensitive", False)
    lhs = f"lower({column})" if text else column

    def val(raw: str) -> Any:
        value = _typed(data_type, raw)
        return value.lower() if text else value

    params: list = []
    if condition == "exists":
        sql = f"{column} IS NOT NULL"
    elif condition in ("is", "in"):
        values = [val(v) for v in _values(attribute["value"], condition)]
        sql, params = f"{lhs} IN ({','.join('?' * len(values))})", values
    elif condition == "contains":
        sql, params = f"instr({lhs}, ?) > 0", [val(attribute["value"])]
    elif condition == "startsWith":
        sql, params = f"substr({lhs}, 1, length(?)) = ?", [val(attribute["value"])] * 2
    elif condition == "endsWith":
        sql, params = f"substr({lhs}, -length(?)) = ?", [val(attribute["value"])] * 2
    elif condition in ("lessThan", "before"):
        sql, params = f"{lhs} < ?", [val(attribute["value"])]
    elif condition in ("greaterThan", "after"):
        sql, params = f"{lhs} > ?", [val(attribute["value"])]
    else:  # between: N1 <= v < N2 (spec §5.4)
        sql = f"({lhs} >= ? AND {lhs} < ?)"
        params = [val(attribute["value"]), val(attribute["value1"])]
    if attribute.get("negate"):
        # spec §5.4: a negated condition also matches events without the attribute
        sql = f"(NOT ({sql}) OR {column} IS NULL)"
    return sql, params


def _rate(part: float, whole: float) -> float:
    return round(part / whole * 100, 2) if whole else 0.0


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 2) if whole else 0.0


def figures(conversions: int, converters: int, revenue: float, reached: int) -> dict:
    """One goal's figures over ``reached`` users (sends, or control-group members):
    spec §4.2: CVR = unique conversions / sent x 100; AOV = revenue / conversion events;
    ARPU = revenue / unique conversions."""
    return {"conversions": conversions, "converted_users": converters,
            "cvr": _rate(converters, reached), "revenue": round(float(revenue), 2),
            "aov": _ratio(revenue, conversions), "arpu": _ratio(revenue, converters)}


def uplift(cvr: float, control_cvr: float) -> float:
    """Relative CVR change over a control group, in percent; 0 without control conversions."""
    return round((cvr - control_cvr) / control_cvr * 100, 2) if control_cvr else 0.0
