"""Identifier sources: deterministic, and unique within a database and across workspaces.

An id is a hash of ``(seed, workspace, epoch, kind, n)``: ``n`` counts the ids of that kind
this process has made, ``epoch`` is a number the database hands out once per start (and per
snapshot restore), and the workspace id keeps two workspaces' sequences apart. A new database
with the same seed and workspace starts at epoch 1, so it makes the same ids in the same order
(runs repeat); a restarted server is at a later epoch, so it never repeats an id it made
before. Nothing here reads a random source.
"""

from __future__ import annotations

import hashlib
import itertools
import threading


class IdSource:
    def __init__(self, seed: int, scope: str = "", epoch: int = 0):
        self._prefix = f"{seed}:{scope}:"
        self._lock = threading.Lock()
        self.restart(epoch)

    def restart(self, epoch: int) -> None:
        """Continue at ``epoch`` (a new one from the database): the counters start again."""
        with self._lock:
            self.epoch = epoch
            self._counters: dict[str, itertools.count] = {}

    def _next(self, kind: str, digits: int) -> str:
        with self._lock:
            counter = self._counters.setdefault(kind, itertools.count(1))
            text = f"{self._prefix}{self.epoch}:{kind}:{next(counter)}"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:digits]

    def campaign_id(self) -> str:
        """24 hex digits, the shape of MoEngage's campaign ids."""
        return self._next("campaign", 24)

    def oauth_state(self) -> str:
        """The opaque ``state`` of an OAuth authorization request."""
        return self._next("oauth_state", 32)

    def request_id(self) -> str:
        """A MoEngage-style ``request_id`` for Data API answers."""
        return "moesim-" + self._next("request", 24)
