"""Scenario files and ``moesim scenario run``: every file in ``scenarios/`` is a test case; two
runs with one seed write byte-identical delivery logs; a changed expectation fails with a
readable diff and exit 1; an invalid file is ``FILE:LINE: PATH: message`` and exit 2."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator import scenarios
from simulator.cli import main
from simulator.core import expectations
from simulator.core.scenario_files import parse, validate
from simulator.core.scenario_schema import SCHEMA

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_there_are_eight_example_scenarios():
    assert len(EXAMPLES) == 8


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_scenario(path):
    [scenario] = scenarios.load([str(path)])
    result = scenarios.run(scenario)
    assert result.ok, result.report()
    assert result.checked >= 2 and result.log  # it checked things and something was sent


def test_must_show_two_runs_same_seed_byte_identical_logs(tmp_path):
    runner = CliRunner()
    outputs = []
    for run in ("first", "second"):
        result = runner.invoke(main, ["scenario", "run", str(ROOT / "scenarios"), "--seed", "7",
                                      "--log", str(tmp_path / run),
                                      "--junit", str(tmp_path / f"{run}.xml")])
        assert result.exit_code == 0, result.output
        assert "8 scenario(s): 8 passed, 0 failed" in result.output
        outputs.append({p.name: p.read_bytes() for p in (tmp_path / run).iterdir()})
    assert len(outputs[0]) == 8 and outputs[0] == outputs[1]
    assert b"${MOESIM_URL}/_sim/sink/crm/contacts" in outputs[0]["failing-endpoint.jsonl"]
    assert b"elapsed" not in b"".join(outputs[0].values())
    other = runner.invoke(main, ["scenario", "run", str(ROOT / "scenarios/failing-endpoint.yaml"),
                                 "--seed", "8", "--log", str(tmp_path / "other")])
    assert other.exit_code == 0, other.output
    assert (tmp_path / "other/failing-endpoint.jsonl").read_bytes() != \
        outputs[0]["failing-endpoint.jsonl"]  # the seed is what repeats the failures


def _copy_example(tmp_path, name):
    """An example scenario with the connector configs it refers to, in ``tmp_path``."""
    shutil.copytree(ROOT / "fixtures" / "connectors", tmp_path / "fixtures" / "connectors")
    (tmp_path / "scenarios").mkdir()
    target = tmp_path / "scenarios" / name
    shutil.copy(ROOT / "scenarios" / name, target)
    return target


def test_must_show_a_changed_expectation_fails_with_a_readable_diff(tmp_path):
    path = _copy_example(tmp_path, "welcome-asap.yaml")
    text = path.read_text()
    path.write_text(text.replace("text: Welcome to Acme, Ann!", "text: Hello Ann")
                        .replace("at: 2026-01-05T09:05:00Z", "at: 2026-01-05T09:06:00Z"))
    line = text.splitlines().index("  - requests:") + 1
    junit = tmp_path / "report.xml"
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--junit", str(junit)])
    assert result.exit_code == 1
    assert f"expect[0] requests at sink 'acme-sms' (welcome-asap.yaml:{line}; virtual time " \
           f"2026-01-05T09:05:00.000Z)" in result.output
    assert 'request[0] at 2026-01-05T09:05:00.000Z: json.text: expected "Hello Ann", got ' \
           '"Welcome to Acme, Ann!"' in result.output
    assert "at: expected 2026-01-05T09:06:00Z, got \"2026-01-05T09:05:00.000Z\"" in result.output
    assert "1 scenario(s): 0 passed, 1 failed" in result.output
    xml = junit.read_text()
    assert '<testsuite name="moesim scenarios" tests="1" failures="1" errors="0"' in xml
    assert 'json.text: expected "Hello Ann"' in xml  # element text: quotes stay quotes


def test_a_step_the_simulator_refuses_is_an_error_naming_the_step(tmp_path):
    path = _copy_example(tmp_path, "personalization-failure.yaml")
    path.write_text(path.read_text().replace("channel: CONNECTED_APP", "channel: PIGEON"))
    result = CliRunner().invoke(main, ["scenario", "run", str(path)])
    assert result.exit_code == 1
    assert "ERROR" in result.output
    assert "steps[0].create_campaign (personalization-failure.yaml:" in result.output
    assert "POST /api/campaigns -> 422" in result.output


INVALID = """\
name: broken
start: 2026-01-05 09:00
steps:
  - advance: 10m
  - teleport: {to: mars}
  - pause: nowhere
  - create_campaign:
      ref: c1
      body: {connection_id: "${connection.missing}"}
