"""``moesim scenario run``: each scenario file runs against its own simulator (served in-process
on a free loopback port, a new SQLite file in a temporary directory, a virtual clock at the
scenario's ``start``, no fixtures, its seed), talking HTTP to it through ``simulator.client``
exactly as a partner's test would. Prints progress and, for each failed expectation, what was
expected and what happened; writes JUnit XML and normalized delivery logs on request.

Exit status: 0 all passed, 1 any scenario failed, 2 invalid scenario files (nothing runs).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit
from xml.etree import ElementTree

from .client import Moesim, MoesimError, serve_in_process
from .core import expectations as check
from .core import form_values, masking
from .core.scenario_files import (Problem, Scenario, ScenarioInvalid, dotted, parse, substitute,
                                  validate)
from .services.clock import parse_duration

SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_APP = "Scenario App"
# One request in flight: the sink numbers requests in arrival order and seeds its failures by
# that number, so a run repeats exactly only when requests arrive in the same order.
SETTINGS = {"send_concurrency": 1}


@dataclass
class Failure:
    label: str
    lines: list[str]

    def text(self) -> str:
        return "\n".join([self.label, *(f"    {line}" for line in self.lines)])


@dataclass
class Result:
    scenario: Scenario
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    steps: int = 0
    checked: int = 0
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)
    # the scenario's secrets (connection password/encrypt values, OAuth configuration
    # credentials): every text shown or written is masked with them
    secrets: set[str] = field(default_factory=set)

    def masked(self, text: str) -> str:
        return masking.mask(text, self.secrets)

    @property
    def ok(self) -> bool:
        return not self.failures and self.error is None

    def report(self) -> str:
        parts = [f.text() for f in self.failures]
        if self.error:
            parts.append(f"error: {self.error}")
        return self.masked("\n".join(parts))


# loading ---------------------------------------------------------------------------------

def scenario_files(paths: list[str]) -> list[Path]:
    """Files named, and the scenario files under directories named (sorted)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found


def load(paths: list[str]) -> list[Scenario]:
    """Every scenario, parsed, checked and with its referenced files read in; raises
    ``ScenarioInvalid`` listing every problem of every file."""
    scenarios, problems = [], []
    for path in scenario_files(paths):
        try:
            scenario = parse(path.read_text(encoding="utf-8"), str(path))
        except ScenarioInvalid as invalid:
            problems += invalid.problems
            continue
        except OSError as exc:
            problems.append(Problem(str(path), 1, "", f"cannot read: {exc.strerror}"))
            continue
        found = validate(scenario)
        if not found:
            found = _read_referenced_files(scenario, path.parent)
        problems += found
        scenarios.append(scenario)
    if problems:
        raise ScenarioInvalid(problems)
    return scenarios


def _read_referenced_files(scenario: Scenario, base: Path) -> list[Problem]:
    """Connector and OAuth configs, campaign bodies and user lists given as file paths."""
    data, problems = scenario.data, []
    fixtures = data.get("fixtures") or {}
    holders: list[tuple[dict, str, tuple]] = []
    for key in ("connectors", "oauth_configs"):
        holders += [(item, "config", ("fixtures", key, i, "config"))
                    for i, item in enumerate(fixtures.get(key) or [])]
    holders += [(step["create_campaign"], "body", ("steps", i, "create_campaign", "body"))
                for i, step in enumerate(data.get("steps") or []) if "create_campaign" in step]
    if isinstance(fixtures.get("users"), str):
        holders.append((fixtures, "users", ("fixtures", "users")))
    for holder, key, path in holders:
        if not isinstance(holder[key], str):
            continue
        file = base / holder[key]
        try:
            text = file.read_text(encoding="utf-8")
            if file.suffix == ".jsonl":
                holder[key] = [json.loads(line) for line in text.splitlines() if line.strip()]
            else:
                holder[key] = json.loads(text)
        except OSError as exc:
            problems.append(scenario.problem(path, f"cannot read {file}: {exc.strerror}"))
        except ValueError as exc:
            problems.append(scenario.problem(path, f"{file} is not JSON: {exc}"))
    return problems


# running ---------------------------------------------------------------------------------

class StepFailed(Exception):
    pass


