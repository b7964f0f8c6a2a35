"""Saved segments and audience counts (MoEngage's "Show count", spec §5.1), and the one way
the senders turn a campaign's ``segmentation_details`` into SQL (``audience``)."""

from __future__ import annotations

from typing import Any

from ..core import segments as rules
from ..core.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..core.timestamps import iso
from ..store import attribute_types
from ..store import segments as table
from ..store import users
from .context import Context

# A campaign in one of these may still send, so the segments it names cannot be deleted.
LIVE_STATUSES = ("SCHEDULED", "ACTIVE", "PAUSED")


def catalogue(db) -> rules.Catalogue:
    return rules.Catalogue(user_types=attribute_types.of(db, attribute_types.USER),
                           event_types=table.event_types(db), segment_ids=table.ids(db))


def _checked(db, segmentation: Any, path: str = "segmentation_details") -> dict:
    errors = rules.check(segmentation, path, catalogue(db))
    if errors:
        raise ValidationFailed(f"{len(errors)} problem(s) in {path}", errors=errors)
    return segmentation


def audience(ctx: Context, segmentation: dict, db=None) -> tuple[str, list]:
    """``(where, params)`` over ``users`` for a checked segmentation, now, in the app zone;
    saved segments are read as they are now."""
    if db is None:
        index_attributes(ctx, segmentation)
        with ctx.store.read() as reader:
            return audience(ctx, segmentation, reader)
    return rules.compile_audience(segmentation, now=ctx.clock.now(),
                                  tz=ctx.settings.app_timezone,
                                  resolve=lambda segment_id: _definition(db, segment_id))


def index_attributes(ctx: Context, segmentation: dict) -> None:
    """[I] Adaptive indexing: the first audience that compares a custom attribute by value
    builds an expression index on it (~1 s per million users, once); later counts and sends
    search the index instead of reading every user's JSON."""
    hints = rules.index_hints(segmentation)
    if hints:
        with ctx.store.write() as db:
            for path, nocase in sorted(hints):
                table.ensure_attribute_index(db, path, nocase)


def _definition(db, segment_id: int) -> dict | None:
    saved = table.get(db, segment_id)
    return None if saved is None else saved["segmentation_details"]


def count(ctx: Context, body: Any) -> dict:
    if not isinstance(body, dict):
        raise ValidationFailed("body must be an object", path="body")
    with ctx.store.read() as db:
        segmentation = _checked(db, body.get("segmentation_details"))
    index_attributes(ctx, segmentation)
    with ctx.store.read() as db:
        where, params = audience(ctx, segmentation, db)
        return {"count": users.count_where(db, where, params)}


def _view(row: dict) -> dict:
    return {**row, "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}


def create(ctx: Context, body: Any) -> dict:
    if not isinstance(body, dict):
        raise ValidationFailed("body must be an object", path="body")
    name = body.get("name")
    errors = []
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 256:
        errors.append(FieldError("name", "is required (1-256 characters)"))
    with ctx.store.write() as db:
        errors += rules.check(body.get("segmentation_details"), "segmentation_details",
                              catalogue(db))
        if errors:
            raise ValidationFailed(f"{len(errors)} problem(s) in the segment", errors=errors)
        if table.by_name(db, name.strip()) is not None:
            raise Conflict(f"a segment named {name.strip()!r} exists", path="name")
        segment_id = table.insert(db, name.strip(), body["segmentation_details"],
                                  ctx.clock.now_ms())
        return _view(table.get(db, segment_id))


def all_(ctx: Context) -> list[dict]:
    with ctx.store.read() as db:
        return [_view(row) for row in table.all_(db)]


def get(ctx: Context, segment_id: int) -> dict:
    with ctx.store.read() as db:
        row = table.get(db, segment_id)
    if row is None:
        raise NotFound(f"no segment with id {segment_id}", path="segment_id")
    return _view(row)


def delete(ctx: Context, segment_id: int) -> dict:
    """Refused (409) while a live campaign or another saved segment names the segment: a
    campaign resolves its saved segments when it sends, and would otherwise reach nobody."""
    with ctx.store.write() as db:
        if table.get(db, segment_id) is None:
            raise NotFound(f"no segment with id {segment_id}", path="segment_id")
        users_of = [cid for cid, body in table.campaign_bodies_naming(db, LIVE_STATUSES)
                    if segment_id in rules.referenced_segments(
                        body.get("segmentation_details") or {})]
        users_of += [f"segment {row['id']}" for row in table.all_(db)
                     if segment_id in rules.referenced_segments(row["segmentation_details"])]
        if users_of:
            raise Conflict(f"segment {segment_id} is used by {', '.join(users_of)}",
                           path="segment_id")
        table.delete(db, segment_id)
    return {"id": segment_id, "deleted": True}
