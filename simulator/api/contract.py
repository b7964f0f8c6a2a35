"""The HTTP contract: per route, the JSON Schema of its body and query parameters, its answers
and its error body. The same table validates requests (``json_body``, ``query``) and produces
the OpenAPI 3.1 document served at ``/openapi.json`` (``docs/openapi.json`` is a copy a test
keeps equal), so the document cannot drift from what the server enforces.

Body schemas here say structure and types (what a service must be able to rely on before it
reads a field); the rules a schema cannot say (references, calendars, templates, MoEngage's
value rules) stay in the services, which report every problem with its JSON path. A route whose
body is a whole document with a schema of its own (connector configs) names that schema and
its service validates against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, g, request
from jsonschema import Draft202012Validator

from ..core import json_input
from ..core.connector_schema import CONFIG_SCHEMA
from ..core.connectors import json_path
from ..core.errors import BadRequest, FieldError, MoesimError, ValidationFailed

INT_MAX = json_input.INT_MAX
ID = {"type": "integer", "minimum": 0, "maximum": INT_MAX}
OBJECT = {"type": "object"}
STRING = {"type": "string"}
# Virtual time ends before year 9999 (Python's datetime); one advance is at most 100 years.
CLOCK_MAX_ADVANCE_S = 100 * 366 * 86400


def _obj(properties: dict | None = None, **extra) -> dict:
    return {"type": "object", "properties": properties or {}, **extra}


def _list(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


# --- error bodies ------------------------------------------------------------------------
OUR_ERROR = _obj({"code": STRING, "message": STRING,
                  "errors": _list(_obj({"path": STRING, "message": STRING},
                                       required=["path", "message"]))},
                 required=["code", "message", "errors"])
DATA_API_ERROR = _obj({"status": {"const": "fail"},
                       "error": _obj({"type": STRING, "message": STRING, "attribute": STRING,
                                      "request_id": STRING}, required=["type", "message"])},
                      required=["status", "error"])
STATS_ERROR = _obj({"title": STRING, "description": STRING, "code": STRING},
                   required=["title", "description", "code"])
SEARCH_ERROR = _obj({"error": _obj({"code": STRING, "message": STRING,
                                    "target": {"type": ["string", "null"]},
                                    "details": _list(OBJECT),
                                    "request_id": {}}, required=["code", "message"])},
                    required=["error"])

# --- request bodies ----------------------------------------------------------------------
_BASIC = _obj({"name": STRING, "tags": _list(STRING)})
_CONTENT = _obj({"content": _obj({"connected_app": _obj({
    "connector_id": ID, "connection_id": ID, "inputs": OBJECT}), "connector": OBJECT})})
_CAMPAIGN_PARTS = {
    "request_id": STRING, "created_by": STRING, "channel": STRING,
    "campaign_delivery_type": STRING, "basic_details": _BASIC, "campaign_content": _CONTENT,
    "segmentation_details": OBJECT, "scheduling_details": OBJECT, "trigger_condition": OBJECT,
    "delivery_controls": OBJECT, "control_group_details": OBJECT,
}
CAMPAIGN = _obj(_CAMPAIGN_PARTS)
TEST_CAMPAIGN = _obj({**_CAMPAIGN_PARTS, "test_campaign_meta": _obj({
    "identifier": STRING, "identifier_values": _list(STRING)})},
    required=["test_campaign_meta"])
CAMPAIGN_PATCH = _obj({key: _CAMPAIGN_PARTS[key] for key in (
    "campaign_content", "segmentation_details", "trigger_condition", "basic_details")})
STATUS_CHANGE = _obj({"request_id": STRING, "action": STRING, "campaign_ids": _list(STRING)})
APP = _obj({"name": STRING, "type": STRING})
CONNECTION = _obj({"connector_id": ID, "name": STRING, "values": OBJECT})
OAUTH_CONFIG = _obj({"name": STRING, "grant_type": STRING, "token_type": STRING,
                     "request": _obj({"method": STRING, "url": STRING, "headers": {},
                                      "url_params": {}, "body_type": STRING, "body": {}}),
                     "response": _obj({"token_key": STRING, "expiry_key": STRING,
                                       "prefix": STRING})})
SEGMENT = _obj({"name": STRING, "segmentation_details": OBJECT})
SEGMENT_COUNT = _obj({"segmentation_details": OBJECT})
CLOCK_CHANGE = _obj({"mode": {"enum": ["system", "virtual"]}, "now": STRING})
CLOCK_ADVANCE = _obj({"seconds": {"type": "number", "minimum": 0,
                                  "maximum": CLOCK_MAX_ADVANCE_S}, "to": STRING})
SINK_BEHAVIOUR = _obj({"status": {"type": "integer"}, "body": {}, "headers": OBJECT,
                       "delay_ms": {"type": "integer"}, "fail_next": OBJECT, "fail_rate": OBJECT})
SNAPSHOT_PATH = _obj({"path": {"type": "string", "minLength": 1}}, required=["path"],
                     additionalProperties=False)
WORKSPACE = _obj({"id": STRING, "data_api_key": STRING, "clock": STRING, "start_time": STRING,
                  "fixtures": STRING})

# --- query parameters --------------------------------------------------------------------
LIMIT = {"type": "integer", "minimum": 1, "maximum": INT_MAX}
CURSOR = {"type": "integer", "minimum": 0, "maximum": INT_MAX}


@dataclass(frozen=True)
class Contract:
    summary: str
    body: dict | None = None           # JSON Schema of a JSON body
    body_optional: bool = False        # an empty body is allowed too
    body_checked_by_service: bool = False  # the service validates ``body`` itself
    raw_body: bool = False             # any bytes are accepted (sink, snapshot upload)
    query: dict[str, dict] = field(default_factory=dict)
    ok: dict[str, Any] = field(default_factory=lambda: {"200": OBJECT})
    bad: type[MoesimError] = ValidationFailed  # the error a body that breaks ``body`` gets


_ANY = {"description": "whatever the sink was told to answer"}
_APP_ID = {"app_id": STRING}  # MoEngage: the workspace id in the path or as ?app_id=
CONTRACTS: dict[str, Contract] = {
    # MoEngage-compatible
    "data_api.track_user": Contract("Track User (MoEngage Data API)", OBJECT, bad=BadRequest,
                                    query=_APP_ID),
    "data_api.track_event": Contract("Track Event (MoEngage Data API)", OBJECT, bad=BadRequest,
                                     query=_APP_ID),
    "data_api.bulk_import": Contract("Bulk import (MoEngage Data API)", OBJECT, bad=BadRequest,
                                     query=_APP_ID),
    "data_api.export_users": Contract("Get User (MoEngage Data API)", OBJECT, bad=BadRequest,
                                      query=_APP_ID),
    "data_api.merge_users": Contract("Merge users (MoEngage Data API)", OBJECT, bad=BadRequest,
                                     query=_APP_ID),
    "data_api.delete_user": Contract("Delete a user (MoEngage Data API)", OBJECT,
                                     bad=BadRequest, query=_APP_ID),
    "data_api.track_device": Contract("Track Device (MoEngage Data API)", OBJECT,
                                      bad=BadRequest, query=_APP_ID),
    "reports.campaign_stats": Contract("Campaign Stats API", OBJECT),
    "reports.search_campaigns": Contract("V1 campaign search", OBJECT,
                                         ok={"200": {"type": "array"}}),
    "oauth_callback.callback": Contract("MoEngage's OAuth callback",
                                        query={"state": STRING, "code": STRING}),
    # read-back
    "readback.list_users": Contract("Users by insertion order",
                                    query={"limit": LIMIT, "after": CURSOR}),
    "readback.user_events": Contract("A user's events in time order",
                                     query={"limit": LIMIT, "after": STRING},
                                     ok={"200": {"type": "array"}}),
    "readback.get_user": Contract("One user"),
    "readback.list_events": Contract("All events by arrival",
                                     query={"name": STRING, "limit": LIMIT, "after": CURSOR}),
    # connected apps
    "connected_apps.create_app": Contract("Create a Connected App", APP, ok={"201": OBJECT}),
    "connected_apps.list_apps": Contract("Connected Apps"),
    "connected_apps.get_app": Contract("One app with its connectors"),
    "connected_apps.upload_connector": Contract("Upload a connector config", CONFIG_SCHEMA,
                                                body_checked_by_service=True,
                                                ok={"201": OBJECT}),
    "connected_apps.connector_schema": Contract("The JSON Schema of a connector config"),
    "connected_apps.get_connector": Contract("A connector's current version"),
    "connected_apps.replace_connector": Contract("Upload a connector config again",
                                                 CONFIG_SCHEMA, body_checked_by_service=True),
    "connected_apps.connector_versions": Contract("Every version of a connector"),
    "connected_apps.connector_version": Contract("One version of a connector"),
    "connected_apps.create_connection": Contract("Create a connection", CONNECTION,
                                                 ok={"201": OBJECT}),
    "connected_apps.list_connections": Contract("Connections (secrets masked)",
                                                query={"connector_id": ID}),
    "connected_apps.get_connection": Contract("One connection (secrets masked)"),
    "connected_apps.authorize_connection": Contract(
        "Start a connection's OAuth flow", query={"redirect": STRING},
        ok={"200": OBJECT, "302": None}),
    "connected_apps.create_oauth_config": Contract("Create an OAuth configuration",
                                                   OAUTH_CONFIG, ok={"201": OBJECT}),
    "connected_apps.list_oauth_configs": Contract("OAuth configurations"),
    "connected_apps.get_oauth_config": Contract("One OAuth configuration"),
    # campaigns
    "campaigns.create_campaign": Contract("Create a campaign", CAMPAIGN, ok={"201": OBJECT}),
    "campaigns.list_campaigns": Contract("Campaigns"),
    "campaigns.test_campaign": Contract("Test send to chosen users", TEST_CAMPAIGN),
    "campaigns.get_campaign": Contract("One campaign"),
    "campaigns.change_status": Contract("Stop, pause or resume campaigns", STATUS_CHANGE),
    "campaigns.update_campaign": Contract("Replace parts of a campaign", CAMPAIGN_PATCH),
    "campaigns.campaign_schedule": Contract("The next fire times",
                                            query={"count": {"type": "integer", "minimum": 0,
                                                             "maximum": INT_MAX}}),
    "campaigns.campaign_stats": Contract("A campaign's stats"),
    "delivery_settings.read": Contract("A workspace delivery setting"),
    "delivery_settings.write": Contract("Replace a workspace delivery setting", OBJECT),
    "segments.create_segment": Contract("Save a segment", SEGMENT, ok={"201": OBJECT}),
    "segments.list_segments": Contract("Saved segments"),
    "segments.count_audience": Contract("Count a segment's users", SEGMENT_COUNT),
    "segments.get_segment": Contract("One saved segment"),
    "segments.delete_segment": Contract("Delete a saved segment"),
    # control plane
    "sim.health": Contract("Liveness"),
    "sim.ready": Contract("Readiness", ok={"200": OBJECT, "503": OUR_ERROR}),
    "sim.reset": Contract("Back to the state the server started in (?empty=1: no data)",
                          query={"empty": STRING}),
    "index.api_index": Contract("The routes under /api"),
    "index.sim_index": Contract("The routes under /_sim"),
    "sim.sink_list": Contract("Every sink: requests kept, served, the last request"),
    "sim.sink_requests": Contract("Requests of every sink after a cursor, oldest first", query={
        "after": {"type": "string", "pattern": "^(latest|[0-9]{1,18})$"}, "limit": LIMIT,
        "sink": STRING}),
    "sim.clock_view": Contract("The clock"),
    "sim.clock_change": Contract("Freeze, set or release the clock", CLOCK_CHANGE,
                                 body_optional=True, bad=BadRequest),
    "sim.clock_advance": Contract("Advance virtual time, running what falls due",
                                  CLOCK_ADVANCE, body_optional=True, bad=BadRequest),
    "sim.run_due": Contract("Run every job due now"),
    "sim.deliveries": Contract("The delivery log (secrets masked)", query={
        "limit": LIMIT, "after": CURSOR, "campaign_id": STRING, "customer_id": STRING,
        "status": STRING, "since": STRING, "until": STRING}),
    "sim.deliveries_wait": Contract("Long-poll the delivery log", query={
        "count": {"type": "integer", "minimum": 1, "maximum": INT_MAX},
        "timeout": {"type": "number", "minimum": 0, "maximum": 60}, "limit": LIMIT,
        "campaign_id": STRING, "customer_id": STRING, "status": STRING, "since": STRING,
        "until": STRING}),
    "sim.deliveries_delete": Contract("Delete deliveries (test tool)", query={
        "campaign_id": STRING, "customer_id": STRING, "status": STRING, "since": STRING,
        "until": STRING}),
    "sim.data_api_log": Contract("Bulk elements MoEngage would only log"),
    "sim.sink": Contract("A capture sink standing in for a partner endpoint", raw_body=True,
                         ok={"default": _ANY}),
    "sim.sink_view": Contract("A sink's behaviour and recorded requests"),
    "sim.sink_wait": Contract("Long-poll a sink's requests", query={
        "count": {"type": "integer", "minimum": 1, "maximum": INT_MAX},
        "timeout": {"type": "number", "minimum": 0, "maximum": 60}}),
    "sim.sink_configure": Contract("Set a sink's behaviour", SINK_BEHAVIOUR),
    "sim.sink_clear": Contract("Clear a sink", ok={"200": OBJECT, "204": None}),
    "sim.snapshot": Contract("Write a snapshot on the server, or download one", SNAPSHOT_PATH,
                             body_optional=True, bad=BadRequest,
                             ok={"200": {"content": {"application/json": OBJECT,
                                                     "application/octet-stream": {}}}}),
    "sim.snapshot_restore": Contract("Replace all data with a snapshot", SNAPSHOT_PATH,
                                     raw_body=True, bad=BadRequest),
    "workspaces.listing": Contract("Workspaces"),
    "workspaces.create": Contract("Create a workspace", WORKSPACE, ok={"201": OBJECT}),
    "workspaces.read": Contract("One workspace"),
    "workspaces.delete": Contract("Delete a workspace", ok={"204": None}),
    "openapi": Contract("This document"),
}

_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: dict) -> Draft202012Validator:
    found = _VALIDATORS.get(id(schema))
    if found is None:
        found = _VALIDATORS[id(schema)] = Draft202012Validator(schema)
    return found


def contract() -> Contract | None:
    return CONTRACTS.get(request.endpoint or "")


_ARTICLE = {"object": "an object", "array": "an array", "integer": "an integer",
            "string": "a string", "number": "a number", "boolean": "true or false"}


def _message(error) -> str:
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [
            error.validator_value]
        return "must be " + " or ".join(_ARTICLE.get(k, k) for k in kinds)
    if error.validator == "minimum":
        return f"must be >= {error.validator_value}"
    if error.validator == "maximum":
        return f"must be <= {error.validator_value}"
    if error.validator == "required":
        return "is required"
    if error.validator in ("enum", "const"):
        allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
        return "must be one of " + ", ".join(map(str, allowed))
    if error.validator in ("minItems", "maxItems"):
        return f"must have {error.validator} {error.validator_value}"
    return error.message[:200]


def check_body(value: Any, schema: dict, bad: type[MoesimError] = ValidationFailed) -> Any:
    """``value`` when it meets ``schema``; otherwise ``bad`` listing every field at fault."""
    errors = []
    for error in sorted(_validator(schema).iter_errors(value), key=lambda e: list(
            map(str, e.absolute_path))):
        path = json_path(error.absolute_path) or "body"
        if error.validator == "required":
            missing = [k for k in error.validator_value if k not in error.instance]
            errors += [FieldError(json_path([*error.absolute_path, k]), "is required")
                       for k in missing]
        else:
            errors.append(FieldError(path, _message(error)))
    if len(errors) == 1:
        raise bad(f"{errors[0].path} {errors[0].message}", errors=errors)
    if errors:
        raise bad("request body does not match its schema: "
                  + ", ".join(e.path for e in errors), errors=errors)
    return value


def validated_body(value: Any) -> Any:
    """A decoded JSON body checked against the route's schema (unless its service does)."""
    found = contract()
    if found is not None and found.body is not None and not found.body_checked_by_service:
        check_body(value, found.body, found.bad)
    return value


