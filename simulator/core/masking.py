"""The one masking function: every place moesim shows text that may carry a secret (API
responses, the delivery log's requests and responses, test sends, scenario output and JUnit,
server logs) passes it through ``mask``.

A secret travels in more forms than its own text, so each is masked in every form it takes on
the wire: raw, percent-encoded (``|urlencode``, ``url_params``; upper- and lower-case escapes,
``+`` for space), base64 and URL-safe base64 (``|base64encode``, ``Basic`` credentials: the
secret's bytes at any of the three alignments inside a longer encoded text) and JSON-escaped
(inside a JSON body or a JSON record). Secrets shorter than ``MIN_LENGTH`` are masked raw only
in their encoded forms' places too, but base64 fragments shorter than that are not looked for:
they would match ordinary text.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus

MASK = "********"
MIN_LENGTH = 4
_BASE64_FRAGMENT_MIN = 6
# Names whose values are secrets wherever they appear in a JSON/form structure a user wrote
# (OAuth configuration requests, sink behaviours): client_secret, password, api_key, ...
SECRET_NAME = re.compile(r"secret|passw|token|api[_-]?key|authorization|assertion|credential",
                         re.I)


def _base64_fragments(secret: bytes) -> set[str]:
    """Encoded text that only ``secret``'s bytes determine, at each alignment (0-2 bytes of
    something else before it)."""
    found = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        first = -(-8 * offset // 6)                 # first char not touched by the prefix
        last = (8 * (offset + len(secret))) // 6    # chars before it are complete
        fragment = encoded[first:last]
        if len(fragment) >= _BASE64_FRAGMENT_MIN:
            found.add(fragment)
            found.add(fragment.replace("+", "-").replace("/", "_"))
    return found


def forms(secret: str) -> set[str]:
    """Every text ``secret`` can appear as."""
    if not secret:
        return set()
    found = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    if len(secret) >= MIN_LENGTH:
        for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
            found.add(encoded)
            found.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
        found |= _base64_fragments(secret.encode("utf-8", "surrogatepass"))
    return {f for f in found if f}


@lru_cache(maxsize=256)
def _pattern(secrets: frozenset[str]) -> re.Pattern | None:
    every = set()
    for secret in secrets:
        every |= forms(secret)
    if not every:
        return None
    return re.compile("|".join(re.escape(f) for f in sorted(every, key=len, reverse=True)))


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every secret replaced by ``MASK``."""
    if not text:
        return text
    wanted = secrets if isinstance(secrets, frozenset) else frozenset(
        s for s in secrets if isinstance(s, str) and s)
    pattern = _pattern(wanted) if wanted else None
    return pattern.sub(MASK, text) if pattern is not None else text


def authorization(value: str) -> str:
    """An ``Authorization`` header value as shown: its scheme only (``Basic ********``)."""
    scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
    return f"{scheme} {MASK}".strip()


def secret_values(value, name: str = "") -> set[str]:
    """Text values held under secret-looking names (``SECRET_NAME``) in a JSON structure,
    including ``{key|name, value}`` rows (FORM bodies, ``url_params``, headers)."""
    found: set[str] = set()
    if isinstance(value, dict):
        row_name = value.get("key", value.get("name"))
        if isinstance(row_name, str) and SECRET_NAME.search(row_name) and \
                isinstance(value.get("value"), str):
            found.add(value["value"])
        for key, item in value.items():
            found |= secret_values(item, str(key))
    elif isinstance(value, list):
        for item in value:
            found |= secret_values(item, name)
    elif isinstance(value, str) and value and SECRET_NAME.search(name):
        found.add(value.split(" ", 1)[1] if name.lower() == "authorization" and " " in value
                  else value)
    return found


def mask_structure(value, secrets: Iterable[str]):
    """A JSON structure with every string passed through ``mask``."""
    wanted = secrets if isinstance(secrets, frozenset) else frozenset(
        s for s in secrets if isinstance(s, str) and s)
    if isinstance(value, dict):
        return {key: mask_structure(item, wanted) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_structure(item, wanted) for item in value]
    return mask(value, wanted) if isinstance(value, str) else value
