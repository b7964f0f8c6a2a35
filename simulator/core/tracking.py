"""MoEngage Data API payloads (spec §7) parsed into changes the store can apply.

Pure functions: ``now_ms`` comes in as an argument. Errors name the JSON path of the field
at fault (``actions[0].current_time``) and carry MoEngage's ``error.type``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import attributes
from .errors import BadRequest
from .jsontext import dumps as _dumps
from .timestamps import epoch_to_ms, iso, parse_iso, to_ms

# Spec §7, S26: customer ids MoEngage refuses (compared trimmed and case-insensitively).
FORBIDDEN_CUSTOMER_IDS = frozenset({
    "unknown", "guest", "null", "0", "1", "true", "false", "user_attribute_unique_id",
    "(empty)", "na", "n/a", "''", "dummy_seller_code", "user_id", "id", "customer_id",
    "uid", "userid", "none", "-2", "-1", "2", "",
})
PLATFORMS = ("ANDROID", "iOS", "web", "TV", "unknown")
_PLATFORM_BY_LOWER = {p.lower(): p for p in PLATFORMS}
UNSET_MATCH_TYPES = ("equals", "prefix", "suffix", "contains")
MAX_TZ_OFFSET_SECONDS = 54_000
MALFORMED_JSON = ("Could not decode the request body. The JSON was incorrect or not encoded as "
                  "UTF-8.")
# [I] How far ahead of receipt an event time may lie before it counts as future-dated:
# clocks of senders drift, MoEngage documents no tolerance.
FUTURE_TOLERANCE_MS = 5 * 60 * 1000


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _attribute(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0] or path


def _missing(path: str) -> BadRequest:
    """MoEngage's words for an absent field (data.yaml 400 examples)."""
    return BadRequest(f"{_attribute(path)} is not found in the payload", path=path,
                      moe_type="MissingAttributeError")


def _invalid(path: str, message: str) -> BadRequest:
    return BadRequest(f"{_attribute(path)} {message}", path=path, moe_type="InvalidParams")


def _array_error(path: str, message: str) -> BadRequest:
    return BadRequest(message, path=path, moe_type="ArrayFieldError")


@dataclass(frozen=True, slots=True)
class UnsetRule:
    type: str
    attr: str
    case_sensitive: bool

    def matches(self, key: str) -> bool:
        """Whether the stored attribute ``key`` is meant, by any of its names (internal
        key, friendly API key, display name)."""
        return any(self._matches_name(name) for name in attributes.names_of(key))

    def _matches_name(self, name: str) -> bool:
        wanted = self.attr
        if not self.case_sensitive:
            name, wanted = name.lower(), wanted.lower()
        if self.type == "equals":
            return name == wanted
        if self.type == "prefix":
            return name.startswith(wanted)
        if self.type == "suffix":
            return name.endswith(wanted)
        return wanted in name


@dataclass(slots=True)
class UserChange:
    customer_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    add_to_arrays: dict[str, list] = field(default_factory=dict)
    remove_from_arrays: dict[str, list] = field(default_factory=dict)
    unset: tuple[UnsetRule, ...] = ()
    update_existing_only: bool = False

    def apply_to(self, current: dict[str, Any]) -> dict[str, Any]:
        """The attributes after this change: set, then array edits, then unset.

        Array edits keep order and add a value only once; adding to a scalar makes it an
        array holding the old value [I: MoEngage does not say]. ``unset_attributes`` runs
        last: "the Unset operation takes precedence" (unset-user-attributes.mdx).
        """
        merged = dict(current)
        for key, value in self.attributes.items():
            if key not in attributes.CREATE_ONLY or key not in merged:
                merged[key] = value
        for key, values in self.add_to_arrays.items():
            existing = merged.get(key)
            items = list(existing) if isinstance(existing, list) else (
                [] if existing is None else [existing])
            items.extend(v for v in values if v not in items)
            merged[key] = items
        for key, values in self.remove_from_arrays.items():
            existing = merged.get(key)
            if isinstance(existing, list):
                merged[key] = [v for v in existing if v not in values]
        if self.unset:
            for key in [k for k in merged if k not in attributes.UNSET_PROTECTED
                        and any(rule.matches(k) for rule in self.unset)]:
                del merged[key]
        return merged


