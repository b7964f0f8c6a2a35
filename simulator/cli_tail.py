"""``moesim tail``: sink requests and deliveries of a running simulator as they happen, like
``stripe listen``. It polls two cursors: ``/_sim/sink-requests?after=`` and
``/_sim/deliveries?after=`` (from the server clock's "now" at start)."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import click

from .cli_campaigns import delivery_line
from .cli_remote import Remote, remote_options
from .cli_sinks import request_line

OUTCOMES = ("sent", "failed", "removed")


def _status_matches(wanted: str | None, outcome: str | None, code: int | None) -> bool:
    """``--status``: an outcome (sent, failed, removed), an HTTP status (503) or class (5xx)."""
    if wanted is None:
        return True
    if wanted in OUTCOMES:
        return outcome == wanted
    if code is None:
        return False
    if wanted.endswith("xx"):
        return str(code)[0] == wanted[0]
    return str(code) == wanted


def _status_option(ctx, param, value):
    if value is None:
        return None
    value = value.lower()
    if value in OUTCOMES or (len(value) == 3 and (value.isdigit() or (
            value[0].isdigit() and value[1:] == "xx"))):
        return value
    raise click.BadParameter("sent, failed, removed, an HTTP status (503) or class (5xx)")


@click.command()
@click.option("--campaign", "campaign_id", help="Only this campaign's deliveries "
                                                "(sink requests are not shown then).")
@click.option("--sink", help="Only this sink's requests (deliveries are not shown then).")
@click.option("--status", callback=_status_option,
              help="sent, failed, removed, an HTTP status (503) or a class (5xx).")
@click.option("--from-start", is_flag=True, help="Show what is already there first.")
@click.option("--count", type=click.IntRange(1), help="Stop after this many lines.")
@click.option("--for", "seconds", type=click.FloatRange(0), help="Stop after this many seconds.")
@click.option("--interval", type=click.FloatRange(0.05), default=0.25, show_default=True,
              help="Seconds between polls.")
@remote_options
def tail(remote: Remote, as_json: bool, campaign_id: str | None, sink: str | None,
         status: str | None, from_start: bool, count: int | None, seconds: float | None,
         interval: float):
    """Print sink requests and deliveries as they happen.

    Like `stripe listen`: new lines only (--from-start: the earlier ones first); Ctrl-C
    stops."""
    want_requests = campaign_id is None
    want_deliveries = sink is None
    request_cursor = "0" if from_start else str(remote.get(
        "/_sim/sink-requests?after=latest")["next"])
    since = None if from_start else remote.get("/_sim/clock")["now"]
    delivery_cursor = 0
    printed = 0
    deadline = None if seconds is None else time.monotonic() + seconds
    if not as_json:
        what = " and ".join(w for w, on in (("sink requests", want_requests),
                                            ("deliveries", want_deliveries)) if on)
        click.echo(click.style(f"tailing {what} of {remote.url} (Ctrl-C stops)", dim=True),
                   err=True)

    def show(kind: str, record: dict, line: str) -> bool:
        nonlocal printed
        click.echo(json.dumps({"kind": kind, **record}) if as_json else line)
        printed += 1
        return count is not None and printed >= count

    try:
        while True:
            if want_requests:
                query = f"/_sim/sink-requests?after={request_cursor}&limit=1000"
                answer = remote.get(query + (f"&sink={quote(sink)}" if sink else ""))
                request_cursor = str(answer["next"])
                for record in answer["requests"]:
                    if _status_matches(status, None, record.get("response_status")) and \
                            show("request", record, request_line(record)):
                        return
            if want_deliveries:
                from .client import _query
                answer = remote.get("/_sim/deliveries?" + _query(
                    after=delivery_cursor, limit=1000, campaign_id=campaign_id, since=since))
                for record in answer["deliveries"]:
                    delivery_cursor = max(delivery_cursor, int(record["id"]))
                    code = record.get("http_status")
                    if _status_matches(status, record.get("status"), code) and \
                            show("delivery", record, delivery_line(record)):
                        return
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
