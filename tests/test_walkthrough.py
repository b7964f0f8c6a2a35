"""The README's "First campaign, command by command", run line by line: `moesim init`, a served
simulator watching the connector folder, then each verb against it."""

import json
import re
import shlex
import shutil
import subprocess

import pytest
import requests
from click.testing import CliRunner

from simulator import scaffold
from simulator.cli import main

from .conftest import serve_ready, wait_for
from .test_docs import README


def walkthrough() -> list[list[str]]:
    block = re.search(r"## First campaign, command by command.*?```sh\n(.+?)\n```", README,
                      re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines()]


def test_readme_walkthrough_runs_command_by_command(tmp_path, monkeypatch):
    lines = walkthrough()
    assert lines[0][:2] == ["moesim", "init"] and lines[0][3:] == ["&&", "cd", lines[0][2]]
    monkeypatch.chdir(tmp_path)
    made = CliRunner().invoke(main, lines[0][1:3])
    assert made.exit_code == 0, made.output
    folder = tmp_path / lines[0][2]
    monkeypatch.chdir(folder)

    assert lines[1][:2] == ["moesim", "serve"]
    served = serve_ready(*lines[1][2:], "--db", str(tmp_path / "walk.db"), cwd=str(folder))
    try:
        # the watcher has pushed the config: what a reader sees as its log line
        wait_for(lambda: requests.get(served.url + "/api/connectors/1", timeout=2).ok)
        monkeypatch.setenv("MOESIM_URL", served.url)
        outputs = []
        for line in lines[2:]:
            assert line[0] == "moesim", line
            result = CliRunner().invoke(main, line[1:], catch_exceptions=False)
            assert result.exit_code == 0, f"{shlex.join(line)}: {result.output}"
            outputs.append(result.output)
    finally:
        served.stop()
    assert re.search(r"campaign \w{24} created", outputs[2])
    assert "1 job(s) ran" in outputs[3]
    assert "my-partner: 1 request(s), answers 200" in outputs[4]
    assert "POST /v1/accounts/AC12345678/messages" in outputs[4]
    assert "connector 1 (My Partner SMS) created" in served.output()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_curl_lines_do_the_same(tmp_path):
    block = re.search(r"The same with curl.*?```sh\n(.+?)\n```", README, re.S).group(1)
    scaffold.write(str(tmp_path))
    served = serve_ready("--clock", "virtual", "--fixtures", "none", "--watch", "connectors",
                    "--db", str(tmp_path / "curl.db"), cwd=str(tmp_path))
    try:
        wait_for(lambda: requests.get(served.url + "/api/connectors/1", timeout=2).ok)
        answers = [subprocess.run(line.replace("http://127.0.0.1:5055", served.url) + " -sS",
                                  shell=True, capture_output=True, text=True, timeout=60).stdout
                   for line in block.splitlines()]
    finally:
        served.stop()
    assert json.loads(answers[2])["campaign_id"]
    sink = json.loads(answers[4])
    assert [r["json"]["to"] for r in sink["requests"]] == ["+919900000001"]
