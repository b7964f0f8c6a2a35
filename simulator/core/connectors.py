"""Connector config validation (spec §2): a JSON Schema for the structure plus the rules a
schema cannot express. Every problem is reported, each with its JSON path
(``modules[0].params.request.method``), so a partner fixes a config in one round.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from jsonschema import Draft202012Validator

from . import templating
from .connector_schema import CONFIG_SCHEMA, FLAG, OPERATORS
from .errors import FieldError, ValidationFailed

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


def _schema_errors(config: Any) -> Iterator[FieldError]:
    for error in _VALIDATOR.iter_errors(config):
        parts = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for key in error.validator_value:
                if key not in error.instance:
                    yield FieldError(json_path([*parts, key]), "is required")
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


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _templated_fields(config: dict) -> Iterator[tuple[str, str, bool]]:
    """``(path, template, campaign fields allowed)`` for every place templates may appear."""
    auth = config.get("auth")
    if isinstance(auth, dict):
        for path, text in _strings(auth.get("auth_info"), "auth.auth_info"):
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
                for path, text in _strings(request.get(key), f"{base}.request.{key}"):
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


def _check_responses(config: dict, result: Validation) -> None:
    modules = config.get("modules") if isinstance(config.get("modules"), list) else []
    for m, module in enumerate(modules):
        params = module.get("params") if isinstance(module, dict) else None
        responses = params.get("response") if isinstance(params, dict) else None
        if not isinstance(responses, list):
            continue
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


def validate_config(config: Any) -> Validation:
    result = Validation(errors=list(_schema_errors(config)))
    if isinstance(config, dict):
        _check_inputs(config, result)
        _check_templates(config, result)
        _check_responses(config, result)
    result.errors.sort(key=lambda e: _path_key(e.path))
    return result


def _path_key(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p]


def require_valid(config: Any) -> Validation:
    """The validation, or ``ValidationFailed`` (422) carrying every error."""
    result = validate_config(config)
    if not result.ok:
        raise ValidationFailed(f"connector config has {len(result.errors)} error(s)",
                               errors=result.errors)
    return result