@dataclass(slots=True)
class TrackedEvent:
    customer_id: str
    name: str
    ts: int
    attributes: dict[str, Any]
    types: dict[str, str]
    platform: str | None = None
    app_version: str | None = None
    user_time: int | None = None
    tz_offset: int | None = None

    def row(self) -> tuple:
        """The stored form: customer id, name, time, attributes as JSON text, platform,
        app version, user time, time-zone offset."""
        return (self.customer_id, self.name, self.ts, _dumps(self.attributes), self.platform,
                self.app_version, self.user_time, self.tz_offset)


def _object(value: Any, path: str) -> dict:
    if type(value) is not dict and not isinstance(value, dict):
        raise _invalid(path, "must be a JSON object")
    return value


def _customer_id(payload: dict, path: str) -> str:
    return _customer_id_value(payload.get("customer_id"), path)


def _customer_id_value(value: Any, path: str) -> str:
    if type(value) is not str:
        if value is None:
            raise _missing(f"{path}customer_id")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(f"{path}customer_id", "must be a string")
        value = str(value)
    if not value:
        raise BadRequest("customer_id can not be empty Unicode String",
                         path=f"{path}customer_id", moe_type="MissingAttributeError")
    if value.strip().lower() in FORBIDDEN_CUSTOMER_IDS:
        # [I] MoEngage lists the values but documents no error for them.
        raise _invalid(f"{path}customer_id",
                       f"value {value!r} is not allowed (reserved customer_id)")
    return value


def _check_type(payload: dict, expected: str, path: str) -> None:
    where = f"{path}type"
    value = payload.get("type")
    if value is None:
        raise _missing(where)
    if value != expected:
        raise _invalid(where, f"must be {expected!r} (lowercase, case-sensitive), got {value!r}")


def _typed_attributes(raw: dict, path: str, *, user: bool) -> tuple[dict, dict]:
    """Attribute values in stored form, and their types. User attributes are stored under
    their storage key (``first_name`` -> ``u_fn``); event attributes keep their names."""
    values: dict[str, Any] = {}
    types: dict[str, str] = {}
    typed, blocked, number = attributes.typed, attributes.BLOCKED_NAMES, attributes.NUMBER
    storage_key = attributes.storage_key if user else None
    for name, value in raw.items():
        if name in blocked:
            raise BadRequest(attributes.name_problem(name), path=f"{path}.{name}",
                             moe_type="InvalidParams")
        key = storage_key(name) if storage_key else name
        stored, kind = typed(value)
        if kind is number and user and key in attributes.DATETIME_KEYS:
            # data.yaml gives First Seen / Last Seen as epoch milliseconds
            stored, kind = iso(epoch_to_ms(value)), attributes.DATETIME
        values[key] = stored
        if kind:
            types[key] = kind
    return values, types


def _array_ops(raw: Any, path: str) -> dict[str, list]:
    ops = _object(raw, path)
    result = {}
    for name, values in ops.items():
        if not isinstance(values, list):
            raise _invalid(f"{path}.{name}", "must be an array of values")
        if name in attributes.NO_ARRAY_OPERATORS:
            raise _array_error(f"{path}.{name}",
                               f"Reserved attribute '{name}' can't be used with array operators")
        result[attributes.storage_key(name)] = values
    return result


def parse_customer(payload: Any, path: str = "") -> UserChange:
    """A Track User body (``type: customer``)."""
    payload = _object(payload, path.rstrip(".") or "body")
    _check_type(payload, "customer", path)
    change = UserChange(customer_id=_customer_id(payload, path))
    flag = payload.get("update_existing_only", False)
    if not isinstance(flag, bool):
        raise _invalid(f"{path}update_existing_only", "must be true or false")
    change.update_existing_only = flag
    raw = payload.get("attributes")
    if raw is not None:
        raw = dict(_object(raw, f"{path}attributes"))
        add = raw.pop("addValueToArrayField", None)
        remove = raw.pop("removeValueFromArrayField", None)
        if add is not None:
            change.add_to_arrays = _array_ops(add, f"{path}attributes.addValueToArrayField")
        if remove is not None:
            change.remove_from_arrays = _array_ops(
                remove, f"{path}attributes.removeValueFromArrayField")
        change.attributes, change.types = _typed_attributes(raw, f"{path}attributes", user=True)
        _check_array_conflicts(change, f"{path}attributes")
    unset = payload.get("unset_attributes")
    if unset is not None:
        change.unset = _unset_rules(unset, f"{path}unset_attributes")
    return change


