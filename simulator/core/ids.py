"""Identifier sources. Seeded, so a run with the same seed produces the same ids."""

from __future__ import annotations

import random
import threading


class IdSource:
    def __init__(self, seed: int):
        self._random = random.Random(f"ids:{seed}")
        self._lock = threading.Lock()

    def campaign_id(self) -> str:
        """24 hex digits, the shape of MoEngage's campaign ids."""
        with self._lock:
            return "".join(self._random.choice("0123456789abcdef") for _ in range(24))

    def oauth_state(self) -> str:
        """The opaque ``state`` of an OAuth authorization request."""
        with self._lock:
            return "".join(self._random.choice("0123456789abcdef") for _ in range(32))

    def request_id(self) -> str:
        """A MoEngage-style ``request_id`` for Data API answers."""
        with self._lock:
            return "moesim-" + "".join(self._random.choice("0123456789abcdef") for _ in range(24))
