"""Every secret a workspace holds, for masking text that leaves the process (server logs):
connections' password/encrypt values and OAuth tokens, OAuth configurations' credentials and
tokens, the Data and report API keys. Read from the store, cached until the next write."""

from __future__ import annotations

import threading

from ..core import form_values
from ..core.masking import MIN_LENGTH, secret_values
from ..store import connections, connectors, oauth_configs
from .context import Context

_LOCK = threading.Lock()


def known(ctx: Context) -> frozenset[str]:
    with _LOCK:
        cached = getattr(ctx, "_secrets", None)
        if cached is not None and cached[0] == ctx.writes:
            return cached[1]
    seen = ctx.writes
    found: set[str] = {ctx.settings.data_api_key, ctx.settings.report_api_key}
    with ctx.store.read() as db:
        keys: dict[tuple[int, int], frozenset[str]] = {}
        for row in connections.all_(db):
            where = (row["connector_id"], row["connector_version"])
            if where not in keys:
                version = connectors.version(db, *where)
                keys[where] = form_values.secret_keys(
                    version["config"].get("input_variables", [])) if version else frozenset()
            found |= {str(v) for k, v in row["values"].items()
                      if k in keys[where] and v not in (None, "")}
            tokens = connections.tokens(db, row["id"]) or {}
            found |= {str(v) for k, v in tokens.items() if "token" in k and v}
        for row in oauth_configs.all_(db):
            found |= secret_values(row["spec"].get("request") if isinstance(row["spec"], dict)
                                   else None)
            if row["token"]:
                found.add(row["token"])
    # shorter ones would mask ordinary text everywhere (a campaign masks its own in its records)
    result = frozenset(s for s in found if len(s) >= MIN_LENGTH)
    with _LOCK:
        ctx._secrets = (seen, result)
    return result
