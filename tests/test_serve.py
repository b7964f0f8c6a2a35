"""`moesim serve` as a process: graceful stop, snapshots on the command line, --watch, the
rough edges of the CLI (usage errors, warnings, help), `moesim init`, progress lines."""

import json
import re
import signal
import subprocess
import sys
import threading

import pytest
import requests
from click.testing import CliRunner

from simulator import scaffold
from simulator.cli import main

from .conftest import serve_ready, wait_for
from .test_cli_verbs import START, cli


def test_sigterm_lets_the_request_in_flight_finish_then_exports(tmp_path):
    snapshot = tmp_path / "on-exit.db"
    served = serve_ready("--db", str(tmp_path / "g.db"), "--fixtures", "none", "--clock", "virtual",
                    "--start-time", START, "--export-on-exit", str(snapshot))
    cli(served.url, "users", "add", "kept", "first_name=Kept")
    cli(served.url, "sinks", "configure", "slow", "--delay-ms", "1500")
    answer = {}

    def slow_request():
        answer["status"] = requests.post(served.url + "/_sim/sink/slow/x", timeout=10).status_code

    thread = threading.Thread(target=slow_request)
    thread.start()
    wait_for(lambda: requests.get(served.url + "/_sim/sinks/slow", timeout=2)
                    .json()["served"] == 1)  # the request is in flight (recorded, delayed)
    assert served.stop(signal.SIGTERM) == 0
    thread.join(10)
    assert answer == {"status": 200}
    output = served.output()
    assert "stopping: no new requests; waiting for the ones in flight" in output
    assert f"snapshot written to {snapshot}" in output and "stopped" in output
    restored = serve_ready("--import", str(snapshot), "--db", str(tmp_path / "again.db"))
    try:
        assert requests.get(restored.url + "/api/users/kept", timeout=5).ok
        assert "snapshot" in restored.output()
    finally:
        restored.stop()


def test_watch_uploads_configs_and_a_new_version_when_one_changes(tmp_path):
    scaffold.write(str(tmp_path))
    config = tmp_path / scaffold.CONNECTOR
    served = serve_ready("--db", str(tmp_path / "w.db"), "--fixtures", "none", "--clock", "virtual",
                    "--watch", str(config.parent), cwd=str(tmp_path))
    try:
        def versions():
            answer = requests.get(served.url + "/api/connectors/1/versions", timeout=2)
            return answer.json()["versions"] if answer.ok else []

        wait_for(lambda: len(versions()) == 1)
        text = config.read_text()
        config.write_text(text.replace("Send a text message to a user", "Edited description"))
        wait_for(lambda: len(versions()) == 2)
        assert versions()[-1]["config"]["basic_info"]["description"] == "Edited description"
        broken = text.replace('"method": "POST"', '"method": "FETCH"').replace(
            "My Partner SMS", "Broken SMS")
        (config.parent / "broken.json").write_text(broken)
        line = next(n for n, row in enumerate(broken.splitlines(), 1) if "FETCH" in row)
        wait_for(lambda: "broken.json" in served.output() and "FETCH" in served.output())
        assert f"broken.json:{line}: modules[0].params.request.method: 'FETCH' is not one of" \
            in served.output()
    finally:
        served.stop()


def test_usage_errors_exit_2_before_any_file_is_touched(tmp_path):
    db = tmp_path / "never.db"
    typo = CliRunner().invoke(main, ["serve", "--db", str(db), "--clock", "virtul"])
    assert typo.exit_code == 2 and "'virtul' is not one of 'system', 'virtual'" in typo.output
    port = CliRunner().invoke(main, ["serve", "--db", str(db), "--port", "lots"])
    assert port.exit_code == 2 and "--port" in port.output
    env = CliRunner(env={"MOESIM_CLOCK": "sometimes"}).invoke(main, ["serve", "--db", str(db)])
    assert env.exit_code == 2 and "MOESIM_CLOCK" in env.output
    assert not db.exists()


def test_help_version_and_typed_options():
    for flag in ("-V", "--version"):
        shown = CliRunner().invoke(main, [flag])
        assert shown.exit_code == 0 and "version 0.1.0" in shown.output
    top = CliRunner().invoke(main, ["-h"]).output
    for line in top.split("Commands:")[1].strip().splitlines():
        assert not line.rstrip().endswith("..."), line  # whole help lines
    serve_help = CliRunner().invoke(main, ["serve", "-h"]).output
    assert "--port INTEGER" in serve_help and "--clock [system|virtual]" in serve_help
    assert "--send-timeout-s NUMBER" in serve_help and "[default ]" not in serve_help


