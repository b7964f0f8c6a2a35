"""Storing Data API changes: user updates and events, applied in the order given.

Every entry point (the Data API, ``moesim import``, fixtures) goes through ``IngestSession``
inside one write transaction, so a request or a file is stored whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from ..core.errors import BadRequest
from ..core.timestamps import iso
from ..core.tracking import TrackedEvent, UserChange, array_type_problem
from ..store import attribute_types, events, users
from .context import Context

if TYPE_CHECKING:  # the handle comes from Store.write(); services never open one
    from sqlite_utils import Database

@dataclass
class IngestResult:
    users_created: int = 0
    users_updated: int = 0
    users_skipped: int = 0
    events: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class IngestSession:
    """Applies changes within one open write transaction, remembering user ids between
    calls so a large import resolves each customer once."""

    def __init__(self, db: "Database", now_ms: int,
                 reject: Callable[[BadRequest], None] | None = None):
        """``reject``: told about a change refused when it is applied (an array operator on a
        non-array attribute), which is then skipped; without it the refusal is raised."""
        self.db = db
        self.now_ms = now_ms
        self.result = IngestResult()
        self._ids: dict[str, int] = {}
        self._reject = reject
        self._user_types: dict[str, str] | None = None

    def add(self, items: Iterable[UserChange | TrackedEvent]) -> None:
        """User changes and events, applied in the order given."""
        items = list(items)
        pending_ids = {item.customer_id for item in items if item.customer_id not in self._ids}
        profiles: dict[str, dict] = {}
        for cid, (row_id, attrs) in users.find(self.db, pending_ids).items():
            self._ids[cid] = row_id
            profiles[cid] = attrs
        created: dict[str, dict] = {}
        updated: set[str] = set()
        event_rows = []
        catalogue: dict[tuple[str, str, str], str] = {}
        event_types: dict[str, dict[str, str]] = {}  # event name -> its keys' first types
        for item in items:
            cid = item.customer_id
            if type(item) is TrackedEvent:
                if cid not in self._ids and cid not in created:
                    created[cid] = self._with_first_seen({})
                event_rows.append(item.row())
                known = event_types.setdefault(item.name, {})
                if not item.types.keys() <= known.keys():
                    for key, kind in item.types.items():
                        known.setdefault(key, kind)
                continue
            if item.add_to_arrays or item.remove_from_arrays:
                problem = self._array_problem(item, catalogue)
                if problem is not None:
                    if self._reject is None:
                        raise problem
                    self._reject(problem)
                    continue
            known = cid in self._ids or cid in created
            if not known and item.update_existing_only:
                self.result.users_skipped += 1
                continue
            if cid in created:
                created[cid] = item.apply_to(created[cid])
            else:
                if cid not in self._ids:
                    created[cid] = self._with_first_seen(item.apply_to({}))
                else:
                    if cid not in profiles:
                        profiles.update((c, a) for c, (_, a) in users.find(self.db, [cid]).items())
                    profiles[cid] = item.apply_to(profiles[cid])
                    updated.add(cid)
            for key, kind in item.types.items():
                catalogue.setdefault((attribute_types.USER, "", key), kind)
            for key in item.add_to_arrays:
                catalogue.setdefault((attribute_types.USER, "", key), "array")
        catalogue.update(((attribute_types.EVENT, name, key), kind)
                         for name, known in event_types.items() for key, kind in known.items())
        if catalogue:
            attribute_types.register(self.db, [(*k, t) for k, t in catalogue.items()])
            if self._user_types is not None:
                for (entity, _, key), kind in catalogue.items():
                    if entity == attribute_types.USER:
                        self._user_types.setdefault(key, kind)
        if created:
            self._ids.update(users.insert(self.db, list(created.items()), self.now_ms))
            self.result.users_created += len(created)
        if updated:
            users.update(self.db, [(self._ids[c], profiles[c]) for c in updated], self.now_ms)
            self.result.users_updated += len(updated)
        if event_rows:
            # TrackedEvent.row() form with the user's row id in place of the customer id
            customer_ids, *columns = zip(*event_rows)
            events.insert(self.db, list(zip(map(self._ids.__getitem__, customer_ids), *columns)),
                          self.now_ms)
            self.result.events += len(event_rows)

    def _array_problem(self, item: UserChange, catalogue: dict) -> BadRequest | None:
        if self._user_types is None:
            self._user_types = attribute_types.of(self.db, attribute_types.USER)
        return array_type_problem(item, lambda key: self._user_types.get(key) or catalogue.get(
            (attribute_types.USER, "", key)))

    def _with_first_seen(self, profile: dict) -> dict:
        # "First Seen: the time when the user is created in the MoEngage systems", unless
        # the creating Track User call gives it (data.yaml: cr_t can be created via the API).
        profile.setdefault("cr_t", iso(self.now_ms))
        return profile


def apply(ctx: Context, items: Iterable[UserChange | TrackedEvent],
          reject: Callable[[BadRequest], None] | None = None) -> IngestResult:
    """``reject``: see ``IngestSession``; without it a refused change refuses them all."""
    with ctx.store.write() as db:
        session = IngestSession(db, ctx.clock.now_ms(), reject)
        session.add(items)
        return session.result
