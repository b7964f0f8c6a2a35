"""The one place time is read.

Everything moesim stores or sends takes its timestamp from a ``Clock``. ``SystemClock`` is
the only code in the package that reads the wall clock; ``VirtualClock`` is the seam the
scheduling engine drives (frozen, moved only forward, on request).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from .errors import BadRequest, Conflict
from .timestamps import to_ms

# The clock never passes this: Python's datetimes end at year 9999 and the engine computes
# times ahead of "now" (next fire times, windows), which must stay representable.
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)


def check_bounds(when: datetime, path: str) -> datetime:
    """``when`` if the clock may go there, else a 400 naming ``path``."""
    if when > LATEST:
        raise BadRequest(f"the clock cannot go past {LATEST.isoformat()}", path=path)
    return when


class Clock:
    mode = "abstract"

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        raise NotImplementedError

    def now_ms(self) -> int:
        return to_ms(self.now())


class SystemClock(Clock):
    mode = "system"

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class VirtualClock(Clock):
    """A clock that stands still until moved, and never moves backwards."""

    mode = "virtual"

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> datetime:
        with self._lock:
            when = when.astimezone(timezone.utc)
            if when < self._now:
                raise Conflict(f"time never goes backwards: {when.isoformat()} is before "
                               f"{self._now.isoformat()}", path="now")
            self._now = when
            return self._now


SYSTEM, VIRTUAL = "system", "virtual"


class SimClock(Clock):
    """The simulator's clock: system time, or a virtual time that stands still until advanced.
    Switching never moves time backwards (``Conflict``, HTTP 409)."""

    def __init__(self, mode: str = SYSTEM, virtual_now: datetime | None = None,
                 system: Clock | None = None):
        self._system = system or SystemClock()
        self._lock = threading.Lock()
        self.mode = SYSTEM
        self._virtual: datetime | None = None
        if mode == VIRTUAL:
            self._virtual = (virtual_now or self._system.now()).astimezone(timezone.utc)
            self.mode = VIRTUAL

    def now(self) -> datetime:
        virtual = self._virtual
        return virtual if virtual is not None else self._system.now()

    def freeze(self, when: datetime | None = None) -> datetime:
        """Virtual mode at ``when`` (default: now)."""
        with self._lock:
            current = self.now()
            when = current if when is None else check_bounds(when.astimezone(timezone.utc),
                                                             "now")
            if when < current:
                raise Conflict(f"time never goes backwards: {when.isoformat()} is before "
                               f"{current.isoformat()}", path="now")
            self._virtual, self.mode = when, VIRTUAL
            return when

    def unfreeze(self) -> datetime:
        """Back to system time; refused while the virtual time is ahead of it."""
        with self._lock:
            real = self._system.now()
            if self._virtual is not None and self._virtual > real:
                raise Conflict(f"time never goes backwards: the virtual time "
                               f"{self._virtual.isoformat()} is ahead of the system time",
                               path="mode")
            self._virtual, self.mode = None, SYSTEM
            return real

    def set(self, when: datetime) -> datetime:
        """Move the virtual time forward to ``when`` (the engine steps through due work)."""
        if self.mode != VIRTUAL:
            raise Conflict("the clock is not virtual", path="mode")
        return self.freeze(when)

    def restore(self, mode: str, virtual_now: datetime | None) -> None:
        """Reset only: the clock goes back with the data to the state the server started in."""
        with self._lock:
            self.mode = mode
            self._virtual = virtual_now.astimezone(timezone.utc) if mode == VIRTUAL else None
