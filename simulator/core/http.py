"""Plain data for one outbound HTTP exchange: what moesim sends to a partner endpoint and what
came back. Built by ``outbound`` (core), sent by ``simulator.transport``, judged by
``evaluation`` (core)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Outcome kinds of an exchange that produced no HTTP response.
TIMEOUT = "timeout"  # no whole response within the send timeout
CONNECTION_CLOSED = "connection_closed"  # the partner closed the connection before answering
CONNECTION_ERROR = "connection_error"  # refused, reset, DNS, TLS, a malformed response
INVALID_URL = "invalid_url"  # nothing could be put on the wire: bad URL, method or header


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    method: str
    url: str                                   # absolute, query string included
    headers: tuple[tuple[str, str], ...] = ()  # in order; names as rendered
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpResult:
    """``status`` is None when no response arrived; ``error`` then says why (``TIMEOUT``,
    ``CONNECTION_CLOSED``, ``CONNECTION_ERROR``, ``INVALID_URL``) and ``detail`` gives the
    message. ``body`` is the response's content (Content-Encoding undone), ``charset`` the one
    its Content-Type declares (a known codec), ``truncated`` whether the body went past the
    transport's cap (the first bytes are kept)."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased, in order
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None
    detail: str = ""
    charset: str | None = None
    truncated: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self) -> str:
        """The body as text: its declared charset, else UTF-8; bytes that do not decode are
        replaced."""
        return self.body.decode(self.charset or "utf-8", "replace")
