"""CLI verbs for a running simulator (``--url``): users, events, campaigns, deliveries, sinks,
reset. Human output by default, the server's JSON answer with ``--json``. The HTTP calls go
through ``simulator.client`` (the pytest plugin's client)."""

from __future__ import annotations

import json
import os
import uuid
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
            errors = [FieldError(e.get("path", ""), e.get("message", ""))
                      for e in answer.get("errors") or [] if isinstance(e, dict)]
            error = RemoteError(f"{failed.status}: {message}", errors=errors)
            error.status = failed.status
            raise error from None

    def get(self, path: str) -> Any:
        return self(self.client.http.ok, "GET", path)

    def send(self, method: str, path: str, payload: Any = None) -> Any:
        return self(self.client.http.ok, method, path, payload)

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


def _table(rows: list[list[str]], empty: str) -> None:
    if not rows[1:]:
        click.echo(empty)
        return
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        line = "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
        click.echo(click.style(line, bold=True) if number == 0 else line)


def _id(value: str) -> str:
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
    answer = remote.get(f"/api/users/{_id(customer_id)}")
    emit(as_json, answer, lambda a: click.echo(
        f"user {customer_id}: {len(values)} attribute(s) set"))


@users.command("show")
@click.argument("customer_id")
@remote_options
def users_show(remote: Remote, as_json: bool, customer_id: str):
    """A user's attributes (by display name) and types."""
    answer = remote.get(f"/api/users/{_id(customer_id)}")

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
    emit(as_json, answer, lambda a: _table(
        [["TIME", "CUSTOMER", "EVENT"]] +
        [[e.get("time", ""), e.get("customer_id", ""), e.get("name", "")]
         for e in a["events"]], "no events"))


# connectors and connections ---------------------------------------------------------------

def line_of(text: str, json_path: str) -> int | None:
    """The line of ``json_path`` (``modules[0].params.request.url``) in a JSON text, found by
    looking for each key in turn after the one before; None when a key is not found."""
    import re

    offset, found = 0, False
    for key in re.findall(r"[^.\[\]]+", json_path):
        if key.isdigit():
            continue
        at = text.find(json.dumps(key), offset)
        if at < 0:
            return None
        offset, found = at + 1, True
    return text.count("\n", 0, offset) + 1 if found else None


def located(error: MoesimError, path: str, text: str) -> MoesimError:
    """``error`` with each problem as ``FILE:LINE: PATH``."""
    problems = []
    for problem in error.errors:
        line = line_of(text, problem.path) if problem.path else None
        problems.append(FieldError(f"{path}:{line}: {problem.path}" if line
                                   else f"{path}: {problem.path}", problem.message))
    error.errors = problems
    error.message = f"{path}: {error.message}"
    return error


