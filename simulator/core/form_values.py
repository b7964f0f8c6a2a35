"""Values for a connector's input variables (spec §2.3): the connection form
(``app_marketplace`` fields) and campaign Step 2 (``campaign`` fields) are checked the same way.

Types are checked and normalised, ``validations`` regexes applied (``re.search``, as the
documented rules are anchored where they mean it), ``required`` enforced, ``default_value`` used
for fields left out, hidden fields always take their default. Secrets (``password`` fields and
fields with ``encrypt: true``; ``encrypt`` defaults to true for passwords) are masked in every view.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import FieldError
from .timestamps import canonical_datetime

MASK = "********"


def _flag(value: Any, default: bool = False) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return default if value is None else bool(value)


def fields(inputs: list[dict], scope: str) -> list[dict]:
    return [v for v in inputs if v.get("visibility_scope") == scope]


def secret_keys(inputs: list[dict]) -> frozenset[str]:
    return frozenset(v["key"] for v in inputs
                     if _flag(v.get("encrypt"), default=v.get("type") == "password"))


def mask(values: dict, secrets: frozenset[str]) -> dict:
    return {k: (MASK if k in secrets and v not in (None, "") else v) for k, v in values.items()}


def _typed(variable: dict, value: Any) -> tuple[Any, str | None]:
    """The normalised value, or a problem."""
    kind = variable.get("type")
    if kind in ("text", "password", "code", "radio"):
        return (value, None) if isinstance(value, str) else (None, "must be a string")
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value, None
        if isinstance(value, str):
            try:
                return (float(value) if any(c in value for c in ".eE") else int(value)), None
            except ValueError:
                pass
        return None, "must be a number"
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", None
        return None, "must be true or false"
    if kind == "datetime":
        moment = canonical_datetime(value) if isinstance(value, str) else None
        return (moment, None) if moment else (None, "must be an ISO 8601 date or datetime")
    if kind == "dropdown":
        options = [o.get("key") for o in variable.get("options") or []]
        chosen = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not variable.get("allow_multiple"):
            return None, "takes one option (allow_multiple is false)"
        unknown = [c for c in chosen if c not in options]
        if unknown:
            return None, f"{unknown[0]!r} is not one of {', '.join(map(repr, options))}"
        return value, None
    if kind == "key_value":
        if not isinstance(value, list) or not all(
                isinstance(r, dict) and isinstance(r.get("key"), str) and "value" in r
                for r in value):
            return None, 'must be an array of {"key", "value"} rows'
        return value, None
    if kind == "json":
        if isinstance(value, str):
            try:
                return json.loads(value), None
            except ValueError:
                return None, "must be JSON"
        return value, None
    return value, None


def _empty(variable: dict, value: Any) -> bool:
    if value is None or value == "" or value == []:
        return True
    if variable.get("type") == "key_value" and isinstance(value, list):
        # "With required: true, at least one row must have a non-empty key and value."
        return not any(isinstance(r, dict) and str(r.get("key", "")).strip()
                       and str(r.get("value", "")).strip() for r in value)
    return False


def check(inputs: list[dict], scope: str, values: Any, path: str = "values"
          ) -> tuple[dict, list[FieldError]]:
    """Normalised values for the ``scope`` fields of ``inputs``, and every problem."""
    if not isinstance(values, dict):
        return {}, [FieldError(path, "must be an object of field key -> value")]
    wanted = fields(inputs, scope)
    known = {v["key"] for v in wanted}
    errors = [FieldError(f"{path}.{key}", f"is not a {scope} field of this connector")
              for key in values if key not in known]
    result: dict[str, Any] = {}
    for variable in wanted:
        key, where = variable["key"], f"{path}.{variable['key']}"
        if variable.get("is_hidden") or key not in values:
            value = variable.get("default_value")
        else:
            value = values[key]
        if _empty(variable, value):
            if _flag(variable.get("required")):
                errors.append(FieldError(where, "is required"))
            continue
        normalised, problem = _typed(variable, value)
        if problem:
            errors.append(FieldError(where, problem))
            continue
        if isinstance(normalised, str):
            for rule in variable.get("validations") or []:
                if not re.search(rule.get("regex", ""), normalised):
                    errors.append(FieldError(where, "does not match "
                                             + (rule.get("text") or rule.get("regex"))))
        result[key] = normalised
    return result, errors