class _Run:
    def __init__(self, scenario: Scenario, moesim: Moesim, result: Result):
        self.scenario, self.moesim, self.result = scenario, moesim, result
        self.names: dict[str, Any] = {"MOESIM_URL": moesim.url,
                                      "SINK": f"{moesim.url}/_sim/sink"}
        self.campaigns: dict[str, str] = {}

    def where(self, path: tuple) -> str:
        return f"{Path(self.scenario.file).name}:{self.scenario.line(path)}"

    def values(self, value: Any) -> Any:
        return substitute(value, self.names)

    # fixtures
    def fixtures(self) -> None:
        fixtures = self.scenario.data.get("fixtures") or {}
        for name, behaviour in (fixtures.get("sinks") or {}).items():
            self.moesim.configure_sink(name, **self.values(behaviour))
        if fixtures.get("users"):
            self.load_users(fixtures["users"], ("fixtures", "users"))
        for event in fixtures.get("events") or []:
            self.moesim.post_event(event["customer_id"], event["name"],
                                   event.get("attributes"), event.get("time"))
        apps: dict[str, int] = {}
        for item in fixtures.get("connectors") or []:
            app = item.get("app", DEFAULT_APP)
            if app not in apps:
                apps[app] = self.moesim.create_app(app)
            self.names[f"connector.{item['ref']}"] = self.moesim.upload_connector(
                apps[app], self.values(item["config"]))
        configs = {item["ref"]: self.values(item["config"])
                   for item in fixtures.get("connectors") or []}
        for item in fixtures.get("connections") or []:
            values = self.values(item["values"])
            config = configs.get(item["connector"])
            secret = form_values.secret_keys(config.get("input_variables") or []) \
                if isinstance(config, dict) else set()
            self.result.secrets |= {str(v) for k, v in values.items()
                                    if k in secret and v not in (None, "")}
            self.names[f"connection.{item['ref']}"] = self.moesim.connect(
                self.names[f"connector.{item['connector']}"], item.get("name", item["ref"]),
                values)
        for item in fixtures.get("oauth_configs") or []:
            self.result.secrets |= masking.secret_values(self.values(item["config"]).get(
                "request"))
            created = self.moesim.create_oauth_config(self.values(item["config"]))
            if created.get("status") != "ACTIVE":
                raise StepFailed(f"oauth config {item['ref']!r} is {created.get('status')}: "
                                 f"{created.get('detail')}")
            self.names[f"oauth_config.{item['ref']}"] = created["id"]

    def load_users(self, users: list[dict], path: tuple) -> None:
        before = len(self.moesim.http.ok("GET", "/_sim/logs/data-api")["entries"])
        self.moesim.load_users(users)
        dropped = self.moesim.http.ok("GET", "/_sim/logs/data-api")["entries"][before:]
        if dropped:
            raise StepFailed(f"{self.where(path)}: the Data API dropped user(s): "
                             f"{check.show(dropped)}")

    # steps
    def step(self, index: int, step: dict) -> None:
        (kind, body), = step.items()
        path = ("steps", index, kind)
        moesim = self.moesim
        if kind == "load_users":
            self.load_users(body, path)
        elif kind == "update_user":
            moesim.update_user(body["customer_id"], body["attributes"])
        elif kind == "post_event":
            moesim.post_event(body["customer_id"], body["name"], body.get("attributes"),
                              body.get("time"))
        elif kind == "create_campaign":
            campaign_id = moesim.create_campaign(self.values(body["body"]))
            self.campaigns[body["ref"]] = campaign_id
            self.names[f"campaign.{body['ref']}"] = campaign_id
        elif kind == "update_campaign":
            moesim.update_campaign(self.campaigns[body["campaign"]], self.values(body["body"]))
        elif kind in ("pause", "resume", "stop"):
            moesim.campaign_action(kind.upper(), [self.campaigns[body]],
                                   f"scenario-{kind}-{index}")
        elif kind == "advance":
            if isinstance(body, dict):
                moesim.advance(to=body["to"])
            else:
                moesim.advance(seconds=parse_duration(str(body)).total_seconds())
        elif kind == "configure_sink":
            moesim.configure_sink(body["name"], **self.values(
                {k: v for k, v in body.items() if k != "name"}))
        elif kind == "expect":
            self.expect(body, path)

    # expectations
    def expect(self, items: list[dict], path: tuple) -> None:
        for index, item in enumerate(items):
            (kind, body), = item.items()
            where = path + (index,)
            label = f"{dotted(where)} {self.describe(kind, body)} " \
                    f"({self.where(where)}; virtual time {self.moesim.now()})"
            lines = self.compare(kind, self.resolve_counts(body))
            self.result.checked += 1
            if lines:
                self.result.failures.append(Failure(label, lines))

    @staticmethod
    def describe(kind: str, body: dict) -> str:
        if kind == "requests":
            return f"requests at sink {body['sink']!r}" if "sink" in body else \
                f"requests to {body['url']}"
        if kind == "user_events":
            return f"events of user {body['customer_id']!r}"
        return f"{kind} of campaign {body['campaign']!r}"

    def compare(self, kind: str, body: dict) -> list[str]:
        if kind == "requests":
            return check.check_requests(body, self.requests(body))
        if kind == "stats":
            return check.check_fields(body, self.moesim.stats(self.campaigns[body["campaign"]]))
        if kind == "campaign":
            campaign = self.moesim.campaign(self.campaigns[body["campaign"]])
            expected = {"status": body["status"]} if "status" in body else {}
            return check.check_fields({**expected, **(body.get("fields") or {})}, campaign)
        events = self.moesim.http.ok("GET", f"/api/users/{body['customer_id']}/events?"
                                            f"limit=1000")
        return check.check_events(body, events)

    def resolve_counts(self, value: Any) -> Any:
        """``{$count: {sink|url, where}}``: the number of such requests in this run."""
        if isinstance(value, dict):
            if set(value) == {"$count"}:
                endpoint = value["$count"]
                where = endpoint.get("where")
                counted = sum(1 for r in self.requests(endpoint)
                              if not where or not check.match_request(where, r))
                of = self.describe("requests", endpoint) + \
                    (f" where {check.show(where)}" if where else "")
                return {"$counted": {"value": counted, "of": of}}
            return {k: self.resolve_counts(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_counts(v) for v in value]
        return value

    def requests(self, endpoint: dict) -> list[dict]:
        """The requests an endpoint received, in one shape whichever the endpoint."""
        if "sink" in endpoint:
            return [{"method": r["method"], "url": None, "path": r["path"],
                     "query": r["query"], "headers": r["headers"], "body": r["body"],
                     "json": r["json"], "at": r["time"], "status": r["response_status"]}
                    for r in self.moesim.sink_requests(endpoint["sink"])]
        prefix = self.values(endpoint["url"])
        campaign_id = self.campaigns.get(endpoint.get("campaign", ""))
        found = []
        for delivery in self.deliveries(campaign_id):
            request = delivery.get("request")
            if not request or not request["url"].startswith(prefix):
                continue
            parts = urlsplit(request["url"])
            try:
                parsed = json.loads(request["body"]) if request.get("body") else None
            except ValueError:
                parsed = None
            found.append({"method": request["method"], "url": request["url"],
                          "path": parts.path, "query": parts.query,
                          "headers": dict(request.get("headers") or []),
                          "body": request.get("body"), "json": parsed, "at": delivery["time"],
                          "status": delivery.get("http_status")})
        return found

    def deliveries(self, campaign_id: str | None = None) -> list[dict]:
        records, after = [], 0
        query = f"&campaign_id={campaign_id}" if campaign_id else ""
        while True:
            page = self.moesim.http.ok("GET", f"/_sim/deliveries?limit=1000&after={after}"
                                              f"{query}")
            records += page["deliveries"]
            if not page["next"]:
                return records
            after = page["next"]

    def delivery_log(self) -> list[str]:
        """The delivery log in a form that repeats byte for byte: virtual times, ids,
        outcomes, requests and response statuses; no wall-clock durations or dates."""
        refs = {v: k for k, v in self.campaigns.items()}
        lines = []
        for d in self.deliveries():
            if d["campaign_id"] not in refs:  # a periodic instance: its parent's name
                parent = self.moesim.campaign(d["campaign_id"]).get("parent_campaign_id")
                refs[d["campaign_id"]] = refs.get(parent)
            request = d.get("request")
            record = {"time": d["time"], "campaign": refs.get(d["campaign_id"]),
                      "campaign_id": d["campaign_id"], "customer_id": d["customer_id"],
                      "status": d["status"], "reason": d.get("reason"),
                      "request": request and {k: request.get(k) for k in
                                              ("method", "url", "headers", "body")},
                      "response_status": d.get("http_status")}
            lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False)
                         .replace(self.moesim.url, "${MOESIM_URL}"))
        return lines


