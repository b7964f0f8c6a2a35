"""Connector config validation (spec §2): a JSON Schema for the structure plus the rules a
schema cannot express. Every problem is reported, each with its JSON path
(``modules[0].params.request.method``), so a partner fixes a config in one round.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

import json_source_map
from jsonschema import Draft202012Validator

from . import templating
from .connector_schema import CONFIG_SCHEMA, FLAG, OPERATORS
from .errors import FieldError, ValidationFailed
from .http import HttpResult

_VALIDATOR = Draft202012Validator(CONFIG_SCHEMA)
SENT_EVENT = "Connected App Campaign Sent"
FAILED_EVENT = "Connected App Campaign Failed"
_NO_VALUE_OPERATORS = {"exists", "today"}


@dataclass
class Validation:
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def json_path(parts) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


TOP_LEVEL_KEYS = tuple(CONFIG_SCHEMA["properties"])


def _near_miss(key: str, instance: Any) -> str:
    """" (found 'modul': a misspelling?)" when ``instance`` holds a key close to ``key``."""
    if not isinstance(instance, dict):
        return ""
    others = [k for k in instance if isinstance(k, str) and k not in TOP_LEVEL_KEYS]
    close = difflib.get_close_matches(key, others, n=1, cutoff=0.75)
    return f" (found {close[0]!r}: a misspelling?)" if close else ""


def _schema_errors(config: Any) -> Iterator[FieldError]:
    missing_seen: set[str] = set()
    for error in _VALIDATOR.iter_errors(config):
        parts = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            # jsonschema raises one ``required`` error per missing key, each carrying the
            # whole list: report every missing key once
            for key in error.validator_value:
                where = json_path([*parts, key])
                if key not in error.instance and where not in missing_seen:
                    missing_seen.add(where)
                    hint = _near_miss(key, error.instance) if not parts else ""
                    yield FieldError(where, "is required" + hint)
            continue
        if error.validator == "oneOf" and error.schema == FLAG:
            yield FieldError(json_path(parts), "must be true or false")
            continue
        if error.validator == "pattern":
            yield FieldError(json_path(parts), f"{error.instance!r} does not match "
                                               f"{error.validator_value}")
            continue
        if error.validator in ("enum", "const"):
            allowed = error.validator_value if error.validator == "enum" else [
                error.validator_value]
            yield FieldError(json_path(parts),
                             f"{error.instance!r} is not one of {', '.join(map(repr, allowed))}")
            continue
        yield FieldError(json_path(parts) or "(root)", error.message)


def _inputs(config: dict) -> list[dict]:
    items = config.get("input_variables")
    return [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []


def _check_inputs(config: dict, result: Validation) -> None:
    inputs = config.get("input_variables") if isinstance(config.get("input_variables"),
                                                         list) else []
    counts = Counter(v.get("key") for v in inputs if isinstance(v, dict))
    for i, variable in enumerate(inputs):
        if not isinstance(variable, dict):
            continue
        where = f"input_variables[{i}]"
        key = variable.get("key")
        if isinstance(key, str) and counts[key] > 1:
            result.errors.append(FieldError(f"{where}.key", f"duplicate key {key!r}"))
        if isinstance(key, str) and "." in key:
            result.warnings.append(FieldError(
                f"{where}.key", "contains '.', which MoEngage's key rule does not list"))
        for j, rule in enumerate(variable.get("validations") or []):
            regex = rule.get("regex") if isinstance(rule, dict) else None
            if isinstance(regex, str):
                try:
                    re.compile(regex)
                except re.error as exc:
                    result.errors.append(FieldError(f"{where}.validations[{j}].regex",
                                                    f"does not compile: {exc}"))
        options = variable.get("options")
        if variable.get("type") == "dropdown" and isinstance(options, list):
            option_keys = Counter(o.get("key") for o in options if isinstance(o, dict))
            for j, option in enumerate(options):
                if isinstance(option, dict) and option_keys[option.get("key")] > 1:
                    result.errors.append(FieldError(f"{where}.options[{j}].key",
                                                    f"duplicate option key {option.get('key')!r}"))
            default = variable.get("default_value")
            if default is not None:
                chosen = default if isinstance(default, list) else [default]
                for value in chosen:
                    if value not in option_keys:
                        result.errors.append(FieldError(f"{where}.default_value",
                                                        f"{value!r} is not an option key"))
        if variable.get("type") == "key_value" and "default_value" in variable:
            rows = variable["default_value"]
            if not isinstance(rows, list) or not all(
                    isinstance(r, dict) and "key" in r and "value" in r for r in rows):
                result.errors.append(FieldError(
                    f"{where}.default_value", "must be an array of {\"key\", \"value\"} rows"))


def string_leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string leaf of a JSON value with its path (``path.key``, ``path[i]``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from string_leaves(item, f"{path}[{i}]")


def _templated_fields(config: dict) -> Iterator[tuple[str, str, bool]]:
    """``(path, template, campaign fields allowed)`` for every place templates may appear."""
    auth = config.get("auth")
    if isinstance(auth, dict):
        for path, text in string_leaves(auth.get("auth_info"), "auth.auth_info"):
            yield path, text, False
    modules = config.get("modules")
    for m, module in enumerate(modules if isinstance(modules, list) else []):
        params = module.get("params") if isinstance(module, dict) else None
        if not isinstance(params, dict):
            continue
        base = f"modules[{m}].params"
        request = params.get("request")
        if isinstance(request, dict):
            for key in ("url", "headers", "url_params", "body"):
                for path, text in string_leaves(request.get(key), f"{base}.request.{key}"):
                    yield path, text, True
        responses = params.get("response")
        for r, response in enumerate(responses if isinstance(responses, list) else []):
            actions = response.get("actions") if isinstance(response, dict) else None
            for a, action in enumerate(actions if isinstance(actions, list) else []):
                config_ = action.get("config") if isinstance(action, dict) else None
                attrs = config_.get("attributes") if isinstance(config_, dict) else None
                for k, attr in enumerate(attrs if isinstance(attrs, list) else []):
                    if isinstance(attr, dict) and isinstance(attr.get("value"), str):
                        yield (f"{base}.response[{r}].actions[{a}].config.attributes[{k}].value",
                               attr["value"], True)


def _check_templates(config: dict, result: Validation) -> None:
    scopes = {v.get("key"): v.get("visibility_scope") for v in _inputs(config)}
    auth = config.get("auth") if isinstance(config.get("auth"), dict) else {}
    oauth = auth.get("auth_type") == "oauth"
    env = templating.environment()
    for path, text, campaign_allowed in _templated_fields(config):
        try:
            tree = templating.parse(env, text)
        except templating.TemplateSyntaxError as exc:
            result.errors.append(FieldError(path, f"Jinja does not parse: {exc.message} "
                                                  f"(line {exc.lineno})"))
            continue
        for ref in templating.references(tree):
            problem = _reference_problem(ref, scopes, oauth, campaign_allowed)
            if problem:
                result.errors.append(FieldError(path, problem))


def _reference_problem(ref: templating.Reference, scopes: dict, oauth: bool,
                       campaign_allowed: bool) -> str | None:
    expected = "app_marketplace" if ref.namespace == templating.APP_FORM else "campaign"
    shown = f'{ref.namespace}["{ref.key}"]'
    if ref.namespace == templating.CAMPAIGN_FORM and not campaign_allowed:
        return f"{shown}: campaign fields are not available here (auth runs per connection)"
    if ref.namespace == templating.APP_FORM and ref.key in templating.OAUTH_SPECIAL_KEYS:
        return None if oauth else f"{shown} is an OAuth variable but auth_type is not oauth"
    if ref.key not in scopes:
        return f"{shown}: no input variable has key {ref.key!r}"
    if scopes[ref.key] != expected:
        other = templating.CAMPAIGN_FORM if expected == "app_marketplace" else \
            templating.APP_FORM
        return f"{shown}: {ref.key!r} is a {scopes[ref.key]} field; use {other}"
    return None


def _filters(criteria: Any, path: str) -> Iterator[tuple[str, dict]]:
    filters = criteria.get("filters") if isinstance(criteria, dict) else None
    for i, item in enumerate(filters if isinstance(filters, list) else []):
        if isinstance(item, dict):
            yield f"{path}.filters[{i}]", item
            if item.get("data_type") == "object":
                yield from _filters(item, f"{path}.filters[{i}]")


def _module_responses(config: dict) -> Iterator[tuple[int, list]]:
    """``(module index, its response entries)`` for every module that has a list of them."""
    modules = config.get("modules") if isinstance(config.get("modules"), list) else []
    for m, module in enumerate(modules):
        params = module.get("params") if isinstance(module, dict) else None
        responses = params.get("response") if isinstance(params, dict) else None
        if isinstance(responses, list):
            yield m, responses


def _check_responses(config: dict, result: Validation) -> None:
    for m, responses in _module_responses(config):
        created = set()
        for r, response in enumerate(responses):
            if not isinstance(response, dict):
                continue
            base = f"modules[{m}].params.response[{r}]"
            for path, item in _filters(response.get("evaluation_criteria"),
                                       f"{base}.evaluation_criteria"):
                _check_filter(item, path, result)
            for action in response.get("actions") or []:
                event = (action.get("config") or {}).get("event") if isinstance(
                    action, dict) else None
                if isinstance(event, dict):
                    created.add(event.get("name"))
        missing = [name for name in (SENT_EVENT, FAILED_EVENT) if name not in created]
        if missing:
            result.warnings.append(FieldError(
                f"modules[{m}].params.response",
                f"no action creates {' or '.join(map(repr, missing))}: Sent/Failed fall back "
                f"to HTTP 200 = Sent"))


def _check_filter(item: dict, path: str, result: Validation) -> None:
    data_type, operator = item.get("data_type"), item.get("operator")
    if data_type == "object" or data_type not in OPERATORS or not isinstance(operator, str):
        return
    if operator not in OPERATORS[data_type]:
        result.errors.append(FieldError(
            f"{path}.operator", f"{operator!r} is not an operator for {data_type}; use one of "
                                f"{', '.join(OPERATORS[data_type])}"))
        return
    if operator not in _NO_VALUE_OPERATORS and "value" not in item:
        result.errors.append(FieldError(f"{path}.value", f"is required for {operator!r}"))
    if operator == "between" and "value1" not in item:
        result.errors.append(FieldError(f"{path}.value1", "is required for 'between'"))


def _check_top_level(config: dict, result: Validation) -> None:
    """Keys S1's File Format does not have are reported (MoEngage documents no others), with
    the documented key they are closest to."""
    for key in config:
        if key in TOP_LEVEL_KEYS:
            continue
        close = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        result.warnings.append(FieldError(
            str(key), f"is not a config section (documented: {', '.join(TOP_LEVEL_KEYS)})"
                      f"{hint}"))


def _requests(config: dict) -> Iterator[tuple[str, dict]]:
    """Every request-shaped object: the module requests and the OAuth mappings."""
    modules = config.get("modules")
    for m, module in enumerate(modules if isinstance(modules, list) else []):
        params = module.get("params") if isinstance(module, dict) else None
        request = params.get("request") if isinstance(params, dict) else None
        if isinstance(request, dict):
            yield f"modules[{m}].params.request", request
    auth = config.get("auth")
    info = auth.get("auth_info") if isinstance(auth, dict) else None
    if isinstance(info, dict):
        for name in ("authorization_mapping", "access_token_mapping", "refresh_token_mapping"):
            if isinstance(info.get(name), dict):
                yield f"auth.auth_info.{name}", info[name]


def _check_rows(config: dict, result: Validation) -> None:
    """S1's File Format and OAuth example write an empty row as ``{"": ""}``: it is ignored
    when sending (``outbound.named_rows``), which the upload says."""
    for path, request in _requests(config):
        for part in ("headers", "url_params"):
            rows = request.get(part)
            if not isinstance(rows, dict):
                continue
            for key in rows:
                if not str(key).strip():
                    result.warnings.append(FieldError(
                        f"{path}.{part}", f"a row with no name ({key!r}: {rows[key]!r}) is "
                                          f"ignored when sending"))


def _check_alias(config: dict, result: Validation) -> None:
    """S1's auth table calls ``alias`` required; S1's own OAuth2 example has none. Accepted
    without it (docs/decisions.md)."""
    auth = config.get("auth")
    if isinstance(auth, dict) and "alias" not in auth:
        result.warnings.append(FieldError(
            "auth.alias", "is missing: MoEngage's auth table lists it as required, though its "
                          "own OAuth2 example has none; accepted"))


_STATUSES_2XX = range(200, 300)
_NO_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)  # status filters read no time
_DECIDING = {SENT_EVENT, FAILED_EVENT}


def _certainly(criteria: Any, status: int) -> bool:
    """Whether ``criteria`` holds for a response with ``status``, whatever its body and
    headers: status filters are evaluated, any other filter may fail."""
    from . import evaluation  # it imports this module's event names

    if not isinstance(criteria, dict):
        return False
    want = criteria.get("filter_operator") == "or"
    context = evaluation.Context(HttpResult(status), None, _NO_TIME)
    for item in criteria.get("filters") or ():
        if isinstance(item, dict) and item.get("name") == "response_code" \
                and item.get("data_type") != "object":
            holds = evaluation.leaf(item, item.get("data_type"), context.source(item),
                                    context) != bool(item.get("negate", False))
        else:
            holds = False
        if holds is want:
            return want
    return not want


def _check_undecided(config: dict, result: Validation) -> None:
    """Spec §2.7 [I]: a response no entry decides (none creates Sent or Failed) falls back to
    200 = Sent, else Failed. Warn when some 2xx status can get there: no entry creating Sent or
    Failed matches it for every body and header."""
    for m, responses in _module_responses(config):
        deciding = [r.get("evaluation_criteria") for r in responses if isinstance(r, dict)
                    and any(isinstance(a, dict) and isinstance(a.get("config"), dict)
                            and isinstance(a["config"].get("event"), dict)
                            and a["config"]["event"].get("name") in _DECIDING
                            for a in (r.get("actions") if isinstance(r.get("actions"), list)
                                      else []))]
        undecided = [s for s in _STATUSES_2XX
                     if not any(_certainly(criteria, s) for criteria in deciding)]
        if undecided:
            shown = ", ".join(map(str, undecided[:3])) + (", ..." if len(undecided) > 3 else "")
            result.warnings.append(FieldError(
                f"modules[{m}].params.response",
                f"a 2xx response (status {shown}) can match no entry that creates "
                f"{SENT_EVENT!r} or {FAILED_EVENT!r}; MoEngage's fallback then decides it "
                f"(HTTP 200 = Sent, anything else Failed) and the delivery record says so"))


def validate_config(config: Any, source: str | None = None) -> Validation:
    """Every problem of ``config``. ``source``: the JSON text it was read from, when it was;
    each error and warning then names its line too."""
    result = Validation(errors=list(_schema_errors(config)))
    if isinstance(config, dict):
        _check_top_level(config, result)
        _check_inputs(config, result)
        _check_templates(config, result)
        _check_responses(config, result)
        _check_rows(config, result)
        _check_alias(config, result)
        _check_undecided(config, result)
    result.errors.sort(key=lambda e: _path_key(e.path))
    if source is not None:
        lines = _lines(source)
        result.errors = [_with_line(e, lines) for e in result.errors]
        result.warnings = [_with_line(w, lines) for w in result.warnings]
    return result


def _lines(source: str) -> dict[str, int]:
    """JSON pointer -> 1-based line of the value (of the key, for object members)."""
    try:
        entries = json_source_map.calculate(source)
    except Exception:  # noqa: BLE001 - a text the json module read but this one does not
        return {}
    return {pointer: (entry.key_start or entry.value_start).line + 1
            for pointer, entry in entries.items()}


def _pointer(path: str) -> list[str]:
    """``modules[0].params.request`` -> the pointers from that path up to the root."""
    tokens = [name or index for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)]
    escaped = [t.replace("~", "~0").replace("/", "~1") for t in tokens]
    return ["".join(f"/{t}" for t in escaped[:n]) for n in range(len(escaped), -1, -1)]


def _with_line(problem: FieldError, lines: dict[str, int]) -> FieldError:
    """``problem`` with the line of its path, or of the nearest enclosing value that exists
    (a missing key: the object that lacks it)."""
    for pointer in _pointer(problem.path if problem.path != "(root)" else ""):
        if pointer in lines:
            return dataclasses.replace(problem, line=lines[pointer])
    return problem


def _path_key(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p]


def require_valid(config: Any, source: str | None = None) -> Validation:
    """The validation, or ``ValidationFailed`` (422) carrying every error. ``source``: the
    JSON text, for line numbers."""
    result = validate_config(config, source)
    if not result.ok:
        raise ValidationFailed(f"connector config has {len(result.errors)} error(s)",
                               errors=result.errors)
    return result