expect:
  - requests: {sink: acme, count: many}
"""


def test_invalid_file_is_file_line_path_message_and_exit_2(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(INVALID)
    result = CliRunner().invoke(main, ["scenario", "run", str(path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert f"{path}:2: start: '2026-01-05 09:00' is not ISO 8601 with Z or an offset, " \
           f"e.g. 2026-01-05T09:00:00Z" in lines
    assert any(line.startswith(f"{path}:5: steps[1]: unknown kind ['teleport']; use one of: "
                               "load_users, ") for line in lines), lines
    assert any(line.startswith(f"{path}:11: expect[0].requests.count: must be an integer")
               for line in lines), lines
    assert lines[-1] == "3 problem(s); no scenario ran"


def test_references_are_checked_before_anything_runs(tmp_path):
    path = tmp_path / "refs.yaml"
    path.write_text(INVALID.replace("start: 2026-01-05 09:00", "start: 2026-01-05T09:00:00Z")
                    .replace("  - teleport: {to: mars}\n", "")
                    .replace("count: many", "count: 1, campaign: c1"))
    result = CliRunner().invoke(main, ["scenario", "validate", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{path}:5: steps[1].pause: no campaign 'nowhere' created before here",
        f"{path}:8: steps[2].create_campaign.body.connection_id: ${{connection.missing}}: "
        "no connection 'missing' defined before here",
        f"{path}:10: expect[0].requests.campaign: campaign selects url requests only (a sink "
        "does not know campaigns)"]


def test_json_scenarios_run_and_report_lines_too(tmp_path):
    source = ROOT / "scenarios" / "monthly-last-day.yaml"
    data = parse(source.read_text(), str(source)).data  # times stay ISO strings
    path = tmp_path / "monthly.json"
    path.write_text(json.dumps(data, indent=2))
    result = CliRunner().invoke(main, ["scenario", "run", str(path)])
    assert result.exit_code == 0, result.output
    data["steps"][1] = {"advance": "soon"}
    path.write_text(json.dumps(data, indent=2))
    result = CliRunner().invoke(main, ["scenario", "run", str(path)])
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1)
                if '"advance": "soon"' in text)
    assert result.exit_code == 2
    assert f"{path}:{line}: steps[1].advance: must be seconds, a duration such as 90s, 10m, " \
        f"2h, 3d, 1w, or {{to: ISO}}" in result.output


def test_not_yaml_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nstart: 2026-01-05T09:00:00Z\nsteps: [\n  - advance: 1\n")
    result = CliRunner().invoke(main, ["scenario", "run", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"{path}:4: (top): not valid YAML")


def test_published_schema_is_the_one_used():
    published = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    assert published == SCHEMA


def test_every_example_validates_against_the_published_schema():
    for path in EXAMPLES:
        assert validate(parse(path.read_text(), str(path))) == [], path


@pytest.mark.parametrize("expected, actual, lines", [
    ({"a": 1}, {"a": 1, "b": 2}, []),
    ({"a": {"b": "x"}}, {"a": {"b": "y"}}, ['a.b: expected "x", got "y"']),
    ({"a": 1}, {}, ["a: expected 1, got (missing)"]),
    ([1, 2], [1, 2, 3], ["expected 2 item(s) [1, 2], got 3 [1, 2, 3]"]),
    ({"$regex": "^\\+91"}, "+9199", []),
    ({"$regex": "^\\+91"}, "+4420", ['expected regex "^\\\\+91", got "+4420"']),
    ({"$between": [2, 4]}, 5, ["expected between [2, 4], got 5"]),
    ({"$any": True}, None, []),
    ({"$counted": {"value": 3, "of": "requests at sink 'crm'"}}, 2,
     ["expected 3 (requests at sink 'crm'), got 2"]),
    (True, 1, ["expected true, got 1"]),
])
def test_match_says_where_values_differ(expected, actual, lines):
    assert expectations.match(expected, actual) == lines


def test_unordered_requests_name_the_closest_request():
    requests = [{"method": "POST", "path": "/a", "json": {"to": "1"}, "at": "T1", "status": 200},
                {"method": "POST", "path": "/a", "json": {"to": "2"}, "at": "T2", "status": 200}]
    assert expectations.check_requests(
        {"unordered": [{"json": {"to": "2"}}, {"json": {"to": "1"}}]}, requests) == []
    assert expectations.check_requests(
        {"unordered": [{"json": {"to": "2"}}, {"json": {"to": "3"}}]}, requests) == [
        "unordered[1] matches no request; closest is request[0] at T1:",
        '    json.to: expected "3", got "1"']