def run(scenario: Scenario, seed: int | None = None) -> Result:
    """Run one scenario in a workspace of its own."""
    data, result = scenario.data, Result(scenario)
    started = time.perf_counter()
    with serve_in_process(data["start"], seed=data.get("seed", 0) if seed is None else seed,
                          **SETTINGS) as moesim:
        state = _Run(scenario, moesim, result)
        index, kind = -1, "fixtures"
        try:
            state.fixtures()
            for index, step in enumerate(data.get("steps") or []):
                kind = next(iter(step))
                state.step(index, step)
                result.steps += 1
            state.expect(data.get("expect") or [], ("expect",))
        except (MoesimError, StepFailed) as exc:
            path = ("steps", index, kind) if index >= 0 else ("fixtures",)
            result.error = f"{dotted(path)} ({state.where(path)}): {exc}"
        result.log = [result.masked(line) for line in state.delivery_log()]
    result.seconds = time.perf_counter() - started
    return result


# reporting -------------------------------------------------------------------------------

def write_junit(results: list[Result], path: str) -> None:
    """One testsuite, one testcase per scenario; failures carry the diff text."""
    suite = ElementTree.Element("testsuite", {
        "name": "moesim scenarios", "tests": str(len(results)),
        "failures": str(sum(1 for r in results if r.failures and not r.error)),
        "errors": str(sum(1 for r in results if r.error)),
        "time": f"{sum(r.seconds for r in results):.3f}"})
    for result in results:
        file = result.scenario.file
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": Path(file).stem, "name": result.scenario.name, "file": file,
            "time": f"{result.seconds:.3f}"})
        if result.error:
            element = ElementTree.SubElement(case, "error",
                                             {"message": result.masked(result.error)})
            element.text = result.report()
        elif result.failures:
            element = ElementTree.SubElement(case, "failure", {
                "message": f"{len(result.failures)} expectation(s) failed"})
            element.text = result.report()
    tree = ElementTree.ElementTree(ElementTree.Element("testsuites"))
    tree.getroot().append(suite)
    ElementTree.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def write_logs(results: list[Result], directory: str) -> None:
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for result in results:
        stem = Path(result.scenario.file).stem
        name, number = stem, 1
        while name in used:
            number += 1
            name = f"{stem}-{number}"
        used.add(name)
        text = "".join(line + "\n" for line in result.log)
        (target / f"{name}.jsonl").write_text(text, encoding="utf-8")


def run_paths(paths: list[str], *, seed: int | None = None, junit: str | None = None,
              log_dir: str | None = None, echo: Callable[[str], None] = print) -> int:
    """The ``moesim scenario run`` command: the exit status."""
    try:
        scenarios = load(paths)
    except ScenarioInvalid as invalid:
        for problem in invalid.problems:
            echo(str(problem))
        echo(f"{len(invalid.problems)} problem(s); no scenario ran")
        return 2
    if not scenarios:
        echo("no scenario files found")
        return 2
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log in the report
    results = []
    for number, scenario in enumerate(scenarios, 1):
        result = run(scenario, seed)
        results.append(result)
        verdict = "ok" if result.ok else ("ERROR" if result.error else "FAILED")
        echo(f"[{number}/{len(scenarios)}] {scenario.file}: {scenario.name} ... {verdict} "
             f"({result.steps} steps, {result.checked} expectations, {result.seconds:.1f} s)")
        if not result.ok:
            for line in result.report().splitlines():
                echo(f"  {line}")
    if junit:
        write_junit(results, junit)
    if log_dir:
        write_logs(results, log_dir)
    failed = sum(1 for r in results if not r.ok)
    echo(f"{len(results)} scenario(s): {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
