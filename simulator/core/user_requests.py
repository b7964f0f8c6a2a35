"""The Data API's user-management bodies (data.yaml): Merge Users, Delete Users and Track
Device, parsed and checked, and the rule for merging two users' attributes.

Errors carry MoEngage's error body fields (``moe_type``; the path's last part is the
``attribute``), worded as data.yaml's examples word them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BadRequest
from .tracking import _check_type, _customer_id_value

MAX_MERGE_PAIRS = 50  # data.yaml /customer/merge: "A maximum of 50 users can be merged"
DEVICE_PLATFORMS = ("ANDROID", "iOS", "web", "TV")  # data.yaml DeviceAttributes.platform
_PLATFORM_BY_LOWER = {p.lower(): p for p in DEVICE_PLATFORMS}
FIRST_SEEN = "cr_t"


def _missing(attribute: str, path: str | None = None, *, payload_word: str = "the payload",
             quoted: bool = False) -> BadRequest:
    shown = f"'{attribute}'" if quoted else attribute
    return BadRequest(f"{shown} is not found in {payload_word}", path=path or attribute,
                      moe_type="MissingAttributeError")


@dataclass(frozen=True)
class MergePair:
    merged_user: str
    retained_user: str


def parse_merge(payload: Any) -> list[MergePair]:
    """``{"merge_data": [{"merged_user", "retained_user"}, ...]}`` (data.yaml MergeUserRequest,
    RudderStack's alias call)."""
    if not isinstance(payload, dict):
        raise BadRequest("A valid JSON document is required.", moe_type="Body type is not JSON")
    pairs = payload.get("merge_data")
    if pairs is None:
        raise _missing("merge_data")
    if not isinstance(pairs, list) or not pairs:
        raise BadRequest("merge_data can not be empty Array", path="merge_data",
                         moe_type="MissingAttributeError")
    if len(pairs) > MAX_MERGE_PAIRS:
        raise BadRequest(f"max limit allowed is {MAX_MERGE_PAIRS}", path="merge_data",
                         moe_type="LimitBreached")
    parsed = []
    for i, pair in enumerate(pairs):
        where = f"merge_data[{i}]"
        if not isinstance(pair, dict):
            raise BadRequest(f"{where} is expected to be a JSON object", path=where,
                             moe_type="MissingAttributeError")
        values = []
        for key in ("merged_user", "retained_user"):
            value = pair.get(key)
            if value is None:
                raise _missing(key, f"{where}.{key}")
            if not isinstance(value, str) or not value:
                # data.yaml /customer/merge 400 invalid_datatype, verbatim
                raise BadRequest(f"{key} is expected to be String or Unicode String.",
                                 path=f"{where}.{key}", moe_type="MissingAttributeError")
            values.append(value)
        parsed.append(MergePair(*values))
    return parsed


def merged_attributes(retained: dict, merged: dict) -> dict:
    """data.yaml MergeUserRequest.retained_user: "All of the user attributes of the merged user
    are moved to the retained user. If an attribute is present for the retained user and the
    same attribute is not for the merged user, the attribute is retained". So the merged user's
    value wins where both have one [I]; First Seen stays the earlier of the two [I]."""
    result = {**retained, **merged}
    firsts = [v for v in (retained.get(FIRST_SEEN), merged.get(FIRST_SEEN)) if isinstance(v, str)]
    if firsts:
        result[FIRST_SEEN] = min(firsts)
    return result


def parse_delete(payload: Any) -> str:
    """Delete Users: data.yaml's endpoint body is ``{"identity_type": "customer_id",
    "identity_value": "..."}`` (one user per request); its ``DeleteUserRequest`` schema instead
    shows ``{"identifiers": [{"identifier_type", "identifier"}]}``. Both are read
    (docs/decisions.md); the customer id is returned. ``moengage_id`` is not emulated."""
    if not isinstance(payload, dict):
        raise BadRequest("A valid JSON document is required.", moe_type="Body type is not JSON")
    if "identifiers" in payload and "identity_type" not in payload:
        identifiers = payload["identifiers"]
        if not isinstance(identifiers, list) or len(identifiers) != 1 \
                or not isinstance(identifiers[0], dict):
            raise BadRequest("The rate limit is 1 user per payload", path="identifiers",
                             moe_type="InvalidParams")
        kind = identifiers[0].get("identifier_type")
        value = identifiers[0].get("identifier")
        where = "identifiers[0]"
        kind_path, value_path = f"{where}.identifier_type", f"{where}.identifier"
    else:
        kind, value = payload.get("identity_type"), payload.get("identity_value")
        kind_path, value_path = "identity_type", "identity_value"
    if kind is None:
        raise _missing(kind_path.rsplit(".", 1)[-1], kind_path)
    if kind not in ("customer_id", "moengage_id"):
        raise BadRequest('Allowed values are "moengage_id", "customer_id".', path=kind_path,
                         moe_type="InvalidParams")
    if kind == "moengage_id":
        raise BadRequest("moengage_id is not emulated by moesim; use customer_id",
                         path=kind_path, moe_type="InvalidParams")
    if value is None:
        raise _missing(value_path.rsplit(".", 1)[-1], value_path)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{value_path.rsplit('.', 1)[-1]} is expected to be String or "
                         f"Unicode String.", path=value_path, moe_type="InvalidParams")
    return value


@dataclass(frozen=True)
class TrackedDevice:
    customer_id: str
    device_id: str
    attributes: dict


def parse_device(payload: Any, path: str = "") -> TrackedDevice:
    """A Track Device body (data.yaml CreateDeviceRequest); messages as its 400 examples."""
    if not isinstance(payload, dict):
        raise BadRequest("A valid JSON document is required.", moe_type="Body type is not JSON")
    _check_type(payload, "device", path)
    if payload.get("customer_id") is None:
        raise _missing("customer_id", f"{path}customer_id", quoted=True)
    customer_id = _customer_id_value(payload.get("customer_id"), path)
    device_id = payload.get("device_id")
    if device_id is None:
        raise _missing("device_id", f"{path}device_id", quoted=True)
    if not isinstance(device_id, (str, int)) or isinstance(device_id, bool) or device_id == "":
        raise BadRequest("device_id is expected to be String or Unicode String.",
                         path=f"{path}device_id", moe_type="InvalidParams")
    attrs = payload.get("attributes")
    if attrs is None:
        raise _missing("attributes", f"{path}attributes", quoted=True)
    if not isinstance(attrs, dict):
        raise BadRequest("attributes is expected to be a JSON object", path=f"{path}attributes",
                         moe_type="InvalidParams")
    platform = attrs.get("platform")
    if platform is None:
        raise _missing("platform", f"{path}attributes.platform", payload_word="payload",
                       quoted=True)
    # data.yaml lists ANDROID, iOS, web, TV; RudderStack sends "android": read
    # case-insensitively, stored as documented
    canonical = _PLATFORM_BY_LOWER.get(platform.lower()) if isinstance(platform, str) else None
    if canonical is None:
        raise BadRequest("'platform' is not a valid platform.",
                         path=f"{path}attributes.platform", moe_type="ValueError")
    if attrs.get("push_id") is None:
        raise _missing("push_id", f"{path}attributes.push_id", payload_word="payload",
                       quoted=True)
    return TrackedDevice(customer_id, str(device_id), {**attrs, "platform": canonical})
