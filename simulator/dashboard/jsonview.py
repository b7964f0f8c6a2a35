"""JSON shown as the user wrote it, line by line, each line knowing the JSON path it holds, so
an error (``input_variables[1].type``) is marked at its place in the file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Line:
    number: int
    text: str
    path: str
    errors: list[str] = field(default_factory=list)


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def lines(value: Any) -> list[Line]:
    """``value`` pretty-printed (2-space indent, like ``json.dumps(indent=2)``), one ``Line``
    per text line with the path of the value it starts."""
    out: list[Line] = []

    def emit(text: str, path: str) -> None:
        out.append(Line(len(out) + 1, text, path))

    def walk(item: Any, path: str, indent: str, lead: str, trail: str) -> None:
        if isinstance(item, dict) and item:
            emit(f"{indent}{lead}{{", path)
            keys = list(item)
            for i, key in enumerate(keys):
                walk(item[key], _join(path, key), indent + "  ", json.dumps(key) + ": ",
                     "," if i < len(keys) - 1 else "")
            emit(f"{indent}}}{trail}", path)
        elif isinstance(item, list) and item:
            emit(f"{indent}{lead}[", path)
            for i, element in enumerate(item):
                walk(element, _join(path, i), indent + "  ", "",
                     "," if i < len(item) - 1 else "")
            emit(f"{indent}]{trail}", path)
        else:
            emit(f"{indent}{lead}{json.dumps(item, ensure_ascii=False)}{trail}", path)

    walk(value, "", "", "", "")
    return out


def _parents(path: str) -> list[str]:
    """``a.b[0].c`` -> ``a.b[0].c``, ``a.b[0]``, ``a.b``, ``a``, ``""``."""
    chain = [path]
    while path:
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
        chain.append(path)
    return chain


def annotate(value: Any, errors: list[tuple[str, str]]) -> list[Line]:
    """The lines of ``value`` with each ``(path, message)`` on the first line of the deepest
    value its path reaches (a missing key is marked at the object that lacks it)."""
    shown = lines(value)
    first: dict[str, Line] = {}
    for line in shown:
        first.setdefault(line.path, line)
    for path, message in errors:
        for candidate in _parents("" if path in ("(root)", "body") else path):
            if candidate in first:
                first[candidate].errors.append(f"{path}: {message}")
                break
    return shown