def push_connector(remote: Remote, path: str, app_name: str) -> dict:
    """Upload the connector config at ``path`` into the app ``app_name`` (created if missing):
    a new connector, or a new version of the app's connector of the same name.
    ``${MOESIM_URL}`` in the file becomes the server's URL, as in the bundled fixtures. The
    answer is the server's, plus ``"created"``."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        config = json.loads(text.replace("${MOESIM_URL}", remote.url))
    except ValueError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not JSON: {exc.msg}", path="file") from None
    try:
        return _push(remote, config, app_name)
    except RemoteError as error:
        raise located(error, path, text) from None


def _push(remote: Remote, config: Any, app_name: str) -> dict:
    app = next((a for a in remote.get("/api/apps")["apps"] if a["name"] == app_name), None)
    if app is None:
        app = remote.send("POST", "/api/apps", {"name": app_name, "type": "CHANNEL"})
    name = (config.get("basic_info") or {}).get("name") if isinstance(config, dict) else None
    existing = next((c for c in remote.get(f"/api/apps/{app['id']}")["connectors"]
                     if name is not None and c["name"] == name), None)
    if existing is None:
        return {**remote.send("POST", f"/api/apps/{app['id']}/connectors", config),
                "created": True}
    return {**remote.send("PUT", f"/api/connectors/{existing['id']}", config), "created": False}


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
    emit(as_json, answer, lambda a: _table(
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
    emit(as_json, answer, lambda a: _table(
        [["ID", "CONNECTOR", "STATUS", "NAME"]] +
        [[c["id"], c["connector_id"], c.get("status", ""), c["name"]]
         for c in a["connections"]], "no connections"))


# campaigns ---------------------------------------------------------------------------------

@click.group()
def campaigns() -> None:
    """Campaigns of a running simulator."""


@campaigns.command("create")
@click.option("-f", "--file", "path", required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="A campaign body, JSON or YAML (MoEngage's V1 Campaigns API shape).")
@click.option("--connector", "connector_id", type=int,
              help="Send with this connector (sets the body's connector_id).")
@click.option("--connection", "connection_id", type=int,
              help="Through this connection (sets the body's connection_id).")
@remote_options
def campaigns_create(remote: Remote, as_json: bool, path: str, connector_id: int | None,
                     connection_id: int | None):
    """Create a campaign from a file.

    FILE holds MoEngage's campaign body (JSON or YAML); a missing `request_id` gets a new
    one, and --connector/--connection fill in the ids the file leaves to the server."""
    body = load_file(path)
    if isinstance(body, dict) and "request_id" not in body:
        body["request_id"] = f"cli-{uuid.uuid4().hex[:12]}"
    if isinstance(body, dict) and (connector_id or connection_id):
        content = body.setdefault("campaign_content", {}).setdefault("content", {})
        target = content.get("connector") if "connector" in content else \
            content.setdefault("connected_app", {})
        for key, value in (("connector_id", connector_id), ("connection_id", connection_id)):
            if value is not None:
                target[key] = value
    answer = remote.send("POST", "/api/campaigns", body)
    emit(as_json, answer, lambda a: click.echo(f"campaign {a['campaign_id']} created"))


def _status(campaign: dict) -> str:
    status = campaign.get("status", "")
    colour = {"ACTIVE": "green", "SENT": "cyan", "SCHEDULED": "blue", "PAUSED": "yellow",
              "STOPPED": "red"}.get(status)
    return click.style(status, fg=colour) if colour else status


@campaigns.command("list")
@remote_options
def campaigns_list(remote: Remote, as_json: bool):
    """Every campaign: id, status, delivery type, name."""
    answer = remote.get("/api/campaigns")

    def human(a: dict) -> None:
        rows = [["ID", "STATUS", "CHANNEL", "TYPE", "NAME"]]
        for c in a["campaigns"]:
            rows.append([c.get("campaign_id", ""), c.get("status", ""), c.get("channel", ""),
                         c.get("campaign_delivery_type", ""), c.get("name", "")])
        _table(rows, "no campaigns")
    emit(as_json, answer, human)


@campaigns.command("show")
@click.argument("campaign_id")
@remote_options
def campaigns_show(remote: Remote, as_json: bool, campaign_id: str):
    """One campaign: status, pinned connector version, the accepted body."""
    answer = remote.get(f"/api/campaigns/{_id(campaign_id)}")

    def human(c: dict) -> None:
        click.echo(f"{click.style(campaign_id, bold=True)}  {_status(c)}")
        for key in ("name", "campaign_delivery_type", "channel", "connector_id",
                    "connector_version", "connection_id", "created_at", "sent_at",
                    "parent_campaign_id"):
            if c.get(key) not in (None, ""):
                click.echo(f"  {key}: {c[key]}")
    emit(as_json, answer, human)


@campaigns.command("stats")
@click.argument("campaign_id")
@remote_options
def campaigns_stats(remote: Remote, as_json: bool, campaign_id: str):
    """Attempted, sent, failed and why."""
    answer = remote.get(f"/api/campaigns/{_id(campaign_id)}/stats")

    def human(s: dict) -> None:
        click.echo(f"{campaign_id}: {s.get('attempted', 0)} attempted, "
                   f"{click.style(str(s.get('sent', 0)), fg='green')} sent, "
                   f"{click.style(str(s.get('failed', 0)), fg='red' if s.get('failed') else None)}"
                   f" failed")
        for group, counts in (s.get("failure_breakdown") or {}).items():
            if counts:
                click.echo(f"  {group}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    emit(as_json, answer, human)


def _action(action: str, verb: str):
    @campaigns.command(verb)
    @click.argument("campaign_ids", nargs=-1, required=True)
    @remote_options
    def command(remote: Remote, as_json: bool, campaign_ids: tuple[str, ...]):
        answer = remote(remote.client.campaign_action, action, list(campaign_ids),
                        f"cli-{uuid.uuid4().hex[:12]}")
        emit(as_json, answer, lambda a: click.echo(
            f"{verb}: {', '.join(campaign_ids)}"))
    command.__doc__ = f"{action.title()} campaigns (MoEngage's status transitions)."
    return command


for _verb, _name in (("PAUSE", "pause"), ("RESUME", "resume"), ("STOP", "stop")):
    _action(_verb, _name)


# deliveries --------------------------------------------------------------------------------

@click.group()
def deliveries() -> None:
    """The delivery log of a running simulator."""


def delivery_line(d: dict) -> str:
    status = d.get("status", "")
    colour = {"sent": "green", "failed": "red", "removed": "yellow"}.get(status)
    code = d.get("http_status")
    reason = d.get("reason") or ""
    return (f"{d.get('time', '')}  {click.style(status.ljust(7), fg=colour)}  "
            f"{d.get('campaign_id', '')}  {d.get('customer_id', '')}"
            f"{f'  HTTP {code}' if code else ''}{f'  {reason}' if reason else ''}")


@deliveries.command("list")
@click.option("--campaign", "campaign_id", help="Only this campaign's.")
@click.option("--customer", "customer_id", help="Only this user's.")
@click.option("--status", type=click.Choice(["sent", "failed", "removed"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@remote_options
def deliveries_list(remote: Remote, as_json: bool, campaign_id: str | None,
                    customer_id: str | None, status: str | None, limit: int):
    """One line per user send: time, outcome, campaign, customer, HTTP status, reason."""
    from .client import _query
    answer = remote.get("/_sim/deliveries?" + _query(
        limit=limit, campaign_id=campaign_id, customer_id=customer_id, status=status))

    def human(a: dict) -> None:
        if not a["deliveries"]:
            click.echo("no deliveries")
        for d in a["deliveries"]:
            click.echo(delivery_line(d))
    emit(as_json, answer, human)


# sinks -------------------------------------------------------------------------------------

@click.group()
def sinks() -> None:
    """The built-in capture sink of a running simulator.

    Partner requests go to /_sim/sink/<name>/...; these verbs read and configure it."""


def request_line(r: dict) -> str:
    status = r.get("response_status", 0)
    colour = "green" if status < 300 else "yellow" if status < 500 else "red"
    query = f"?{r['query']}" if r.get("query") else ""
    return (f"{r.get('time', '')}  {click.style(str(status), fg=colour)}  "
            f"{r.get('sink', '')}  {r.get('method', '')} {r.get('path', '')}{query}"
            f"{'  (injected failure)' if r.get('injected_failure') else ''}")


@sinks.command("list")
@remote_options
def sinks_list(remote: Remote, as_json: bool):
    """Every sink with its request count."""
    answer = remote.get("/_sim/sinks")
    emit(as_json, answer, lambda a: _table(
        [["NAME", "REQUESTS", "SERVED", "LAST REQUEST"]] +
        [[s["name"], s["requests"], s["served"], s["last_request"] or "-"]
         for s in a["sinks"]], "no sinks yet: requests to /_sim/sink/<name>/... create one"))


@sinks.command("show")
@click.argument("name")
@click.option("--bodies", is_flag=True, help="Print each request's body too.")
@remote_options
def sinks_show(remote: Remote, as_json: bool, name: str, bodies: bool):
    """A sink's behaviour and the requests it recorded."""
    answer = remote.get(f"/_sim/sinks/{_id(name)}")

    def human(a: dict) -> None:
        click.echo(f"{click.style(name, bold=True)}: {len(a['requests'])} request(s), answers "
                   f"{a['behaviour']['status']}")
        for r in a["requests"]:
            click.echo(request_line({**r, "sink": name}))
            if bodies and r.get("body"):
                click.echo("    " + r["body"][:2000])
    emit(as_json, answer, human)


