"""MoEngage's Campaign Stats API and V1 campaign search (campaign-api.md §3-4): auth, request
validation, paging and the response nesting, read by a client the way MoEngage is read."""

import re

import pytest
import requests

from simulator.app import create_app
from simulator.core.settings import Settings

from .conftest import KEY, WORKSPACE, basic
from .test_conversions import (add_users, advance, connector_campaign, hold_back,
                               run_goal_campaign, track)

STATS = "/core-services/v1/campaign-stats"
SEARCH = "/core-services/v1/campaigns/search"
SEND_MS = 1795348800000  # 2026-11-22T12:00Z, when run_goal_campaign sends


def moe_headers(workspace=WORKSPACE, key=KEY):
    return {**basic(workspace, key), "MOE-APPKEY": workspace}


def stats_body(**changes):
    body = {"request_id": "stats-1", "start_date": "2026-11-22", "end_date": "2026-11-22",
            "attribution_type": "VIEW_THROUGH", "metric_type": "TOTAL"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def post_stats(client, headers=None, **changes):
    return client.post(STATS, json=stats_body(**changes),
                       headers=moe_headers() if headers is None else headers)


def post_search(client, headers=None, **body):
    payload = {"request_id": "search-1", "limit": 15, "page": 1, **body}
    return client.post(SEARCH, json=payload, headers=moe_headers() if headers is None else headers)


def test_must_show_stats_and_search_return_moengages_nesting_for_a_finished_campaign(
        client, auth, partner):
    """campaign-api.md §3 (data[id] = [{platforms: {...: {locales: {all_locales: {variations:
    {all_variations, campaign_control_group, global_control_group}}}}}}]) and §4 (bare array,
    full campaign, "2024-07-04 08:00:54.847000" times), for a campaign run through the API."""
    requests.put(f"{partner}/_sim/sinks/crm", json={"fail_next": {"count": 1, "status": 503}},
                 timeout=5)
    campaign_id = run_goal_campaign(client, auth, partner)
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "SENT"
    advance(client, to="2026-11-22T18:00:00Z")
    sent = [d["customer_id"] for d in client.get(
        f"/_sim/deliveries?campaign_id={campaign_id}&status=sent").json["deliveries"]]
    assert len(sent) == 3
    track(client, auth, sent[0], "Purchased", "2026-11-22T12:30:00Z", amount=60)
    track(client, auth, sent[0], "Purchased", "2026-11-22T13:00:00Z", amount=30)
    track(client, auth, sent[1], "Purchased", "2026-11-22T15:00:00Z", amount=99)  # after 2 h

    response = post_stats(client, campaign_ids=[campaign_id])
    assert response.status_code == 200, response.json
    body = response.json
    assert {k: body[k] for k in ("response_id", "total_campaigns", "current_page",
                                 "total_pages")} == {
        "response_id": "stats-1", "total_campaigns": 1, "current_page": 1, "total_pages": 1}
    assert list(body["data"]) == [campaign_id]
    [entry] = body["data"][campaign_id]
    assert list(entry) == ["platforms"] and list(entry["platforms"]) == ["unknown"]
    locales = entry["platforms"]["unknown"]["locales"]
    assert list(locales) == ["all_locales"]
    variations = locales["all_locales"]["variations"]
    assert set(variations) == {"all_variations", "campaign_control_group",
                               "global_control_group"}
    everyone = variations["all_variations"]
    assert set(everyone) == {"performance_stats", "conversion_goal_stats", "delivery_funnel",
                             "failure_breakdown"}
    assert everyone["performance_stats"] == {"attempted": 4, "sent": 3, "failed": 1,
                                             "sent_rate": 75.0, "failure_rate": 25.0}
    assert everyone["delivery_funnel"] == {
        "reachable_users_in_segment": 4, "after_fc": 4, "users_after_dup": 4,
        "after_personalization_removal": 4, "sent": 3}
    assert everyone["failure_breakdown"] == {"http_status_503": 1}
    assert list(everyone["conversion_goal_stats"]) == ["Big purchase", "Any purchase"]
    assert everyone["conversion_goal_stats"]["Big purchase"] == {
        "goal_name": "Big purchase", "conversions": 2, "total": 2, "unique": 1, "cvr": 33.33,
        "uplift": 0.0, "gcg_uplift": 0.0, "revenue": 90.0, "average_order_value": 45.0,
        "average_revenue_per_user": 90.0}
    for group in ("campaign_control_group", "global_control_group"):
        assert set(variations[group]) == {"conversion_goal_stats", "delivery_funnel",
                                          "failure_breakdown"}
        assert variations[group]["delivery_funnel"] == {"reachable_users_in_segment": 0}
        assert variations[group]["conversion_goal_stats"]["Big purchase"]["conversions"] == 0
    # the same figures as moesim's own stats
    own = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert (own["attempted"], own["sent"], own["failed"]) == (4, 3, 1)
    assert own["conversions"]["Big purchase"]["conversions"] == 2
    if "funnel" in own:  # the delivery gates' funnel, when present, agrees
        assert everyone["delivery_funnel"] == {
            "reachable_users_in_segment": own["funnel"]["in_segment"],
            "after_fc": own["funnel"]["after_gates"],
            "users_after_dup": own["funnel"]["after_duplicate_removal"],
            "after_personalization_removal": own["funnel"]["after_personalization"],
            "sent": own["funnel"]["sent"]}

    found = post_search(client, campaign_fields={"id": campaign_id})
    assert found.status_code == 200, found.json
    assert isinstance(found.json, list) and len(found.json) == 1
    [item] = found.json
    assert item["campaign_id"] == campaign_id and item["status"] == "Sent"
    assert (item["channel"], item["campaign_delivery_type"]) == ("CONNECTOR", "ONE_TIME")
    assert item["created_by"] == item["updated_by"] == "dev@example.com"
    assert item["created_at"] == "2026-11-22 12:00:00.000000"
    assert item["sent_time"] == "2026-11-22 12:00:00.000000"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", item["updated_at"])
    sent_body = connector_campaign(partner)
    for component in ("basic_details", "campaign_content", "segmentation_details",
                      "scheduling_details", "conversion_goal_details"):
        assert item[component] == sent_body[component], component
    assert "parent_id" not in item


# -- auth (campaign-api.md §3: Basic workspace id + campaign-report key, MOE-APPKEY) ----------

@pytest.mark.parametrize("headers", [
    {},
    {"MOE-APPKEY": WORKSPACE},
    {**basic(WORKSPACE, "wrong"), "MOE-APPKEY": WORKSPACE},
    {**basic("W2", KEY), "MOE-APPKEY": "W2"},
    {**basic(WORKSPACE, KEY), "MOE-APPKEY": "W2"},
    {"Authorization": "Bearer abc", "MOE-APPKEY": WORKSPACE},
])
def test_stats_auth_failures_are_moengages_401(client, headers):
    response = post_stats(client, headers=headers)
    assert response.status_code == 401
    assert set(response.json) == {"title", "description", "code"}
    assert response.json["title"] == "Authentication required"
    assert response.json["description"] == "Invalid identity information found."
    assert re.fullmatch(r"\w{8}", response.json["code"])


def test_stats_without_moe_appkey_is_moengages_400(client):
    response = post_stats(client, headers=basic(WORKSPACE, KEY))
    assert response.status_code == 400
    assert response.json["title"] == "Invalid Field Value"
    # the description of MoEngage's own 400 example
    assert response.json["description"] == \
        "app_key - Some of the field values are invalid: app_key : None"


def test_search_auth_failure_is_the_v1_error_body(client):
    response = post_search(client, headers={**basic(WORKSPACE, "wrong"), "MOE-APPKEY": WORKSPACE})
    assert response.status_code == 401
    assert response.json == {"error": {
        "code": "401 Authentication error", "message": "Authentication required",
        "target": "authorization", "details": [{"target": "authorization",
                                                "message": "Authentication required"}],
        "request_id": "search-1"}}


def test_report_api_key_replaces_the_data_api_key(tmp_path, clock):
    settings = Settings(db=str(tmp_path / "r.db"), fixtures="none", workspace_id=WORKSPACE,
                        data_api_key=KEY, report_api_key="R3P0RT")
    app = create_app(settings, clock=clock)
    try:
        client = app.test_client()
        assert post_stats(client).status_code == 401
        assert post_stats(client, headers=moe_headers(key="R3P0RT")).status_code == 200
        assert post_search(client, headers=moe_headers(key="R3P0RT")).json == []
    finally:
        app.extensions["moesim"].close()


# -- request validation (campaign-api.md §3) ---------------------------------------------------

@pytest.mark.parametrize("changes, path", [
    ({"request_id": None}, "request_id"),
    ({"campaign_ids": [f"c{i}" for i in range(11)]}, "campaign_ids"),
    ({"campaign_ids": "abc"}, "campaign_ids"),
    ({"end_date": None}, "end_date"),                       # "start date alone" is an error
    ({"start_date": "22-11-2026"}, "start_date"),
    ({"end_date": "2026-11-31"}, "end_date"),
    ({"start_date": "2026-10-22", "end_date": "2026-11-22"}, "end_date"),   # 31 days
    ({"start_date": "2026-11-23"}, "end_date"),             # end before start
    ({"attribution_type": "LAST_TOUCH"}, "attribution_type"),
    ({"metric_type": "total"}, "metric_type"),
    ({"limit": 11}, "limit"),
    ({"limit": 0}, "limit"),
    ({"offset": -1}, "offset"),
])
def test_stats_validation_is_moengages_400_naming_the_field(client, changes, path):
    response = post_stats(client, **changes)
    assert response.status_code == 400, response.json
    assert response.json["title"] == "Invalid Field Value"
    assert response.json["description"].startswith(f"{path} - ")


def test_stats_lists_every_bad_field_in_one_description(client):
    response = post_stats(client, limit=20, metric_type="ALL")
    assert response.status_code == 400
    fields = [part.split(" - ")[0] for part in response.json["description"].split("; ")]
    assert fields == ["metric_type", "limit"]


def test_thirty_day_span_is_allowed(client):
    assert post_stats(client, start_date="2026-10-23", end_date="2026-11-22").status_code == 200


# -- ranges, paging, metric type -----------------------------------------------------------------

def test_stats_without_ids_pages_campaigns_active_in_the_range(client, auth, partner):
    add_users(client, auth, "u0")
    ids = []
    for i in range(3):
        created = client.post("/api/campaigns", json=connector_campaign(partner, f"req-{i}"))
        ids.append(created.json["campaign_id"])
    idle = client.post("/api/campaigns", json=connector_campaign(
        partner, "req-later", scheduling_details={"delivery_type": "AT_FIXED_TIME",
                                                  "start_time": "2026-11-30T09:00:00"}))
    assert idle.status_code == 201
    advance(client, seconds=0)
    ids.sort()  # created at the same (virtual) moment: then by campaign id, as /api/campaigns
    first = post_stats(client, limit=2).json
    assert (first["total_campaigns"], first["current_page"], first["total_pages"]) == (3, 1, 2)
    assert list(first["data"]) == ids[:2]
    second = post_stats(client, limit=2, offset=2).json
    assert (second["current_page"], list(second["data"])) == (2, ids[2:])
    before = post_stats(client, start_date="2026-11-01", end_date="2026-11-21").json
    assert (before["total_campaigns"], before["data"]) == (0, {})


def test_stats_dates_are_read_in_the_app_time_zone(tmp_path, clock, partner):
    settings = Settings(db=str(tmp_path / "z.db"), fixtures="none", workspace_id=WORKSPACE,
                        data_api_key=KEY, app_timezone="Asia/Kolkata")
    app = create_app(settings, clock=clock)
    try:
        client = app.test_client()
        add_users(client, basic(WORKSPACE, KEY), "u0")
        body = connector_campaign(partner, scheduling_details={
            "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-22T20:00:00"})
        campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
        advance(client, to="2026-11-22T21:00:00Z")  # sent 2026-11-23 01:30 in Kolkata

        def sent_on(day):
            data = post_stats(client, campaign_ids=[campaign_id], start_date=day,
                              end_date=day).json["data"][campaign_id]
            node = data[0]["platforms"]["unknown"]["locales"]["all_locales"]["variations"]
            return node["all_variations"]["performance_stats"]["sent"]

        assert (sent_on("2026-11-22"), sent_on("2026-11-23")) == (0, 1)
    finally:
        app.extensions["moesim"].close()


def _goal_stats(response, campaign_id, group="all_variations"):
    node = response.json["data"][campaign_id][0]["platforms"]["unknown"]["locales"]
    return node["all_locales"]["variations"][group]


def test_metric_type_unique_counts_converted_users(client, auth, partner):
    campaign_id = run_goal_campaign(client, auth, partner, users=("u0", "u1"))
    advance(client, to="2026-11-22T13:00:00Z")
    track(client, auth, "u0", "Purchased", "2026-11-22T12:10:00Z", amount=11)
    track(client, auth, "u0", "Purchased", "2026-11-22T12:20:00Z", amount=12)
    total = _goal_stats(post_stats(client, campaign_ids=[campaign_id]), campaign_id)
    unique = _goal_stats(post_stats(client, campaign_ids=[campaign_id], metric_type="UNIQUE"),
                         campaign_id)
    assert total["conversion_goal_stats"]["Big purchase"]["conversions"] == 2
    assert unique["conversion_goal_stats"]["Big purchase"]["conversions"] == 1


def test_control_groups_fill_their_own_variation_nodes(client, auth, partner, ctx):
    campaign_id = run_goal_campaign(client, auth, partner, users=("u0", "u1"))
    add_users(client, auth, "c0", "g0")
    hold_back(ctx, campaign_id, "c0", "campaign_control_group", SEND_MS)
    hold_back(ctx, campaign_id, "g0", "global_control_group", SEND_MS)
    hold_back(ctx, campaign_id, "u1", "frequency_capping", SEND_MS)
    advance(client, to="2026-11-22T13:00:00Z")
    track(client, auth, "c0", "Purchased", "2026-11-22T12:10:00Z", amount=50)
    track(client, auth, "u0", "Purchased", "2026-11-22T12:10:00Z", amount=50)
    response = post_stats(client, campaign_ids=[campaign_id])
    everyone = _goal_stats(response, campaign_id)
    ccg = _goal_stats(response, campaign_id, "campaign_control_group")
    gcg = _goal_stats(response, campaign_id, "global_control_group")
    # campaign-api.md §3's keys, typo included
    assert ccg["failure_breakdown"] == {"user_removed_due_to_campaing_control_group": 1}
    assert gcg["failure_breakdown"] == {"user_removed_due_to_global_control_group": 1}
    assert everyone["failure_breakdown"] == {"user_removed_due_to_frequency_capping": 1}
    assert everyone["delivery_funnel"]["reachable_users_in_segment"] == 5
    assert ccg["conversion_goal_stats"]["Big purchase"]["cvr"] == 100.0
    big = everyone["conversion_goal_stats"]["Big purchase"]
    assert (big["cvr"], big["uplift"], big["gcg_uplift"]) == (50.0, -50.0, 0.0)


def test_periodic_parent_and_instances_are_reported(client, auth, partner):
    add_users(client, auth, "a")
    body = connector_campaign(partner, campaign_delivery_type="PERIODIC", scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
        "periodic_details": {"sending_frequency": "DAILY", "repeat_frequency": 1,
                             "no_of_occurences": 2}})
    parent = client.post("/api/campaigns", json=body).json["campaign_id"]
    advance(client, to="2026-11-25T00:00:00Z")
    children = [i["campaign_id"] for i in
                client.get(f"/api/campaigns/{parent}/stats").json["instances"]]
    response = post_stats(client, start_date="2026-11-23", end_date="2026-11-24")
    assert list(response.json["data"]) == [parent, *children]
    sent = [_goal_stats(response, cid)["performance_stats"]["sent"]
            for cid in (parent, *children)]
    assert sent == [2, 1, 1]
    found = post_search(client, include_child_campaigns=True).json
    assert [i["campaign_id"] for i in found] == [parent, *children]
    assert [i.get("parent_id") for i in found] == [None, parent, parent]
    assert [i["campaign_id"] for i in post_search(client).json] == [parent]