def check_query() -> None:
    """``before_request``: the route's declared query parameters, typed and range-checked,
    into ``g.moesim_query`` (400 naming each bad parameter)."""
    found = contract()
    parsed: dict[str, Any] = {}
    errors = []
    for name, schema in (found.query.items() if found else ()):
        raw = request.args.get(name)
        if raw is None or (raw == "" and schema.get("type") != "string"):
            continue
        kind = schema.get("type")
        try:
            value: Any = int(raw) if kind == "integer" else float(raw) if kind == "number" \
                else raw
        except ValueError:
            errors.append(FieldError(name, f"must be {_ARTICLE[kind]}"))
            continue
        if kind == "number" and value != value:
            errors.append(FieldError(name, "must be a number"))
            continue
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(FieldError(name, f"must be >= {schema['minimum']}"))
        elif "maximum" in schema and value > schema["maximum"]:
            errors.append(FieldError(name, f"must be <= {schema['maximum']}"))
        else:
            parsed[name] = value
    if errors:
        raise BadRequest("invalid query parameters: " + ", ".join(e.path for e in errors),
                         errors=errors)
    g.moesim_query = parsed


def query(name: str, default: Any = None) -> Any:
    """A declared query parameter, already typed and checked."""
    return g.get("moesim_query", {}).get(name, default)


