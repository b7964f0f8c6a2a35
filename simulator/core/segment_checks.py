"""Checks of ``segmentation_details`` (campaign-api.md §1.5, §1.5.1; spec §5.4): every problem
with its JSON path, before anything is compiled or stored.

``Catalogue`` carries what only the store knows: the first-seen type of each attribute (a filter
on an attribute of another type is refused) and the saved segment ids. Without one (the
campaign body check), only the shape is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import segment_dates
from .errors import FieldError
from .attributes import storage_key
from .segment_events import AGGREGATES, EXECUTION_TYPES, RANGE_TYPES, time_range
from .segment_sql import (NO_OPERATOR_TYPES, OPERATORS, PART_OPERATORS, STORED_TYPES,
                          STRING_KINDS, part_value)
from .time_windows import UNITS

FILTER_TYPES = ("user_attributes", "actions", "psychographic_event", "custom_segments",
                "nested_filters")
AFFINITY_OPERATORS = ("predominant", "minimum", "top", "bottom")
AFFINITY_FILTER_OPERATORS = {"is", "in", "contains", "startsWith", "endsWith", "exists",
                             "lessThan", "greaterThan", "between"}
PERIOD_UNITS = ("hours", "days", "weeks", "months")
MAX_DEPTH = 10
MAX_ARRAY_VALUES = 254  # spec §5.4


@dataclass(frozen=True)
class Catalogue:
    user_types: dict[str, str] = field(default_factory=dict)      # storage key -> type
    event_types: dict[str, dict[str, str]] = field(default_factory=dict)  # event -> key -> type
    segment_ids: frozenset | None = None  # None: not checked


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class Checker:
    def __init__(self, catalogue: Catalogue | None):
        self.catalogue = catalogue
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def group(self, group: Any, path: str, depth: int = 0, *, required: bool = True,
              each=None) -> None:
        if not isinstance(group, dict):
            self.fail(path, "must be a filter group {filter_operator, filters}")
            return
        if group.get("filter_operator", "and" if not required else None) not in ("and", "or"):
            self.fail(f"{path}.filter_operator", "must be 'and' or 'or'")
        filters = group.get("filters")
        if not isinstance(filters, list) or (required and not filters):
            self.fail(f"{path}.filters", "must be a non-empty array of filters" if required
                      else "must be an array of filters")
            return
        if depth > MAX_DEPTH:
            self.fail(path, f"nests deeper than {MAX_DEPTH} levels")
            return
        for i, item in enumerate(filters):
            (each or self.filter)(item, f"{path}.filters[{i}]", depth)

    def filter(self, item: Any, path: str, depth: int) -> None:
        if not isinstance(item, dict):
            self.fail(path, "must be an object")
            return
        kind = item.get("filter_type")
        if kind == "user_attributes":
            self.attribute(item, path, self.catalogue.user_types if self.catalogue else None,
                           user=True, depth=depth)
        elif kind == "actions":
            self.action(item, path)
        elif kind == "psychographic_event":
            self.affinity(item, path)
        elif kind == "custom_segments":
            self.custom_segment(item, path)
        elif kind == "nested_filters":
            self.group(item, path, depth + 1)
        else:
            self.fail(f"{path}.filter_type", f"must be one of {', '.join(FILTER_TYPES)}")

    # -- attribute filters (users and events) -------------------------------------------------

    def attribute(self, item: dict, path: str, types: dict | None, *, user: bool,
                  operators: set | None = None, depth: int = 0) -> None:
        name, data_type, operator = item.get("name"), item.get("data_type"), item.get("operator")
        if not isinstance(name, str) or not name:
            self.fail(f"{path}.name", "is required (an attribute name)")
        if data_type in NO_OPERATOR_TYPES:
            self.stored_type(name, data_type, types, user, path)
            if "negate" in item and not isinstance(item["negate"], bool):
                self.fail(f"{path}.negate", "must be true or false")
            if data_type == "geopoint":
                self.geopoint(item, path)
            else:
                self.object_filters(item, path, depth)
            return
        if data_type not in OPERATORS:
            self.fail(f"{path}.data_type",
                      f"must be one of {', '.join([*OPERATORS, *NO_OPERATOR_TYPES])}")
            return
        allowed = OPERATORS[data_type] & (operators or OPERATORS[data_type])
        if operator not in allowed:
            self.fail(f"{path}.operator", f"{operator!r} is not an operator for {data_type}: "
                      f"{', '.join(sorted(allowed))}")
            return
        for flag in ("negate", "case_sensitive"):
            if flag in item and not isinstance(item[flag], bool):
                self.fail(f"{path}.{flag}", "must be true or false")
        if item.get("is_dynamic_value"):
            self.fail(f"{path}.is_dynamic_value", "dynamic values are not supported by moesim")
            return
        self.stored_type(name, data_type, types, user, path)
        if operator != "exists":
            self.values(item, data_type, operator, path)

    def stored_type(self, name: Any, data_type: str, types: dict | None, user: bool,
                    path: str) -> None:
        if isinstance(name, str) and name and types is not None:
            known = types.get(storage_key(name) if user else name)
            if known is not None and known not in STORED_TYPES[data_type]:
                self.fail(f"{path}.data_type", f"attribute {name!r} holds {known} values, "
                          f"not {data_type}")

    def geopoint(self, item: dict, path: str) -> None:
        """``value`` latitude, ``value1`` longitude, ``radius`` meters (spec §5.4)."""
        for key, low, high, what in (("value", -90, 90, "a latitude"),
                                     ("value1", -180, 180, "a longitude")):
            if not (_number(item.get(key)) and low <= item[key] <= high):
                self.fail(f"{path}.{key}", f"is required ({what}, {low} to {high})")
        radius = item.get("radius")
        if not _number(radius) or not radius > 0 or radius == float("inf"):
            self.fail(f"{path}.radius", "is required (a distance in meters, above 0)")

    def object_filters(self, item: dict, path: str, depth: int) -> None:
        """``object``/``array_object``: a nested group whose filters name keys of the object
        (of each element); no catalogue type is known for those keys."""
        def each(inner: Any, where: str, level: int) -> None:
            if not isinstance(inner, dict):
                self.fail(where, "must be an object")
            elif inner.get("filter_type", "user_attributes") != "user_attributes":
                self.fail(f"{where}.filter_type", "nested object filters have no filter_type "
                          "(or user_attributes)")
            else:
                self.attribute(inner, where, None, user=False, depth=level + 1)

        self.group(item, path, depth, each=each)

    def values(self, item: dict, data_type: str, operator: str, path: str) -> None:
        value = item.get("value")
        if data_type == "datetime":
            self.datetime(item, operator, path)
        elif data_type == "bool":
            if not isinstance(value, bool):
                self.fail(f"{path}.value", "must be true or false")
        elif data_type in ("array_string", "array_double"):
            if item.get("array_filter_type", "any_of") not in ("any_of", "all_of"):
                self.fail(f"{path}.array_filter_type", "must be 'any_of' or 'all_of'")
            if operator == "is" and value == []:
                return
            self.scalars(item, "string" if data_type == "array_string" else "double",
                         operator, path)
        else:
            self.scalars(item, data_type, operator, path)

    def scalars(self, item: dict, data_type: str, operator: str, path: str) -> None:
        value = item.get("value")
        ok = (lambda v: isinstance(v, str)) if data_type == "string" else _number
        several = operator in ("in", "is") or operator.endswith("InTheFollowing") or \
            (data_type == "string" and operator in STRING_KINDS)
        if several and isinstance(value, list):
            if not value or len(value) > MAX_ARRAY_VALUES or not all(ok(v) for v in value):
                self.fail(f"{path}.value", f"must be 1-{MAX_ARRAY_VALUES} "
                          f"{'strings' if data_type == 'string' else 'numbers'}")
        elif not ok(value):
            self.fail(f"{path}.value", "is required (a string)" if data_type == "string"
                      else "is required (a number)")
        if operator == "between":
            if not _number(item.get("value1")):
                self.fail(f"{path}.value1", "is required for between (a number)")
            elif _number(value) and not value < item["value1"]:
                self.fail(f"{path}.value1", "must be greater than value (N1 <= v < N2)")

    def datetime(self, item: dict, operator: str, path: str) -> None:
        extract = item.get("extract_type") or "default_option_date"
        if extract != "default_option_date":
            self.date_part(item, extract, operator, path)
            return
        unit = item.get("period_unit")
        if unit is not None and unit not in UNITS:
            self.fail(f"{path}.period_unit", f"must be one of {', '.join(PERIOD_UNITS)}")
        if operator == "today":
            return
        if operator == "is":
            if segment_dates.instant(item.get("value")) is None:
                self.fail(f"{path}.value", "must be an ISO 8601 datetime")
            return
        if operator in ("inTheLast", "inTheNext"):
            if not _count(item.get("value")):
                self.fail(f"{path}.value", "must be a whole number of periods, at least 1")
            return
        value_type = item.get("value_type", "absolute")
        if value_type not in segment_dates.VALUE_TYPES:
            self.fail(f"{path}.value_type", f"must be one of "
                      f"{', '.join(segment_dates.VALUE_TYPES)}")
            return
        keys = ["value", "value1"] if operator == "between" else ["value"]
        for key in keys:
            values = item.get(key)
            if operator == "in" and isinstance(values, list) and values:
                for i, value in enumerate(values):
                    self.date_value(value, value_type, f"{path}.{key}[{i}]")
            else:
                self.date_value(values, value_type, f"{path}.{key}")

    def date_value(self, value: Any, value_type: str, path: str) -> None:
        if value_type == "absolute":
            if segment_dates.calendar_date(value) is None:
                self.fail(path, "must be an ISO 8601 date (absolute value_type)")
        elif not segment_dates.is_count(value):
            self.fail(path, f"must be a whole number of periods ({value_type})")

    def date_part(self, item: dict, extract: str, operator: str, path: str) -> None:
        if extract not in ("time_of_the_day", "day_of_the_week", "day_of_the_month",
                           "month_of_the_year", "date_month_of_the_year"):
            self.fail(f"{path}.extract_type", "is not a known extract_type")
            return
        if operator not in PART_OPERATORS:
            self.fail(f"{path}.operator", f"{operator!r} does not apply to {extract}: "
                      f"{', '.join(PART_OPERATORS)}")
            return
        keys = ["value", "value1"] if operator == "between" else ["value"]
        for key in keys:
            values = item.get(key)
            for value in (values if isinstance(values, list) and operator != "between"
                          else [values]):
                if part_value(extract, value) is None:
                    self.fail(f"{path}.{key}", f"is not a valid {extract} value")
                    break

    # -- behaviour ----------------------------------------------------------------------------

    def event_attributes(self, group: Any, event: Any, path: str, *, required: bool = False,
                         operators: set | None = None, types_allowed=None) -> None:
        if group is None and not required:
            return
        types = (self.catalogue.event_types.get(event, {}) if self.catalogue else None) \
            if isinstance(event, str) else None

        def each(item: Any, where: str, depth: int) -> None:
            if not isinstance(item, dict):
                self.fail(where, "must be an object")
            elif item.get("filter_type", "user_attributes") != "user_attributes":
                self.fail(f"{where}.filter_type", "event attribute filters have no filter_type "
                          "(or user_attributes)")
            elif types_allowed and item.get("data_type") not in types_allowed:
                self.fail(f"{where}.data_type", f"must be one of {', '.join(types_allowed)}")
            else:
                self.attribute(item, where, types, user=False, operators=operators)

        self.group(group, path, required=required, each=each)

    def range_(self, raw: Any, path: str) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.fail(path, "must be an object {type, value_type, value, ...}")
            return
        shaped = time_range(raw)
        kind = shaped.get("type")
        if kind not in RANGE_TYPES:
            self.fail(f"{path}.type", f"must be one of {', '.join(RANGE_TYPES)}")
            return
        value_type = shaped.get("value_type") or \
            ("relative_past" if kind == "inTheLast" else "absolute")
        if value_type not in ("absolute", "relative_past"):
            self.fail(f"{path}.value_type", "must be 'absolute' or 'relative_past'")
            return
        if kind == "inTheLast" and value_type != "relative_past":
            self.fail(f"{path}.value_type", "is relative_past for inTheLast")
        if kind == "after" and value_type != "absolute":
            self.fail(f"{path}.value_type", "is absolute for after")
        unit = shaped.get("period_unit")
        if unit is not None and unit not in PERIOD_UNITS:
            self.fail(f"{path}.period_unit", f"must be one of {', '.join(PERIOD_UNITS)}")
        keys = ["value", "value1"] if kind == "between" else ["value"]
        for key in keys:
            value = shaped.get(key)
            if kind == "inTheLast" and not _count(value):
                self.fail(f"{path}.{key}", "must be a whole number of periods, at least 1")
            elif kind != "inTheLast":
                self.date_value(value, value_type, f"{path}.{key}")

    def action(self, item: dict, path: str) -> None:
        event = item.get("action_name")
        if not isinstance(event, str) or not event:
            self.fail(f"{path}.action_name", "is required (an event name)")
        executed = item.get("executed", True)
        if not isinstance(executed, bool):
            self.fail(f"{path}.executed", "must be true or false")
        execution = item.get("execution") or {"type": "atleast", "count": 1}
        kind = execution.get("type") if isinstance(execution, dict) else None
        if kind not in EXECUTION_TYPES:
            self.fail(f"{path}.execution.type", f"must be one of {', '.join(EXECUTION_TYPES)}")
        elif kind in ("atleast", "exactly", "atmost") and executed is not False \
                and not _count(execution.get("count")):
            self.fail(f"{path}.execution.count", "must be a whole number, at least 1")
        if kind in ("firstTime", "lastTime") and executed is False:
            self.fail(f"{path}.execution.type", f"{kind} needs executed: true")
        self.range_(item.get("primary_time_range"), f"{path}.primary_time_range")
        self.event_attributes(item.get("attributes"), event, f"{path}.attributes")
        self.aggregation(item, kind, executed, f"{path}.aggregation_attributes")

    def aggregation(self, item: dict, kind: Any, executed: Any, path: str) -> None:
        group = item.get("aggregation_attributes")
        if group is None or (isinstance(group, dict) and not group.get("filters")):
            return
        if not isinstance(group, dict) or not isinstance(group["filters"], list) \
                or len(group["filters"]) != 1:
            self.fail(f"{path}.filters", "must hold exactly one aggregation condition")
            return
        range_type = (item.get("primary_time_range") or {}).get("type")
        if executed is False:
            self.fail(path, "is allowed only when executed is true")
        if kind in ("firstTime", "lastTime"):
            self.fail(path, f"is not allowed with execution type {kind}")
        if range_type in ("before", "after"):
            self.fail(path, f"is not allowed with a {range_type} time range")
        rule, where = group["filters"][0], f"{path}.filters[0]"
        if not isinstance(rule, dict):
            self.fail(where, "must be an object")
            return
        if not isinstance(rule.get("attribute_name"), str) or not rule["attribute_name"]:
            self.fail(f"{where}.attribute_name", "is required")
        if rule.get("data_type", "double") != "double":
            self.fail(f"{where}.data_type", "must be double")
        if rule.get("aggregation_type") not in AGGREGATES:
            self.fail(f"{where}.aggregation_type", f"must be one of {', '.join(AGGREGATES)}")
        if rule.get("comparator") is not None:
            self.fail(f"{where}.comparator", "comparisons with a base period are not supported "
                      "by moesim")
        if rule.get("operator") not in ("is", "between", "lessThan", "greaterThan"):
            self.fail(f"{where}.operator", "must be one of is, between, lessThan, greaterThan")
            return
        self.scalars({**rule, "value": rule.get("value")}, "double",
                     "lessThan" if rule["operator"] == "is" else rule["operator"], where)

    def affinity(self, item: dict, path: str) -> None:
        event = item.get("action_name")
        if not isinstance(event, str) or not event:
            self.fail(f"{path}.action_name", "is required (an event name)")
        operator = item.get("operator_type")
        if operator not in AFFINITY_OPERATORS:
            self.fail(f"{path}.operator_type", f"must be one of {', '.join(AFFINITY_OPERATORS)}")
        percent = {"minimum": "percent_of_times", "top": "percent_of_users",
                   "bottom": "percent_of_users"}.get(operator)
        if percent and not (_number(item.get(percent)) and 1 <= item[percent] <= 100):
            self.fail(f"{path}.{percent}", "must be a percentage from 1 to 100")
        self.range_(item.get("primary_time_range"), f"{path}.primary_time_range")
        self.event_attributes(item.get("attributes"), event, f"{path}.attributes")
        self.event_attributes(item.get("psychographic_attributes"), event,
                              f"{path}.psychographic_attributes", required=True,
                              operators=AFFINITY_FILTER_OPERATORS,
                              types_allowed=("string", "double"))

    def custom_segment(self, item: dict, path: str) -> None:
        segment_id = item.get("id")
        if isinstance(segment_id, bool) or not isinstance(segment_id, (int, str)) \
                or not str(segment_id).isdigit():
            self.fail(f"{path}.id", "is required (a saved segment id)")
        elif self.catalogue and self.catalogue.segment_ids is not None \
                and int(segment_id) not in self.catalogue.segment_ids:
            self.fail(f"{path}.id", f"no saved segment {segment_id}")


def check(segmentation: Any, path: str = "segmentation_details",
          catalogue: Catalogue | None = None) -> list[FieldError]:
    checker = Checker(catalogue)
    if not isinstance(segmentation, dict):
        return [FieldError(path, "is required (an object)")]
    for flag in ("is_all_user_campaign", "send_campaign_to_opt_out_users"):
        if flag in segmentation and not isinstance(segmentation[flag], bool):
            checker.fail(f"{path}.{flag}", "must be true or false")
    included = segmentation.get("included_filters")
    if segmentation.get("is_all_user_campaign") is True:
        if included and (not isinstance(included, dict) or included.get("filters")):
            checker.fail(f"{path}.included_filters",
                         "cannot be combined with is_all_user_campaign")
    elif not isinstance(included, dict) or not included.get("filters"):
        checker.fail(path, "needs is_all_user_campaign: true or included_filters")
    else:
        checker.group(included, f"{path}.included_filters")
    excluded = segmentation.get("excluded_filters")
    if excluded is not None:
        checker.group(excluded, f"{path}.excluded_filters", required=False)
    return checker.errors