def _check_array_conflicts(change: UserChange, path: str) -> None:
    """data.yaml: "You can't add and remove the same attribute in one call" (its 400 example:
    ``attribute: addValueToArrayField``, "Cannot add and remove 'first_name' at the same
    time") and "You can't directly set an attribute and add/remove it in the same call". The
    same page's "Update Array Attributes" snippet adds and removes one attribute; the rule and
    the error example win (docs/decisions.md)."""
    for key in change.add_to_arrays:
        if key in change.remove_from_arrays:
            raise _array_error(f"{path}.addValueToArrayField",
                               f"Cannot add and remove '{attributes.api_name(key)}' at the same time")
    for key in (*change.add_to_arrays, *change.remove_from_arrays):
        if key in change.attributes:
            raise _array_error(f"{path}.{key}",
                               f"Cannot set and add/remove '{attributes.api_name(key)}' at the same time")


def array_type_problem(change: UserChange, known_type) -> BadRequest | None:
    """An array operator on an attribute whose data type, fixed when first seen, is not
    ``array`` (``known_type(key)`` gives it, or None when never seen)."""
    for key, operator in [*((k, "addValueToArrayField") for k in change.add_to_arrays),
                          *((k, "removeValueFromArrayField") for k in change.remove_from_arrays)]:
        kind = known_type(key)
        if kind is not None and kind != attributes.ARRAY:
            return _array_error(
                f"attributes.{operator}",
                f"'{attributes.api_name(key)}' is a {kind} attribute; array operators need an "
                f"array attribute (a data type is fixed when first seen)")
    return None


def _unset_rules(raw: Any, path: str) -> tuple[UnsetRule, ...]:
    if not isinstance(raw, list):
        raise _invalid(path, "must be an array")
    rules = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        item = _object(item, where)
        kind = item.get("type")
        if kind not in UNSET_MATCH_TYPES:
            raise _invalid(f"{where}.type", f"must be one of {', '.join(UNSET_MATCH_TYPES)}")
        attr = item.get("attr")
        if not isinstance(attr, str) or not attr:
            raise _missing(f"{where}.attr")
        sensitive = item.get("case_sensitive", True)
        if not isinstance(sensitive, bool):
            raise _invalid(f"{where}.case_sensitive", "must be true or false")
        rules.append(UnsetRule(kind, attr, sensitive))
    return tuple(rules)


def _moment(value: Any, path: str) -> int:
    """``current_time`` / ``user_time``: ISO 8601, or epoch seconds or milliseconds."""
    kind = type(value)
    if kind is int or kind is float:
        return epoch_to_ms(value)
    if kind is str:
        stripped = value.strip()
        if stripped.lstrip("-").replace(".", "", 1).isdigit():
            return epoch_to_ms(float(stripped))
        parsed = parse_iso(stripped)
        if parsed is not None:
            return to_ms(parsed)
    raise _invalid(path, "must be an ISO 8601 datetime or epoch seconds")


def _action(raw: Any, customer_id: str, now_ms: int, path: str) -> TrackedEvent:
    action = _object(raw, path)
    get = action.get
    return _event(customer_id, get("action"), get("attributes"), get("current_time"),
                  get("user_time"), get("user_timezone_offset"), get("platform"),
                  get("app_version"), now_ms, path)


