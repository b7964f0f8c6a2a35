"""Delivery gates (spec §5.5, order §5.6): each holds back the right users, recorded as
``removed`` with its reason, and the funnel adds up."""

import pytest
import requests

from simulator.core import gates

from .conftest import WORKSPACE
from .test_campaigns import _campaign, _connected_app
from .test_scheduling import _advance, _triggered, _if


def _user(client, auth, cid, **attributes):
    attributes.setdefault("acme_id", f"+91{cid}")
    answer = client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": cid, "attributes": {"first_name": cid, **attributes}})
    assert answer.status_code == 200, answer.json


def _sink(partner, sink="acme"):
    return sorted(r["json"]["to"] for r in
                  requests.get(f"{partner}/_sim/sinks/{sink}", timeout=5).json()["requests"])


def _removed(client, campaign_id):
    rows = client.get(f"/_sim/deliveries?campaign_id={campaign_id}&limit=1000").json
    return {d["customer_id"]: d["reason"] for d in rows["deliveries"] if d["status"] == "removed"}


def _put(client, name, body):
    answer = client.put(f"/api/settings/{name}", json=body)
    assert answer.status_code == 200, answer.json
    return answer.json


def _create(client, body):
    created = client.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.json
    return created.json["campaign_id"]


def test_must_show_each_gate_removes_the_right_users_and_the_funnel_adds_up(
        client, auth, partner):
    """spec §5.6: duplicates -> global CG -> FC -> campaign CG -> audience limit -> sends."""
    names = [f"u{i:02d}" for i in range(20)]
    for cid in names:
        extra = {"email": f"{cid}@example.com"}
        if cid == "u01":
            extra["email"] = "u00@example.com"          # a duplicate of u00 by email
        if cid == "u03":
            extra["group"] = "already-messaged"
        _user(client, auth, cid, **extra)
    ids = _connected_app(client, partner)
    # u03 gets a message today from another campaign: the 1-per-day cap then holds it back
    _put(client, "frequency-capping", {"enabled": True, "refresh": "app", "rules": [
        {"max_messages": 1, "days": 1}]})
    _create(client, _campaign(*ids, request_id="first", segmentation_details={
        "included_filters": {"filter_operator": "and", "filters": [{
            "filter_type": "user_attributes", "name": "group", "data_type": "string",
            "operator": "is", "value": "already-messaged"}]}}))
    client.post("/_sim/run-due")
    assert _sink(partner) == ["+91u03"]
    _put(client, "global-control-group", {"enabled": True, "customer_ids": ["u02"]})

    campaign_id = _create(client, _campaign(
        *ids, request_id="gated",
        basic_details={"name": "Gated campaign", "deduplication_attribute": "email"},
        control_group_details={"is_campaign_control_group_enabled": True,
                               "campaign_control_group_percentage": 25},
        campaign_audience_limit={"is_campaign_audience_limit_enabled": True, "limit": 6}))
    client.post("/_sim/run-due")

    eligible = [c for c in names if c not in ("u01", "u02", "u03")]
    seed = 0
    drawn = [c for c in eligible if gates.unit_draw("ccg", seed, campaign_id, 0, c) < 0.25]
    assert drawn, "the seeded draw should put someone in the campaign control group"
    rest = [c for c in eligible if c not in drawn]
    sent, limited = rest[:6], rest[6:]
    removed = _removed(client, campaign_id)
    assert removed == {"u01": "duplicate", "u02": "global_control_group",
                       "u03": "frequency_capping",
                       **{c: "campaign_control_group" for c in drawn},
                       **{c: "audience_limit" for c in limited}}
    assert _sink(partner) == sorted(["+91u03"] + [f"+91{c}" for c in sent])
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert stats["failure_breakdown"]["removed"] == {
        "duplicate": 1, "global_control_group": 1, "frequency_capping": 1,
        "campaign_control_group": len(drawn), "audience_limit": len(limited)}
    assert stats["attempted"] == stats["sent"] + stats["failed"] == 6
    funnel = stats["funnel"]
    assert funnel["in_segment"] == 20 == len(removed) + stats["attempted"]
    assert funnel == {"in_segment": 20, "after_duplicate_removal": 19,
                      "after_gates": 6, "after_personalization": 6, "sent": 6}
    # control-group users get MoEngage's event (spec §5.5, S19/S20)
    events = client.get("/api/users/u02/events").json
    assert [(e["name"], e["attributes"]["Control Group type"]) for e in events] == [
        ("User added to control group", "Global")]
    # the one-time campaign is Sent once its limit is reached
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "SENT"


