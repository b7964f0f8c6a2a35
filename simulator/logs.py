"""The server's console (an edge): quiet by default, one access line per request, colour on a
terminal, one JSON object per line with ``--log-format json`` (for CI).

Lines go to stderr; the start banner goes to stdout. APScheduler's per-tick lines ("Running
job Ticker._tick ...") are held at WARNING: the engine logs one line per campaign run instead.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from typing import Callable, TextIO

import click

FORMATS = ("text", "json")
ACCESS = "moesim.access"
# chatty libraries, and moesim.delivery, whose per-send summary the engine's run line repeats
_QUIET = ("apscheduler", "werkzeug", "cheroot", "moesim.delivery")
_LEVEL_COLOURS = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "red", "DEBUG": "bright_black"}


def _status_colour(status: int) -> str:
    return "green" if status < 300 else "cyan" if status < 400 else "yellow" \
        if status < 500 else "red"


class TextFormatter(logging.Formatter):
    """``12:00:01 POST /v1/event/W 200 3.1 ms``; other lines ``time LEVEL logger: message``."""

    def __init__(self, colour: bool):
        super().__init__()
        self.colour = colour

    def _paint(self, text: str, **style) -> str:
        return click.style(text, **style) if self.colour else text

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        if record.name == ACCESS and hasattr(record, "status"):
            return (f"{self._paint(stamp, dim=True)} {record.method} {record.path} "
                    f"{self._paint(str(record.status), fg=_status_colour(record.status))} "
                    f"{record.ms:.1f} ms")
        level = record.levelname
        if level in _LEVEL_COLOURS:
            level = self._paint(level, fg=_LEVEL_COLOURS[level])
        line = f"{self._paint(stamp, dim=True)} {level} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO, UTC), ``level``, ``logger``, ``message``, and
    for access lines ``method``, ``path``, ``status``, ``ms``."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc)
                .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure(level: str, fmt: str = "text", colour: bool | None = None,
              stream: TextIO | None = None) -> None:
    """The root handler of ``moesim serve``; ``colour`` defaults to "stream is a terminal"."""
    stream = stream or sys.stderr
    if colour is None:
        colour = stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(colour))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


class AccessLog:
    """WSGI middleware: one line per request (method, path without the query, status, ms) on
    ``moesim.access``, logged when the response has been sent."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app
        self.log = logging.getLogger(ACCESS)

    def __call__(self, environ, start_response):
        if not self.log.isEnabledFor(logging.INFO):
            return self.wsgi_app(environ, start_response)
        return self._logged(environ, start_response)

    def _logged(self, environ, start_response):
        began = time.perf_counter()
        status = [0]

        def remember(status_line, headers, exc_info=None):
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        body = self.wsgi_app(environ, remember)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            # no query string: an OAuth callback's carries a code
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            self.log.info("%s %s %s", environ.get("REQUEST_METHOD"), path, status[0],
                          extra={"method": environ.get("REQUEST_METHOD"), "path": path,
                                 "status": status[0],
                                 "ms": round((time.perf_counter() - began) * 1000, 1)})
