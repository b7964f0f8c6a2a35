"""Sending requests to partner endpoints: the only code in moesim that speaks HTTP outwards.

``Transport.send`` sends one ``OutboundRequest``; ``Transport.send_all`` streams many, a
bounded number in flight on connections of their own, and yields their ``HttpResult`` in input
order, all on the calling thread. A partner failing is an outcome, never an exception: no
response at all is ``status=None`` with ``error`` set to ``TIMEOUT``, ``CONNECTION_ERROR``
(refused, reset, DNS, TLS, a malformed or cut-short response) or ``INVALID_URL`` (nothing could
be put on the wire: a bad URL, scheme, method or header).

The HTTP/1.1 client is our own, over plain sockets, because the send path is the per-user hot
loop and it shares two cores with the app and the local sink. Measured on loopback, a bare
request/response loop costs ~35 us of CPU over a socket against ~130 us with ``http.client``
(its header parsing goes through ``email``). ``send_all`` used a pool of worker threads until
the hand-offs between them turned out to cost more than the HTTP: on the calling thread it
takes ~30 us of CPU a request, against ~50 with 4-16 threads (60k requests to the minimal
sink). Its scope is what a client needs and no more: one request at a time per connection
unless pipelining is asked for (``Transport(pipeline=N)``: N requests written before their
responses are read, ~9-10 us a request), keep-alive per (scheme, host, port), TCP_NODELAY, TLS
with the default verifying context, bodies framed by Content-Length, chunked or connection
close, interim 1xx answers skipped. A kept-alive connection the server closed while idle is
reopened once, transparently, when it fails before any response byte.

The parts: ``wire`` writes a request as bytes, ``connection`` exchanges them over one socket,
``pool`` holds ``Transport`` (kept-alive connections per caller, retries, ``send_all``).
"""

from .pool import MAX_BODY_BYTES, Transport

__all__ = ["MAX_BODY_BYTES", "Transport"]
