"""Bounds of one template render: output size, loop iterations, time (issue 19 item 3).

A template is partner- or marketer-written code run once per user. Past any bound the render
stops with ``TemplateLimit`` and the user fails with the personalization category
``TEMPLATE_LIMIT_FAILED`` [I: MoEngage documents no such limits]. Operations that would build a
huge value in one C-level step (``'x' * 10**9``, ``2 ** 10**9``, ``'x'.center(10**9)``,
``'{:>999999999}'.format(1)``) are refused before they run, so a render never allocates past
the output bound and the interpreter keeps switching threads (the server stays responsive).

Time is a budget measured with ``time.monotonic`` (elapsed time, not a timestamp: no clock of
the simulator is involved).
"""

from __future__ import annotations

import operator
import re
import threading
import time
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT_CHARS = 1_000_000     # one rendered text (a body, a header, a campaign field)
MAX_LOOP_ITERATIONS = 100_000    # range() items drawn in one render, nested loops included
MAX_RENDER_S = 1.0               # elapsed time of one render
MAX_EXPONENT_BITS = 64 * 1024    # an integer power's result size
TEMPLATE_LIMIT_FAILED = "Template Limit"

_WIDTH = re.compile(r"\d{7,}")
_state = threading.local()


class TemplateLimit(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class Budget:
    """One render's allowance, set for the rendering thread by ``start``."""

    __slots__ = ("deadline", "iterations")

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.iterations = 0

    def tick(self, count: int = 1) -> None:
        self.iterations += count
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateLimit(f"more than {MAX_LOOP_ITERATIONS:,} loop iterations")
        if self.iterations % 1024 == 0:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"rendering took longer than {MAX_RENDER_S:g} s")


def start(seconds: float = MAX_RENDER_S) -> Budget:
    budget = _state.budget = Budget(seconds)
    return budget


def current() -> Budget | None:
    return getattr(_state, "budget", None)


def stop() -> None:
    _state.budget = None


def _too_big(size: int) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise TemplateLimit(f"a value of more than {MAX_OUTPUT_CHARS:,} characters")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def _check_args(args: tuple, kwargs: dict) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool):
            _too_big(arg)


def _bounded_range(*args: int):
    _check_args(args, {})
    budget = current()
    for item in range(*args):
        if budget is not None:
            budget.tick()
        yield item


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with the arithmetic and calls that can blow up checked first."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.globals["range"] = _bounded_range

    def call_binop(self, context, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                size = _sized(seq)
                if size is not None and isinstance(times, int):
                    _too_big(size * times)
            return operator.mul(left, right)
        if op == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and \
                    right > 0 and abs(left).bit_length() * right > MAX_EXPONENT_BITS:
                raise TemplateLimit(f"an integer of more than {MAX_EXPONENT_BITS:,} bits")
            return operator.pow(left, right)
        if op == "+":
            sizes = (_sized(left), _sized(right))
            if None not in sizes:
                _too_big(sizes[0] + sizes[1])
            return operator.add(left, right)
        if op == "%":
            if isinstance(left, str) and _WIDTH.search(left):
                raise TemplateLimit("a format width of more than 6 digits")
            return operator.mod(left, right)
        return super().call_binop(context, op, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        budget = current()
        if budget is not None:
            budget.check_time()
        owner = getattr(__obj, "__self__", None)
        if owner is None:  # the sandbox's str.format wrapper keeps the method as __wrapped__
            owner = getattr(getattr(__obj, "__wrapped__", None), "__self__", None)
        if isinstance(owner, (str, bytes, list)):  # center, ljust, zfill, expandtabs, ...
            _check_args(args, kwargs)
            if isinstance(owner, str) and getattr(__obj, "__name__", "") in (
                    "format", "format_map") and _WIDTH.search(owner):
                raise TemplateLimit("a format width of more than 6 digits")
        return super().call(__context, __obj, *args, **kwargs)


def bounded_filter(function):
    """A filter whose integer arguments (widths, counts) are held to the output bound, and
    whose text argument holds no huge format width (``"%999999999d"|format(1)``)."""

    def checked(*args, **kwargs):
        _check_args(args[1:], kwargs)
        if any(isinstance(a, str) and _WIDTH.search(a) and "%" in a for a in args[:2]):
            raise TemplateLimit("a format width of more than 6 digits")
        return function(*args, **kwargs)

    checked.__name__ = getattr(function, "__name__", "filter")
    for flag in ("jinja_pass_arg",):
        if hasattr(function, flag):
            setattr(checked, flag, getattr(function, flag))
    return checked


def render(template, context: dict) -> str:
    """``template.generate`` under a fresh budget, the output held to ``MAX_OUTPUT_CHARS``.
    Time is checked by the sandbox's calls and ``range`` ticks, and every 256 chunks here."""
    budget = getattr(_state, "reusable", None)
    if budget is None:
        budget = _state.reusable = Budget(MAX_RENDER_S)
    budget.deadline, budget.iterations = time.monotonic() + MAX_RENDER_S, 0
    _state.budget = budget
    try:
        out: list[str] = []
        size = 0
        for count, chunk in enumerate(template.generate(context), 1):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                _too_big(size)
            out.append(chunk)
            if not count & 255:
                budget.check_time()
        return "".join(out)
    finally:
        _state.budget = None
