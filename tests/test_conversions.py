"""Conversion goals (spec §5.3 "Conversion goals", campaign-api.md §1.8) and their figures
(spec §4.2): validation, attribution inside and outside the window, attribute conditions,
revenue, AOV, ARPU, control-group uplift and periodic instances."""

import copy
import json
import sqlite3

import pytest
import requests

from simulator.core import conversions
from simulator.store import deliveries

from .conftest import WORKSPACE

GOALS = {"attribution_window_in_hours": 2, "goals": [
    {"goal_name": "Big purchase", "goal_event_name": "Purchased", "is_primary_goal": True,
     "revenue_attribute": "amount", "revenue_currency": "INR",
     "goal_event_attribute": {"name": "amount", "condition": "greaterThan",
                              "data_type": "DOUBLE", "value": "10"}},
    {"goal_name": "Any purchase", "goal_event_name": "Purchased", "is_primary_goal": False,
     "revenue_attribute": "amount", "revenue_currency": "INR"}]}


def connector_campaign(partner, request_id="req-goals", goals=GOALS, **overrides):
    body = {
        "request_id": request_id, "channel": "CONNECTOR", "campaign_delivery_type": "ONE_TIME",
        "created_by": "dev@example.com", "basic_details": {"name": "Webhook with goals",
                                                           "tags": ["crm"]},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": f"{partner}/_sim/sink/crm/contacts", "url_params": [],
            "headers": [], "body_type": "JSON", "body": {"name": "{{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"},
        "conversion_goal_details": copy.deepcopy(goals)}
    body.update(overrides)
    return body


def add_users(client, auth, *ids):
    for cid in ids:
        response = client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
            "type": "customer", "customer_id": cid, "attributes": {"first_name": cid.title()}})
        assert response.status_code == 200, response.json


def track(client, auth, cid, name, when, **attributes):
    response = client.post(f"/v1/event/{WORKSPACE}", headers=auth, json={
        "type": "event", "customer_id": cid,
        "actions": [{"action": name, "current_time": when, "attributes": attributes}]})
    assert response.status_code == 200, response.json


def advance(client, **body):
    response = client.post("/_sim/clock/advance", json=body)
    assert response.status_code == 200, response.json
    return response.json


# -- validation (campaign-api.md §1.8) ---------------------------------------------------------

def test_spec5_3_goals_as_documented_pass():
    assert conversions.check(GOALS) == []
    assert conversions.check(None) == []
    assert conversions.check({"goals": [{"goal_name": "G", "goal_event_name": "E"}]}) == []


def _goal(**changes):
    goal = {"goal_name": "G1", "goal_event_name": "Purchased"}
    goal.update(changes)
    return goal


