"""The JSON Schema of a Connected App connector config (spec §2), published at
``GET /api/connectors/schema`` and in ``docs/connector-config.schema.json``.

It describes structure: required keys, types, enums, charsets. Rules a schema cannot say
(unique keys, regexes that compile, Jinja that parses, template references, operators per data
type) are checked by ``connectors.validate_config``.

Tolerances of spec §2.3: ``required`` may be a boolean or the string "true"/"false"; ``key`` may
contain a dot (the documented key_value example does; a warning says so); ``encrypt`` is an
optional boolean.
"""

from __future__ import annotations

INPUT_TYPES = ["text", "number", "bool", "datetime", "password", "dropdown", "radio", "json",
               "code", "key_value"]
SCOPES = ["app_marketplace", "campaign"]
AUTH_TYPES = ["no_auth", "basic_auth", "oauth"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# [I] Only JSON is documented for a config request; FORM and RAW are the Connector campaign's
# other body types, accepted here too.
BODY_TYPES = ["JSON", "FORM", "RAW"]
FILTER_NAMES = ["response_code", "response_body", "response_headers"]
DATA_TYPES = ["double", "string", "bool", "datetime", "object", "array_string", "array_double"]
# Spec §5.4, JSON operator names (S23/S24 spell one of them two ways; both are accepted).
OPERATORS = {
    "string": ["in", "is", "contains", "containsInTheFollowing", "startsWith",
               "startsWithInTheFollowing", "startWithInTheFollowing", "endsWith",
               "endsWithInTheFollowing", "exists"],
    "double": ["in", "is", "lessThan", "greaterThan", "between", "exists"],
    "bool": ["is", "exists"],
    "datetime": ["on", "between", "before", "after", "inTheLast", "inTheNext", "today", "is",
                 "in", "exists"],
    "array_string": ["in", "is", "contains", "startsWith", "endsWith", "exists"],
    "array_double": ["in", "is", "lessThan", "greaterThan", "between", "exists"],
}
ACTION_TYPES = ["CREATE_EVENT"]

KEY_PATTERN = r"^[a-z0-9_.-]+$"
LABEL_PATTERN = r"^[A-Za-z0-9_ -]+$"

_string = {"type": "string"}
_templates = {"type": "object", "additionalProperties": {"type": "string"}}
FLAG = {"oneOf": [{"type": "boolean"}, {"enum": ["true", "false"]}]}

_input_variable = {
    "type": "object",
    "required": ["visibility_scope", "key", "event_export_key", "name", "required", "type"],
    "properties": {
        "visibility_scope": {"enum": SCOPES},
        "key": {"type": "string", "pattern": KEY_PATTERN},
        "event_export_key": {"type": "string", "pattern": KEY_PATTERN},
        "name": {"type": "string", "pattern": LABEL_PATTERN},
        "required": FLAG,
        "type": {"enum": INPUT_TYPES},
        "encrypt": FLAG,
        "validations": {"type": "array", "items": {
            "type": "object", "required": ["regex"],
            "properties": {"text": _string, "regex": _string}}},
        "header": _string,
        "help_text": _string,
        "is_hidden": {"type": "boolean"},
        "allow_multiple": {"type": "boolean"},
        "options": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["label", "key"],
            "properties": {"label": _string, "key": _string}}},
    },
    "allOf": [{"if": {"properties": {"type": {"const": "dropdown"}}, "required": ["type"]},
               "then": {"required": ["options"]}}],
}

_http_mapping = {
    "type": "object",
    "required": ["method", "headers", "url", "url_params"],
    "properties": {
        "method": {"enum": ["GET", "POST"]},
        "headers": _templates,
        "url": {"type": "string", "minLength": 1},
        "url_params": _templates,
        "body_type": {"enum": ["JSON", "FORM"]},
        "body": _string,
    },
}

_oauth_info = {
    "type": "object",
    "required": ["authorization_mapping", "access_token_mapping", "refresh_token_mapping",
                 "client_id", "client_secret", "grant_type"],
    "properties": {
        "authorization_mapping": {"allOf": [_http_mapping, {
            "required": ["body_type", "auth_code_mapping"],
            "properties": {"body_type": {"const": "JSON"}, "auth_code_mapping": _string}}]},
        "access_token_mapping": {"allOf": [_http_mapping, {
            "required": ["body_type", "response_mapping"],
            "properties": {
                "response_mapping": {"type": "object", "required": ["access_token_mapping"],
                                     "properties": {
                                         "access_token_mapping": _string,
                                         "access_token_expiry_mapping": {
                                             "type": ["string", "null"]}}},
                "access_token_expiry_time": {"type": ["integer", "null"], "minimum": 0}}}]},
        "refresh_token_mapping": {"allOf": [_http_mapping, {
            "required": ["body_type", "response_mapping"],
            "properties": {
                "response_mapping": {"type": "object", "required": ["refresh_token_mapping"],
                                     "properties": {
                                         "refresh_token_mapping": _string,
                                         "refresh_token_expiry_mapping": {
                                             "type": ["string", "null"]}}},
                "refresh_token_expiry_time": {"type": ["integer", "null"], "minimum": 0}}}]},
        "client_id": _string,
        "client_secret": _string,
        "grant_type": {"type": "array", "minItems": 1, "uniqueItems": True,
                       "items": {"enum": ["authorization_code", "refresh_token"]}},
    },
}

