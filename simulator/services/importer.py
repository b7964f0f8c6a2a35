"""``moesim import users|events FILE``: JSON, JSONL or CSV with Data API semantics.

Rows are either MoEngage payloads (``{"type": "customer", ...}``, ``{"type": "event",
"actions": [...]}``) or flat records: a user row is ``customer_id`` plus attributes; an
event row is ``customer_id``, ``action`` and the action's fields (``attributes``,
``current_time``, ``platform``, ...). A JSON file is one payload, an array of them, or a
bulk body with ``elements``.

The whole file is one transaction: by default one bad row stores nothing and every bad row
is reported; ``skip_invalid`` stores the good rows and reports the rest (the way MoEngage's
bulk import treats elements).

The file streams through one process in chunks of ``CHUNK`` rows: each chunk is parsed and
checked, then stored, so memory does not grow with the file (a JSON file is read whole).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..core import jsontext
from ..core.errors import BadRequest, FieldError, MoesimError, ValidationFailed
from ..core.tracking import parse_customer, parse_event, parse_flat_event
from .context import Context
from ..store import ForeignKeys
from ..store import events as events_table
from .ingest import IngestResult, IngestSession

USERS, EVENTS = "users", "events"
CHUNK = 20_000
MAX_REPORTED = 20


@dataclass
class ImportReport:
    result: IngestResult
    rows: int = 0
    rejected: list[FieldError] = field(default_factory=list)
    rejected_total: int = 0

    def reject(self, file: str, where: int | str, problem: MoesimError) -> None:
        """Counts a bad row; the first ``MAX_REPORTED`` are kept, named ``FILE:LINE: path``
        (``FILE[index]: path`` in a JSON array)."""
        self.rejected_total += 1
        if len(self.rejected) < MAX_REPORTED:
            place = f"{file}{where}" if str(where)[:1] == "[" else f"{file}:{where}"
            at = problem.path
            self.rejected.append(FieldError(f"{place}: {at}" if at else place, problem.message))


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
    a JSONL row is still the raw line (bytes), decoded by ``parse_row``."""
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


def parse_row(kind: str, row: Any, now_ms: int,
              transform: Callable[[Any], Any] | None = None) -> list:
    """The user changes or events of one row; raises ``MoesimError`` naming the field."""
    if type(row) is bytes:
        if row.isspace() or not row:
            return []
        try:
            row = jsontext.loads(row)
        except ValueError as exc:
            # the row's own line is in the caller's FILE:LINE: only the column is news
            detail = f"{exc.msg} (column {exc.colno})" if hasattr(exc, "colno") else str(exc)
            raise BadRequest(f"malformed JSON: {detail}") from None
    if transform:
        row = transform(row)
    return _user_items(row) if kind == USERS else _event_items(row, now_ms)


def _user_items(row: Any) -> list:
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
        for chunk in read_chunks(path, progress):
            report.rows += len(chunk)
            items: list = []
            for where, row in chunk:
                try:
                    items.extend(parse_row(kind, row, now_ms, transform))
                except MoesimError as problem:
                    report.reject(name, where, problem)
            if report.rejected_total and not skip_invalid:
                continue  # keep reading to report every bad row; store nothing
            session.add(items)
        if report.rejected_total and not skip_invalid:
            raise ValidationFailed(
                f"{report.rejected_total} invalid row(s) in {path}; nothing was imported",
                errors=report.rejected)
    return report
