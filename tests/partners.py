"""Partner endpoints for the send-path tests: a raw HTTP/1.1 server whose every answer is
scripted byte for byte (``RawPartner``), and real server stacks started in a thread of the
test (uvicorn + FastAPI, aiohttp.web). All bind 127.0.0.1 on a free port."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from dataclasses import dataclass
from typing import Callable

HANG = "hang"  # never answer; keep the connection open
CLOSE = "close"  # close the connection without answering

_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*([0-9]+)")


@dataclass
class Received:
    method: str
    target: str
    head: bytes
    body: bytes
    connection: int  # which connection, counted from 1
    index: int  # its place on that connection, from 1

    @property
    def user(self) -> str | None:
        try:
            return json.loads(self.body).get("user")
        except (ValueError, AttributeError):
            return None


def response(status: int = 200, body: bytes = b'{"status": "ok"}', *,
             headers: tuple[str, ...] = ("Content-Type: application/json",),
             reason: str = "OK") -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class RawPartner:
    """``answer(request)`` gives the bytes to write (and, ending with ``Connection: close`` in
    them, the connection is closed after), or ``HANG`` or ``CLOSE``. ``idle_408_after``: a
    connection idle that long after an answer gets ``408 Request Timeout`` and is closed, as
    RFC 9110 allows (``idle_408s`` counts them)."""

    def __init__(self, answer: Callable[[Received], bytes | str],
                 idle_408_after: float | None = None):
        self.answer, self.idle_408_after = answer, idle_408_after
        self.requests: list[Received] = []
        self.idle_408s = 0
        self._connections = 0
        self._loop = asyncio.new_event_loop()
        self._hanging: list[asyncio.StreamWriter] = []
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def per_user(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.requests:
            counts[request.user] = counts.get(request.user, 0) + 1
        return counts

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._thread.join(10)

    async def _stop(self) -> None:
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
        self._loop.call_soon(self._loop.stop)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()
        server.close()
        for writer in self._hanging:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        connection, index, idle = self._connections, 0, None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                if idle is not None:
                    idle.cancel()
                length = _LENGTH.search(head)
                body = await reader.readexactly(int(length.group(1))) if length else b""
                index += 1
                method, target = head.split(b" ", 2)[:2]
                received = Received(method.decode(), target.decode(), head, body, connection,
                                    index)
                self.requests.append(received)
                reply = self.answer(received)
                if reply == HANG:
                    self._hanging.append(writer)
                    await asyncio.sleep(3600)
                    return
                if reply == CLOSE:
                    writer.close()
                    return
                writer.write(reply)
                await writer.drain()
                if b"connection: close" in reply.lower().split(b"\r\n\r\n")[0]:
                    writer.close()
                    return
                if self.idle_408_after is not None:
                    idle = asyncio.get_running_loop().call_later(
                        self.idle_408_after, self._time_out, writer)
        except ConnectionError:
            return

    def _time_out(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                     b"Content-Length: 0\r\n\r\n")
        writer.close()
        self.idle_408s += 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
