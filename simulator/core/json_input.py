"""The one decoding point for JSON that arrives from outside (request bodies of every edge).

Rules, each answered with a ``MalformedJson`` that names the JSON path where it can:

- at most ``MAX_DEPTH`` nested arrays/objects (deeper input used to exhaust the interpreter's
  recursion limit in the parser or in the code walking the value);
- numbers are finite (no ``NaN``/``Infinity``, no ``1e400``) and integers fit SQLite's signed
  64 bits;
- strings and keys are valid Unicode (no lone surrogates such as ``"\\ud800"``: they cannot be
  encoded as UTF-8, so SQLite, logs and responses would fail on them).

orjson parses (it already refuses all but the depth and integer-range rules, and is fast); when
it refuses, the stdlib parses again only to say where the problem is.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from .errors import BadRequest

MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1


class MalformedJson(BadRequest):
    code = "malformed_json"
    moe_type = "Malformed JSON"


class _Constant:
    """``NaN``/``Infinity`` as the stdlib read them, kept only to report where they were."""

    def __init__(self, text: str):
        self.text = text


def decode(raw: bytes | str, root: str = "body") -> Any:
    """The value of ``raw``, or ``MalformedJson`` naming the path at fault (``root`` for the
    document as a whole)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        value = _reparse(raw, exc, root)
        check(value, root)
        return value
    if not _sound([value], -1):  # orjson refuses lone surrogates and non-finite numbers itself
        check(value, root, strings=False)  # finds the rule broken, with its path
    return value


def _sound(node: Any, depth: int) -> bool:
    """Depth and integer range only, without paths (the usual case: a valid body)."""
    if depth >= MAX_DEPTH:
        return False
    for item in (node.values() if type(node) is dict else node
                 if type(node) is list else ()):
        kind = type(item)
        if kind is dict or kind is list:
            if not _sound(item, depth + 1):
                return False
        elif kind is int and not INT_MIN <= item <= INT_MAX:
            return False
    return True


def _reparse(raw: bytes | str, exc: orjson.JSONDecodeError, root: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_Constant)
    except RecursionError:
        raise MalformedJson(f"JSON nested deeper than {MAX_DEPTH} levels", path=root) from None
    except UnicodeDecodeError:
        raise MalformedJson("not UTF-8 text", path=root) from None
    except ValueError as stdlib:
        raise MalformedJson(f"not JSON: {stdlib}", path=root) from None
    except Exception:  # anything else the stdlib trips on: orjson's reason stands
        raise MalformedJson(f"not JSON: {exc}", path=root) from None


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


def check(value: Any, root: str = "body", *, strings: bool = True) -> None:
    """Apply the rules to an already-parsed value (iteratively: the depth rule must not itself
    recurse). Paths below the root are relative (``basic_details.name``, ``items[2]``), as in
    every other error."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        where = path or root
        if isinstance(node, (dict, list)):
            if depth >= MAX_DEPTH:
                raise MalformedJson(f"JSON nested deeper than {MAX_DEPTH} levels", path=where)
            if isinstance(node, dict):
                for key, item in node.items():
                    if strings:
                        _text(key, _join(path, key) if _encodable(key) else where)
                    stack.append((item, _join(path, key), depth + 1))
            else:
                stack.extend((item, _join(path, i), depth + 1) for i, item in enumerate(node))
        elif isinstance(node, str):
            if strings:
                _text(node, where)
        elif isinstance(node, _Constant):
            raise MalformedJson(f"{node.text} is not a JSON number", path=where)
        elif isinstance(node, float):
            if node != node or node in (float("inf"), float("-inf")):
                raise MalformedJson("numbers must be finite", path=where)
        elif isinstance(node, int) and not isinstance(node, bool):
            if not INT_MIN <= node <= INT_MAX:
                raise MalformedJson("integers must fit in 64 bits (-2^63 .. 2^63-1)",
                                    path=where)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _text(text: str, where: str) -> None:
    if not _encodable(text):
        raise MalformedJson("strings must be valid Unicode (a lone surrogate such as \\ud800 "
                            "is not)", path=where)