@sinks.command("configure")
@click.argument("name")
@click.option("--status", type=click.IntRange(100, 599), help="The status it answers.")
@click.option("--body", help="The body it answers (JSON, else text).")
@click.option("--delay-ms", type=click.IntRange(0), help="Wait this long before answering.")
@click.option("--fail-next", type=click.IntRange(0), help="Fail the next N requests.")
@click.option("--fail-rate", type=click.FloatRange(0, 1), help="Fail this share of requests.")
@click.option("--fail-status", type=click.IntRange(100, 599), default=500, show_default=True,
              help="The status of an injected failure.")
@remote_options
def sinks_configure(remote: Remote, as_json: bool, name: str, status: int | None,
                    body: str | None, delay_ms: int | None, fail_next: int | None,
                    fail_rate: float | None, fail_status: int):
    """Set how a sink answers (what is not given goes back to its default)."""
    behaviour: dict[str, Any] = {}
    if status is not None:
        behaviour["status"] = status
    if body is not None:
        behaviour["body"] = parse_pairs((f"body={body}",), "--body")["body"]
    if delay_ms is not None:
        behaviour["delay_ms"] = delay_ms
    if fail_next is not None:
        behaviour["fail_next"] = {"count": fail_next, "status": fail_status}
    if fail_rate is not None:
        behaviour["fail_rate"] = {"rate": fail_rate, "status": fail_status}
    answer = remote.send("PUT", f"/_sim/sinks/{_id(name)}", behaviour)
    emit(as_json, answer, lambda a: click.echo(
        f"sink {name}: answers {a['behaviour']['status']}"
        + (f", fails the next {fail_next}" if fail_next else "")
        + (f", fails {fail_rate:.0%}" if fail_rate else "")))


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
    from .cli_tail import tail

    for command in (users, events, connectors, connections, campaigns, deliveries, sinks,
                    reset, tail):
        main.add_command(command)

