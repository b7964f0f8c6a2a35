"""The JSON Schema of a scenario file (``moesim scenario run``), published in
``docs/scenario.schema.json`` (a test keeps the two equal).

It describes structure. What a schema cannot say (references to connectors, connections and
campaigns defined before they are used) is checked by ``core.scenario_files``.
"""

from __future__ import annotations

DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                                         r"(Z|[+-]\d{2}:?\d{2})$",
            "description": "ISO 8601 with Z or an offset, e.g. 2026-01-05T09:00:00Z"}
DURATION = {"oneOf": [{"type": "number", "minimum": 0},
                      {"type": "string", "pattern": r"^\d+(\.\d+)?[smhdw]$"}],
            "description": "seconds, or a duration such as 90s, 10m, 2h, 3d, 1w"}
REF = {"type": "string", "pattern": r"^[A-Za-z0-9_-]+$",
       "description": "a name local to the scenario, used as ${connector.NAME}, ..."}
ANY_VALUE = {"description": "a literal, or a matcher: {$regex: RE}, {$any: true}, "
                            "{$between: [LOW, HIGH]}, {$count: {sink|url, where}}"}
COUNT = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "object"}],
         "description": "an integer or a matcher ({$between: [LOW, HIGH]}, {$count: ...})"}


def _only(properties: dict, required: list[str] | None = None, **extra) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if required:
        schema["required"] = required
    return schema


def _one_of_keys(properties: dict, what: str) -> dict:
    """An object with exactly one key naming its kind (a step or an expectation)."""
    return {"type": "object", "minProperties": 1, "maxProperties": 1,
            "properties": properties, "additionalProperties": False,
            "description": f"one {what}: exactly one of " + ", ".join(properties)}


REQUEST_MATCHER = _only({
    "method": {"type": "string"},
    "url": ANY_VALUE,
    "path": ANY_VALUE,
    "query": ANY_VALUE,
    "headers": {"type": "object", "description": "header name (any case) -> value or matcher"},
    "json": {**ANY_VALUE, "description": "the JSON body: objects match the keys listed, lists "
                                         "element by element; values may be matchers"},
    "body": ANY_VALUE,
    "at": DATETIME,
    "status": {**ANY_VALUE, "description": "the HTTP status the endpoint answered"},
}, description="fields a request must have; fields left out are not checked")

ENDPOINT = {
    "sink": {"type": "string", "description": "the built-in sink /_sim/sink/<name>"},
    "url": {"type": "string", "description": "requests the delivery log shows sent to URLs "
                                             "starting with this (the partner's own URL)"},
    "campaign": REF,
    "where": REQUEST_MATCHER,
}

EXPECTATION = _one_of_keys({
    "requests": _only({
        **ENDPOINT,
        "count": COUNT,
        "each": REQUEST_MATCHER,
        "in_order": {"type": "array", "items": REQUEST_MATCHER},
        "unordered": {"type": "array", "items": REQUEST_MATCHER},
    }),
    "stats": {"type": "object", "required": ["campaign"], "properties": {
        "campaign": REF, "attempted": COUNT, "sent": COUNT, "failed": COUNT,
        "failure_breakdown": {"type": "object"}, "funnel": {"type": "object"},
        "conversions": {"type": "object"}, "instances": {"type": "array"}},
        "description": "fields of GET /api/campaigns/<id>/stats (the ones listed)"},
    "campaign": _only({"campaign": REF, "status": {"type": "string"},
                       "fields": {"type": "object"}}, ["campaign"]),
    "user_events": _only({"customer_id": {"type": "string"}, "name": {"type": "string"},
                          "count": COUNT, "each": {"type": "object"}}, ["customer_id"]),
}, "expectation")

USER = {"type": "object", "required": ["customer_id"],
        "properties": {"customer_id": {"type": "string", "minLength": 1}},
        "description": "customer_id plus attributes (Data API names: first_name, mobile, ...)"}
EVENT = _only({"customer_id": {"type": "string", "minLength": 1},
               "name": {"type": "string", "minLength": 1},
               "attributes": {"type": "object"}, "time": DATETIME},
              ["customer_id", "name"])
CONFIG = {"oneOf": [{"type": "object"}, {"type": "string", "minLength": 1}],
          "description": "inline, or a file path relative to the scenario file"}

STEP = _one_of_keys({
    "load_users": {"type": "array", "items": USER},
    "update_user": _only({"customer_id": {"type": "string", "minLength": 1},
                          "attributes": {"type": "object"}}, ["customer_id", "attributes"]),
    "post_event": EVENT,
    "create_campaign": _only({"ref": REF, "body": CONFIG}, ["ref", "body"]),
    "update_campaign": _only({"campaign": REF, "body": {"type": "object"}},
                             ["campaign", "body"]),
    "pause": REF,
    "resume": REF,
    "stop": REF,
    "advance": {"oneOf": [DURATION, _only({"to": DATETIME}, ["to"])],
                "description": "seconds, a duration such as 90s, 10m, 2h, 3d, 1w, or {to: ISO}"},
    "configure_sink": {"type": "object", "required": ["name"],
                       "properties": {"name": {"type": "string"}}},
    "expect": {"type": "array", "items": EXPECTATION, "minItems": 1},
}, "step")

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://moesim.local/scenario.schema.json",
    "title": "moesim scenario",
    "type": "object",
    "required": ["name", "start", "steps"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "spec": {"type": "string", "description": "the MoEngage behaviour shown (spec section)"},
        "start": DATETIME,
        "seed": {"type": "integer", "description": "overridden by --seed"},
        "fixtures": _only({
            "users": {"oneOf": [{"type": "array", "items": USER},
                                {"type": "string", "minLength": 1}]},
            "events": {"type": "array", "items": EVENT},
            "sinks": {"type": "object", "additionalProperties": {"type": "object"},
                      "description": "sink name -> behaviour (PUT /_sim/sinks/<name>)"},
            "connectors": {"type": "array", "items": _only(
                {"ref": REF, "app": {"type": "string"}, "config": CONFIG}, ["ref", "config"])},
            "connections": {"type": "array", "items": _only(
                {"ref": REF, "connector": REF, "name": {"type": "string"},
                 "values": {"type": "object"}}, ["ref", "connector", "values"])},
            "oauth_configs": {"type": "array", "items": _only(
                {"ref": REF, "config": CONFIG}, ["ref", "config"])},
        }),
        "steps": {"type": "array", "items": STEP},
        "expect": {"type": "array", "items": EXPECTATION},
    },
}