# --- the OpenAPI document -----------------------------------------------------------------
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


ERROR_BODIES = {"Error": OUR_ERROR, "DataApiError": DATA_API_ERROR,
                "CampaignStatsError": STATS_ERROR, "CampaignSearchError": SEARCH_ERROR}


def _error_schema(endpoint: str) -> dict:
    if endpoint.startswith("data_api."):
        name = "DataApiError"
    elif endpoint == "reports.campaign_stats":
        name = "CampaignStatsError"
    elif endpoint == "reports.search_campaigns":
        name = "CampaignSearchError"
    else:
        name = "Error"
    return {"$ref": f"#/components/schemas/{name}"}


def _response(schema: Any) -> dict:
    if schema is None:
        return {"description": "no content"}
    if "description" in schema and "content" not in schema:
        return schema
    if "content" in schema:
        return {"description": "success",
                "content": {media: {"schema": s} for media, s in schema["content"].items()}}
    return {"description": "success", "content": {"application/json": {"schema": schema}}}


CONNECTOR_REF = "#/components/schemas/ConnectorConfig"


def _relocated(schema: Any, base: str) -> Any:
    """A copy of ``schema`` whose local ``#/...`` references point below ``base`` (a schema of
    its own placed under ``components``)."""
    if isinstance(schema, dict):
        return {key: (base + value[1:] if key == "$ref" and isinstance(value, str)
                      and value.startswith("#/") else _relocated(value, base))
                for key, value in schema.items()}
    if isinstance(schema, list):
        return [_relocated(item, base) for item in schema]
    return schema