def test_personalization_failures_show_between_gates_and_sent(client, auth, partner):
    _user(client, auth, "ok")
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": "no-id", "attributes": {"first_name": "N"}})
    ids = _connected_app(client, partner)
    campaign_id = _create(client, _campaign(*ids))
    client.post("/_sim/run-due")
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert stats["funnel"] == {"in_segment": 2, "after_duplicate_removal": 2, "after_gates": 2,
                               "after_personalization": 1, "sent": 1}


def test_spec5_5_limit_messages_per_user_over_periodic_instances(client, auth, partner):
    """limit_send_config: at most 1 send per user in 2 days -> a daily campaign reaches each
    user every other day."""
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    campaign_id = _create(client, _campaign(
        *ids, campaign_delivery_type="PERIODIC",
        scheduling_details={"delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
                            "periodic_details": {"sending_frequency": "DAILY",
                                                 "repeat_frequency": 1, "no_of_occurences": 4}},
        delivery_controls={"limit_send_config": {"enabled": True, "max_count": 1,
                                                 "window_value": 2, "window_unit": "DAYS"}}))
    _advance(client, to="2026-11-27T00:00:00Z")
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert [(i["instance"], i["sent"], i["failure_breakdown"].get("removed"))
            for i in stats["instances"]] == [
        (1, 1, None), (2, 0, {"limit_per_user": 1}), (3, 1, None), (4, 0, {"limit_per_user": 1})]


def test_spec5_5_frequency_capping_ignore_and_count_for(client, auth, partner):
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    _put(client, "frequency-capping", {"enabled": True, "rules": [
        {"max_messages": 1, "days": 1}]})
    # ignores FC and does not count: the next campaign still goes
    _create(client, _campaign(*ids, request_id="r1", delivery_controls={
        "ignore_frequency_capping": True, "count_for_frequency_capping": False}))
    client.post("/_sim/run-due")
    second = _create(client, _campaign(*ids, request_id="r2"))
    client.post("/_sim/run-due")
    third = _create(client, _campaign(*ids, request_id="r3"))
    client.post("/_sim/run-due")
    assert _removed(client, second) == {}
    assert _removed(client, third) == {"a": "frequency_capping"}
    # the cap refreshes at 00:00 in the app zone (UTC here)
    _advance(client, to="2026-11-23T00:00:00Z")
    fourth = _create(client, _campaign(*ids, request_id="r4"))
    client.post("/_sim/run-due")
    assert _removed(client, fourth) == {}


def test_spec5_5_frequency_capping_rules_by_tag_and_delivery_type(client, auth, partner):
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    _put(client, "frequency-capping", {"enabled": True, "rules": [
        {"max_messages": 1, "days": 7, "tags": ["promo"]}]})
    promo = {"name": "Promo campaign", "tags": ["promo"]}
    _create(client, _campaign(*ids, request_id="p1", basic_details=promo))
    client.post("/_sim/run-due")
    other = _create(client, _campaign(*ids, request_id="o1"))
    client.post("/_sim/run-due")
    promo2 = _create(client, _campaign(*ids, request_id="p2", basic_details=promo))
    client.post("/_sim/run-due")
    assert _removed(client, other) == {}             # the rule is for promo tags only
    assert _removed(client, promo2) == {"a": "frequency_capping"}
    # changing the rule's tags resets the counters (spec §5.5, S15)
    _put(client, "frequency-capping", {"enabled": True, "rules": [
        {"max_messages": 1, "days": 7, "tags": ["promo", "sale"]}]})
    promo3 = _create(client, _campaign(*ids, request_id="p3", basic_details=promo))
    client.post("/_sim/run-due")
    assert _removed(client, promo3) == {}