def _event(customer_id: str, name: Any, raw_attrs: Any, when: Any, user_time: Any,
           offset: Any, platform: Any, version: Any, now_ms: int, path: str) -> TrackedEvent:
    """The rules for one action's fields, as ``dict.get`` reads them (None when absent). The
    happy path builds no JSON paths: this runs once per imported event."""
    if type(name) is not str:
        if name is None:
            raise _missing(_at(path, "action"))
        # data.yaml /event 400 incorrect_action ("Action key is not sent as a string")
        raise BadRequest(MALFORMED_JSON, path=_at(path, "action"), moe_type="Malformed JSON")
    if not name or name.isspace():
        raise BadRequest("action cannot be empty Unicode string", path=_at(path, "action"),
                         moe_type="MissingAttributeError")
    if raw_attrs:
        if type(raw_attrs) is not dict:
            raise _invalid(_at(path, "attributes"), "must be a JSON object")
        values, types = _typed_attributes(raw_attrs, _at(path, "attributes"), user=False)
    else:
        values, types = {}, {}
    ts = now_ms if when is None else _moment(when, _at(path, "current_time"))
    if ts > now_ms + FUTURE_TOLERANCE_MS:
        raise _invalid(_at(path, "current_time"),
                       "is in the future: MoEngage does not accept future dated events")
    if user_time is not None:
        user_time = _moment(user_time, _at(path, "user_time"))
    if offset is not None:
        if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not (
                -MAX_TZ_OFFSET_SECONDS <= offset <= MAX_TZ_OFFSET_SECONDS):
            raise _invalid(_at(path, "user_timezone_offset"),
                           "must be seconds between -54000 and 54000")
        offset = int(offset)
    if platform is not None:
        # Documented examples send "Android", "IOS" and "Windows": known names are read
        # case-insensitively, anything else is kept as sent.
        if type(platform) is not str:
            raise _invalid(_at(path, "platform"),
                           f"must be a string such as {', '.join(PLATFORMS)}")
        platform = _PLATFORM_BY_LOWER.get(platform.lower(), platform)
    return TrackedEvent(customer_id, name, ts, values, types, platform,
                        None if version is None else str(version), user_time, offset)


def parse_event(payload: Any, now_ms: int, path: str = "") -> list[TrackedEvent]:
    """A Track Event body (``type: event``) with one or more ``actions``."""
    payload = _object(payload, path.rstrip(".") or "body")
    _check_type(payload, "event", path)
    customer_id = _customer_id(payload, path)
    actions = payload.get("actions")
    if actions is None:
        raise _missing(f"{path}actions")
    if not isinstance(actions, list) or not actions:
        raise BadRequest("actions can not be empty Array", path=f"{path}actions",
                         moe_type="MissingAttributeError")
    return [_action(a, customer_id, now_ms, f"{path}actions[{i}]") for i, a in enumerate(actions)]


def parse_flat_event(row: Any, now_ms: int, path: str) -> TrackedEvent:
    """One event as a flat record (import files): ``customer_id``, ``action`` and the
    action's own fields side by side."""
    row = _object(row, path)
    customer_id = _customer_id(row, f"{path}." if path else "")
    return _action(row, customer_id, now_ms, path)


@dataclass(slots=True)
class BulkParse:
    items: list[UserChange | TrackedEvent] = field(default_factory=list)
    devices: list = field(default_factory=list)  # user_requests.TrackedDevice
    rejected: list[BadRequest] = field(default_factory=list)


def parse_bulk(payload: Any, now_ms: int) -> BulkParse:
    """A Bulk Import body (``type: transition``).

    Request-level problems raise. A bad element is left out and reported in ``rejected``
    while the rest is applied: MoEngage answers 200 for a bulk request and reports element
    problems in its logs (spec §7, S25).
    """
    payload = _object(payload, "body")
    _check_type(payload, "transition", "")
    elements = payload.get("elements")
    if not isinstance(elements, list) or not elements:
        # Verbatim, leading apostrophe included (data.yaml, /transition 400 empty_elements).
        raise BadRequest("'elements cannot be empty array", path="elements",
                         moe_type="MissingAttributeError")
    result = BulkParse()
    for i, element in enumerate(elements):
        path = f"elements[{i}]."
        try:
            kind = _object(element, path[:-1]).get("type")
            if kind == "customer":
                result.items.append(parse_customer(element, path))
            elif kind == "event":
                result.items.extend(parse_event(element, now_ms, path))
            elif kind == "device":
                from .user_requests import parse_device  # it reads this module's rules

                result.devices.append(parse_device(element, path))
            else:
                raise BadRequest("'type in elements should be customer/event/device",
                                 path=f"{path}type", moe_type="AttributeError")
        except BadRequest as problem:
            result.rejected.append(problem)
    return result
