"""Progress of the CLI's long tasks (an edge): a rich bar with rate and time left on a
terminal, plain lines (every 10 %, at most one per second) anywhere else, on stderr."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

SLOW_S = 1.0  # off a terminal, a single call is announced once it takes this long


def _bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return ""


class _Lines:
    """Off a terminal: ``label: 40% (3.1 MB/s, 4 s left)`` lines."""

    def __init__(self, label: str, total: float, unit: str, stream: TextIO):
        self.label, self.total, self.unit, self.stream = label, total, unit, stream
        self.done = 0.0
        self.began = self.last = time.monotonic()
        self.next_step = 10

    def _amount(self, value: float) -> str:
        return _bytes(value) if self.unit == "bytes" else f"{value:,.0f} {self.unit}"

    def advance(self, amount: float) -> None:
        self.done += amount
        percent = 100 * self.done / self.total if self.total else 100
        now = time.monotonic()
        if percent < self.next_step or (now - self.last < 1 and percent < 100):
            return
        self.next_step = (int(percent) // 10 + 1) * 10
        self.last = now
        elapsed = max(now - self.began, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate and percent < 100 else 0
        print(f"{self.label}: {percent:.0f}% ({self._amount(rate)}/s, {left:.0f} s left)",
              file=self.stream, flush=True)

    def finish(self) -> None:
        elapsed = time.monotonic() - self.began
        print(f"{self.label}: done, {self._amount(self.done)} in {elapsed:.1f} s",
              file=self.stream, flush=True)


@contextmanager
def bar(label: str, total: float, unit: str = "bytes",
        stream: TextIO | None = None) -> Iterator[Callable[[float], None]]:
    """Yields ``advance(amount)``; ``unit`` is ``bytes`` or a noun (``scenarios``)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        lines = _Lines(label, total, unit, stream)
        yield lines.advance
        lines.finish()
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress,
                               TaskProgressColumn, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    amount = (DownloadColumn(), TransferSpeedColumn()) if unit == "bytes" else (
        MofNCompleteColumn(), TextColumn(f"{unit}"))
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  *amount, TimeRemainingColumn(), console=Console(file=stream),
                  transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.advance(task, done)


@contextmanager
def waiting(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """A task that reports nothing until it ends (one HTTP call): a spinner with the time
    so far on a terminal; anywhere else a line once it has taken a second, and one when it
    ends (a quick call prints nothing)."""
    stream = stream or sys.stderr
    began = time.monotonic()
    if not stream.isatty():
        import threading

        announced = threading.Event()

        def announce() -> None:
            print(f"{label} ...", file=stream, flush=True)
            announced.set()

        timer = threading.Timer(SLOW_S, announce)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
        if announced.is_set():
            print(f"{label}: done in {time.monotonic() - began:.1f} s", file=stream,
                  flush=True)
        return
    from rich.console import Console

    console = Console(file=stream)
    with console.status(f"{label} ..."):
        yield
    console.print(f"{label}: done in {time.monotonic() - began:.1f} s")