def _trigger_campaign(client, ids, **overrides):
    return _create(client, _triggered(ids, _if("Checkout", trigger_delay_type="ASAP"), **overrides))


def _post_event(client, auth, cid, name="Checkout"):
    answer = client.post(f"/v1/event/{WORKSPACE}", headers=auth, json={
        "type": "event", "customer_id": cid, "actions": [{"action": name, "attributes": {}}]})
    assert answer.status_code == 200, answer.json


def test_spec5_5_dnd_discards_or_queues_event_triggered_sends(client, auth, partner):
    """DND 22:00-08:00 in the user's zone; the clock is 12:00Z: in DND for a +11:00 user."""
    _user(client, auth, "syd", moe_dtzo=660)   # 23:00 local
    _user(client, auth, "ldn", moe_dtzo=0)     # 12:00 local
    ids = _connected_app(client, partner)
    _put(client, "dnd", {"enabled": True, "from": "22:00", "to": "08:00", "action": "discard"})
    campaign_id = _trigger_campaign(client, ids)
    _post_event(client, auth, "syd")
    _post_event(client, auth, "ldn")
    client.post("/_sim/run-due")
    assert _sink(partner) == ["+91ldn"]
    assert _removed(client, campaign_id) == {"syd": "dnd"}

    _put(client, "dnd", {"enabled": True, "from": "22:00", "to": "08:00", "action": "queue",
                         "queue_mode": "one_per_campaign", "order": "LIFO"})
    _post_event(client, auth, "syd")
    _advance(client, seconds=60)
    _post_event(client, auth, "syd")
    _advance(client, seconds=60)
    assert _sink(partner) == ["+91ldn"]
    # 08:00 in Sydney (+11:00) is 21:00Z: one message (the last queued), the other dropped
    _advance(client, to="2026-11-22T21:00:00Z")
    assert _sink(partner) == ["+91ldn", "+91syd"]
    rows = client.get(f"/_sim/deliveries?campaign_id={campaign_id}&customer_id=syd").json
    assert sorted((d["status"], d["reason"]) for d in rows["deliveries"]) == [
        ("removed", "dnd"), ("removed", "dnd"), ("sent", None)]


def test_spec5_5_bypass_dnd(client, auth, partner):
    _user(client, auth, "syd", moe_dtzo=660)
    ids = _connected_app(client, partner)
    _put(client, "dnd", {"enabled": True, "from": "22:00", "to": "08:00", "action": "discard"})
    _trigger_campaign(client, ids, delivery_controls={"bypass_dnd": True})
    _post_event(client, auth, "syd")
    client.post("/_sim/run-due")
    assert _sink(partner) == ["+91syd"]


def test_spec5_5_daily_audience_limit_pauses_and_resumes_at_midnight(client, auth, partner):
    for cid in ("a", "b", "c"):
        _user(client, auth, cid)
    ids = _connected_app(client, partner)
    campaign_id = _trigger_campaign(client, ids, campaign_audience_limit={
        "is_campaign_audience_limit_enabled": True, "metric": "SENT", "frequency": "DAILY",
        "limit": 2})
    for cid in ("a", "b"):
        _post_event(client, auth, cid)
    client.post("/_sim/run-due")
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "PAUSED"
    _post_event(client, auth, "c")            # paused: not triggered
    client.post("/_sim/run-due")
    assert _sink(partner) == ["+91a", "+91b"]
    _advance(client, to="2026-11-23T00:00:00Z")  # 00:00 in the campaign zone (UTC)
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "ACTIVE"
    _post_event(client, auth, "c")
    client.post("/_sim/run-due")
    assert _sink(partner) == ["+91a", "+91b", "+91c"]


