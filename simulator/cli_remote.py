"""CLI verbs for a running simulator (``--url``): the shared parts (``Remote``, ``--url`` and
``--json``, output), users, events and reset; ``cli_connectors``, ``cli_campaigns``,
``cli_sinks`` and ``cli_tail`` hold the rest. Human output by default, the server's JSON
answer with ``--json``. The HTTP calls go through ``simulator.client`` (the pytest plugin's
client)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import click

from .client import Moesim
from .client import MoesimError as CallFailed
from .core.errors import ConfigError, FieldError, MoesimError
from .core.settings import Settings

DEFAULT_URL = "http://127.0.0.1:5055"


class RemoteError(MoesimError):
    """A running simulator refused a call, or could not be reached."""


class Remote:
    """The CLI's handle on a running server: our error bodies become ``RemoteError``s with
    every field problem, an unreachable server a hint to start one."""

    def __init__(self, url: str):
        settings = Settings.load(os.environ)
        self.url = url.rstrip("/")
        # a long clock advance answers when its sends are done
        self.client = Moesim(self.url, settings.workspace_id, settings.data_api_key,
                             timeout_s=600, admin_token=settings.admin_token)

    def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except CallFailed as failed:
            if failed.status is None:
                raise RemoteError(f"cannot reach {self.url}: start it with `moesim serve` or "
                                  f"give --url (or MOESIM_URL)", path="url") from None
            answer = failed.answer if isinstance(failed.answer, dict) else {}
            problem = answer.get("error") if isinstance(answer.get("error"), dict) else answer
            message = problem.get("message") or problem.get("description") or str(failed)
            errors = [FieldError(e.get("path", ""), e.get("message", ""), e.get("line"))
                      for e in answer.get("errors") or [] if isinstance(e, dict)]
            error = RemoteError(f"{failed.status}: {message}", errors=errors)
            error.status = failed.status
            raise error from None

    def get(self, path: str) -> Any:
        return self(self.client.http.ok, "GET", path)

    def send(self, method: str, path: str, payload: Any = None, raw: bytes | None = None
             ) -> Any:
        return self(self.client.http.ok, method, path, payload, (), raw)

    def close(self) -> None:
        self.client.http.close()


def remote_options(command):
    """``--url`` and ``--json``; the command gets ``remote`` (a ``Remote``) and ``as_json``."""
    def run(url: str, as_json: bool, **kwargs):
        remote = Remote(url)
        try:
            return command(remote=remote, as_json=as_json, **kwargs)
        finally:
            remote.close()
    run.__name__, run.__doc__ = command.__name__, command.__doc__
    run = click.option("--json", "as_json", is_flag=True,
                       help="Print the server's JSON answer.")(run)
    return click.option("--url", envvar="MOESIM_URL", default=DEFAULT_URL, show_default=True,
                        help="The running simulator [env MOESIM_URL].")(run)


def emit(as_json: bool, answer: Any, human: Callable[[Any], None]) -> None:
    if as_json:
        click.echo(json.dumps(answer, indent=2))
    else:
        human(answer)


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict:
    """``KEY=VALUE`` arguments; a VALUE that is JSON (``20``, ``true``, ``[1,2]``, ``"x"``) is
    taken as JSON, anything else as a string."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=what)
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    return values


def load_file(path: str) -> Any:
    """A JSON or YAML file (by its extension), with the file and line of a syntax error."""
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        import yaml
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{where}: not YAML: {getattr(exc, 'problem', exc)}",
                              path="file") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not JSON: {exc.msg}", path="file") from None


def table(rows: list[list[str]], empty: str) -> None:
    if not rows[1:]:
        click.echo(empty)
        return
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        line = "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
        click.echo(click.style(line, bold=True) if number == 0 else line)


def path_id(value: str) -> str:
    return quote(value, safe="@")


# users -------------------------------------------------------------------------------------

@click.group()
def users() -> None:
    """Users of a running simulator."""


@users.command("add")
@click.argument("customer_id")
@click.argument("attributes", nargs=-1, metavar="[KEY=VALUE]...")
@remote_options
def users_add(remote: Remote, as_json: bool, customer_id: str, attributes: tuple[str, ...]):
    """Create or update a user through the Data API (Track User): `moesim users add
    john@example.com first_name=John points=20`."""
    values = parse_pairs(attributes, "ATTRIBUTES")
    remote(remote.client.update_user, customer_id, values)
    answer = remote.get(f"/api/users/{path_id(customer_id)}")
    emit(as_json, answer, lambda a: click.echo(
        f"user {customer_id}: {len(values)} attribute(s) set"))


@users.command("show")
@click.argument("customer_id")
@remote_options
def users_show(remote: Remote, as_json: bool, customer_id: str):
    """A user's attributes (by display name) and types."""
    answer = remote.get(f"/api/users/{path_id(customer_id)}")

    def human(user: dict) -> None:
        click.echo(click.style(user["customer_id"], bold=True))
        types = user.get("attribute_types") or {}
        for name, value in (user.get("attributes") or {}).items():
            kind = f"  ({types[name]})" if name in types else ""
            click.echo(f"  {name}: {json.dumps(value)}{kind}")
    emit(as_json, answer, human)


# events ------------------------------------------------------------------------------------

@click.group()
def events() -> None:
    """Events of a running simulator."""


@events.command("send")
@click.argument("customer_id")
@click.argument("event")
@click.argument("attributes", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--time", "when", help="The event's time (ISO 8601 or epoch seconds); "
                                     "default: now on the simulator's clock.")
@remote_options
def events_send(remote: Remote, as_json: bool, customer_id: str, event: str,
                attributes: tuple[str, ...], when: str | None):
    """Post one event through the Data API (Track Event): `moesim events send
    john@example.com "Added To Cart" sku=A1 price=499`."""
    values = parse_pairs(attributes, "ATTRIBUTES")
    remote(remote.client.post_event, customer_id, event, values, when)
    answer = {"customer_id": customer_id, "event": event, "attributes": values}
    emit(as_json, answer, lambda a: click.echo(f"event {event!r} sent for {customer_id}"))


@events.command("list")
@click.option("--name", help="Only events of this name.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@remote_options
def events_list(remote: Remote, as_json: bool, name: str | None, limit: int):
    """The latest events stored, newest last."""
    query = f"?limit={limit}" + (f"&name={quote(name)}" if name else "")
    answer = remote.get(f"/api/events{query}")
    emit(as_json, answer, lambda a: table(
        [["TIME", "CUSTOMER", "EVENT"]] +
        [[e.get("time", ""), e.get("customer_id", ""), e.get("name", "")]
         for e in a["events"]], "no events"))


# reset -------------------------------------------------------------------------------------

@click.command()
@click.option("--empty", is_flag=True,
              help="No data at all: no fixtures, no demo campaign (the clock stays).")
@remote_options
def reset(remote: Remote, as_json: bool, empty: bool):
    """Return a running simulator to its start-up state.

    Fixtures and all; --empty leaves no data at all."""
    answer = remote.send("POST", "/_sim/reset" + ("?empty=1" if empty else ""))
    emit(as_json, answer, lambda a: click.echo(
        "emptied: no users, events, campaigns or sink requests" if empty
        else "reset to the start-up state"))


def register(main: click.Group) -> None:
    from .cli_campaigns import campaigns, deliveries
    from .cli_connectors import connections, connectors
    from .cli_sinks import sinks
    from .cli_tail import tail

    for command in (users, events, connectors, connections, campaigns, deliveries, sinks,
                    reset, tail):
        main.add_command(command)

