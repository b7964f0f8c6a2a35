"""The one place time is read.

Everything moesim stores or sends takes its timestamp from a ``Clock``. ``SystemClock`` is
the only code in the package that reads the wall clock; ``VirtualClock`` is the seam the
scheduling engine drives (frozen, moved only forward, on request).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from .errors import Conflict
from .timestamps import to_ms


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
