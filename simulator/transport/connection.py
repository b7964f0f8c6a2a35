"""One socket to one origin: write a request's bytes, read the HTTP/1.x response.

Bodies are framed by Content-Length, chunked or connection close; interim 1xx answers are
skipped; only the first ``cap`` body bytes are kept, the rest read and dropped. Every read and
write is bounded by the request's ``deadline`` (``time.perf_counter()``), past which it raises
``TimeoutError``.

Once connected, the socket is non-blocking: a read or write is tried first and waits (``poll``)
only when the socket is not ready. A socket with a timeout would ``poll`` before every call, and
``settimeout`` is a system call of its own: six calls a request instead of two.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import time

from ..core.http import Headers
from .wire import Wire

MAX_HEAD_BYTES = 64 * 1024
_READ_SIZE = 64 * 1024
_DIGITS = re.compile(r"[0-9]{1,18}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_BODYLESS_STATUSES = (204, 304)
_MAX_POLL_MS = 2 ** 31 - 1
# parsed response heads by their bytes, shared by every connection (restarted when full); each
# response with that head gets the same read-only ``Headers``
_PARSED_HEADS: dict[bytes, tuple[int, Headers, bool, int | None, bool]] = {}
_MAX_PARSED_HEADS, _MAX_CACHED_HEAD = 1024, 4096


def _head_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the blank line ending a response head starts and ends (``\\r?\\n\\r?\\n``, the
    first one), or None. Two ``bytes.find`` calls: a regular expression search cost ~4 us a
    response, most of the reading of a pipelined run."""
    crlf = buffer.find(b"\n\r\n")
    bare = buffer.find(b"\n\n", 0, len(buffer) if crlf < 0 else crlf + 1)
    if bare >= 0:
        first, end = bare, bare + 2
    elif crlf >= 0:
        first, end = crlf, crlf + 3
    else:
        return None
    return (first - 1 if first and buffer[first - 1] == 13 else first), end


class Stale(Exception):
    """A reused keep-alive connection was closed by the server before any response byte."""


class BadResponse(Exception):
    """What came back is not (a complete) HTTP/1.x response."""


