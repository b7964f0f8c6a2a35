"""Demo fixtures: loaded into a new database when the server starts.

A fixtures directory holds ``manifest.json``::

    {"anchor": "2026-11-01T12:00:00Z", "users": "users.jsonl", "events": "events.jsonl",
     "shift_user_attributes": ["cr_t", "u_l_a"], "shift_event_attributes": ["flight_time"]}

The files are import files (see ``importer``), with times as ISO strings. Their times were written relative to
``anchor``; on load every event time and the listed datetime attributes move by
``now - anchor`` rounded down to whole days, so "a few weeks of history" and "a flight in the next days" stay true
whenever the fixtures are loaded, and a virtual clock started at the same time loads the
same data every run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from ..core.errors import ConfigError
from ..core.settings import BUNDLED_FIXTURES, NO_FIXTURES
from ..core.timestamps import iso, parse_iso, to_ms
from . import campaigns, connected_apps, connections, importer

DAY_MS = 86_400_000
from .context import Context


def directory(setting: str) -> Path | None:
    """Where the ``fixtures`` setting points: None for ``none``."""
    if setting == NO_FIXTURES:
        return None
    if setting == BUNDLED_FIXTURES:
        # A source checkout (or editable install) has them at the top level; a wheel ships
        # the same files as the ``simulator.bundled_fixtures`` package (pyproject.toml).
        here = Path(__file__).resolve()
        for candidate in (here.parents[2] / "fixtures", here.parents[1] / "bundled_fixtures"):
            if (candidate / "manifest.json").is_file():
                return candidate
        raise ConfigError("bundled fixtures are missing from this installation",
                          path="fixtures")
    path = Path(setting)
    if not (path / "manifest.json").is_file():
        raise ConfigError(f"{setting}: not a fixtures directory (no manifest.json)",
                          path="fixtures")
    return path


def _shifter(shift_ms: int, keys: set[str]) -> Callable[[dict], None]:
    def shift(attrs: dict) -> None:
        for key in keys & attrs.keys():
            moment = parse_iso(attrs[key]) if isinstance(attrs[key], str) else None
            if moment is not None:
                attrs[key] = iso(to_ms(moment) + shift_ms)
    return shift


def _connected_apps(ctx: Context, where: Path, spec: dict, base_url: str) -> dict:
    """Apps, connectors (``${MOESIM_URL}`` in a config becomes this server's base URL, so the
    demo connectors point at the built-in sink), connections and campaigns."""
    connector_ids: dict[str, int] = {}
    connection_ids: dict[str, int] = {}
    for app in spec.get("apps", []):
        app_id = connected_apps.create_app(ctx, {"name": app["name"],
                                                 "type": app.get("type", "CHANNEL")})["id"]
        for file in app.get("connectors", []):
            text = (where / file).read_text().replace("${MOESIM_URL}", base_url.rstrip("/"))
            made = connected_apps.upload_connector(ctx, app_id, json.loads(text))
            connector_ids[made["name"]] = made["id"]
    for item in spec.get("connections", []):
        made = connections.create(ctx, {"connector_id": connector_ids[item["connector"]],
                                        "name": item["name"], "values": item["values"]})
        connection_ids[item["name"]] = made["id"]
    made_campaigns = []
    for item in spec.get("campaigns", []):
        body = json.loads(json.dumps(item["campaign"]))
        app = body["campaign_content"]["content"].get("connected_app")
        if app is not None:
            app["connector_id"] = connector_ids[item["connector"]]
            app["connection_id"] = connection_ids[item["connection"]]
        made_campaigns.append(campaigns.create(ctx, body)["campaign_id"])
    return {"connectors": len(connector_ids), "connections": len(connection_ids),
            "campaigns": len(made_campaigns)}


def load(ctx: Context, where: Path, base_url: str = "http://127.0.0.1:5055") -> dict:
    try:
        manifest = json.loads((where / "manifest.json").read_text())
        anchor = parse_iso(manifest["anchor"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{where}/manifest.json: {exc}", path="fixtures") from None
    if anchor is None:
        raise ConfigError(f"{where}/manifest.json: anchor must be an ISO datetime",
                          path="anchor")
    # Whole days, so times of day (users' local activity hours) survive the shift.
    shift_ms = (ctx.clock.now_ms() - to_ms(anchor)) // DAY_MS * DAY_MS
    shift_user = _shifter(shift_ms, set(manifest.get("shift_user_attributes", [])))
    shift_event = _shifter(shift_ms, set(manifest.get("shift_event_attributes", [])))

    def user_row(row: Any) -> Any:
        if isinstance(row, dict):
            shift_user(row.get("attributes") if isinstance(row.get("attributes"), dict) else row)
        return row

    def event_row(row: Any) -> Any:
        if isinstance(row, dict):
            if isinstance(row.get("current_time"), str):
                moment = parse_iso(row["current_time"])
                if moment is not None:
                    row["current_time"] = iso(to_ms(moment) + shift_ms)
            if isinstance(row.get("attributes"), dict):
                shift_event(row["attributes"])
        return row

    summary = {}
    if manifest.get("users"):
        summary["users"] = importer.import_file(
            ctx, importer.USERS, str(where / manifest["users"]), transform=user_row).result
    if manifest.get("events"):
        summary["events"] = importer.import_file(
            ctx, importer.EVENTS, str(where / manifest["events"]), transform=event_row).result
    ctx.store.analyze()
    loaded = {k: v.as_dict() for k, v in summary.items()}
    if manifest.get("connected_apps"):
        try:
            spec = json.loads((where / manifest["connected_apps"]).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{where}/{manifest['connected_apps']}: {exc}",
                              path="connected_apps") from None
        loaded["connected_apps"] = _connected_apps(ctx, where, spec, base_url)
    return loaded