# -- search (campaign-api.md §4) -------------------------------------------------------------

def test_search_filters_and_pages(client, auth, partner):
    ids = {}
    for name, tags in (("Welcome webhook", ["crm"]), ("Winback webhook", ["churn"]),
                       ("Receipt sync", ["crm", "billing"])):
        created = client.post("/api/campaigns", json=connector_campaign(
            partner, f"req-{name}", basic_details={"name": name, "tags": tags},
            scheduling_details={"delivery_type": "AT_FIXED_TIME",
                                "start_time": "2026-12-01T09:00:00"}))
        ids[name] = created.json["campaign_id"]
    # created at the same (virtual) moment: listed by campaign id, as /api/campaigns does
    ids = dict(sorted(ids.items(), key=lambda kv: kv[1]))

    def ordered(*chosen):
        return [name for name in ids if name in chosen]

    def names(**fields):
        response = post_search(client, campaign_fields=fields)
        assert response.status_code == 200, response.json
        return [i["basic_details"]["name"] for i in response.json]

    assert names(name="WEBHOOK") == ordered("Welcome webhook", "Winback webhook")
    assert names(tags=["billing", "churn"]) == ordered("Winback webhook", "Receipt sync")
    assert names(channels=["CONNECTOR"], status=["SCHEDULED"], delivery_type=["ONE_TIME"]) \
        == list(ids)
    assert names(id=ids["Receipt sync"]) == ["Receipt sync"]
    assert names(channels=["EMAIL"]) == []
    assert names(created_by=["DEV@example.com"]) == list(ids)
    assert names(created_date={"from_date": "2026-11-22", "to_date": "2026-11-22"}) == list(ids)
    assert names(created_date={"from_date": "2026-11-23"}) == []
    pages = [[i["campaign_id"] for i in post_search(client, limit=2, page=p).json]
             for p in (1, 2, 3)]
    assert pages == [list(ids.values())[:2], list(ids.values())[2:], []]


@pytest.mark.parametrize("body, target", [
    ({"limit": 16}, "limit"),
    ({"limit": 0}, "limit"),
    ({"limit": None}, "limit"),
    ({"page": 0}, "page"),
    ({"request_id": ""}, "request_id"),
    ({"include_child_campaigns": "yes"}, "include_child_campaigns"),
    ({"campaign_fields": {"channels": ["FAX"]}}, "campaign_fields.channels[0]"),
    ({"campaign_fields": {"campaign_delivery_type": ["ONE_TIME"]}},   # the V5 name
     "campaign_fields.campaign_delivery_type"),
    ({"campaign_fields": {"status": ["LIVE"]}}, "campaign_fields.status[0]"),
    ({"campaign_fields": {"created_date": {"from_date": "2026/11/01"}}},
     "campaign_fields.created_date.from_date"),
    ({"campaign_fields": {"id": 5}}, "campaign_fields.id"),
])
def test_search_validation_is_the_v1_400_body(client, body, target):
    payload = {"request_id": "s-1", "limit": 15, "page": 1, **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    response = client.post(SEARCH, json=payload, headers=moe_headers())
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "400 Bad Request" and error["target"] == target
    assert error["message"].startswith(target) and error["details"][0]["target"] == target
