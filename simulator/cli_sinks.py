"""CLI verbs for a running simulator: the built-in capture sink."""

from __future__ import annotations

from typing import Any

import click

from .cli_remote import Remote, emit, parse_pairs, path_id, remote_options, table


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
    emit(as_json, answer, lambda a: table(
        [["NAME", "REQUESTS", "SERVED", "LAST REQUEST"]] +
        [[s["name"], s["requests"], s["served"], s["last_request"] or "-"]
         for s in a["sinks"]], "no sinks yet: requests to /_sim/sink/<name>/... create one"))


@sinks.command("show")
@click.argument("name")
@click.option("--bodies", is_flag=True, help="Print each request's body too.")
@remote_options
def sinks_show(remote: Remote, as_json: bool, name: str, bodies: bool):
    """A sink's behaviour and the requests it recorded."""
    answer = remote.get(f"/_sim/sinks/{path_id(name)}")

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
    answer = remote.send("PUT", f"/_sim/sinks/{path_id(name)}", behaviour)
    emit(as_json, answer, lambda a: click.echo(
        f"sink {name}: answers {a['behaviour']['status']}"
        + (f", fails the next {fail_next}" if fail_next else "")
        + (f", fails {fail_rate:.0%}" if fail_rate else "")))
