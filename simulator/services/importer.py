"""``moesim import users|events FILE``: JSON, JSONL or CSV with Data API semantics.

Rows are either MoEngage payloads (``{"type": "customer", ...}``, ``{"type": "event",
"actions": [...]}``) or flat records: a user row is ``customer_id`` plus attributes; an
event row is ``customer_id``, ``action`` and the action's fields (``attributes``,
``current_time``, ``platform``, ...). A JSON file is one payload, an array of them, or a
bulk body with ``elements``.

The whole file is one transaction: by default one bad row stores nothing and every bad row
is reported; ``skip_invalid`` stores the good rows and reports the rest (the way MoEngage's
bulk import treats elements).

Large JSONL event files are parsed in worker processes (``PARALLEL_MIN_BYTES``): parsing and
validating is interpreted Python and the store's single writer would otherwise wait on it.
Chunks come back in file order, so row ids and results do not depend on the worker count.
"""

from __future__ import annotations

import collections
import csv
import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..core import jsontext
from ..core.errors import BadRequest, FieldError, MoesimError, ValidationFailed
from ..core.tracking import parse_customer, parse_event, parse_flat_event, read_flat_event
from .context import Context
from ..store import ForeignKeys, attribute_types
from ..store import events as events_table
from .ingest import IngestResult, IngestSession

USERS, EVENTS = "users", "events"
CHUNK = 20_000
BLOCK_BYTES = 4 * 1024 * 1024
MAX_REPORTED = 20
PARALLEL_MIN_BYTES = 8 * 1024 * 1024


@dataclass
class ImportReport:
    result: IngestResult
    rows: int = 0
    rejected: list[FieldError] = field(default_factory=list)
    rejected_total: int = 0


def _csv_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_chunks(path: str, progress: Callable[[int], None] | None = None
                ) -> Iterator[list[tuple[str, Any]]]:
    """Lists of ``(where, row)``: ``where`` is the line number (``[index]`` in a JSON array);
    a JSONL row is still the raw line (bytes), decoded by whoever parses the chunk."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".jsonl", ".ndjson", ".json", ".csv"):
        raise BadRequest(f"{path}: unknown file type {suffix!r} (use .json, .jsonl or .csv)",
                         path=path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise BadRequest(f"{path}: {exc.strerror}", path=path) from None
    with handle:
        if suffix == ".json":
            data = handle.read()
            if progress:
                progress(len(data))
            try:
                loaded = jsontext.loads(data)
            except ValueError as exc:
                raise BadRequest(f"{path}: malformed JSON: {exc}", path=path) from None
            if isinstance(loaded, dict) and isinstance(loaded.get("elements"), list):
                loaded = loaded["elements"]
            rows = loaded if isinstance(loaded, list) else [loaded]
            for start in range(0, len(rows), CHUNK):
                yield [(f"[{start + i}]", row) for i, row in enumerate(rows[start:start + CHUNK])]
            return
        if suffix == ".csv":
            reader = csv.DictReader(line.decode("utf-8-sig") for line in handle)
            rows = ((number, {k: _csv_value(v) for k, v in row.items() if k and v not in (None, "")})
                    for number, row in enumerate(reader, 2))
        else:
            rows = enumerate(handle, 1)
        chunk: list = []
        for number, row in rows:
            if progress and type(row) is bytes:
                progress(len(row))
            chunk.append((number, row))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _user_items(row: Any, now_ms: int) -> list:
    if isinstance(row, dict) and row.get("type") is None and "attributes" not in row:
        attrs = {k: v for k, v in row.items() if k != "customer_id"}
        row = {"type": "customer", "customer_id": row.get("customer_id"), "attributes": attrs}
    elif isinstance(row, dict) and row.get("type") is None:
        row = {**row, "type": "customer"}
    return [parse_customer(row, "")]


def _event_items(row: Any, now_ms: int) -> list:
    if isinstance(row, dict) and ("actions" in row or row.get("type") == "event"):
        return parse_event({"type": "event", **row}, now_ms)
    return [parse_flat_event(row, now_ms, "")]


@dataclass
class ParsedChunk:
    """One chunk, parsed: user changes, or events in stored row form transposed into columns
    (``IngestSession.add_event_columns``) with the attribute types they introduce; the rows
    that failed, as ``(where, path, message)``; and how many lines or elements it held."""
    items: list | tuple = field(default_factory=list)
    catalogue: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    size: int = 0


def parse_chunk(kind: str, chunk: list, now_ms: int,
                transform: Callable[[Any], Any] | None = None) -> ParsedChunk:
    """Runs in the importing process or in a worker (then without ``transform``)."""
    parsed = ParsedChunk(size=len(chunk))
    events = kind == EVENTS
    fast = events and transform is None
    items, types_by_name = parsed.items, {}
    for where, row in chunk:
        try:
            # A plain flat event line takes the fast decoder; anything else, or any line it
            # refuses, the canonical way below (which also words the row's error).
            event = read_flat_event(row, now_ms) if fast and type(row) is bytes else None
            if event is not None:
                found: Any = (event,)
            else:
                if type(row) is bytes:
                    if row.isspace() or not row:
                        continue
                    try:
                        row = jsontext.loads(row)
                    except ValueError as exc:
                        # the row's own line is in ``where``: only the column is news
                        detail = (f"{exc.msg} (column {exc.colno})" if hasattr(exc, "colno")
                                  else str(exc))
                        raise BadRequest(f"malformed JSON: {detail}") from None
                if transform:
                    row = transform(row)
                if not events:
                    items.extend(_user_items(row, now_ms))
                    continue
                found = _event_items(row, now_ms)
            for event in found:
                items.append(event.row())
                known = types_by_name.get(event.name)
                if known is None or not event.types.keys() <= known.keys():
                    known = types_by_name.setdefault(event.name, {})
                    for key, type_ in event.types.items():
                        known.setdefault(key, type_)
        except MoesimError as problem:
            parsed.problems.append((where, problem.path, problem.message))
    if events:
        parsed.items = tuple(zip(*items))
    parsed.catalogue = {(attribute_types.EVENT, name, key): type_
                        for name, known in types_by_name.items() for key, type_ in known.items()}
    return parsed


def _jsonl_blocks(path: str, progress) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` of consecutive runs of whole lines, ~``BLOCK_BYTES`` each: the
    workers read their own lines, so the importing process (SQLite's single writer) neither
    reads nor pickles them."""
    with open(path, "rb") as handle:
        offset = 0
        while True:
            handle.seek(offset + BLOCK_BYTES)
            end = handle.tell() + len(handle.readline()) if handle.read(1) else None
            if end is None:
                end = handle.seek(0, os.SEEK_END)
            if end <= offset:
                return
            if progress:
                progress(end - offset)
            yield offset, end - offset
            offset = end