_auth = {
    "type": "object",
    # S1's table calls alias required, its OAuth2 example has none: a warning (connectors.py)
    "required": ["auth_type", "auth_info"],
    "properties": {
        "auth_type": {"enum": AUTH_TYPES},
        "auth_info": {"type": "object"},
        "alias": _string,
    },
    "allOf": [
        {"if": {"properties": {"auth_type": {"const": "basic_auth"}}, "required": ["auth_type"]},
         "then": {"properties": {"auth_info": {
             "type": "object", "required": ["username", "password"],
             "properties": {"username": _string, "password": _string}}}}},
        {"if": {"properties": {"auth_type": {"const": "oauth"}}, "required": ["auth_type"]},
         "then": {"properties": {"auth_info": _oauth_info}}},
    ],
}

_filter = {
    "type": "object",
    "required": ["name", "data_type"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "data_type": {"enum": DATA_TYPES},
        "operator": _string,
        "negate": {"type": "boolean"},
        "case_sensitive": {"type": "boolean"},
        "filter_operator": {"enum": ["and", "or"]},
        "filters": {"type": "array", "items": {"$ref": "#/$defs/filter"}},
    },
    "allOf": [
        {"if": {"properties": {"data_type": {"const": "object"}}, "required": ["data_type"]},
         "then": {"required": ["filter_operator", "filters"]},
         "else": {"required": ["operator"]}},
    ],
}

_response = {
    "type": "object",
    "required": ["body_type", "evaluation_criteria", "actions"],
    "properties": {
        "body_type": {"const": "JSON"},
        "datetime_format": _string,
        "evaluation_criteria": {
            "type": "object", "required": ["filter_operator", "filters"],
            "properties": {
                "filter_operator": {"enum": ["and", "or"]},
                "filters": {"type": "array", "items": {
                    "allOf": [{"$ref": "#/$defs/filter"},
                              {"properties": {"name": {"enum": FILTER_NAMES}}}]}},
            }},
        "actions": {"type": "array", "items": {
            "type": "object", "required": ["type", "config"],
            "properties": {
                "type": {"enum": ACTION_TYPES},
                "config": {"type": "object", "required": ["event"], "properties": {
                    "event": {"type": "object", "required": ["name"],
                              "properties": {"name": {"type": "string", "minLength": 1}}},
                    "attributes": {"type": "array", "items": {
                        "type": "object", "required": ["key", "value"],
                        "properties": {"key": {"type": "string", "minLength": 1},
                                       "value": {}}}}}},
            }}},
    },
}

CONFIG_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://moesim.local/schemas/connector-config.json",
    "title": "MoEngage Connected App connector config (as moesim validates it)",
    "type": "object",
    "required": ["basic_info", "input_variables", "auth", "modules"],
    "properties": {
        "basic_info": {
            "type": "object", "required": ["name", "description", "type"],
            "properties": {"name": {"type": "string", "minLength": 1},
                           "description": _string,
                           "type": {"const": "CHANNEL"}}},
        "input_variables": {"type": "array", "items": _input_variable},
        "auth": _auth,
        "modules": {
            # [I] one module: MoEngage shows only "default" and does not chain requests.
            "type": "array", "minItems": 1, "maxItems": 1,
            "items": {
                "type": "object", "required": ["name", "type", "params"],
                "properties": {
                    "name": {"const": "default"},
                    "type": {"const": "REQUEST_RESPONSE"},
                    "params": {
                        "type": "object", "required": ["request", "response"],
                        "properties": {
                            "request": {
                                "type": "object",
                                "required": ["method", "headers", "url", "url_params",
                                             "body_type", "body"],
                                "properties": {
                                    "method": {"enum": METHODS},
                                    "headers": _templates,
                                    "url": {"type": "string", "minLength": 1},
                                    "url_params": _templates,
                                    "body_type": {"enum": BODY_TYPES},
                                    "body": _string,
                                }},
                            "response": {"type": "array", "items": _response},
                        }},
                }}},
    },
    "$defs": {"filter": _filter},
}
