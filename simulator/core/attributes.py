"""User and event attributes: MoEngage's standard attribute catalogue and value typing.

Storage keys: a standard attribute is stored under MoEngage's internal key (``u_fn``), so
friendly API keys (``first_name``) and internal keys land in the same place; a custom
attribute is stored under its own name. Display names (``First Name``) are what MoEngage's
dashboard, exports and ``UserAttribute['...']`` templates use, and what the read-back API
returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .timestamps import canonical_datetime

STRING, NUMBER, BOOL, DATETIME, ARRAY, OBJECT = "string", "number", "bool", "datetime", "array", "object"
TYPES = (STRING, NUMBER, BOOL, DATETIME, ARRAY, OBJECT)


@dataclass(frozen=True)
class StandardAttribute:
    key: str
    display: str
    type: str
    aliases: tuple[str, ...] = ()


CUSTOMER_ID_KEY = "uid"  # spec §7: display name "ID", the user's customer id

# Spec §7 (S25, S26, S28); ``advertising_identifier`` and ``moe_gaid`` from data.yaml's
# UserAttributes. Friendly aliases are an [I] decision of the spec.
STANDARD_ATTRIBUTES: tuple[StandardAttribute, ...] = (
    StandardAttribute(CUSTOMER_ID_KEY, "ID", STRING, ()),
    StandardAttribute("u_em", "Email (Standard)", STRING, ("email",)),
    StandardAttribute("u_mb", "Mobile Number (Standard)", STRING, ("mobile",)),
    StandardAttribute("u_n", "Name", STRING, ("name",)),
    StandardAttribute("u_fn", "First Name", STRING, ("first_name",)),
    StandardAttribute("u_ln", "Last Name", STRING, ("last_name",)),
    StandardAttribute("u_gd", "Gender", STRING, ("gender",)),
    StandardAttribute("u_bd", "Birthday", DATETIME, ("birthday",)),
    StandardAttribute("cr_t", "First Seen", DATETIME, ("first_seen",)),
    StandardAttribute("u_l_a", "Last Seen", DATETIME, ("last_seen",)),
    StandardAttribute("moe_dtzo", "User Timezone Offset (Mins)", NUMBER, ()),
    StandardAttribute("geo", "Geolocation", OBJECT, ()),
    StandardAttribute("moe_unsubscribe", "Unsubscribe", BOOL, ()),
    StandardAttribute("moe_hard_bounce", "Hard Bounce", BOOL, ()),
    StandardAttribute("moe_spam", "Spam", BOOL, ()),
    StandardAttribute("moe_sms_subscription", "SMS Subscription Status", STRING, ()),
    StandardAttribute("moe_wa_subscription", "WhatsApp Subscription Status", STRING, ()),
    StandardAttribute("advertising_identifier", "Advertising Identifier", STRING, ()),
    StandardAttribute("moe_gaid", "Google Advertising ID", STRING, ()),
)

# Spellings MoEngage's own template examples use for standard attributes, which templates
# accept besides the display names (docs/decisions.md, "Templating"): the personalization
# pages write Email, Mobile Number and User Time Zone Offset (Mins); "Location" is the
# Geolocation attribute on the "Users are removed due to Personalization Failure" page.
# Display names are also matched case-insensitively in templates ('First name').
TEMPLATE_SPELLINGS = {
    "Email": "u_em", "Mobile Number": "u_mb", "User Time Zone Offset (Mins)": "moe_dtzo",
    "Location": "geo",
}

_BY_NAME: dict[str, StandardAttribute] = {}
for _attr in STANDARD_ATTRIBUTES:
    for _name in (_attr.key, _attr.display, *_attr.aliases):
        _BY_NAME[_name] = _attr

DATETIME_KEYS = frozenset(a.key for a in STANDARD_ATTRIBUTES if a.type == DATETIME)

# data.yaml UserAttributes: "id", "_id" and "" are blocked. The ``moe_`` prefix is reserved
# too, but MoEngage answers it with "periodic blacklisting", not an error, so it is accepted.
BLOCKED_NAMES = frozenset({"id", "_id", ""})
# "Reserved MoEngage attributes (e.g. `platforms`) can't be used with these operators."
NO_ARRAY_OPERATORS = frozenset({"platforms"})
# "System/reserved attributes are protected and can't be unset this way."
UNSET_PROTECTED = frozenset({"cr_t", "u_l_a", "moe_dtzo", "geo", "platforms"})
# "This standard attribute can only be created through the Track User API and cannot be
# updated later." (data.yaml, cr_t and u_l_a)
CREATE_ONLY = frozenset({"cr_t", "u_l_a"})


_BY_FOLDED_NAME: dict[str, str] = {}
for _attr in STANDARD_ATTRIBUTES:
    _BY_FOLDED_NAME.setdefault(_attr.display.casefold(), _attr.key)
for _name, _key in TEMPLATE_SPELLINGS.items():
    _BY_FOLDED_NAME.setdefault(_name.casefold(), _key)


def template_key(name: str) -> str:
    """The stored key ``UserAttribute[name]`` reads: a standard attribute's key for any of its
    names, the loose spellings above and display names in any case; else ``name`` itself."""
    attr = _BY_NAME.get(name)
    if attr is not None:
        return attr.key
    return _BY_FOLDED_NAME.get(name.casefold(), name)


def standard(name: str) -> StandardAttribute | None:
    """The standard attribute ``name`` denotes (internal key, alias or display name)."""
    return _BY_NAME.get(name)


def declared_type(key: str) -> str | None:
    attr = _BY_NAME.get(key)
    return attr.type if attr else None


def storage_key(name: str) -> str:
    attr = _BY_NAME.get(name)
    return attr.key if attr else name


def display_name(key: str) -> str:
    attr = _BY_NAME.get(key)
    return attr.display if attr else key


def api_name(key: str) -> str:
    """The name the Data API uses for a stored attribute (``u_fn`` -> ``first_name``)."""
    attr = _BY_NAME.get(key)
    return attr.aliases[0] if attr and attr.aliases else key


def names_of(key: str) -> tuple[str, ...]:
    """Every name a stored attribute answers to."""
    attr = _BY_NAME.get(key)
    return (attr.key, attr.display, *attr.aliases) if attr else (key,)


def name_problem(name: str) -> str | None:
    """Why an attribute name is refused, or None when it is fine."""
    if name in BLOCKED_NAMES:
        return f"attribute name {name!r} is blocked (\"id\", \"_id\" and \"\" are not allowed)"
    return None


def typed(value: Any) -> tuple[Any, str | None]:
    """A value in its stored form and its MoEngage data type (None for null).

    ISO 8601 strings become datetimes (stored canonical, see ``timestamps``); any other
    string stays a string, as MoEngage does with invalid dates.
    """
    kind = _KIND_OF.get(type(value))  # exact types first: this runs per attribute per event
    if kind is STRING:
        moment = canonical_datetime(value) if value[:1].isdigit() else None
        return (moment, DATETIME) if moment is not None else (value, STRING)
    if kind is not None:
        return value, kind
    if isinstance(value, bool):
        return value, BOOL
    if isinstance(value, (int, float)):
        return value, NUMBER
    if isinstance(value, str):
        return typed(str(value))
    if isinstance(value, list):
        return value, ARRAY
    if isinstance(value, dict):
        return value, OBJECT
    return None, None


_KIND_OF = {str: STRING, bool: BOOL, int: NUMBER, float: NUMBER, list: ARRAY, dict: OBJECT}
