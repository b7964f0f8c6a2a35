"""CLI verbs for a running simulator: campaigns and the delivery log."""

from __future__ import annotations

import uuid

import click

from .cli_remote import Remote, emit, load_file, path_id, remote_options, table


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
        table(rows, "no campaigns")
    emit(as_json, answer, human)


@campaigns.command("show")
@click.argument("campaign_id")
@remote_options
def campaigns_show(remote: Remote, as_json: bool, campaign_id: str):
    """One campaign: status, pinned connector version, the accepted body."""
    answer = remote.get(f"/api/campaigns/{path_id(campaign_id)}")

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
    answer = remote.get(f"/api/campaigns/{path_id(campaign_id)}/stats")

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
