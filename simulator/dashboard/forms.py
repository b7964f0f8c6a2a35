"""HTML form fields -> the API's JSON bodies. The dashboard posts what a partner fills in; these
functions only reshape it (the services check it, so a page shows the API's own errors, at the
JSON path each concerns). Pure: a form is any mapping with ``get`` and ``getlist``."""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..core.errors import ValidationFailed

INPUT_PREFIX = "f."  # a connector input variable's form field: f.<key>


class Form(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


def _text(form: Form, key: str) -> str:
    return (form.get(key) or "").strip()


def _number(text: str) -> Any:
    """An integer when the text is one; otherwise the text, which the service reports."""
    try:
        return int(text)
    except ValueError:
        return text


def rows(form: Form, name: str) -> list[dict]:
    """Key/value rows from the repeated fields ``<name>.k`` and ``<name>.v``; empty rows go."""
    return [{"key": k.strip(), "value": v} for k, v in
            zip(form.getlist(f"{name}.k"), form.getlist(f"{name}.v")) if k.strip() or v.strip()]


def input_values(variables: list[dict], scope: str, form: Form) -> dict:
    """The values of a connector's ``scope`` input variables; a field left empty is left out
    (its ``default_value`` applies, or ``required`` reports it)."""
    values: dict[str, Any] = {}
    for variable in variables:
        if variable.get("visibility_scope") != scope or variable.get("is_hidden"):
            continue
        key, name = variable["key"], INPUT_PREFIX + variable["key"]
        kind = variable.get("type")
        if kind == "key_value":
            value: Any = rows(form, name)
        elif kind == "dropdown" and variable.get("allow_multiple"):
            value = [v for v in form.getlist(name) if v]
        else:
            value = form.get(name) or ""
            if kind not in ("code", "json", "password"):
                value = value.strip()
        if value not in ("", []):
            values[key] = value
    return values


def connection_body(connector_id: int, variables: list[dict], form: Form) -> dict:
    return {"connector_id": connector_id, "name": _text(form, "name"),
            "values": input_values(variables, "app_marketplace", form)}


# ---- the campaign wizard ----------------------------------------------------------------

FILTER_KINDS = ("user_attributes", "actions", "custom_segments")


EXECUTIONS = ("atleast", "exactly", "atmost")


def _filter(kind: str, name: str, data_type: str, operator: str, value: str,
            days: str = "") -> dict:
    if kind == "actions":
        # operator: "not" (has not done it), or atleast/exactly/atmost with the count as value
        item: dict[str, Any] = {"filter_type": "actions", "action_name": name,
                                "executed": operator != "not",
                                "attributes": {"filter_operator": "and", "filters": []}}
        if operator in EXECUTIONS:
            item["execution"] = {"type": operator, "count": _number(value or "1")}
        if days.strip():
            item["primary_time_range"] = {"type": "inTheLast", "value_type": "relative_past",
                                          "value": _number(days.strip()), "period_unit": "days"}
        return item
    if kind == "custom_segments":
        return {"filter_type": "custom_segments", "id": _number(name)}
    typed: Any = value
    if data_type == "double":
        try:
            typed = float(value) if "." in value else int(value)
        except ValueError:
            typed = value
    elif data_type == "bool":
        typed = value.lower() == "true"
    return {"filter_type": "user_attributes", "name": name, "data_type": data_type or "string",
            "operator": operator or "is", "value": typed}


def segmentation(form: Form) -> Any:
    """``segmentation_details`` from the audience builder: all users, rows of filters (each
    including or excluding, combined with AND or OR), or JSON typed in as it is."""
    mode = form.get("audience") or "all"
    if mode == "json":
        try:
            return json.loads(form.get("segmentation_json") or "")
        except ValueError as exc:
            raise ValidationFailed(f"segmentation_details is not JSON: {exc}",
                                   path="segmentation_details") from None
    if mode == "all":
        return {"is_all_user_campaign": True}
    combine = form.get("combine") or "and"
    included, excluded = [], []
    days = form.getlist("flt.days") or [""] * len(form.getlist("flt.name"))
    for kind, name, data_type, operator, value, side, window in zip(
            form.getlist("flt.kind"), form.getlist("flt.name"), form.getlist("flt.data_type"),
            form.getlist("flt.operator"), form.getlist("flt.value"), form.getlist("flt.side"),
            days):
        if not name.strip():
            continue
        item = _filter(kind, name.strip(), data_type, operator, value.strip(), window)
        (excluded if side == "exclude" else included).append(item)
    result: dict[str, Any] = {"included_filters": {"filter_operator": combine,
                                                   "filters": included}}
    if excluded:
        result["excluded_filters"] = {"filter_operator": "or", "filters": excluded}
    return result


def _form_rows(text: str) -> list[dict]:
    """A FORM body typed as ``key=value`` lines."""
    found = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip():
            found.append({"key": key.strip(), "value": value.strip()})
    return found


def _content(form: Form, variables: list[dict] | None) -> dict:
    if form.get("channel") == "CONNECTOR":
        connector: dict[str, Any] = {"method": form.get("c.method") or "POST",
                                     "url": _text(form, "c.url")}
        for key in ("url_params", "headers"):
            found = rows(form, f"c.{key}")
            if found:
                connector[key] = found
        body = form.get("c.body") or ""
        if body.strip():
            connector["body_type"] = form.get("c.body_type") or "JSON"
            connector["body"] = _form_rows(body) if connector["body_type"] == "FORM" else body
        if _text(form, "c.oauth_config_id"):
            connector["oauth_config_id"] = _number(_text(form, "c.oauth_config_id"))
            overrides = {key: _text(form, f"c.oauth.{key}")
                         for key in ("header_key", "prefix") if _text(form, f"c.oauth.{key}")}
            codes = [_number(c.strip()) for c in _text(form, "c.oauth.reattempt_codes").split(",")
                     if c.strip()]
            if codes:
                overrides["reattempt_codes"] = codes
            if overrides:
                connector["oauth"] = overrides
        return {"connector": connector}
    app: dict[str, Any] = {"connector_id": _number(_text(form, "connector_id")),
                           "connection_id": _number(_text(form, "connection_id"))}
    app["inputs"] = input_values(variables or [], "campaign", form)
    return {"connected_app": app}


def _scheduling(form: Form, delivery_type: str) -> dict:
    send = form.get("send") or "ASAP"
    if delivery_type == "PERIODIC":
        send = "AT_FIXED_TIME"
    if delivery_type == "EVENT_TRIGGERED" and send not in ("ASAP", "AT_FIXED_TIME"):
        send = "ASAP"
    details: dict[str, Any] = {"delivery_type": send}
    for key in ("start_time", "expiry_time", "timezone"):
        if _text(form, key):
            details[key] = _text(form, key)
    if delivery_type == "PERIODIC":
        periodic: dict[str, Any] = {"sending_frequency": form.get("frequency") or "DAILY",
                                    "repeat_frequency": _number(_text(form, "repeat_every")
                                                                or "1")}
        days = form.getlist("days_of_week")
        if periodic["sending_frequency"] == "WEEKLY" and days:
            periodic["repeat_on_days_of_week"] = days
        dates = [d.strip() for d in _text(form, "dates_of_month").split(",") if d.strip()]
        if periodic["sending_frequency"] == "MONTHLY" and dates:
            periodic["repeat_on_date_of_month"] = [_number(d) for d in dates]
        if _text(form, "occurrences"):
            periodic["no_of_occurences"] = _number(_text(form, "occurrences"))
        details["periodic_details"] = periodic
    return details


def _trigger(form: Form) -> dict:
    """``trigger_condition``: the trigger event (with one event-attribute filter), ASAP or a
    delay after it, or before/after a time in one of its attributes, and "has not done B"."""
    action: dict[str, Any] = {"filter_type": "actions", "action_name": _text(form, "trigger_event"),
                              "executed": True,
                              "attributes": {"filter_operator": "and", "filters": []}}
    if _text(form, "trigger_filter_name"):
        action["attributes"]["filters"].append({
            "name": _text(form, "trigger_filter_name"), "data_type": "string",
            "operator": form.get("trigger_filter_operator") or "is",
            "value": _text(form, "trigger_filter_value")})
    condition: dict[str, Any] = {"included_filters": {"filter_operator": "or",
                                                      "filters": [action]}}
    if _text(form, "not_done_event"):
        condition["secondary_included_filters"] = {"filter_operator": "and", "filters": [
            {"filter_type": "actions", "action_name": _text(form, "not_done_event"),
             "executed": False, "execution": {"type": "exactly", "count": 0},
             "attributes": {"filter_operator": "and", "filters": []}}]}
    if (form.get("trigger_delay") or "ASAP") == "DELAY":
        condition.update({"trigger_delay_type": "DELAY",
                          "trigger_delay_value": _number(_text(form, "delay_value")),
                          "trigger_delay_granularity": form.get("delay_unit") or "MINUTES",
                          "trigger_relation": form.get("trigger_relation") or "AFTER"})
        if _text(form, "trigger_attr"):
            condition["trigger_attr"] = {"name": _text(form, "trigger_attr")}
    else:
        condition["trigger_delay_type"] = "ASAP"
    return condition


def _goals(form: Form) -> list[dict]:
    """Conversion goals from rows of name, event, revenue attribute and currency; the first
    is the primary goal."""
    goals = []
    for i, (name, event, revenue, currency) in enumerate(zip(
            form.getlist("goal_name"), form.getlist("goal_event"),
            form.getlist("goal_revenue_attribute"), form.getlist("goal_currency"))):
        if not event.strip():
            continue
        goal: dict[str, Any] = {"goal_name": name.strip() or f"Goal {i + 1}",
                                "goal_event_name": event.strip()}
        if revenue.strip():
            goal["revenue_attribute"] = revenue.strip()
            goal["revenue_currency"] = currency.strip() or "USD"
        goals.append(goal)
    return goals


def campaign_body(form: Form, variables: list[dict] | None, request_id: str) -> dict:
    """The ``POST /api/campaigns`` body the wizard's three steps describe."""
    delivery_type = form.get("delivery_type") or "ONE_TIME"
    tags = [t.strip() for t in _text(form, "tags").split(",") if t.strip()]
    body: dict[str, Any] = {
        "request_id": request_id, "created_by": "dashboard@moesim.local",
        "channel": form.get("channel") or "CONNECTED_APP",
        "campaign_delivery_type": delivery_type,
        "basic_details": {"name": _text(form, "name"), "tags": tags},
        "campaign_content": {"content": _content(form, variables)},
        "segmentation_details": segmentation(form),
        "scheduling_details": _scheduling(form, delivery_type),
    }
    if delivery_type == "EVENT_TRIGGERED":
        body["trigger_condition"] = _trigger(form)
    if _text(form, "ccg_percentage"):
        body["control_group_details"] = {
            "is_campaign_control_group_enabled": True,
            "campaign_control_group_percentage": _number(_text(form, "ccg_percentage"))}
    if _text(form, "audience_limit"):
        limit: dict[str, Any] = {"is_campaign_audience_limit_enabled": True,
                                 "limit": _number(_text(form, "audience_limit"))}
        if delivery_type != "ONE_TIME":
            limit.update({"metric": "SENT", "frequency": "TOTAL"})
        body["campaign_audience_limit"] = limit
    goals = _goals(form)
    if goals:
        body["conversion_goal_details"] = {"goals": goals}
        if _text(form, "attribution_hours"):
            body["conversion_goal_details"]["attribution_window_in_hours"] = _number(
                _text(form, "attribution_hours"))
    controls: dict[str, Any] = {}
    if _text(form, "throttle_rpm"):
        controls["campaign_throttle_rpm"] = _number(_text(form, "throttle_rpm"))
    for key in ("ignore_frequency_capping", "bypass_dnd"):
        if form.get(key):
            controls[key] = True
    if _text(form, "limit_max_count"):
        controls["limit_send_config"] = {
            "enabled": True, "max_count": _number(_text(form, "limit_max_count")),
            "window_value": _number(_text(form, "limit_window_value") or "1"),
            "window_unit": form.get("limit_window_unit") or "DAYS"}
    if controls:
        body["delivery_controls"] = controls
    if form.get("deduplicate"):
        body["basic_details"]["deduplication_attribute"] = _text(form, "deduplicate")
    return body


def test_body(form: Form, variables: list[dict] | None) -> dict:
    """The ``POST /api/campaigns/test`` body: the content plus who to send the test to."""
    values = [v.strip() for v in _text(form, "test_values").replace("\n", ",").split(",")
              if v.strip()]
    return {"request_id": "dashboard-test", "channel": form.get("channel") or "CONNECTED_APP",
            "basic_details": {"name": _text(form, "name") or "Test campaign"},
            "campaign_content": {"content": _content(form, variables)},
            "test_campaign_meta": {"identifier": form.get("test_identifier")
                                   or "USER_ATTRIBUTE_UNIQUE_ID",
                                   "identifier_values": values}}


def _decimal(text: str) -> Any:
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def setting_body(name: str, form: Form) -> dict:
    """``PUT /api/settings/global-control-group`` or ``dnd`` from their fields."""
    body: dict[str, Any] = {"enabled": bool(form.get("enabled"))}
    if name == "global-control-group":
        if _text(form, "percentage"):
            body["percentage"] = _decimal(_text(form, "percentage"))
        ids = [line.strip() for line in (form.get("customer_ids") or "").splitlines()
               if line.strip()]
        if ids:
            body["customer_ids"] = ids
        if form.get("allow_campaign_opt_out"):
            body["allow_campaign_opt_out"] = True
        return body
    for key in ("from", "to", "action", "queue_mode", "order"):
        if _text(form, key):
            body[key] = _text(form, key)
    return body


def errors_by_path(errors: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.get("path") or "", []).append(error["message"])
    return found