def _documented(schema: dict) -> dict:
    return {"$ref": CONNECTOR_REF} if schema is CONFIG_SCHEMA else schema


def _operation(endpoint: str, method: str, path: str, params: list[dict], found: Contract,
               guarded: bool = False) -> dict:
    operation: dict[str, Any] = {"operationId": re.sub(r"\W+", "_", f"{method}{path}").strip("_"),
                                 "summary": found.summary, "tags": [endpoint.split(".")[0]]}
    parameters = params + [{"name": name, "in": "query", "required": False, "schema": schema}
                           for name, schema in found.query.items()]
    if parameters:
        operation["parameters"] = parameters
    if found.body is not None or found.raw_body:
        content = {}
        if found.body is not None:
            content["application/json"] = {"schema": _documented(found.body)}
        if found.raw_body:
            content["application/octet-stream"] = {"schema": {}}
        operation["requestBody"] = {"required": not (found.body_optional or found.raw_body),
                                    "content": content}
    error = {"description": "error", "content": {"application/json": {
        "schema": _error_schema(endpoint)}}}
    responses = {status: _response(schema) for status, schema in found.ok.items()}
    if "default" not in responses:
        responses["4XX"] = error
        if endpoint.startswith("reports."):
            responses["500"] = error  # the reports APIs' documented "Server Error" body
    operation["responses"] = responses
    if guarded:  # MOESIM_ADMIN_TOKEN, when set
        operation["security"] = [{}, {"adminToken": []}]
    if endpoint.startswith(("data_api.", "reports.")):
        operation["security"] = [{"basic": []}]
        operation.setdefault("parameters", []).append({
            "name": "MOE-APPKEY", "in": "header", "required": False, "schema": STRING,
            "description": "the workspace id (must equal the Basic-auth user when given)"})
    return operation