def test_settings_for_a_new_database_warn_on_an_existing_one(tmp_path):
    db = str(tmp_path / "old.db")
    first = serve_ready("--db", db, "--fixtures", "none")
    first.stop()
    again = serve_ready("--db", db, "--clock", "virtual")
    try:
        assert requests.get(again.url + "/_sim/clock", timeout=5).json()["mode"] == "system"
        hint = cli(again.url, "clock", "advance", "2h", ok=False)
        assert hint.exit_code == 1 and "moesim clock set virtual" in hint.output
    finally:
        again.stop()
    assert "--clock virtual: not applied" in again.output()
    assert "already exists and keeps its own" in again.output()


def test_init_writes_a_folder_whose_files_validate_and_run(tmp_path):
    made = CliRunner().invoke(main, ["init", str(tmp_path / "p")])
    assert made.exit_code == 0, made.output
    folder = tmp_path / "p"
    valid = CliRunner().invoke(main, ["validate", str(folder / scaffold.CONNECTOR)])
    assert valid.exit_code == 0 and valid.stdout.strip().endswith(": ok")
    ran = CliRunner().invoke(main, ["scenario", "run", str(folder / "scenario.yaml")])
    assert ran.exit_code == 0 and "1 passed, 0 failed" in ran.output
    test = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder / "test_my_partner.py")], capture_output=True, text=True,
                          cwd=folder, timeout=120)
    assert test.returncode == 0, test.stdout + test.stderr
    again = CliRunner().invoke(main, ["init", str(folder)])
    assert again.exit_code == 1 and "already exist" in again.output


def test_import_progress_is_plain_lines_off_a_terminal(tmp_path):
    rows = "".join(json.dumps({"customer_id": f"u{i}", "plan": "pro"}) + "\n" for i in range(50))
    (tmp_path / "u.jsonl").write_text(rows)
    result = CliRunner().invoke(main, ["import", "users", str(tmp_path / "u.jsonl"),
                                       "--db", str(tmp_path / "p.db")])
    assert result.exit_code == 0, result.output
    assert "importing users: 100% (" in result.output and "s left)" in result.output
    assert "importing users: done," in result.output
    assert "50 row(s): 50 user(s) created, 0 updated, 0 event(s)" in result.output


@pytest.mark.parametrize("args", [["users", "add", "x", "novalue"], ["tail", "--status", "9"]])
def test_bad_arguments_of_the_verbs_are_usage_errors(args):
    result = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2, result.output


def test_a_single_long_call_is_announced_off_a_terminal_and_a_quick_one_is_not(monkeypatch):
    import io
    import time

    from simulator import progress

    quick = io.StringIO()
    with progress.waiting("advancing the clock by 1m", stream=quick):
        pass
    assert quick.getvalue() == ""
    monkeypatch.setattr(progress, "SLOW_S", 0.01)
    slow = io.StringIO()
    with progress.waiting("advancing the clock by 30d", stream=slow):
        deadline = time.monotonic() + 5
        while "..." not in slow.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)  # the call in flight, as seen by its announcement timer
    lines = slow.getvalue().splitlines()
    assert lines[0] == "advancing the clock by 30d ..."
    assert re.match(r"advancing the clock by 30d: done in \d+\.\d s$", lines[1])


def test_verbs_send_the_admin_token_of_their_environment(tmp_path):
    server = serve_ready("--db", str(tmp_path / "t.db"), "--fixtures", "none",
                         env={"MOESIM_ADMIN_TOKEN": "s3cret-admin"})
    try:
        refused = CliRunner().invoke(main, ["campaigns", "list", "--url", server.url],
                                     env={"MOESIM_ADMIN_TOKEN": None})
        assert refused.exit_code == 1 and "error: 401: admin token required" in refused.output
        with_token = CliRunner(env={"MOESIM_ADMIN_TOKEN": "s3cret-admin"})
        added = with_token.invoke(main, ["users", "add", "t", "plan=pro", "--url", server.url])
        assert added.exit_code == 0, added.output  # the Data API keeps its Basic auth
        listed = with_token.invoke(main, ["sinks", "list", "--url", server.url])
        assert listed.exit_code == 0 and "no sinks yet" in listed.output
    finally:
        server.stop()