@pytest.mark.parametrize("details, path", [
    ("yes", "conversion_goal_details"),
    ({"goals": []}, "conversion_goal_details.goals"),
    ({"goals": [_goal(goal_name=f"G{i}") for i in range(6)]}, "conversion_goal_details.goals"),
    ({"attribution_window_in_hours": 0, "goals": [_goal()]},
     "conversion_goal_details.attribution_window_in_hours"),
    ({"attribution_window_in_hours": 241, "goals": [_goal()]},   # spec §5.3: at most 10 days
     "conversion_goal_details.attribution_window_in_hours"),
    ({"attribution_window_in_hours": "36", "goals": [_goal()]},
     "conversion_goal_details.attribution_window_in_hours"),
    ({"goals": [_goal(goal_name="")]}, "conversion_goal_details.goals[0].goal_name"),
    ({"goals": [_goal(), _goal()]}, "conversion_goal_details.goals[1].goal_name"),
    ({"goals": [_goal(goal_event_name=None)]},
     "conversion_goal_details.goals[0].goal_event_name"),
    ({"goals": [_goal(), _goal(goal_name="G2", is_primary_goal=True)]},
     "conversion_goal_details.goals[1].is_primary_goal"),
    ({"goals": [_goal(is_primary_goal=False)]},
     "conversion_goal_details.goals[0].is_primary_goal"),
    ({"goals": [_goal(revenue_attribute="")]},
     "conversion_goal_details.goals[0].revenue_attribute"),
    ({"goals": [_goal(goal_event_attribute={"name": "amount", "condition": "is",
                                            "data_type": "double", "value": "1"})]},
     "conversion_goal_details.goals[0].goal_event_attribute.data_type"),
    ({"goals": [_goal(goal_event_attribute={"name": "amount", "condition": "is",
                                            "data_type": "DOUBLE", "value": 1})]},
     "conversion_goal_details.goals[0].goal_event_attribute.value"),
    ({"goals": [_goal(goal_event_attribute={"name": "amount", "condition": "is",
                                            "data_type": "DOUBLE", "value": "ten"})]},
     "conversion_goal_details.goals[0].goal_event_attribute.value"),
    ({"goals": [_goal(goal_event_attribute={"name": "amount", "condition": "between",
                                            "data_type": "DOUBLE", "value": "1"})]},
     "conversion_goal_details.goals[0].goal_event_attribute.value1"),
    ({"goals": [_goal(goal_event_attribute={"name": "sku", "condition": "lessThan",
                                            "data_type": "STRING", "value": "a"})]},
     "conversion_goal_details.goals[0].goal_event_attribute.condition"),
    ({"goals": [_goal(goal_event_attribute={"name": "where", "condition": "is",
                                            "data_type": "GEOPOINT", "value": "1,2"})]},
     "conversion_goal_details.goals[0].goal_event_attribute.data_type"),
    ({"goals": [_goal(goal_event_attribute={"condition": "exists", "data_type": "STRING"})]},
     "conversion_goal_details.goals[0].goal_event_attribute.name"),
])
def test_spec5_3_bad_goals_name_their_path(details, path):
    assert path in [e.path for e in conversions.check(details)]


def test_bad_goals_are_one_422_listing_every_path_and_nothing_is_stored(client, partner):
    details = {"attribution_window_in_hours": 500, "goals": [
        _goal(goal_name=f"G{i}") for i in range(3)] + [_goal(goal_name="G0")]}
    response = client.post("/api/campaigns", json=connector_campaign(partner, goals=details))
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == [
        "conversion_goal_details.attribution_window_in_hours",
        "conversion_goal_details.goals[3].goal_name"]
    assert client.get("/api/campaigns").json["campaigns"] == []


# -- attribute conditions and figures (pure) --------------------------------------------------

def _matching(attribute, rows):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE events (attrs TEXT)")
    db.executemany("INSERT INTO events VALUES (?)", [(json.dumps(r),) for r in rows])
    sql, params = conversions.condition_sql(attribute, attrs="attrs")
    return [json.loads(a) for (a,) in db.execute(f"SELECT attrs FROM events WHERE {sql}", params)]


ROWS = [{"sku": "Shoe-1", "amount": 5, "vip": True, "at": "2026-11-22T10:00:00.000Z"},
        {"sku": "shirt-2", "amount": 25.5, "vip": False, "at": "2026-11-23T10:00:00.000Z"},
        {"amount": 10}]


@pytest.mark.parametrize("attribute, skus", [
    (None, ["Shoe-1", "shirt-2", None]),
    ({"name": "sku", "condition": "is", "data_type": "STRING", "value": "shoe-1"}, ["Shoe-1"]),
    ({"name": "sku", "condition": "is", "data_type": "STRING", "value": "shoe-1",
      "is_case_sensitive": True}, []),
    ({"name": "sku", "condition": "startsWith", "data_type": "STRING", "value": "SH"},
     ["Shoe-1", "shirt-2"]),
    ({"name": "sku", "condition": "in", "data_type": "STRING", "value": "x, shirt-2"},
     ["shirt-2"]),
    ({"name": "sku", "condition": "is", "data_type": "STRING", "value": "Shoe-1",
      "negate": True}, ["shirt-2", None]),   # spec §5.4: negation matches a missing key
    ({"name": "amount", "condition": "between", "data_type": "DOUBLE", "value": "5",
      "value1": "10"}, ["Shoe-1"]),           # spec §5.4: N1 <= v < N2
    ({"name": "amount", "condition": "greaterThan", "data_type": "NUMBER", "value": "9.5"},
     ["shirt-2", None]),
    ({"name": "vip", "condition": "is", "data_type": "BOOL", "value": "true"}, ["Shoe-1"]),
    ({"name": "at", "condition": "after", "data_type": "DATETIME",
      "value": "2026-11-22T12:00:00Z"}, ["shirt-2"]),
    ({"name": "sku", "condition": "exists", "data_type": "STRING"}, ["Shoe-1", "shirt-2"]),
])
def test_spec5_3_goal_attribute_condition(attribute, skus):
    assert [r.get("sku") for r in _matching(attribute, ROWS)] == skus


