"""Writing an ``OutboundRequest`` as HTTP/1.1 bytes: the request line, headers and body.

The URL's scheme://[user@]host[:port] part is parsed once per transport (``origins`` is the
caller's cache); a request that cannot be written as given raises ``Unsendable`` (INVALID_URL).
Framing headers are ours; Host and Authorization (from user:password@) are added when absent.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ..core.http import OutboundRequest

MAX_CACHED_ORIGINS = 1024  # parsed scheme://host:port prefixes; the cache restarts when full
MAX_CACHED_HEADS = 1024  # request heads by (method, url, headers); restarts when full
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f]")
_ABSOLUTE_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)(.*)", re.DOTALL)
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # quote() only the non-ASCII; existing escapes stay
_FRAMING_HEADERS = ("content-length", "transfer-encoding")


class Unsendable(Exception):
    """The request cannot be written as given (INVALID_URL)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """The scheme://[user@]host[:port] part of a URL, parsed once and cached per transport."""

    key: tuple[str, str, int]  # scheme, host, port: the keep-alive key
    host_header: str
    authorization: str | None  # from user:password@ in the URL


@dataclass(slots=True)  # not frozen, as OutboundRequest (core/http.py)
class Wire:
    """A request ready to write: where to, and the bytes (head and body)."""

    origin: tuple[str, str, int]
    data: bytes
    method: str
    close: bool  # the caller asked for "Connection: close"


def _parse_origin(text: str) -> Origin:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise Unsendable(f"{exc}: {text[:200]!r}") from None
    scheme, host = parts.scheme, parts.hostname
    if scheme not in _DEFAULT_PORTS:
        raise Unsendable(f"URL scheme must be http or https: {text[:200]!r}")
    if not host:
        raise Unsendable(f"URL has no host: {text[:200]!r}")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise Unsendable(f"URL host is not a valid domain name: {host!r}") from None
    if port == 0:
        raise Unsendable(f"URL port must be 1-65535: {text[:200]!r}")
    port = port or _DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    authorization = None
    if parts.username is not None:  # http://user:pass@host, as browsers do
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = f"Basic {base64.b64encode(token).decode()}"
    return Origin((scheme, host, port),
                  shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}", authorization)


def to_wire(request: OutboundRequest, origins: dict[str, Origin],
            heads: dict[tuple, tuple] | None = None) -> Wire:
    """``heads``: the caller's cache of request heads by (method, url, headers); a campaign
    sends the same head to every user, only the body (and its length) differs. The wire is
    kept on the request (``OutboundRequest.wire``): a request sent again (a periodic
    campaign's unchanged user, a retry) is not written out again."""
    wire = request.wire
    if wire is not None:
        return wire
    key = (request.method, request.url, request.headers)
    try:
        known = heads.get(key) if heads is not None else None
    except TypeError:  # headers given as lists: not cached
        known, heads = None, None
    if known is None:
        known = _head(request, origins)
        if heads is not None:
            if len(heads) >= MAX_CACHED_HEADS:
                heads.clear()
            heads[key] = known
    origin, head, has_length, close = known
    body = request.body
    if has_length or body is not None:
        head += b"Content-Length: %d\r\n\r\n" % len(body or b"")
        if body:
            head += body
    else:
        head += b"\r\n"
    wire = request.wire = Wire(origin, head, request.method, close)
    return wire


def _head(request: OutboundRequest, origins: dict[str, Origin]) -> tuple:
    """(origin, head bytes up to the framing headers, Content-Length always, close)."""
    url, method = request.url, request.method
    if _UNSAFE_IN_URL.search(url):
        raise Unsendable(f"URL contains whitespace or control characters: {url[:200]!r}")
    split = _ABSOLUTE_URL.fullmatch(url)
    if split is None:
        raise Unsendable(f"URL must be absolute, http(s)://host/...: {url[:200]!r}")
    origin_text, target = split.groups()
    origin = origins.get(origin_text)
    if origin is None:
        if len(origins) >= MAX_CACHED_ORIGINS:
            origins.clear()
        origin = origins[origin_text] = _parse_origin(origin_text)
    target = target.partition("#")[0]
    if not target.startswith("/"):
        target = "/" + target  # "" or "?query"
    if not target.isascii():
        target = quote(target, safe=_URL_SAFE)
    if not _TOKEN.fullmatch(method):
        raise Unsendable(f"invalid HTTP method {method!r}")
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    has_host = has_auth = close = False
    for name, value in request.headers:
        lowered = name.lower()
        if lowered in _FRAMING_HEADERS:
            continue  # framing is ours: it must match the bytes we send
        if not _TOKEN.fullmatch(name):
            raise Unsendable(f"invalid header name {name!r}")
        if "\r" in value or "\n" in value or "\0" in value:
            raise Unsendable(f"header {name} contains CR, LF or NUL")
        if lowered == "host":
            has_host = True
        elif lowered == "authorization":
            has_auth = True
        elif lowered == "connection" and "close" in value.lower():
            close = True
        lines.append(f"{name}: {value}\r\n")
    if not has_host:
        lines.insert(1, f"Host: {origin.host_header}\r\n")
    if origin.authorization and not has_auth:
        lines.append(f"Authorization: {origin.authorization}\r\n")
    text = "".join(lines)
    try:
        head = text.encode("latin-1")  # what servers decode header values as
    except UnicodeEncodeError:
        head = text.encode("utf-8")
    return origin.key, head, method in ("POST", "PUT", "PATCH"), close
