"""Plain data for one outbound HTTP exchange: what moesim sends to a partner endpoint and what
came back. Built by ``outbound`` (core), sent by ``simulator.transport``, judged by
``evaluation`` (core)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Outcome kinds of an exchange that produced no HTTP response.
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"
INVALID_URL = "invalid_url"


class Headers(dict):
    """A response's headers, names lower-cased. Read-only: the transport hands one object to
    every response with the same head (no copy per response), so a change would reach them all."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("response headers are read-only (identical heads share them)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = \
        _read_only

    def __reduce__(self):
        return Headers, (dict(self),)


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, which
# cost ~0.5 us per object on the send path (one request and one result per user). Treat both
# as immutable all the same: the transport keeps a request's bytes on it (``wire``), and gives
# identical responses read together one shared result. Other content is another object.
@dataclass(slots=True)
class OutboundRequest:
    method: str
    url: str                                   # absolute, query string included
    headers: tuple[tuple[str, str], ...] = ()  # in order; names as rendered
    body: bytes | None = None
    # the transport's bytes for it, made at its first send (``transport.wire.to_wire``); not
    # part of its value, and not copied by ``dataclasses.replace``
    wire: Any = field(default=None, init=False, repr=False, compare=False)


@dataclass(slots=True)
class HttpResult:
    """``status`` is None when no response arrived; ``error`` then says why (``TIMEOUT``,
    ``CONNECTION_ERROR``, ``INVALID_URL``) and ``detail`` gives the message."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # from a response: ``Headers``
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None
    detail: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())
