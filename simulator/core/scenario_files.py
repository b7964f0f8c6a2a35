"""Scenario files: read YAML or JSON with the line of every node, check them against the
published schema (``core.scenario_schema``) and the rules a schema cannot state, and report
every problem as ``FILE:LINE: PATH: message``.

Pure: the caller reads the file; this module never touches the disk or the clock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import jsonschema
import yaml

from .errors import ValidationFailed
from .scenario_schema import SCHEMA

Path_ = tuple  # a JSON path as a tuple of keys and indexes

REFERENCE = re.compile(r"\$\{(connector|connection|oauth_config|campaign)\.([A-Za-z0-9_-]+)\}")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path or '(top)'}: {self.message}"


class ScenarioInvalid(ValidationFailed):
    """A scenario file that cannot run; ``problems`` lists every one."""

    code = "scenario_invalid"

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in scenario file(s)")
        self.problems = problems


@dataclass
class Scenario:
    file: str
    data: dict
    lines: dict = field(default_factory=dict)  # Path_ -> line (1-based)

    @property
    def name(self) -> str:
        return self.data.get("name", self.file)

    def line(self, path: Path_) -> int:
        """The line of the node at ``path``, else of its nearest ancestor that has one."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.file, self.line(path), dotted(path), message)


def dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without implicit timestamps: ``2026-01-05T09:00:00Z`` stays the string it is
    (the schema and the API want ISO text, not Python datetimes)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _node_lines(node: yaml.Node, path: Path_, lines: dict) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            _node_lines(value_node, path + (key,), lines)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, path + (index,), lines)


def parse(text: str, file: str) -> Scenario:
    """The scenario in ``text`` (JSON when ``file`` ends in .json, else YAML), with lines."""
    lines: dict = {}
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        if file.endswith(".json"):
            data = json.loads(text)  # JSON's own reading; the YAML pass only gave lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioInvalid([Problem(file, line, "", f"not valid YAML: {exc.problem}")])
    except ValueError as exc:
        raise ScenarioInvalid([Problem(file, getattr(exc, "lineno", 1), "",
                                       f"not valid JSON: {exc}")])
    if node is not None:
        _node_lines(node, (), lines)
    if not isinstance(data, dict):
        raise ScenarioInvalid([Problem(file, 1, "", "a scenario is a mapping (name, start, "
                                                    "steps, ...)")])
    return Scenario(file, data, lines)


def validate(scenario: Scenario) -> list[Problem]:
    """Every problem of a parsed scenario: the schema first, then the cross-references."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = [scenario.problem(tuple(error.absolute_path), _schema_message(error))
                for error in sorted(validator.iter_errors(scenario.data),
                                    key=lambda e: (scenario.line(tuple(e.absolute_path)),
                                                   list(map(str, e.absolute_path))))]
    if problems:
        return problems
    return _references(scenario)


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and error.schema.get("maxProperties") == 1:
        return f"unknown kind {sorted(set(error.instance) - set(error.schema['properties']))}; " \
               f"use one of: {', '.join(error.schema['properties'])}"
    if error.validator in ("maxProperties", "minProperties") and "description" in error.schema:
        return f"must be {error.schema['description']}"
    if error.validator == "oneOf" and "description" in error.schema:
        return f"must be {error.schema['description']}"
    if error.validator == "pattern" and "description" in error.schema:
        return f"{error.instance!r} is not {error.schema['description']}"
    return error.message


def _walk(value: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def _references(scenario: Scenario) -> list[Problem]:
    """Refs defined once and defined before they are used; endpoints named once."""
    data, problems = scenario.data, []
    defined: dict[str, set[str]] = {"connector": set(), "connection": set(),
                                    "oauth_config": set(), "campaign": set()}

    def define(kind: str, ref: str, path: Path_) -> None:
        if ref in defined[kind]:
            problems.append(scenario.problem(path, f"{kind} {ref!r} is defined twice"))
        defined[kind].add(ref)

    def uses(value: Any, path: Path_) -> None:
        for where, item in _walk(value, path):
            if isinstance(item, str):
                for kind, ref in REFERENCE.findall(item):
                    if ref not in defined[kind]:
                        problems.append(scenario.problem(
                            where, f"${{{kind}.{ref}}}: no {kind} {ref!r} defined before here"))

    def campaign(ref: str, path: Path_) -> None:
        if ref not in defined["campaign"]:
            problems.append(scenario.problem(path, f"no campaign {ref!r} created before here"))

    def expectations(items: list, path: Path_) -> None:
        for index, item in enumerate(items):
            (kind, body), where = next(iter(item.items())), path + (index,)
            if kind == "requests":
                if ("sink" in body) == ("url" in body):
                    problems.append(scenario.problem(where + (kind,),
                                                     "give exactly one of sink, url"))
                if "sink" in body and "campaign" in body:
                    problems.append(scenario.problem(where + (kind, "campaign"),
                                                     "campaign selects url requests only (a "
                                                     "sink does not know campaigns)"))
                if "in_order" in body and "unordered" in body:
                    problems.append(scenario.problem(where + (kind,),
                                                     "give in_order or unordered, not both"))
            if kind in ("stats", "campaign") or (kind == "requests" and "campaign" in body):
                campaign(body["campaign"], where + (kind, "campaign"))

    fixtures = data.get("fixtures") or {}
    for kind, key in (("connector", "connectors"), ("oauth_config", "oauth_configs")):
        for index, item in enumerate(fixtures.get(key) or []):
            uses(item["config"], ("fixtures", key, index, "config"))
            define(kind, item["ref"], ("fixtures", key, index, "ref"))
    for index, item in enumerate(fixtures.get("connections") or []):
        if item["connector"] not in defined["connector"]:
            problems.append(scenario.problem(("fixtures", "connections", index, "connector"),
                                             f"no connector {item['connector']!r} defined"))
        define("connection", item["ref"], ("fixtures", "connections", index, "ref"))
    for index, step in enumerate(data.get("steps") or []):
        (kind, body), where = next(iter(step.items())), ("steps", index)
        if kind == "create_campaign":
            uses(body["body"], where + (kind, "body"))
            define("campaign", body["ref"], where + (kind, "ref"))
        elif kind == "update_campaign":
            campaign(body["campaign"], where + (kind, "campaign"))
            uses(body["body"], where + (kind, "body"))
        elif kind in ("pause", "resume", "stop"):
            campaign(body, where + (kind,))
        elif kind == "expect":
            expectations(body, where + (kind,))
    expectations(data.get("expect") or [], ("expect",))
    return problems


def substitute(value: Any, names: dict[str, Any]) -> Any:
    """``${NAME}`` placeholders replaced in every string of ``value``; a string that is one
    placeholder becomes the named value itself (an integer id stays an integer)."""
    if isinstance(value, dict):
        return {substitute(k, names): substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = re.fullmatch(r"\$\{([A-Za-z0-9_.-]+)\}", value)
    if whole and whole.group(1) in names:
        return names[whole.group(1)]
    return re.sub(r"\$\{([A-Za-z0-9_.-]+)\}",
                  lambda m: str(names[m.group(1)]) if m.group(1) in names else m.group(0),
                  value)