def _remaining(deadline: float) -> float:
    left = deadline - time.perf_counter()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class Connection:
    """One socket to one origin: ``write`` puts requests' bytes on it, ``receive`` reads the
    response to each in turn (``again``: the same bytes answering the next ones)."""

    __slots__ = ("buffer", "previous", "reused", "sock")

    def __init__(self, origin: tuple[str, str, int], tls: ssl.SSLContext | None,
                 deadline: float):
        """``tls``: for an https origin."""
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=_remaining(deadline))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock.settimeout(_remaining(deadline))
                sock = tls.wrap_socket(sock, server_hostname=host)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.sock, self.buffer, self.reused = sock, b"", False
        # (buffer, end): the response ``receive`` just took whole off the buffer is
        # ``buffer[:end]``, for ``again``; None after one read any other way
        self.previous: tuple[bytes, int] | None = None

    def close(self) -> None:
        self.sock.close()

    def write(self, data: bytes, deadline: float) -> None:
        """Write request bytes; ``Stale`` if a reused socket turned out closed."""
        reused = self.reused
        self.reused = True
        _remaining(deadline)
        try:
            sent = self._io(self.sock.send, data, deadline, True)
            if sent < len(data):
                view = memoryview(data)
                while sent < len(data):
                    sent += self._io(self.sock.send, view[sent:], deadline, True)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            if reused:
                raise Stale() from None
            raise

    def _io(self, call, argument, deadline: float, writing: bool):
        """``call(argument)`` on the non-blocking socket, waiting for it to be ready as often
        as it is not. Past the deadline it is still tried once: what has already arrived
        counts (a sender reading its flights in turn reaches a response late when one ahead
        of it was slow)."""
        while True:
            try:
                return call(argument)
            except (BlockingIOError, InterruptedError):
                wait_write = writing
            except ssl.SSLWantReadError:
                wait_write = False
            except ssl.SSLWantWriteError:
                wait_write = True
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("timed out")
            poller = select.poll()
            poller.register(self.sock, select.POLLOUT if wait_write else select.POLLIN)
            # ms (a C int: a timeout of weeks waits in turns); ready, or the deadline passed
            poller.poll(min(max(1, int(left * 1000) + 1), _MAX_POLL_MS))

    def receive(self, wire: Wire, deadline: float, cap: int, reused: bool, more: bool = False):
        """The response to ``wire``: (status, headers, body, keep_alive). ``reused``: no byte
        has come back on this socket since it was last idle, so a close now is ``Stale``.
        ``more``: further responses are expected (pipelined), so bytes past this one are theirs."""
        buffer = self.buffer
        span = _head_end(buffer) if buffer else None
        if span is not None:  # the usual answer, already here whole: one slice, no reads
            known = _PARSED_HEADS.get(buffer[:span[0]])
            if known is not None and known[4] and not wire.close and wire.method != "HEAD":
                end = span[1] + known[3]
                if len(buffer) >= end:
                    self.buffer, self.previous = buffer[end:], (buffer, end)
                    return known[0], known[1], \
                        buffer[span[1]:min(end, span[1] + cap)], known[2] and (
                            more or not self.buffer)
        self.previous = None
        while True:
            status, headers, keep, length = self._read_head(deadline, reused)
            if status >= 200 or status == 101:
                break
            reused = False  # an interim 1xx: bytes arrived, so the socket was alive
        if (wire.method == "HEAD" or status < 200 or status in _BODYLESS_STATUSES):
            body = b""
        elif "transfer-encoding" in headers:
            if headers["transfer-encoding"].rsplit(",", 1)[-1].strip().lower() == "chunked":
                body = self._read_chunked(deadline, cap)
            else:
                body, keep = self._read_to_close(deadline, cap), False
        elif length is not None:
            if length < 0:
                raise BadResponse(f"invalid Content-Length {headers['content-length']!r}")
            body = self._read_exact(length, deadline, cap)
        else:
            body, keep = self._read_to_close(deadline, cap), False
        if self.buffer and not more or status == 101 or wire.close:
            keep = False  # bytes past the response, or a protocol switch: reuse is unsafe
        return status, headers, body, keep

    def again(self, items: list[tuple[int, Wire]]) -> int:
        """How many of ``items`` (the next requests of a pipelined run, in order) the response
        ``receive`` just answered from the buffer answers again: its very bytes are already
        here once for each (a server's usual answer to a run of alike requests). Those bytes
        are taken off the buffer. One comparison a response, instead of finding, slicing and
        looking up its head."""
        if self.previous is None:
            return 0
        previous, end = self.previous
        whole = previous[:end] if len(previous) > end else previous
        buffer, count, at = self.buffer, 0, 0
        for _, wire in items:
            if wire.close or wire.method == "HEAD" or not buffer.startswith(whole, at):
                break
            at += end
            count += 1
        if count:
            self.buffer = buffer[at:]
        return count

    def _recv(self, deadline: float) -> bytes:
        return self._io(self.sock.recv, _READ_SIZE, deadline, False)

    def _read_head(self, deadline: float, reused: bool):
        buffer = self.buffer
        while (span := _head_end(buffer)) is None:
            if len(buffer) > MAX_HEAD_BYTES:
                raise BadResponse(f"response head over {MAX_HEAD_BYTES} bytes")
            try:
                data = self._recv(deadline)
            except (ConnectionResetError, ConnectionAbortedError):
                if reused and not buffer:
                    raise Stale() from None
                raise
            if not data:
                if reused and not buffer:
                    raise Stale()
                raise BadResponse("connection closed before a complete response head")
            buffer += data
        self.buffer = buffer[span[1]:]
        raw = buffer[:span[0]]
        known = _PARSED_HEADS.get(raw)
        if known is not None:  # a server answers the same head again and again
            return known[0], known[1], known[2], known[3]
        status, headers, keep = _parse_head(raw)
        length = _content_length(headers)
        if len(raw) <= _MAX_CACHED_HEAD:
            if len(_PARSED_HEADS) >= _MAX_PARSED_HEADS:
                _PARSED_HEADS.clear()
            # the last item: an answer framed by its Content-Length alone (``receive``)
            _PARSED_HEADS[raw] = (status, headers, keep, length, (
                200 <= status and status not in _BODYLESS_STATUSES and length is not None
                and length >= 0 and "transfer-encoding" not in headers))
        return status, headers, keep, length

    def _read_exact(self, size: int, deadline: float, cap: int) -> bytes:
        """``size`` bytes off the connection, of which the first ``cap`` are returned."""
        buffer = self.buffer
        if len(buffer) >= size:
            self.buffer = buffer[size:]
            return buffer[:min(size, cap)]
        kept, stored, left = [buffer[:cap]], min(len(buffer), cap), size - len(buffer)
        self.buffer = b""
        while left:
            data = self._recv(deadline)
            if not data:
                raise BadResponse(f"connection closed {left} bytes before the body's end")
            if len(data) > left:
                data, self.buffer = data[:left], data[left:]
            left -= len(data)
            if stored < cap:
                kept.append(data[:cap - stored])
                stored += len(kept[-1])
        return b"".join(kept)

    def _read_line(self, deadline: float) -> bytes:
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise BadResponse("chunked body line too long")
            data = self._recv(deadline)
            if not data:
                raise BadResponse("connection closed inside a chunked body")
            self.buffer += data
        line, self.buffer = self.buffer[:end], self.buffer[end + 1:]
        return line.rstrip(b"\r")

    def _read_chunked(self, deadline: float, cap: int) -> bytes:
        kept, stored = [], 0
        while True:
            size_text = self._read_line(deadline).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise BadResponse(f"malformed chunk size {size_text[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                break
            kept.append(self._read_exact(size, deadline, cap - stored))
            stored += len(kept[-1])
            if self._read_line(deadline):
                raise BadResponse("chunk not followed by CRLF")
        while self._read_line(deadline):
            pass  # trailer fields, ignored
        return b"".join(kept)

    def _read_to_close(self, deadline: float, cap: int) -> bytes:
        kept, stored = [self.buffer[:cap]], min(len(self.buffer), cap)
        self.buffer = b""
        while data := self._recv(deadline):
            if stored < cap:
                kept.append(data[:cap - stored])
                stored += len(kept[-1])
        return b"".join(kept)


def _content_length(headers: dict[str, str]) -> int | None:
    """The body length a Content-Length header gives (repeats of one value allowed), None
    without one, -1 when it is invalid (an error only if the body is framed by it)."""
    if "content-length" not in headers:
        return None
    lengths = {v.strip() for v in headers["content-length"].split(",")}
    length = lengths.pop() if len(lengths) == 1 else ""
    return int(length) if _DIGITS.fullmatch(length) else -1


def _parse_head(raw: bytes) -> tuple[int, Headers, bool]:
    """A response head (status line and header lines): (status, headers, keep-alive)."""
    lines = raw.decode("latin-1").split("\n")
    version, _, rest = lines[0].rstrip("\r").partition(" ")
    code = rest[:3]
    if not (version.startswith("HTTP/1.") and _DIGITS.fullmatch(code) and len(code) == 3
            and rest[3:4] in ("", " ")):
        raise BadResponse(f"not an HTTP/1.x status line: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    name = None
    for line in lines[1:]:
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and name:  # obsolete line folding
            headers[name] = f"{headers[name]} {line.strip()}"
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise BadResponse(f"malformed response header line {line[:100]!r}")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    connection = headers.get("connection", "").lower()
    keep = ("keep-alive" in connection if version == "HTTP/1.0"
            else "close" not in connection)
    return int(code), Headers(headers), keep
