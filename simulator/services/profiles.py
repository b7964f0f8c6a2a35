"""Reading users and events back, in the shape the read-back API and dashboard show."""

from __future__ import annotations

from ..core import attributes, json_input
from ..core.errors import BadRequest, NotFound
from ..core.timestamps import iso
from ..store import attribute_types, devices, events, users
from .context import Context

MAX_PAGE = 1000


def _limit(value: int | None, default: int = 100) -> int:
    if value is None:
        return default
    if not 1 <= value <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}", path="limit")
    return value


def _user_view(row: dict, types: dict[str, str]) -> dict:
    shown, shown_types = {}, {}
    for key, value in row["attrs"].items():
        name = attributes.display_name(key)
        standard = attributes.standard(key)
        shown[name] = value
        kind = standard.type if standard else types.get(key)
        if kind:
            shown_types[name] = kind
    return {"customer_id": row["customer_id"], "attributes": shown,
            "attribute_types": shown_types, "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"])}


def _event_view(row: dict, with_customer: bool) -> dict:
    view = {"name": row["name"], "time": iso(row["ts"]), "attributes": row["attrs"],
            "platform": row["platform"]}
    if row["app_version"] is not None:
        view["app_version"] = row["app_version"]
    if row["user_time"] is not None:
        view["user_time"] = iso(row["user_time"])
    if row["tz_offset"] is not None:
        view["user_timezone_offset"] = row["tz_offset"]
    if with_customer:
        view = {"id": row["id"], "customer_id": row["customer_id"], **view}
    return view


def user(ctx: Context, customer_id: str) -> dict:
    with ctx.store.read() as db:
        row = users.get(db, customer_id)
        if row is None:
            raise NotFound(f"no user with customer_id {customer_id!r}", path="customer_id")
        view = _user_view(row, attribute_types.of(db, attribute_types.USER))
        view["devices"] = [{**d, "created_at": iso(d["created_at"]),
                            "updated_at": iso(d["updated_at"])}
                           for d in devices.of_user(db, row["id"])]
        return view


def user_page(ctx: Context, limit: int | None, after: int) -> dict:
    size = _limit(limit)
    with ctx.store.read() as db:
        rows = users.page(db, size, after)
        types = attribute_types.of(db, attribute_types.USER)
        total = users.count(db)
    return {"users": [_user_view(r, types) for r in rows], "total": total,
            "next": str(rows[-1]["id"]) if len(rows) == size else None}


def user_events(ctx: Context, customer_id: str, limit: int | None, after: str | None
                ) -> tuple[list[dict], str | None]:
    size = _limit(limit)
    cursor = None
    if after:
        try:
            ts, last = after.split(":")
            cursor = (int(ts), int(last))
            if not all(json_input.INT_MIN <= part <= json_input.INT_MAX for part in cursor):
                raise ValueError(after)
        except ValueError:
            raise BadRequest("after must be a cursor from a previous page", path="after") from None
    with ctx.store.read() as db:
        row = users.get(db, customer_id)
        if row is None:
            raise NotFound(f"no user with customer_id {customer_id!r}", path="customer_id")
        rows = events.for_user(db, row["id"], size, cursor)
    following = f"{rows[-1]['ts']}:{rows[-1]['id']}" if len(rows) == size else None
    return [_event_view(r, with_customer=False) for r in rows], following


def event_page(ctx: Context, limit: int | None, after: int, name: str | None) -> dict:
    size = _limit(limit)
    with ctx.store.read() as db:
        rows = events.page(db, size, after, name)
        total = events.count(db, name)
    return {"events": [_event_view(r, with_customer=True) for r in rows], "total": total,
            "next": str(rows[-1]["id"]) if len(rows) == size else None}


def moengage_id(row_id: int) -> str:
    """A stable 24-hex-digit MoEngage ID for a stored user."""
    return format(row_id, "024x")


def _require(container: dict, key: str, path: str):
    if key not in container:
        raise BadRequest(f"{key} is not found in the payload", path=path,
                         moe_type="MissingAttributeError")
    return container[key]


def export(ctx: Context, payload, max_users: int) -> dict:
    """Get User (``POST /v1/customers/export``), answered in data.yaml's ``export_users``
    shape. Attributes are named as the API names them (``first_name``, not ``u_fn``)."""
    if not isinstance(payload, dict):
        raise BadRequest("data is not found in the payload", path="data",
                         moe_type="MissingAttributeError")
    data = _require(payload, "data", "data")
    if not isinstance(data, dict):
        raise BadRequest("data must be an object", path="data", moe_type="InvalidParams")
    identifiers = _require(data, "identifiers", "data.identifiers")
    if not isinstance(identifiers, list):
        raise BadRequest("identifiers must be an array", path="data.identifiers",
                         moe_type="InvalidParams")
    if len(identifiers) > max_users:
        raise BadRequest(f"max limit allowed is {max_users}", path="users",
                         moe_type="LimitBreached")
    fields = data.get("user_fields_to_export")
    if fields is not None and not (isinstance(fields, list) and all(
            isinstance(f, str) for f in fields)):
        raise BadRequest("user_fields_to_export must be an array of strings",
                         path="data.user_fields_to_export", moe_type="InvalidParams")
    wanted = None if fields is None else set(fields)
    found, missing = [], []
    with ctx.store.read() as db:
        for i, ident in enumerate(identifiers):
            where = f"data.identifiers[{i}]"
            if not isinstance(ident, dict):
                raise BadRequest("identifier must be an object", path=where,
                                 moe_type="InvalidParams")
            kind, value = ident.get("identifier_type"), ident.get("identifier")
            if kind not in ("customer_id", "moengage_id", "id") or not isinstance(value, str):
                raise BadRequest("identifier_type must be customer_id or moengage_id and "
                                 "identifier a string", path=where, moe_type="InvalidParams")
            row = users.get(db, value) if kind == "customer_id" else users.by_row_id(
                db, int(value, 16) if all(c in "0123456789abcdef" for c in value) else -1)
            if row is None:
                missing.append({"identifier_type": kind, "identifier": value})
                continue
            shown = {"customer_id": row["customer_id"], "id": moengage_id(row["id"])}
            for key, stored in row["attrs"].items():
                shown[attributes.api_name(key)] = stored
            if wanted is not None:
                shown = {k: v for k, v in shown.items()
                         if k in wanted or any(n in wanted for n in attributes.names_of(
                             attributes.storage_key(k)))}
            found.append({"user_attributes": shown})
    return {"status": "success", "type": "export_users",
            "data": {"users_not_found": missing, "users": found}}
