"""JSON text on the hot paths: orjson, with the stdlib for what orjson refuses (integers beyond
64 bits, ``NaN``), so the results are the stdlib's values. ``dumps`` writes compact UTF-8 text."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):  # huge integers, non-string keys
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as refused:
        try:
            return json.loads(text)  # what orjson refuses; raises the stdlib's error if invalid
        except RecursionError:  # deeper than orjson's 1,024 levels: invalid for both
            raise ValueError(f"JSON nested too deep ({refused})") from None
