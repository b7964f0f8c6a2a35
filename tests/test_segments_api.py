"""Saved segments, "Show count" (spec §5.1) and a campaign whose audience is a behaviour filter
minus an exclusion, over HTTP with users and events from the Data API."""

import requests

from .conftest import WORKSPACE
from .test_campaigns import _campaign, _connected_app

EMPTY = {"filter_operator": "and", "filters": []}


def _user(client, auth, cid, **attributes):
    response = client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": cid,
        "attributes": {"acme_id": f"+91{cid}", **attributes}})
    assert response.status_code == 200, response.json


def _purchases(client, auth, cid, count, **attributes):
    response = client.post(f"/v1/event/{WORKSPACE}", headers=auth, json={
        "type": "event", "customer_id": cid,
        "actions": [{"action": "Purchase", "attributes": attributes}] * count})
    assert response.status_code == 200, response.json


def _advance(client, **body):
    assert client.post("/_sim/clock/advance", json=body).status_code == 200


def _city(value, **extra):
    return {"filter_type": "user_attributes", "name": "city", "data_type": "string",
            "operator": "is", "value": value, **extra}


def _bought(times, days=7):
    return {"filter_type": "actions", "action_name": "Purchase", "executed": True,
            "execution": {"type": "atleast", "count": times},
            "primary_time_range": {"type": "inTheLast", "value_type": "relative_past",
                                   "value": days, "period_unit": "days"},
            "attributes": EMPTY}


def _included(*filters, operator="and", **extra):
    return {"included_filters": {"filter_operator": operator, "filters": list(filters)},
            **extra}


def _population(client, auth):
    """Purchases in the last 7 days: a (Mumbai) 3 of 10, b (Mumbai) 3 of 99, c (Pune) 2 (and 2
    ten days ago), d (Mumbai, vip) 3 of 10; e has no city and no purchases."""
    _user(client, auth, "a", city="Mumbai")
    _user(client, auth, "b", city="Mumbai")
    _user(client, auth, "c", city="Pune")
    _user(client, auth, "d", city="Mumbai", vip=True)
    _user(client, auth, "e")
    _purchases(client, auth, "c", 2)
    _advance(client, seconds=10 * 86400)
    _purchases(client, auth, "a", 3, amount=10)
    _purchases(client, auth, "b", 3, amount=99)
    _purchases(client, auth, "c", 2)
    _purchases(client, auth, "d", 3, amount=10)


def _count(client, segmentation):
    response = client.post("/api/segments/count", json={"segmentation_details": segmentation})
    assert response.status_code == 200, response.json
    return response.json["count"]


def test_spec5_1_show_count(client, auth):
    _population(client, auth)
    assert _count(client, {"is_all_user_campaign": True}) == 5
    assert _count(client, _included(_city("mumbai"))) == 3
    assert _count(client, _included(_city("mumbai", negate=True))) == 2  # c, and e (no city)
    assert _count(client, _included(_bought(3))) == 3                    # a, b, d
    assert _count(client, _included(_bought(3, days=30))) == 4           # a, b, c, d
    assert _count(client, _included(_city("mumbai"), _bought(3), excluded_filters={
        "filter_operator": "and", "filters": [{
            "filter_type": "user_attributes", "name": "vip", "data_type": "bool",
            "operator": "is", "value": True}]})) == 2                    # a, b


def test_saved_segments_create_list_read_use_delete(client, auth):
    _population(client, auth)
    created = client.post("/api/segments", json={"name": "Mumbai buyers", "segmentation_details":
                                                 _included(_city("mumbai"), _bought(3))})
    assert created.status_code == 201, created.json
    segment = created.json
    assert segment["name"] == "Mumbai buyers" and segment["created_at"] == \
        "2026-12-02T12:00:00.000Z"
    assert client.get("/api/segments").json["segments"] == [segment]
    assert client.get(f"/api/segments/{segment['id']}").json == segment
    again = client.post("/api/segments", json={"name": "Mumbai buyers",
                                               "segmentation_details": {
                                                   "is_all_user_campaign": True}})
    assert again.status_code == 409 and again.json["errors"][0]["path"] == "name"
    uses = _included({"filter_type": "custom_segments", "id": segment["id"]})
    assert _count(client, uses) == 3
    assert client.delete(f"/api/segments/{segment['id']}").json == {"id": segment["id"],
                                                                    "deleted": True}
    assert client.get(f"/api/segments/{segment['id']}").status_code == 404
    assert client.delete(f"/api/segments/{segment['id']}").status_code == 404
    missing = client.post("/api/segments/count", json={"segmentation_details": uses})
    assert missing.status_code == 422
    assert missing.json["errors"][0]["path"] == \
        "segmentation_details.included_filters.filters[0].id"