def test_spec5_5_campaign_control_group_is_redrawn_per_trigger(client, auth, partner):
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    campaign_id = _trigger_campaign(client, ids, control_group_details={
        "is_campaign_control_group_enabled": True, "campaign_control_group_percentage": 50})
    for _ in range(12):
        _post_event(client, auth, "a")
    client.post("/_sim/run-due")
    rows = client.get(f"/_sim/deliveries?campaign_id={campaign_id}").json["deliveries"]
    outcomes = {d["status"] for d in rows}
    assert outcomes == {"sent", "removed"}   # not sticky: the same user lands on both sides
    assert len(rows) == 12


def test_spec5_3_throttle_paces_virtual_send_times(client, auth, partner):
    for cid in ("a", "b", "c"):
        _user(client, auth, cid)
    ids = _connected_app(client, partner)
    campaign_id = _create(client, _campaign(*ids, delivery_controls={
        "campaign_throttle_rpm": 1000}))
    client.post("/_sim/run-due")
    times = sorted(d["time"] for d in client.get(  # rows are stored as answers come in
        f"/_sim/deliveries?campaign_id={campaign_id}").json["deliveries"])
    assert times == ["2026-11-22T12:00:00.000Z", "2026-11-22T12:00:00.060Z",
                     "2026-11-22T12:00:00.120Z"]   # 1,000 a minute: 60 ms apart
    assert client.get("/_sim/clock").json["now"] == "2026-11-22T12:00:00.000Z"


@pytest.mark.parametrize("audience,rpm,expected", [
    (100, 60_000, 60_000), (20_000_000, 60_000, 83_334), (1_000, 1_000, 1_000)])
def test_spec5_3_throttle_is_raised_to_finish_within_4_hours(audience, rpm, expected):
    body = {"delivery_controls": {"campaign_throttle_rpm": rpm}}
    assert gates.throttle_rpm(body, audience) == expected


def test_bad_gate_settings_are_422_with_paths(client, partner):
    ids = _connected_app(client, partner)
    bad = client.post("/api/campaigns", json=_campaign(
        *ids, delivery_controls={"campaign_throttle_rpm": 500, "bypass_dnd": "yes",
                                 "limit_send_config": {"enabled": True, "max_count": 0,
                                                       "window_value": 1,
                                                       "window_unit": "DAYS"}},
        control_group_details={"is_campaign_control_group_enabled": True,
                               "campaign_control_group_percentage": 101},
        campaign_audience_limit={"is_campaign_audience_limit_enabled": True, "limit": 0,
                                 "metric": "SENT"}))
    assert bad.status_code == 422
    assert sorted(e["path"] for e in bad.json["errors"]) == sorted([
        "delivery_controls.bypass_dnd", "delivery_controls.campaign_throttle_rpm",
        "delivery_controls.limit_send_config",
        "delivery_controls.limit_send_config.max_count",
        "control_group_details.campaign_control_group_percentage",
        "campaign_audience_limit.limit", "campaign_audience_limit.metric"])
    assert client.get("/api/campaigns").json["campaigns"] == []
    answer = client.put("/api/settings/frequency-capping", json={
        "enabled": True, "rules": [{"max_messages": 0, "days": 99, "tag_match": "some"}]})
    assert answer.status_code == 422
    assert [e["path"] for e in answer.json["errors"]] == [
        "rules[0].max_messages", "rules[0].days", "rules[0].tag_match"]
    answer = client.put("/api/settings/global-control-group", json={"enabled": True,
                                                                   "percentage": 120})
    assert [e["path"] for e in answer.json["errors"]] == ["percentage"]
    answer = client.put("/api/settings/dnd", json={"enabled": True, "from": "25:00",
                                                   "to": "08:00", "action": "drop"})
    assert [e["path"] for e in answer.json["errors"]] == ["from", "action"]
    assert client.get("/api/settings/dnd").json == {"enabled": False}
    assert client.get("/api/settings/nope").status_code == 404


