"""The server's console (simulator/logs.py): access lines, colour only where asked, JSON lines,
quiet libraries."""

import io
import json
import logging

import pytest

from simulator import logs


def _access(status: int = 201):
    return logging.LogRecord(logs.ACCESS, logging.INFO, __file__, 1, "%s %s %s",
                             ("POST", "/api/campaigns", status), None)


def _with(record, **fields):
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def test_text_access_line_is_method_path_status_ms_coloured_only_on_request():
    record = _with(_access(), method="POST", path="/api/campaigns", status=503, ms=3.14)
    plain = logs.TextFormatter(colour=False).format(record)
    assert plain.endswith(" POST /api/campaigns 503 3.1 ms") and "\x1b[" not in plain
    coloured = logs.TextFormatter(colour=True).format(record)
    assert "\x1b[31m503\x1b[0m" in coloured  # 5xx in red


def test_json_lines_carry_the_access_fields():
    record = _with(_access(), method="POST", path="/api/campaigns", status=201, ms=2.0)
    line = json.loads(logs.JsonFormatter().format(record))
    assert {k: line[k] for k in ("level", "logger", "method", "path", "status", "ms")} == {
        "level": "INFO", "logger": "moesim.access", "method": "POST",
        "path": "/api/campaigns", "status": 201, "ms": 2.0}
    assert line["time"].endswith("Z") and line["message"] == "POST /api/campaigns 201"


@pytest.fixture
def console():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    logs.configure("info", "text", stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name in ("apscheduler", "werkzeug", "cheroot", "moesim.delivery"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_scheduler_ticks_are_quiet_and_access_lines_omit_the_query(console):
    logging.getLogger("apscheduler.executors.default").info('Running job "Ticker._tick"')

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"ok"]

    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "QUERY_STRING": "code=secret",
               "PATH_INFO": "/v3/partner/oauth/callback"}
    assert b"".join(logs.AccessLog(app)(environ, lambda *a: None)) == b"ok"
    text = console.getvalue()
    assert "Running job" not in text
    assert " GET /v3/partner/oauth/callback 200 " in text and "secret" not in text
