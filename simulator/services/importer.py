"""``moesim import users|events FILE``: JSON, JSONL or CSV with Data API semantics.

Rows are either MoEngage payloads (``{"type": "customer", ...}``, ``{"type": "event",
"actions": [...]}``) or flat records: a user row is ``customer_id`` plus attributes; an
event row is ``customer_id``, ``action`` and the action's fields (``attributes``,
``current_time``, ``platform``, ...). A JSON file is one payload, an array of them, or a
bulk body with ``elements``.

The whole file is one transaction: by default one bad row stores nothing and every bad row
is reported; ``skip_invalid`` stores the good rows and reports the rest (the way MoEngage's
bulk import treats elements).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..core.errors import BadRequest, FieldError, MoesimError, ValidationFailed
from ..core.tracking import parse_customer, parse_event, parse_flat_event
from .context import Context
from .ingest import IngestResult, IngestSession

USERS, EVENTS = "users", "events"
BATCH = 20_000
MAX_REPORTED = 20


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


def read_rows(path: str, progress: Callable[[int], None] | None = None
              ) -> Iterator[tuple[str, Any]]:
    """``(where, row)`` pairs; ``where`` is the line number (or ``[index]`` in a JSON array),
    kept cheap because it is only shown for bad rows."""
    suffix = os.path.splitext(path)[1].lower()
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise BadRequest(f"{path}: {exc.strerror}", path=path) from None
    with handle:
        if suffix in (".jsonl", ".ndjson"):
            decode = json.JSONDecoder().decode
            for number, line in enumerate(handle, 1):
                if progress:
                    progress(len(line))
                try:
                    yield number, decode(line.decode("utf-8"))
                except ValueError as exc:
                    if line.strip():
                        yield number, BadRequest(f"malformed JSON: {exc}")
        elif suffix == ".json":
            data = handle.read()
            if progress:
                progress(len(data))
            try:
                loaded = json.loads(data)
            except ValueError as exc:
                raise BadRequest(f"{path}: malformed JSON: {exc}", path=path) from None
            if isinstance(loaded, dict) and isinstance(loaded.get("elements"), list):
                loaded = loaded["elements"]
            rows = loaded if isinstance(loaded, list) else [loaded]
            for index, row in enumerate(rows):
                yield f"[{index}]", row
        elif suffix == ".csv":
            text = (line.decode("utf-8-sig") for line in handle)
            reader = csv.DictReader(text)
            for number, row in enumerate(reader, 2):
                yield number, {k: _csv_value(v) for k, v in row.items() if k and v not in (None, "")}
        else:
            raise BadRequest(f"{path}: unknown file type {suffix!r} (use .json, .jsonl or .csv)",
                             path=path)


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


def import_file(ctx: Context, kind: str, path: str, *, skip_invalid: bool = False,
                progress: Callable[[int], None] | None = None,
                transform: Callable[[Any], Any] | None = None) -> ImportReport:
    parse = _user_items if kind == USERS else _event_items
    now_ms = ctx.clock.now_ms()
    with ctx.store.write() as db:
        session = IngestSession(db, now_ms)
        report = ImportReport(session.result)
        batch: list = []
        for where, row in read_rows(path, progress):
            report.rows += 1
            try:
                if isinstance(row, MoesimError):
                    raise row
                batch.extend(parse(transform(row) if transform else row, now_ms))
            except MoesimError as problem:
                report.rejected_total += 1
                if len(report.rejected) < MAX_REPORTED:
                    where = f"{os.path.basename(path)}{'' if str(where)[:1] == '[' else ':'}{where}"
                    at = f"{where}: {problem.path}" if problem.path else where
                    report.rejected.append(FieldError(at, problem.message))
                continue
            if len(batch) >= BATCH:
                if not report.rejected_total or skip_invalid:
                    session.add(batch)
                batch = []
        if report.rejected_total and not skip_invalid:
            raise ValidationFailed(
                f"{report.rejected_total} invalid row(s) in {path}; nothing was imported",
                errors=report.rejected)
        if batch:
            session.add(batch)
    return report