@pytest.mark.parametrize("local,expected", [
    ("2026-11-22T23:00:00", "2026-11-23T08:00:00"), ("2026-11-22T07:59:00", "2026-11-22T08:00:00"),
    ("2026-11-22T08:00:00", None), ("2026-11-22T21:59:00", None)])
def test_dnd_window_over_midnight(local, expected):
    from datetime import datetime
    end = gates.dnd_end({"enabled": True, "from": "22:00", "to": "08:00"},
                        datetime.fromisoformat(local))
    assert (end.isoformat() if end else None) == expected


def test_global_control_group_percentage_is_stable_and_proportional():
    config = {"enabled": True, "percentage": 10}
    members = [c for c in (f"user-{i}" for i in range(10_000))
               if gates.in_global_control_group(config, 7, c)]
    assert 900 < len(members) < 1100
    assert members == [c for c in (f"user-{i}" for i in range(10_000))
                       if gates.in_global_control_group(config, 7, c)]


def test_spec5_4_campaign_filters_on_attributes_of_the_wrong_type_are_422(client, auth, partner):
    """Bad input (issue 5): a filter on a known attribute of another type, or an unknown saved
    segment, fails the campaign create with the path; nothing is stored."""
    _user(client, auth, "a", age=31)
    ids = _connected_app(client, partner)
    bad = client.post("/api/campaigns", json=_campaign(*ids, segmentation_details={
        "included_filters": {"filter_operator": "and", "filters": [
            {"filter_type": "user_attributes", "name": "age", "data_type": "string",
             "operator": "is", "value": "31"},
            {"filter_type": "custom_segments", "id": 999}]}}))
    assert bad.status_code == 422
    paths = [e["path"] for e in bad.json["errors"]]
    assert any(p.startswith("segmentation_details.included_filters.filters[0]") for p in paths)
    assert any(p.startswith("segmentation_details.included_filters.filters[1]") for p in paths)
    assert client.get("/api/campaigns").json["campaigns"] == []


def test_triggers_due_together_run_as_one_batch_with_one_by_one_outcomes(client, auth, partner):
    """The engine runs triggered sends due at the same time for one campaign as a batch
    (docs/decisions.md, Engine). Outcomes are those of one by one: each trigger draws its own
    campaign control group (spec §5.5, S19: per trigger), and a user triggering twice is sent
    after their first send counts (limit per user, 1 a day: the second is removed)."""
    names = [f"b{i}" for i in range(8)]
    for cid in names:
        _user(client, auth, cid)
    ids = _connected_app(client, partner)
    groups = {"is_campaign_control_group_enabled": True, "campaign_control_group_percentage": 30}
    campaign_id = _trigger_campaign(client, ids, control_group_details=groups, delivery_controls={
        "limit_send_config": {"enabled": True, "max_count": 1, "window_value": 1,
                              "window_unit": "DAYS"}})
    for cid in names + ["b0"]:
        _post_event(client, auth, cid)
    ran = client.post("/_sim/run-due").json["ran"]
    assert [r["customer_id"] for r in ran] == names + ["b0"]  # one summary per job, in order
    expected, sent_to = [], set()
    for job in ran:
        cid = job["customer_id"]
        if cid in sent_to:  # limit per user comes before the control group (gates.ORDER)
            expected.append(("removed", "limit_per_user"))
        elif gates.in_campaign_control_group({"control_group_details": groups}, 0, campaign_id,
                                             job["job_id"], cid):
            expected.append(("removed", "campaign_control_group"))
        else:
            expected.append(("sent", None))
            sent_to.add(cid)
    assert [(r["outcome"], r.get("reason")) for r in ran] == expected
    assert {"campaign_control_group", "limit_per_user"} <= {r for _, r in expected}
    assert _sink(partner) == sorted(f"+91{c}" for c in sent_to)