def test_spec4_2_figures_cvr_aov_arpu():
    # 3 goal events by 2 users for 120.0 over 8 sends: CVR 2/8, AOV 120/3, ARPU 120/2
    assert conversions.figures(3, 2, 120.0, 8) == {
        "conversions": 3, "converted_users": 2, "cvr": 25.0, "revenue": 120.0, "aov": 40.0,
        "arpu": 60.0}
    assert conversions.figures(0, 0, 0.0, 0)["cvr"] == 0.0
    assert conversions.uplift(30.0, 20.0) == 50.0 and conversions.uplift(30.0, 0.0) == 0.0


# -- attribution end to end ----------------------------------------------------------------------

def run_goal_campaign(client, auth, partner, users=("u0", "u1", "u2", "u3")):
    add_users(client, auth, *users)
    created = client.post("/api/campaigns", json=connector_campaign(partner))
    assert created.status_code == 201, created.json
    advance(client, seconds=0)  # sends at 2026-11-22T12:00Z
    return created.json["campaign_id"]


def test_spec5_3_conversions_inside_the_window_with_attribute_and_revenue(client, auth, partner):
    campaign_id = run_goal_campaign(client, auth, partner)
    advance(client, to="2026-11-22T15:00:00Z")
    track(client, auth, "u0", "Purchased", "2026-11-22T12:30:00Z", amount=50)
    track(client, auth, "u0", "Purchased", "2026-11-22T13:00:00Z", amount=20)
    track(client, auth, "u1", "Purchased", "2026-11-22T12:30:00Z", amount=5)   # condition fails
    track(client, auth, "u1", "Purchased", "2026-11-22T14:00:00Z", amount=100)  # window's end
    track(client, auth, "u2", "Purchased", "2026-11-22T14:00:01Z", amount=30)   # 1 s too late
    track(client, auth, "u3", "Purchased", "2026-11-22T11:00:00Z", amount=40)   # before send
    track(client, auth, "u3", "Viewed", "2026-11-22T12:10:00Z", amount=40)      # other event
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert stats["sent"] == 4
    big, anything = stats["conversions"]["Big purchase"], stats["conversions"]["Any purchase"]
    # u0: 50 + 20, u1: 100 -> 3 events, 2 users, revenue 170 over 4 sent
    assert {k: big[k] for k in ("conversions", "converted_users", "cvr", "revenue", "aov",
                                "arpu")} == {
        "conversions": 3, "converted_users": 2, "cvr": 50.0, "revenue": 170.0,
        "aov": 56.67, "arpu": 85.0}
    assert big["primary"] is True and big["revenue_currency"] == "INR"
    # no attribute condition: u1's 5 counts too
    assert (anything["conversions"], anything["converted_users"], anything["revenue"]) == \
        (4, 2, 175.0)
    assert anything["primary"] is False


def test_spec5_3_failed_sends_do_not_attribute(client, auth, partner):
    requests.put(f"{partner}/_sim/sinks/crm", json={"fail_next": {"count": 1, "status": 500}},
                 timeout=5)
    campaign_id = run_goal_campaign(client, auth, partner, users=("u0", "u1"))
    failed = client.get(f"/_sim/deliveries?campaign_id={campaign_id}&status=failed").json
    assert len(failed["deliveries"]) == 1
    advance(client, to="2026-11-22T13:00:00Z")
    for cid in ("u0", "u1"):
        track(client, auth, cid, "Purchased", "2026-11-22T12:30:00Z", amount=50)
    goal = client.get(f"/api/campaigns/{campaign_id}/stats").json["conversions"]["Big purchase"]
    assert (goal["conversions"], goal["converted_users"], goal["cvr"]) == (1, 1, 100.0)