# The dashboard's HTML pages (simulator/dashboard) are for browsers, not part of the HTTP API.
DASHBOARD = "dashboard."


def document(app: Flask, guarded=lambda endpoint: False) -> dict:
    """The OpenAPI 3.1 document of every route ``app`` serves; ``guarded(endpoint)``: whether
    the admin token guards it (when one is set)."""
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.startswith(DASHBOARD):
            continue
        found = CONTRACTS.get(rule.endpoint) or Contract(rule.endpoint)
        params = []
        for converter, name in _CONVERTER.findall(rule.rule):
            schema = ID if converter == "int" else STRING
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        item = paths.setdefault(path, {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            item[method.lower()] = _operation(rule.endpoint, method.lower(), path, params,
                                              found, guarded(rule.endpoint))
    return {
        "openapi": "3.1.0",
        "info": {"title": "moesim", "version": "1",
                 "description": "MoEngage's Data API, Campaign Stats and search APIs at "
                                "MoEngage's paths; moesim's own /api/ and the /_sim/ control "
                                "plane. Every route also works under /_ws/<id>/ (a workspace)."},
        "paths": paths,
        "components": {
            "schemas": {"ConnectorConfig": _relocated(CONFIG_SCHEMA, CONNECTOR_REF),
                        **ERROR_BODIES},
            "securitySchemes": {"basic": {
                "type": "http", "scheme": "basic",
                "description": "MoEngage's: the workspace id and its Data API key (the stats "
                               "and search APIs: the report API key)"},
                "adminToken": {
                    "type": "http", "scheme": "bearer",
                    "description": "MOESIM_ADMIN_TOKEN, required when it is set (always when "
                                   "moesim binds anything but loopback); also accepted as the "
                                   "Basic-auth password"}},
        },
    }


def install(app: Flask) -> None:
    app.before_request(check_query)
