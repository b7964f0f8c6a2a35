"""The CLI verbs against a running `moesim serve` (a real process, real HTTP): users, events,
connectors, connections, campaigns, deliveries, sinks, reset, and `moesim tail` receiving a
request live."""

import json
import re
import subprocess
import sys

import pytest
import requests
from click.testing import CliRunner

from simulator import scaffold
from simulator.cli import main

from .conftest import serve_ready

START = "2026-01-05T09:00:00Z"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verbs")
    served = serve_ready("--db", str(tmp / "verbs.db"), "--fixtures", "none", "--clock", "virtual",
                    "--start-time", START, "--log-format", "json")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def partner_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("partner")
    scaffold.write(str(folder))
    return folder


def cli(url, *args, ok=True):
    result = CliRunner().invoke(main, [*args, "--url", url], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def as_json(url, *args):
    return json.loads(cli(url, *args, "--json").stdout)


@pytest.fixture(scope="module")
def campaign(server, partner_folder):
    """Connector, connection, a user and a sent one-time campaign, through the verbs (after
    an empty reset: the campaign goes to every user)."""
    cli(server.url, "reset", "--empty")
    pushed = cli(server.url, "connectors", "push", str(partner_folder / scaffold.CONNECTOR))
    connector_id = re.search(r"connector (\d+) \(My Partner SMS\) created", pushed.output)
    assert connector_id, pushed.output
    connection = as_json(server.url, "connections", "create", connector_id.group(1),
                         "-f", str(partner_folder / "connection.json"))
    assert connection["status"] == "connected"
    cli(server.url, "users", "add", "ann", "first_name=Ann", "mobile=+919900000001")
    created = cli(server.url, "campaigns", "create", "-f", str(partner_folder / "campaign.json"),
                  "--connector", connector_id.group(1), "--connection", str(connection["id"]))
    campaign_id = re.search(r"campaign (\w+) created", created.output).group(1)
    advanced = cli(server.url, "clock", "advance", "1m")
    assert f"send_campaign {campaign_id} done" in advanced.output
    return {"id": campaign_id, "connector_id": int(connector_id.group(1)),
            "connection_id": connection["id"]}


def test_users_add_then_show_in_human_words_and_json(server):
    added = cli(server.url, "users", "add", "john@example.com", "first_name=John", "points=20",
                "vip=true")
    assert "user john@example.com: 3 attribute(s) set" in added.output
    shown = cli(server.url, "users", "show", "john@example.com")
    assert 'First Name: "John"  (string)' in shown.output
    assert "points: 20  (number)" in shown.output
    user = as_json(server.url, "users", "show", "john@example.com")
    assert user["attributes"]["vip"] is True


def test_events_send_then_list(server):
    sent = cli(server.url, "events", "send", "john@example.com", "Added To Cart", "sku=A1",
               "price=499", "--time", "2026-01-05T08:00:00Z")
    assert "event 'Added To Cart' sent for john@example.com" in sent.output
    listed = as_json(server.url, "events", "list", "--name", "Added To Cart")
    assert [(e["name"], e["attributes"]) for e in listed["events"]] == [
        ("Added To Cart", {"sku": "A1", "price": 499})]
    assert "Added To Cart" in cli(server.url, "events", "list").output


def test_campaign_sent_to_the_sink_is_seen_by_every_verb(server, campaign):
    listed = cli(server.url, "campaigns", "list").output
    assert re.search(rf"{campaign['id']}\s+SENT\s+CONNECTED_APP\s+ONE_TIME\s+Hello SMS", listed)
    assert "campaign_delivery_type: ONE_TIME" in cli(server.url, "campaigns", "show",
                                                     campaign["id"]).output
    assert "1 attempted, 1 sent, 0 failed" in cli(server.url, "campaigns", "stats",
                                                  campaign["id"]).output
    deliveries = cli(server.url, "deliveries", "list", "--campaign", campaign["id"],
                     "--status", "sent").output
    assert re.search(rf"sent\s+{campaign['id']}\s+ann\s+HTTP 200", deliveries)
    sinks = cli(server.url, "sinks", "list").output
    assert re.search(r"my-partner\s+1\s+1\s+2026-01-05T09:00:00", sinks)
    shown = cli(server.url, "sinks", "show", "my-partner", "--bodies").output
    assert "POST /v1/accounts/AC12345678/messages?priority=normal" in shown
    assert '"to": "+919900000001"' in shown and '"text": "Hello Ann!"' in shown
    assert [c["name"] for c in as_json(server.url, "connections", "list")["connections"]] == [
        "Sandbox"]


def test_pause_resume_stop(server, campaign, partner_folder, tmp_path):
    triggered = {
        "channel": "CONNECTED_APP", "campaign_delivery_type": "EVENT_TRIGGERED",
        "created_by": "partner@example.com", "basic_details": {"name": "On sign-up"},
        "campaign_content": {"content": {"connected_app": {"inputs": {
            "to": "{{UserAttribute['mobile']}}", "message": "Welcome!"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"},
        "trigger_condition": {"included_filters": {"filter_operator": "or", "filters": [{
            "filter_type": "actions", "action_name": "Signed Up", "executed": True,
            "attributes": {"filter_operator": "and", "filters": []}}]},
            "trigger_delay_type": "ASAP"}}
    (tmp_path / "triggered.yaml").write_text(json.dumps(triggered))  # YAML reads JSON too
    created = as_json(server.url, "campaigns", "create", "-f", str(tmp_path / "triggered.yaml"),
                      "--connector", str(campaign["connector_id"]),
                      "--connection", str(campaign["connection_id"]))
    campaign_id = created["campaign_id"]
    for verb, status in (("pause", "PAUSED"), ("resume", "ACTIVE")):
        assert f"{verb}: {campaign_id}" in cli(server.url, "campaigns", verb, campaign_id).output
        assert as_json(server.url, "campaigns", "show", campaign_id)["status"] == status
    refused = cli(server.url, "campaigns", "stop", campaign_id, ok=False)  # one-time only
    assert "Action STOP is not valid for a EVENT_TRIGGERED campaign" in refused.output
    one_time = as_json(server.url, "campaigns", "create", "-f",
                       str(partner_folder / "campaign.json"),
                       "--connector", str(campaign["connector_id"]),
                       "--connection", str(campaign["connection_id"]))["campaign_id"]
    cli(server.url, "campaigns", "stop", one_time)  # not sent yet: the clock has not moved
    assert as_json(server.url, "campaigns", "show", one_time)["status"] == "STOPPED"


def test_a_refused_call_names_status_message_and_field(server, tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"channel": "CONNECTED_APP"}))
    result = cli(server.url, "campaigns", "create", "-f", str(tmp_path / "bad.json"), ok=False)
    assert result.exit_code == 1
    assert result.output.startswith("error: 422: ")
    assert re.search(r"^  \S+: ", result.output, re.M)  # one line per field, with its path
    (tmp_path / "broken.json").write_text('{"channel":\n  nope}')
    broken = cli(server.url, "campaigns", "create", "-f", str(tmp_path / "broken.json"), ok=False)
    assert broken.exit_code == 1 and "broken.json:2: not JSON" in broken.output


def test_connector_push_errors_name_file_line_and_json_path(server, partner_folder, tmp_path):
    text = (partner_folder / scaffold.CONNECTOR).read_text()
    (tmp_path / "bad.json").write_text(text.replace('"method": "POST"', '"method": "FETCH"'))
    result = cli(server.url, "connectors", "push", str(tmp_path / "bad.json"), "--app", "Other",
                 ok=False)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"method": "POST"' in row)
    assert result.exit_code == 1
    assert f"bad.json:{line}: modules[0].params.request.method: 'FETCH' is not one of" \
        in result.output


def test_sinks_configure_then_a_request_gets_the_failure(server):
    configured = cli(server.url, "sinks", "configure", "flaky", "--fail-next", "1",
                     "--fail-status", "503")
    assert "sink flaky: answers 200, fails the next 1" in configured.output
    assert requests.post(server.url + "/_sim/sink/flaky/x", timeout=5).status_code == 503
    assert requests.post(server.url + "/_sim/sink/flaky/x", timeout=5).status_code == 200


def test_tail_prints_a_sink_request_as_it_arrives(server):
    tail = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "tail", "--url", server.url, "--sink", "live",
         "--count", "1", "--for", "30", "--interval", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "tailing sink requests" in tail.stderr.readline()  # its cursor is set
        requests.post(server.url + "/_sim/sink/live/v1/hook?x=1", json={"a": 1}, timeout=5)
        line = tail.stdout.readline()
        assert re.search(r"  200  live  POST /v1/hook\?x=1$", line.rstrip()), line
        assert tail.wait(timeout=10) == 0
    finally:
        tail.kill()


def test_tail_filters_deliveries_by_campaign_and_status(server, campaign):
    found = cli(server.url, "tail", "--from-start", "--campaign", campaign["id"], "--status",
                "2xx", "--count", "1", "--for", "5", "--json")
    record = json.loads(found.stdout.splitlines()[0])
    assert record["kind"] == "delivery" and record["campaign_id"] == campaign["id"]
    assert record["customer_id"] == "ann" and record["status"] == "sent"
    none = cli(server.url, "tail", "--from-start", "--campaign", campaign["id"], "--status",
               "failed", "--for", "0.2")
    assert "sent" not in none.stdout


def test_route_lists_and_sink_list_from_the_server(server, campaign):
    api = requests.get(server.url + "/api", timeout=5).json()["routes"]
    assert {"path": "/api/campaigns", "methods": ["POST"]}.items() <= next(
        r for r in api if r["path"] == "/api/campaigns" and r["methods"] == ["POST"]).items()
    assert all(r["path"].startswith("/api") for r in api)
    sim = [r["path"] for r in requests.get(server.url + "/_sim", timeout=5).json()["routes"]]
    assert {"/_sim/sinks", "/_sim/sink-requests", "/_sim/reset", "/_sim/clock"} <= set(sim)
    sinks = requests.get(server.url + "/_sim/sinks", timeout=5).json()["sinks"]
    assert {"name": "my-partner", "requests": 1, "served": 1} == {
        k: v for k, v in next(s for s in sinks if s["name"] == "my-partner").items()
        if k != "last_request"}


def test_console_has_an_access_line_per_request_and_a_line_per_campaign_run(server, campaign):
    lines = [json.loads(line) for line in server.lines[1:] if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "moesim.access"]
    assert any(a["method"] == "POST" and a["path"] == "/api/campaigns" and a["status"] == 201
               and a["ms"] >= 0 for a in access)
    runs = [line["message"] for line in lines if line["logger"] == "moesim.engine"]
    assert f"campaign {campaign['id']} send_campaign: 1 sent, 0 failed, 0 removed" in \
        " ".join(runs)
    assert not any("Running job" in line["message"] for line in lines)  # no per-tick lines


def test_unreachable_server_says_how_to_start_one():
    result = CliRunner().invoke(main, ["users", "show", "x", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9: start it with `moesim serve`" in result.output


def test_reset_empty_leaves_no_data_and_reset_returns_to_start(tmp_path):
    server = serve_ready("--db", str(tmp_path / "r.db"), "--clock", "virtual",
                         "--start-time", START)  # the bundled demo: 1,000 users, a campaign
    try:
        def users():
            return requests.get(server.url + "/api/users", timeout=5).json()["total"]

        assert users() == 1000
        requests.post(server.url + "/_sim/sink/s/x", timeout=5)
        assert "emptied" in cli(server.url, "reset", "--empty").output
        assert users() == 0
        assert "no campaigns" in cli(server.url, "campaigns", "list").output
        assert "no sinks yet" in cli(server.url, "sinks", "list").output
        cli(server.url, "users", "add", "zed", "first_name=Zed")
        assert "reset to the start-up state" in cli(server.url, "reset").output
        assert users() == 1000
        assert "Pro plan welcome SMS" in cli(server.url, "campaigns", "list").output
        assert requests.get(server.url + "/api/users/zed", timeout=5).status_code == 404
    finally:
        server.stop()

def test_clock_verbs_answer_json_too_and_run_due_runs_what_is_due(server):
    clock = as_json(server.url, "clock", "show")
    assert clock["mode"] == "virtual"
    ran = cli(server.url, "clock", "run-due")
    assert re.match(r"\d+ job\(s\) ran", ran.stdout)
    assert as_json(server.url, "clock", "run-due")["ran"] == []
