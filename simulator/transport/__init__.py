"""Sending requests to partner endpoints: the only code in moesim that speaks HTTP outwards.

``Transport`` sends ``OutboundRequest``s with aiohttp's client on an event loop in a thread of
its own; its callers are synchronous. A partner failing is an outcome, never an exception: no
response at all is ``status=None`` with ``error`` set (``core.http``).
"""

from .client import MAX_BODY_BYTES, USER_AGENT, Transport

__all__ = ["MAX_BODY_BYTES", "USER_AGENT", "Transport"]
