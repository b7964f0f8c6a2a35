"""CLI verbs for a running simulator: connector configs and connections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .cli_remote import (Remote, RemoteError, emit, load_file, parse_pairs, remote_options,
                         table)
from .core.errors import ConfigError, FieldError, MoesimError


def located(error: MoesimError, path: str) -> MoesimError:
    """``error`` with each problem as ``FILE:LINE: PATH`` (the server names the line of the
    text it was sent, which is the file's)."""
    error.errors = [FieldError(f"{path}:{p.line}: {p.path}" if p.line else f"{path}: {p.path}",
                               p.message) for p in error.errors]
    error.message = f"{path}: {error.message}"
    return error


def push_connector(remote: Remote, path: str, app_name: str) -> dict:
    """Upload the connector config at ``path`` into the app ``app_name`` (created if missing):
    a new connector, or a new version of the app's connector of the same name.
    ``${MOESIM_URL}`` in the file becomes the server's URL, as in the bundled fixtures. The
    answer is the server's, plus ``"created"``."""
    text = Path(path).read_text(encoding="utf-8").replace("${MOESIM_URL}", remote.url)
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not JSON: {exc.msg}", path="file") from None
    try:
        return _push(remote, config, text.encode("utf-8"), app_name)
    except RemoteError as error:
        raise located(error, path) from None


def _push(remote: Remote, config: Any, text: bytes, app_name: str) -> dict:
    app = next((a for a in remote.get("/api/apps")["apps"] if a["name"] == app_name), None)
    if app is None:
        app = remote.send("POST", "/api/apps", {"name": app_name, "type": "CHANNEL"})
    name = (config.get("basic_info") or {}).get("name") if isinstance(config, dict) else None
    existing = next((c for c in remote.get(f"/api/apps/{app['id']}")["connectors"]
                     if name is not None and c["name"] == name), None)
    if existing is None:
        return {**remote.send("POST", f"/api/apps/{app['id']}/connectors", raw=text),
                "created": True}
    return {**remote.send("PUT", f"/api/connectors/{existing['id']}", raw=text),
            "created": False}


@click.group()
def connectors() -> None:
    """Connector configs of a running simulator."""


@connectors.command("push")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--app", "app_name", default="My App", show_default=True,
              help="The Connected App (created if missing).")
@remote_options
def connectors_push(remote: Remote, as_json: bool, files: tuple[str, ...], app_name: str):
    """Upload connector configs: new ones, or a new version of one with the same name."""
    answers = [push_connector(remote, path, app_name) for path in files]
    emit(as_json, answers, lambda a: [click.echo(
        f"{path}: connector {c['id']} ({c['name']}) "
        f"{'created' if c['created'] else 'version ' + str(c['version'])}"
        + "".join(f"\n  warning: {w['path']}: {w['message']}" for w in c.get("warnings", [])))
        for path, c in zip(files, a)])


@connectors.command("list")
@remote_options
def connectors_list(remote: Remote, as_json: bool):
    """Every app's connectors: id, version, name."""
    answer = [remote.get(f"/api/apps/{a['id']}") for a in remote.get("/api/apps")["apps"]]
    emit(as_json, answer, lambda a: table(
        [["ID", "VERSION", "APP", "NAME"]] +
        [[c["id"], c["current_version"], app["name"], c["name"]]
         for app in a for c in app["connectors"]], "no connectors"))


@click.group()
def connections() -> None:
    """Connections of a running simulator.

    A connection holds the account values a connector sends with."""


@connections.command("create")
@click.argument("connector_id", type=int)
@click.argument("name", required=False)
@click.argument("values", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("-f", "--file", "path", type=click.Path(exists=True, dir_okay=False),
              help='A file {"name", "values"} (JSON or YAML); arguments override it.')
@remote_options
def connections_create(remote: Remote, as_json: bool, connector_id: int, name: str | None,
                       values: tuple[str, ...], path: str | None):
    """Connect a connector to an account.

    `moesim connections create 1 Prod account_sid=AC12345678 auth_token=...`, or the name
    and values from a file with -f."""
    body = load_file(path) if path else {}
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: must be an object {{name, values}}", path="file")
    name = name or body.get("name")
    if not name:
        raise click.UsageError("give the connection's NAME (or a file with a name)")
    answer = remote.send("POST", "/api/connections", {
        "connector_id": connector_id, "name": name,
        "values": {**(body.get("values") or {}), **parse_pairs(values, "VALUES")}})
    emit(as_json, answer, lambda a: click.echo(
        f"connection {a['id']} ({a['name']}) {a.get('status', '')}".rstrip()))


@connections.command("list")
@remote_options
def connections_list(remote: Remote, as_json: bool):
    """Every connection: id, connector, status, name (secrets masked)."""
    answer = remote.get("/api/connections")
    emit(as_json, answer, lambda a: table(
        [["ID", "CONNECTOR", "STATUS", "NAME"]] +
        [[c["id"], c["connector_id"], c.get("status", ""), c["name"]]
         for c in a["connections"]], "no connections"))
