"""Audiences (``segmentation_details``, spec §5.1/§5.4) compiled to SQL over ``users``.

For now: all users, or user-attribute filters on one level (string, double, bool, datetime
with their basic operators, ``negate``, ``case_sensitive``). The audiences work completes the
operator set, actions, affinity, custom segments and nesting; the shape of this module (a
filter in, ``(sql, params)`` out, no Python loop over users) stays.
"""

from __future__ import annotations

from typing import Any

from . import attributes
from .errors import FieldError

SUPPORTED = {
    "string": {"is", "in", "contains", "startsWith", "endsWith", "exists"},
    "double": {"is", "in", "lessThan", "greaterThan", "between", "exists"},
    "bool": {"is", "exists"},
    "datetime": {"before", "after", "between", "exists"},
}


def _column(name: str) -> str:
    """``json_extract(attrs, '$."key"')`` with the key quoted for JSON path and SQL."""
    key = attributes.storage_key(name).replace('"', '\\"')
    return "json_extract(attrs, '" + ('$."' + key + '"').replace("'", "''") + "')"


def check(segmentation: Any, path: str = "segmentation_details") -> list[FieldError]:
    if not isinstance(segmentation, dict):
        return [FieldError(path, "is required (an object)")]
    if segmentation.get("is_all_user_campaign") is True:
        if segmentation.get("included_filters"):
            return [FieldError(f"{path}.included_filters",
                               "cannot be combined with is_all_user_campaign")]
        return []
    group = segmentation.get("included_filters")
    if not isinstance(group, dict) or not isinstance(group.get("filters"), list) or not group[
            "filters"]:
        return [FieldError(path, "needs is_all_user_campaign: true or included_filters")]
    errors = []
    if group.get("filter_operator") not in ("and", "or"):
        errors.append(FieldError(f"{path}.included_filters.filter_operator",
                                 "must be 'and' or 'or'"))
    for i, item in enumerate(group["filters"]):
        where = f"{path}.included_filters.filters[{i}]"
        if not isinstance(item, dict) or item.get("filter_type") != "user_attributes":
            errors.append(FieldError(f"{where}.filter_type",
                                     "only user_attributes filters are supported so far"))
            continue
        data_type, operator = item.get("data_type"), item.get("operator")
        if data_type not in SUPPORTED:
            errors.append(FieldError(f"{where}.data_type",
                                     f"must be one of {', '.join(SUPPORTED)}"))
        elif operator not in SUPPORTED[data_type]:
            errors.append(FieldError(f"{where}.operator", f"{operator!r} is not supported for "
                                     f"{data_type} (yet): {', '.join(sorted(SUPPORTED[data_type]))}"))
        if not isinstance(item.get("name"), str) or not item["name"]:
            errors.append(FieldError(f"{where}.name", "is required"))
        if operator not in ("exists",) and "value" not in item:
            errors.append(FieldError(f"{where}.value", "is required"))
        if operator == "between" and "value1" not in item:
            errors.append(FieldError(f"{where}.value1", "is required for between"))
    return errors


def _condition(item: dict) -> tuple[str, list]:
    column = _column(item["name"])
    operator, value = item["operator"], item.get("value")
    text = item["data_type"] == "string" and not item.get("case_sensitive", False)
    lhs = f"lower({column})" if text else column

    def val(v):
        return v.lower() if text and isinstance(v, str) else v

    params: list = []
    if operator == "exists":
        sql = f"{column} IS NOT NULL"
    elif operator in ("is", "in"):
        values = value if isinstance(value, list) else [value]
        sql = f"{lhs} IN ({','.join('?' * len(values))})"
        params = [val(v) for v in values]
    elif operator == "contains":
        sql, params = f"instr({lhs}, ?) > 0", [val(value)]
    elif operator == "startsWith":
        sql, params = f"substr({lhs}, 1, length(?)) = ?", [val(value), val(value)]
    elif operator == "endsWith":
        sql, params = f"substr({lhs}, -length(?)) = ?", [val(value), val(value)]
    elif operator in ("lessThan", "before"):
        sql, params = f"{lhs} < ?", [value]
    elif operator in ("greaterThan", "after"):
        sql, params = f"{lhs} > ?", [value]
    else:  # between: N1 <= v < N2 (spec §5.4)
        sql, params = f"({lhs} >= ? AND {lhs} < ?)", [value, item["value1"]]
    if item.get("negate"):
        # spec §5.4: every negative operator also matches users where the key is not set
        sql = f"(NOT ({sql}) OR {column} IS NULL)"
    return sql, params


def compile_audience(segmentation: dict) -> tuple[str, list]:
    """A WHERE clause over ``users`` and its parameters (``check`` has passed)."""
    if segmentation.get("is_all_user_campaign") is True:
        return "1", []
    group = segmentation["included_filters"]
    parts, params = [], []
    for item in group["filters"]:
        sql, more = _condition(item)
        parts.append(sql)
        params += more
    joiner = " AND " if group["filter_operator"] == "and" else " OR "
    return "(" + joiner.join(parts) + ")", params
