"""The capture sink: what it answers, and what it records.

A sink stands in for a partner endpoint. Its behaviour (status, body, headers, delay,
injected failures) is set by a PUT; each request it receives is numbered (``seq``) and
recorded with the answer it got. ``fail_rate`` draws are seeded by ``(seed, sink, seq)``,
so the n-th request to a sink fails or not the same way on every run.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field, replace
from typing import Any

from . import json_input
from .errors import FieldError, ValidationFailed

DEFAULT_BODY: Any = {"status": "success"}
MAX_DELAY_MS = 120_000


@dataclass(frozen=True)
class SinkBehaviour:
    status: int = 200
    body: Any = field(default_factory=lambda: DEFAULT_BODY)
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    fail_next_count: int = 0
    fail_next_status: int = 500
    fail_rate: float = 0.0
    fail_rate_status: int = 500

    @classmethod
    def parse(cls, payload: Any) -> "SinkBehaviour":
        """A PUT body; every problem is reported, each with its JSON path."""
        if not isinstance(payload, dict):
            raise ValidationFailed("sink behaviour must be a JSON object", path="body")
        errors: list[FieldError] = []
        known = {"status", "body", "headers", "delay_ms", "fail_next", "fail_rate"}
        errors += [FieldError(k, "unknown field") for k in payload if k not in known]
        values: dict[str, Any] = {}
        if "status" in payload:
            values["status"] = _status(payload["status"], "status", errors)
        if "body" in payload:
            values["body"] = payload["body"]
        if "headers" in payload:
            headers = payload["headers"]
            if not isinstance(headers, dict) or not all(
                    isinstance(v, str) for v in headers.values()):
                errors.append(FieldError("headers", "must be an object of string values"))
            else:
                values["headers"] = dict(headers)
        if "delay_ms" in payload:
            delay = payload["delay_ms"]
            if isinstance(delay, bool) or not isinstance(delay, int) or not (
                    0 <= delay <= MAX_DELAY_MS):
                errors.append(FieldError("delay_ms", f"must be an integer 0-{MAX_DELAY_MS}"))
            else:
                values["delay_ms"] = delay
        _failure_rule(payload, "fail_next", "count", "an integer >= 0",
                      lambda v: isinstance(v, int) and v >= 0, values, errors)
        _failure_rule(payload, "fail_rate", "rate", "a number from 0 to 1",
                      lambda v: isinstance(v, (int, float)) and 0 <= v <= 1, values, errors)
        if errors:
            raise ValidationFailed("invalid sink behaviour", errors=errors)
        return replace(cls(), **values)

    def as_dict(self) -> dict:
        return {
            "status": self.status, "body": self.body, "headers": self.headers,
            "delay_ms": self.delay_ms,
            "fail_next": {"count": self.fail_next_count, "status": self.fail_next_status},
            "fail_rate": {"rate": self.fail_rate, "status": self.fail_rate_status},
        }

    @classmethod
    def from_dict(cls, stored: dict) -> "SinkBehaviour":
        return cls.parse(stored) if stored else cls()


def _failure_rule(payload: dict, name: str, amount: str, expected: str, valid,
                  values: dict, errors: list[FieldError]) -> None:
    """``fail_next: {count, status}`` and ``fail_rate: {rate, status}``."""
    rule = payload.get(name)
    if rule is None:
        return
    if not isinstance(rule, dict):
        errors.append(FieldError(name, f"must be an object {{{amount}, status}}"))
        return
    value = rule.get(amount)
    if isinstance(value, bool) or not valid(value):
        errors.append(FieldError(f"{name}.{amount}", f"must be {expected}"))
    else:
        values[name if name == "fail_rate" else f"{name}_{amount}"] = value
    values[f"{name}_status"] = _status(rule.get("status", 500), f"{name}.status", errors)


def _status(value: Any, path: str, errors: list[FieldError]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        errors.append(FieldError(path, "must be an HTTP status code 100-599"))
        return 500
    return value


@dataclass(frozen=True)
class SinkState:
    behaviour: SinkBehaviour = field(default_factory=SinkBehaviour)
    served: int = 0
    fail_next_left: int = 0


@dataclass(frozen=True)
class SinkAnswer:
    seq: int
    status: int
    body: bytes
    headers: dict[str, str]
    delay_ms: int
    injected: str | None  # "fail_next", "fail_rate" or None


def configure(behaviour: SinkBehaviour, state: SinkState) -> SinkState:
    """A PUT replaces the behaviour and re-arms ``fail_next``; the request count stays."""
    return SinkState(behaviour, state.served, behaviour.fail_next_count)


def answer(state: SinkState, name: str, seed: int) -> tuple[SinkAnswer, SinkState]:
    """The answer to the next request, and the state after it."""
    behaviour = state.behaviour
    seq = state.served + 1
    fail_next_left = state.fail_next_left
    injected, status, body = None, behaviour.status, behaviour.body
    if fail_next_left > 0:
        injected, status, fail_next_left = "fail_next", behaviour.fail_next_status, \
            fail_next_left - 1
    elif behaviour.fail_rate > 0 and random.Random(f"{seed}:{name}:{seq}").random() < \
            behaviour.fail_rate:
        injected, status = "fail_rate", behaviour.fail_rate_status
    if injected:
        body = {"status": "fail", "error": f"moesim sink: injected failure ({injected})"}
    payload, content_type = _encode(body)
    headers = {"Content-Type": content_type, **behaviour.headers}
    return (SinkAnswer(seq, status, payload, headers, behaviour.delay_ms, injected),
            SinkState(behaviour, seq, fail_next_left))


def _encode(body: Any) -> tuple[bytes, str]:
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def record(request: ReceivedRequest, reply: SinkAnswer, now_iso: str) -> dict:
    """The JSON form of a recorded request, as ``GET /_sim/sinks/<name>`` lists it."""
    try:
        text, encoding = request.body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(request.body).decode(), "base64"
    parsed = None
    if encoding == "utf-8" and text:
        try:
            parsed = json_input.decode(text)
        except json_input.MalformedJson:
            parsed = None
    return {
        "seq": reply.seq, "time": now_iso, "method": request.method, "path": request.path,
        "query": request.query, "headers": request.headers, "body": text,
        "body_encoding": encoding, "json": parsed, "response_status": reply.status,
        "injected_failure": reply.injected,
    }