def parse_block(kind: str, path: str, offset: int, length: int, now_ms: int) -> ParsedChunk:
    """``parse_chunk`` over the lines of one block, numbered from 1 within it (the importing
    process adds the lines of the blocks before it)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    return parse_chunk(kind, list(enumerate(io.BytesIO(data), 1)), now_ms)


def _parsed_chunks(kind: str, path: str, now_ms: int, progress, transform
                   ) -> Iterator[ParsedChunk]:
    parallel = (kind == EVENTS and transform is None and (os.cpu_count() or 1) > 1
                and "fork" in multiprocessing.get_all_start_methods()
                and os.path.splitext(path)[1].lower() in (".jsonl", ".ndjson")
                and os.path.getsize(path) >= PARALLEL_MIN_BYTES)
    if not parallel:
        for chunk in read_chunks(path, progress):
            yield parse_chunk(kind, chunk, now_ms, transform)
        return
    workers = os.cpu_count() or 2
    lines_before = 0
    # fork, not spawn: spawn re-imports the caller's __main__, which an embedding script may
    # not guard. The children inherit this process's SQLite connections but never touch
    # them: they only run parse_block and leave through os._exit.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: collections.deque = collections.deque()

        def next_result() -> ParsedChunk:
            nonlocal lines_before
            parsed = pending.popleft().result()
            parsed.problems = [(where + lines_before, at, message)
                               for where, at, message in parsed.problems]
            lines_before += parsed.size
            return parsed

        for offset, length in _jsonl_blocks(path, progress):
            pending.append(pool.submit(parse_block, kind, path, offset, length, now_ms))
            if len(pending) > workers * 2:
                yield next_result()
        while pending:
            yield next_result()


def import_file(ctx: Context, kind: str, path: str, *, skip_invalid: bool = False,
                progress: Callable[[int], None] | None = None,
                transform: Callable[[Any], Any] | None = None) -> ImportReport:
    now_ms = ctx.clock.now_ms()
    name = os.path.basename(path)
    # [I] ~200 bytes per JSONL event row: only used to decide on a late index build
    expected_events = os.path.getsize(path) // 200 if kind == EVENTS else 0
    with (ctx.store.write(ForeignKeys.TRUSTED) as db,
          events_table.bulk_load(db, expected_events)):
        session = IngestSession(db, now_ms)
        report = ImportReport(session.result)
        for parsed in _parsed_chunks(kind, path, now_ms, progress, transform):
            report.rows += parsed.size
            for where, at, message in parsed.problems:
                report.rejected_total += 1
                if len(report.rejected) < MAX_REPORTED:
                    place = f"{name}{where}" if str(where)[:1] == "[" else f"{name}:{where}"
                    report.rejected.append(FieldError(f"{place}: {at}" if at else place, message))
            if report.rejected_total and not skip_invalid:
                continue  # keep reading to report every bad row; store nothing
            if kind == EVENTS:
                session.add_event_columns(parsed.items, parsed.catalogue)
            else:
                session.add(parsed.items)
        if report.rejected_total and not skip_invalid:
            raise ValidationFailed(
                f"{report.rejected_total} invalid row(s) in {path}; nothing was imported",
                errors=report.rejected)
    return report