def test_default_window_is_36_hours(client, auth, partner):
    add_users(client, auth, "u0", "u1")
    body = connector_campaign(partner, goals={"goals": [
        {"goal_name": "Any purchase", "goal_event_name": "Purchased"}]})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    advance(client, seconds=0)
    advance(client, to="2026-11-25T00:00:00Z")
    track(client, auth, "u0", "Purchased", "2026-11-24T00:00:00Z")   # 36 h after
    track(client, auth, "u1", "Purchased", "2026-11-24T00:00:01Z")   # 36 h 1 s after
    goal = client.get(f"/api/campaigns/{campaign_id}/stats").json["conversions"]["Any purchase"]
    assert (goal["conversions"], goal["converted_users"], goal["cvr"]) == (1, 1, 50.0)


def hold_back(ctx, campaign_id, customer_id, reason, ts_ms):
    """A gate's 'removed' row (the delivery-gates contract): the user was held back at ts."""
    with ctx.store.write() as db:
        user_id = db.execute("SELECT id FROM users WHERE customer_id = ?",
                             [customer_id]).fetchone()[0]
        deliveries.insert(db, [(campaign_id, user_id, customer_id, "removed", reason, None,
                                None, None, None, ts_ms)])


def test_control_group_conversions_and_uplift(client, auth, partner, ctx):
    campaign_id = run_goal_campaign(client, auth, partner, users=("u0", "u1", "u2", "u3"))
    add_users(client, auth, "c0", "c1", "g0")
    send_ms = 1795348800000  # 2026-11-22T12:00Z
    hold_back(ctx, campaign_id, "c0", "campaign_control_group", send_ms)
    hold_back(ctx, campaign_id, "c1", "campaign_control_group", send_ms)
    hold_back(ctx, campaign_id, "g0", "global_control_group", send_ms)
    advance(client, to="2026-11-22T13:00:00Z")
    for cid in ("u0", "u1", "c0", "g0"):
        track(client, auth, cid, "Purchased", "2026-11-22T12:30:00Z", amount=20)
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    goal = stats["conversions"]["Big purchase"]
    assert (goal["converted_users"], goal["cvr"]) == (2, 50.0)
    assert goal["campaign_control_group"] == {
        "users": 2, "conversions": 1, "converted_users": 1, "cvr": 50.0, "revenue": 20.0,
        "aov": 20.0, "arpu": 20.0}
    assert goal["global_control_group"]["cvr"] == 100.0
    assert (goal["uplift"], goal["gcg_uplift"]) == (0.0, -50.0)


def test_periodic_instances_share_conversions_by_last_touch(client, auth, partner):
    add_users(client, auth, "a", "b")
    body = connector_campaign(partner, campaign_delivery_type="PERIODIC", goals={
        "attribution_window_in_hours": 36,
        "goals": [{"goal_name": "Any purchase", "goal_event_name": "Purchased"}]},
        scheduling_details={"delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
                            "periodic_details": {"sending_frequency": "DAILY",
                                                 "repeat_frequency": 1, "no_of_occurences": 2}})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    advance(client, to="2026-11-25T00:00:00Z")
    track(client, auth, "a", "Purchased", "2026-11-23T10:00:00Z")  # after instance 1 only
    track(client, auth, "a", "Purchased", "2026-11-24T10:00:00Z")  # latest touch: instance 2
    track(client, auth, "b", "Purchased", "2026-11-24T10:00:00Z")
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    total = stats["conversions"]["Any purchase"]
    assert (total["conversions"], total["converted_users"], total["cvr"]) == (3, 2, 50.0)
    per_instance = [(i["instance"], i["conversions"]["Any purchase"]["conversions"],
                     i["conversions"]["Any purchase"]["converted_users"])
                    for i in stats["instances"]]
    assert per_instance == [(1, 1, 1), (2, 2, 2)]
    child = stats["instances"][1]["campaign_id"]
    own = client.get(f"/api/campaigns/{child}/stats").json["conversions"]["Any purchase"]
    assert (own["conversions"], own["converted_users"]) == (2, 2)