def test_a_segment_named_by_a_live_campaign_or_segment_cannot_be_deleted(client, auth, partner):
    _user(client, auth, "a", city="Mumbai")
    segment_id = client.post("/api/segments", json={
        "name": "Mumbai", "segmentation_details": _included(_city("mumbai"))}).json["id"]
    outer = client.post("/api/segments", json={"name": "Outer", "segmentation_details": _included(
        {"filter_type": "custom_segments", "id": segment_id})}).json["id"]
    refused = client.delete(f"/api/segments/{segment_id}")
    assert refused.status_code == 409 and f"segment {outer}" in refused.json["message"]
    assert client.delete(f"/api/segments/{outer}").status_code == 200
    ids = _connected_app(client, partner)
    body = _campaign(*ids, scheduling_details={"delivery_type": "AT_FIXED_TIME",
                                               "start_time": "2026-11-23T10:00:00"},
                     segmentation_details=_included({"filter_type": "custom_segments",
                                                     "id": segment_id}))
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    refused = client.delete(f"/api/segments/{segment_id}")
    assert refused.status_code == 409 and campaign_id in refused.json["message"]


def test_bad_segments_are_one_422_listing_every_path(client, auth):
    _population(client, auth)  # city is a string, Purchase.amount a number
    response = client.post("/api/segments/count", json={"segmentation_details": _included(
        _city(3, operator="lessThan"),
        {**_city("x"), "data_type": "double", "value": 3},
        {"filter_type": "psychographic_event", "action_name": "Purchase",
         "operator_type": "top", "percent_of_users": 120,
         "psychographic_attributes": {"filter_operator": "and", "filters": [
             {"name": "amount", "data_type": "string", "operator": "is", "value": "x"}]}},
        {**_bought(0), "aggregation_attributes": {"filter_operator": "and", "filters": [
            {"attribute_name": "amount", "aggregation_type": "mode", "operator": "is",
             "value": 1}]}})})
    assert response.status_code == 422
    filters = "segmentation_details.included_filters.filters"
    assert {e["path"] for e in response.json["errors"]} == {
        f"{filters}[0].operator",
        f"{filters}[1].data_type",
        f"{filters}[2].percent_of_users",
        f"{filters}[2].psychographic_attributes.filters[0].data_type",
        f"{filters}[3].execution.count",
        f"{filters}[3].aggregation_attributes.filters[0].aggregation_type"}
    saved = client.post("/api/segments", json={"name": "", "segmentation_details": {}})
    assert saved.status_code == 422
    assert {e["path"] for e in saved.json["errors"]} == {"name", "segmentation_details"}
    assert client.get("/api/segments").json["segments"] == []


def test_campaign_reaches_buyers_minus_the_excluded_at_the_sink(client, auth, partner):
    """spec §5.1: "Purchase at least 3 times in the last 7 days" (a, b, d) minus users who are VIP
    (d) or bought for more than 50 (b), one-time ASAP: only a's request arrives."""
    _population(client, auth)
    ids = _connected_app(client, partner)
    segmentation = _included(_bought(3), excluded_filters={"filter_operator": "or", "filters": [
        {"filter_type": "user_attributes", "name": "vip", "data_type": "bool", "operator": "is",
         "value": True},
        {"filter_type": "actions", "action_name": "Purchase", "executed": True,
         "execution": {"type": "atleast", "count": 1}, "attributes": {
             "filter_operator": "and", "filters": [{"name": "amount", "data_type": "double",
                                                    "operator": "greaterThan", "value": 50}]}}]})
    created = client.post("/api/campaigns", json=_campaign(*ids,
                                                            segmentation_details=segmentation))
    assert created.status_code == 201, created.json
    client.post("/_sim/run-due")
    sent = [r["json"]["to"] for r in
            requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]]
    assert sent == ["+91a"]


def test_counts_are_the_same_before_and_after_the_attribute_index(client, auth, ctx):
    """Adaptive indexing ([I]): the first count on a custom attribute builds an expression
    index; the counts it serves are the hand-computed ones (case-insensitive, exact, numbers)."""
    for cid, city, score in (("a", "Mumbai", 5), ("b", "MUMBAI", 7), ("c", "Pune", 9),
                             ("d", None, 3)):
        attributes = {"score": score} if city is None else {"city": city, "score": score}
        client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
            "type": "customer", "customer_id": cid, "attributes": attributes})

    def count(item):
        answer = client.post("/api/segments/count", json={"segmentation_details": {
            "included_filters": {"filter_operator": "and", "filters": [
                {"filter_type": "user_attributes", **item}]}}})
        assert answer.status_code == 200, answer.json
        return answer.json["count"]

    city = {"name": "city", "data_type": "string", "operator": "is", "value": "mumbai"}
    exact = {**city, "value": "MUMBAI", "case_sensitive": True}
    score = {"name": "score", "data_type": "double", "operator": "between", "value": 5,
             "value1": 9}
    with ctx.store.read() as db:
        before = db.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE "
                            "'ix_users_attr_%'").fetchone()[0]
    assert before == 0
    assert [count(city), count(exact), count(score)] == [2, 1, 2]
    with ctx.store.read() as db:
        built = db.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE "
                           "'ix_users_attr_%'").fetchone()[0]
    assert built == 3
    assert [count(city), count(exact), count(score)] == [2, 1, 2]
