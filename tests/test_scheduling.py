"""Scheduling through the clock API (spec §5.3): one-time fixed and per-user times, periodic
instances, event-triggered sends, lifecycle; no test waits on wall-clock time."""

import copy
import json

import pytest
import requests

from .conftest import WORKSPACE
from .test_campaigns import SECRET, _campaign, _connected_app


def _user(client, auth, cid, **attributes):
    client.post(f"/v1/customer/{WORKSPACE}", headers=auth, json={
        "type": "customer", "customer_id": cid,
        "attributes": {"first_name": cid.title(), "acme_id": f"+91{cid}", **attributes}})


def _advance(client, **body):
    response = client.post("/_sim/clock/advance", json=body)
    assert response.status_code == 200, response.json
    return response.json


def _sent_to(partner, sink="acme"):
    return [r["json"]["to"] for r in
            requests.get(f"{partner}/_sim/sinks/{sink}", timeout=5).json()["requests"]]


def test_spec5_3_one_time_at_fixed_time(client, auth, partner):
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    body = _campaign(*ids, scheduling_details={"delivery_type": "AT_FIXED_TIME",
                                               "start_time": "2026-11-22T14:00:00"})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    assert _advance(client, seconds=3599)["ran"] == []
    assert _sent_to(partner) == []
    ran = _advance(client, to="2026-11-22T14:00:00Z")["ran"]
    assert [r["campaign_id"] for r in ran] == [campaign_id]
    assert _sent_to(partner) == ["+91a"]
    [delivery] = client.get(f"/_sim/deliveries?campaign_id={campaign_id}").json["deliveries"]
    assert delivery["time"] == "2026-11-22T14:00:00.000Z"  # sent at its (virtual) due time
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "SENT"


def test_spec5_3_send_in_user_timezone(client, auth, partner):
    _user(client, auth, "ind", moe_dtzo=330)
    _user(client, auth, "nyc", moe_dtzo=-300)
    ids = _connected_app(client, partner)
    body = _campaign(*ids, scheduling_details={
        "delivery_type": "SEND_IN_USER_TIMEZONE", "start_time": "2026-11-23T09:00:00",
        "user_timezone_details": {"send_in_user_timezone": True,
                                  "send_if_user_timezone_has_passed": False}})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    _advance(client, to="2026-11-23T03:30:00Z")  # 09:00 in India
    assert _sent_to(partner) == ["+91ind"]
    _advance(client, to="2026-11-23T14:00:00Z")  # 09:00 in New York
    assert _sent_to(partner) == ["+91ind", "+91nyc"]
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "SENT"


def test_spec5_3_periodic_daily_instances_with_their_own_stats(client, auth, partner):
    _user(client, auth, "a")
    _user(client, auth, "b")
    ids = _connected_app(client, partner)
    body = _campaign(*ids, campaign_delivery_type="PERIODIC", scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
        "periodic_details": {"sending_frequency": "DAILY", "repeat_frequency": 1,
                             "no_of_occurences": 3}})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    assert client.get(f"/api/campaigns/{campaign_id}/schedule?count=5").json["next"] == [
        "2026-11-23T09:00:00.000Z", "2026-11-24T09:00:00.000Z", "2026-11-25T09:00:00.000Z"]
    ran = _advance(client, seconds=10 * 86400)["ran"]
    assert [r.get("instance") for r in ran if r["kind"] == "periodic_instance"] == [1, 2, 3]
    stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
    assert stats["sent"] == 6
    assert [(i["instance"], i["sent"]) for i in stats["instances"]] == [(1, 2), (2, 2), (3, 2)]
    child = client.get(f"/api/campaigns/{stats['instances'][0]['campaign_id']}").json
    assert child["parent_campaign_id"] == campaign_id
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "SENT"
    times = sorted(d["time"] for d in client.get("/_sim/deliveries").json["deliveries"])
    # two users per instance, paced at the default throttle (60,000/min: 1 ms apart); rows
    # are stored as answers come in, so in time order once sorted
    assert times == [f"2026-11-2{day}T09:00:00.00{i}Z" for day in (3, 4, 5) for i in (0, 1)]


def test_spec5_3_paused_periodic_skips_and_does_not_backfill(client, auth, partner):
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    body = _campaign(*ids, campaign_delivery_type="PERIODIC", scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
        "periodic_details": {"sending_frequency": "DAILY", "repeat_frequency": 1}})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    _advance(client, to="2026-11-23T10:00:00Z")
    pause = client.post("/api/campaigns/status", json={"request_id": "p", "action": "PAUSE",
                                                       "campaign_ids": [campaign_id]})
    assert pause.status_code == 200
    _advance(client, to="2026-11-25T10:00:00Z")  # instances of the 24th and 25th skipped
    client.post("/api/campaigns/status", json={"request_id": "r", "action": "RESUME",
                                               "campaign_ids": [campaign_id]})
    _advance(client, to="2026-11-26T10:00:00Z")
    days = [d["time"][:10] for d in client.get("/_sim/deliveries").json["deliveries"]]
    assert days == ["2026-11-23", "2026-11-26"]


def test_restart_between_instances_fires_each_exactly_once(tmp_path, partner, auth):
    from simulator.app import create_app
    from simulator.core.settings import Settings

    settings = Settings(db=str(tmp_path / "r.db"), fixtures="none", workspace_id=WORKSPACE,
                        data_api_key="K1", clock="virtual", start_time="2026-11-22T12:00:00Z",
                        send_concurrency=1)  # one outcome recorded at a time
    first = create_app(settings)
    client = first.test_client()
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    body = _campaign(*ids, campaign_delivery_type="PERIODIC", scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
        "periodic_details": {"sending_frequency": "DAILY", "repeat_frequency": 1,
                             "no_of_occurences": 4}})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    _advance(client, to="2026-11-24T12:00:00Z")  # instances 1 and 2
    first.extensions["moesim"].close()  # the server stops between two instances
    second = create_app(settings)
    client = second.test_client()
    try:
        assert client.get("/_sim/clock").json["now"] == "2026-11-24T12:00:00.000Z"
        _advance(client, seconds=5 * 86400)
        stats = client.get(f"/api/campaigns/{campaign_id}/stats").json
        assert [i["instance"] for i in stats["instances"]] == [1, 2, 3, 4]
        assert len(requests.get(f"{partner}/_sim/sinks/acme", timeout=5)
                   .json()["requests"]) == 4
    finally:
        second.extensions["moesim"].close()


def test_restart_in_the_middle_of_a_send_sends_the_rest_once(tmp_path, partner, auth,
                                                            monkeypatch):
    """Engine restart policy: the process dies after the first user's outcome was stored; on
    start the job runs again and skips the users the campaign's delivery log already has."""
    from simulator.app import create_app
    from simulator.core.settings import Settings
    from simulator.services import delivery, engine

    class Died(BaseException):
        pass

    settings = Settings(db=str(tmp_path / "m.db"), fixtures="none", workspace_id=WORKSPACE,
                        data_api_key="K1", clock="virtual", start_time="2026-11-22T12:00:00Z",
                        send_concurrency=1)  # one outcome recorded at a time
    app = create_app(settings)
    client = app.test_client()
    for cid in ("a", "b", "c"):
        _user(client, auth, cid)
    ids = _connected_app(client, partner)
    campaign_id = client.post("/api/campaigns", json=_campaign(*ids)).json["campaign_id"]
    record, pages = delivery.record, []

    def dies_after_the_first_page(ctx, rows, *args):
        if pages:
            raise Died()
        pages.append(rows)
        record(ctx, rows, *args)
    monkeypatch.setattr(delivery, "record", dies_after_the_first_page)
    try:
        with pytest.raises(Died):
            client.post("/_sim/clock/advance", json={"seconds": 1})
    finally:
        app.extensions["moesim"].close()
    monkeypatch.setattr(delivery, "record", record)
    again = create_app(settings)  # recovers the job left running
    try:
        client = again.test_client()
        _advance(client, seconds=60)
        # b was on the wire when the process died and not recorded: it goes again
        assert sorted(_sent_to(partner)) == ["+91a", "+91b", "+91b", "+91c"]
        deliveries = client.get(f"/_sim/deliveries?campaign_id={campaign_id}").json["deliveries"]
        assert sorted(d["customer_id"] for d in deliveries) == ["a", "b", "c"]
        assert engine.recover(again.extensions["moesim"]) == 0
    finally:
        again.extensions["moesim"].close()


def _daily(ids, message):
    body = _campaign(*ids, campaign_delivery_type="PERIODIC", scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
        "periodic_details": {"sending_frequency": "DAILY", "repeat_frequency": 1}})
    body["campaign_content"]["content"]["connected_app"]["inputs"]["message"] = message
    return body


def test_periodic_instances_render_each_users_current_attributes(client, auth, partner):
    """Every instance renders each user's request from the attributes at that moment: a
    changed user gets their new values in the next instance; every request is logged masked."""
    _user(client, auth, "a")
    _user(client, auth, "b")
    ids = _connected_app(client, partner)
    client.post("/api/campaigns", json=_daily(ids, "Hi {{UserAttribute['First Name']}}"))
    _advance(client, to="2026-11-24T10:00:00Z")  # instances 1 and 2
    _user(client, auth, "a", first_name="Ann")
    _advance(client, to="2026-11-25T10:00:00Z")
    texts = [r["json"]["text"] for r in
             requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]]
    assert [sorted(texts[i:i + 2]) for i in (0, 2, 4)] == [["Hi A", "Hi B"]] * 2 + [
        ["Hi Ann", "Hi B"]]  # per instance: requests in flight together arrive in any order
    deliveries = client.get("/_sim/deliveries").json["deliveries"]
    assert len(deliveries) == 6 and all(d["status"] == "sent" for d in deliveries)
    logged = [json.dumps(d) for d in deliveries]
    assert not any(SECRET in text for text in logged)
    assert len({json.dumps(d["request"]["headers"]) for d in deliveries}) == 1


def test_periodic_instances_judge_a_kept_users_response_by_what_came_back_each_time(
        client, auth, partner):
    """Each instance is judged by what the partner answered that time (spec §2.6 actions): the
    instance answered 503 records Failed and the Failed event, the next one Sent again; each
    event carries its own instance's standard attributes."""
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    campaign_id = client.post("/api/campaigns", json=_daily(ids, "Hi")).json["campaign_id"]
    _advance(client, to="2026-11-23T10:00:00Z")
    requests.put(f"{partner}/_sim/sinks/acme",
                 json={"fail_next": {"count": 1, "status": 503}}, timeout=5)
    _advance(client, to="2026-11-24T10:00:00Z")
    _advance(client, to="2026-11-26T10:00:00Z")
    instances = [i["campaign_id"] for i in
                 client.get(f"/api/campaigns/{campaign_id}/stats").json["instances"]]
    assert len(instances) == 4
    events = client.get("/api/users/a/events").json
    assert [(e["name"], e["attributes"].get("Receiver"), e["attributes"]["Campaign Id"])
            for e in events] == [
        ("Connected App Campaign Sent", "+91a", instances[0]),
        ("Connected App Campaign Failed", None, instances[1]),
        ("Connected App Campaign Sent", "+91a", instances[2]),
        ("Connected App Campaign Sent", "+91a", instances[3])]
    deliveries = client.get("/_sim/deliveries").json["deliveries"]
    assert [(d["status"], d["http_status"]) for d in deliveries] == [
        ("sent", 200), ("failed", 503), ("sent", 200), ("sent", 200)]


def test_periodic_instances_render_a_template_that_reads_the_clock_at_their_own_time(
        client, auth, partner):
    """A filter that reads now (``days``, spec §2.4) makes each instance build its requests
    anew: no request is reused from an instance at another time."""
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    client.post("/api/campaigns", json=_daily(ids, "{{ -('2026-12-01'|days) }} days left"))
    _advance(client, to="2026-11-25T10:00:00Z")
    texts = [r["json"]["text"] for r in
             requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]]
    assert texts == ["8 days left", "7 days left", "6 days left"]


def _triggered(ids, trigger, **overrides):
    body = _campaign(*ids, campaign_delivery_type="EVENT_TRIGGERED",
                     scheduling_details={"delivery_type": "ASAP"}, trigger_condition=trigger)
    body["campaign_content"]["content"]["connected_app"]["inputs"]["message"] = \
        "{{EventAttribute['product']|default('your cart')}} is waiting"
    body.update(overrides)
    return body


def _if(name, **extra):
    return {"included_filters": {"filter_operator": "or", "filters": [
        {"filter_type": "actions", "action_name": name, "executed": True,
         "execution": {"type": "atleast", "count": 1},
         "attributes": {"filter_operator": "and", "filters": []}}]}, **extra}


def _event(client, auth, cid, name, **attributes):
    response = client.post(f"/v1/event/{WORKSPACE}", headers=auth, json={
        "type": "event", "customer_id": cid,
        "actions": [{"action": name, "attributes": attributes}]})
    assert response.status_code == 200


def test_spec5_3_event_triggered_asap_renders_event_attributes(client, auth, partner):
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    created = client.post("/api/campaigns", json=_triggered(ids, _if("Added To Cart",
                                                                     trigger_delay_type="ASAP")))
    assert created.status_code == 201, created.json
    _event(client, auth, "a", "Added To Cart", product="Red shoes")
    _event(client, auth, "a", "App Opened")
    _advance(client, seconds=0)
    [record] = requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]
    assert record["json"]["text"] == "Red shoes is waiting"


def test_spec5_3_delay_with_not_executed_both_ways(client, auth, partner):
    _user(client, auth, "bought")
    _user(client, auth, "browsed")
    ids = _connected_app(client, partner)
    trigger = _if("Added To Cart", trigger_delay_type="DELAY", trigger_delay_value=1,
                  trigger_delay_granularity="HOURS", trigger_relation="AFTER",
                  secondary_included_filters={"filter_operator": "and", "filters": [
                      {"filter_type": "actions", "action_name": "Purchase", "executed": False,
                       "execution": {"type": "exactly", "count": 0},
                       "attributes": {"filter_operator": "and", "filters": []}}]})
    client.post("/api/campaigns", json=_triggered(ids, trigger))
    _event(client, auth, "bought", "Added To Cart", product="Hat")
    _event(client, auth, "browsed", "Added To Cart", product="Scarf")
    _advance(client, seconds=1800)
    _event(client, auth, "bought", "Purchase")
    assert _sent_to(partner) == []
    _advance(client, seconds=1800)
    assert _sent_to(partner) == ["+91browsed"]


def test_spec5_3_before_an_event_attribute_time_and_the_30_day_window(client, auth, partner):
    for cid in ("soon", "edge", "late", "past"):
        _user(client, auth, cid)
    ids = _connected_app(client, partner)
    trigger = _if("Flight Booked", trigger_delay_type="DELAY", trigger_delay_value=2,
                  trigger_delay_granularity="HOURS", trigger_relation="BEFORE",
                  trigger_attr={"name": "flight_time"})
    client.post("/api/campaigns", json=_triggered(ids, trigger))
    _event(client, auth, "soon", "Flight Booked", flight_time="2026-11-23T12:00:00Z")
    _event(client, auth, "edge", "Flight Booked", flight_time="2026-12-22T11:00:00Z")  # 29d23h
    _event(client, auth, "late", "Flight Booked", flight_time="2026-12-22T13:00:00Z")  # 30d1h
    _event(client, auth, "past", "Flight Booked", flight_time="2026-11-20T12:00:00Z")
    _advance(client, to="2026-11-23T09:59:00Z")
    assert _sent_to(partner) == []
    _advance(client, to="2026-11-23T10:00:00Z")  # 2 hours before the flight
    assert _sent_to(partner) == ["+91soon"]
    _advance(client, seconds=40 * 86400)
    assert _sent_to(partner) == ["+91soon", "+91edge"]


def test_spec5_3_editing_a_delayed_campaign_drops_waiting_users(client, auth, partner):
    _user(client, auth, "a")
    ids = _connected_app(client, partner)
    trigger = _if("Added To Cart", trigger_delay_type="DELAY", trigger_delay_value=1,
                  trigger_delay_granularity="HOURS", trigger_relation="AFTER")
    campaign_id = client.post("/api/campaigns", json=_triggered(ids, trigger)).json[
        "campaign_id"]
    _event(client, auth, "a", "Added To Cart", product="Hat")
    edited = copy.deepcopy(_triggered(ids, trigger)["campaign_content"])
    edited["content"]["connected_app"]["inputs"]["message"] = "New text"
    response = client.patch(f"/api/campaigns/{campaign_id}", json={
        "request_id": "e1", "updated_by": "dev@example.com", "campaign_content": edited})
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2
    _advance(client, seconds=7200)
    assert _sent_to(partner) == []


def test_spec5_3_bad_schedules_are_422_with_paths(client, auth, partner):
    ids = _connected_app(client, partner)
    bad = [
        ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-01T09:00:00"},
         "scheduling_details.start_time"),
        ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-12-01T09:00:00",
          "timezone": "Mars/Olympus"}, "scheduling_details.timezone"),
        ({"delivery_type": "AT_FIXED_TIME", "start_time": "2027-02-30T09:00:00"},
         "scheduling_details.start_time"),
    ]
    for schedule, path in bad:
        response = client.post("/api/campaigns", json=_campaign(*ids,
                                                                 scheduling_details=schedule))
        assert response.status_code == 422
        assert path in [e["path"] for e in response.json["errors"]], response.json
    before = _triggered(ids, _if("X", trigger_delay_type="DELAY", trigger_delay_value=2,
                                 trigger_delay_granularity="HOURS", trigger_relation="BEFORE"))
    response = client.post("/api/campaigns", json=before)
    assert response.status_code == 422
    assert "trigger_condition.trigger_attr" in [e["path"] for e in response.json["errors"]]
    assert client.get("/api/campaigns").json["campaigns"] == []


def _periodic(client, auth, partner, start, periodic, timezone=None, users=1):
    for n in range(users):
        _user(client, auth, f"u{n}")
    ids = _connected_app(client, partner)
    schedule = {"delivery_type": "AT_FIXED_TIME", "start_time": start,
                "periodic_details": periodic}
    if timezone:
        schedule["timezone"] = timezone
    created = client.post("/api/campaigns", json=_campaign(
        *ids, campaign_delivery_type="PERIODIC", scheduling_details=schedule))
    assert created.status_code == 201, created.json
    return created.json["campaign_id"]


def _sent_times(client):
    return sorted(d["time"] for d in client.get("/_sim/deliveries?limit=1000").json["deliveries"])


def test_spec5_3_monthly_30_and_31_send_once_on_the_last_day_of_february(client, auth, partner):
    _periodic(client, auth, partner, "2027-01-30T10:00:00", {
        "sending_frequency": "MONTHLY", "repeat_frequency": 1,
        "repeat_on_date_of_month": [30, 31], "no_of_occurences": 5})
    _advance(client, to="2027-04-01T00:00:00Z")
    assert _sent_times(client) == ["2027-01-30T10:00:00.000Z", "2027-01-31T10:00:00.000Z",
                                   "2027-02-28T10:00:00.000Z", "2027-03-30T10:00:00.000Z",
                                   "2027-03-31T10:00:00.000Z"]


def test_spec5_3_fourth_and_last_monday_once_fifth_saturday_skipped(client, auth, partner):
    campaign_id = _periodic(client, auth, partner, "2026-12-01T09:00:00", {
        "sending_frequency": "MONTHLY", "repeat_frequency": 1,
        "repeat_on_days_of_week_for_month": [
            {"week_granularity": "FOURTH", "repeat_on_days_of_week": ["MONDAY"]},
            {"week_granularity": "LAST", "repeat_on_days_of_week": ["MONDAY"]},
            {"week_granularity": "FIFTH", "repeat_on_days_of_week": ["SATURDAY"]}]})
    upcoming = client.get(f"/api/campaigns/{campaign_id}/schedule?count=4").json["next"]
    # Dec 2026: 4th Monday 28 = last Monday (once); no 5th Saturday. Jan 2027: 4th Mon 25 =
    # last; 5th Saturday Jan 30. Feb 2027: 4th Monday 22 = last Monday; no 5th Saturday.
    assert upcoming == ["2026-12-28T09:00:00.000Z", "2027-01-25T09:00:00.000Z",
                        "2027-01-30T09:00:00.000Z", "2027-02-22T09:00:00.000Z"]
    _advance(client, to="2027-01-26T00:00:00Z")
    assert _sent_times(client) == ["2026-12-28T09:00:00.000Z", "2027-01-25T09:00:00.000Z"]


def test_spec5_3_dst_spring_night_new_york_one_send(tmp_path, partner, auth):
    from simulator.app import create_app
    from simulator.core.settings import Settings

    app = create_app(Settings(db=str(tmp_path / "d.db"), fixtures="none",
                              workspace_id=WORKSPACE, data_api_key="K1", clock="virtual",
                              start_time="2027-03-12T12:00:00Z"))
    client = app.test_client()
    try:
        _periodic(client, auth, partner, "2027-03-13T02:30:00", {
            "sending_frequency": "DAILY", "repeat_frequency": 1, "no_of_occurences": 3},
            timezone="America/New_York")
        _advance(client, to="2027-03-16T00:00:00Z")
        # 02:30 EST, then 02:30 does not exist on 14 March (sent once at 03:30 EDT), then EDT
        assert _sent_times(client) == ["2027-03-13T07:30:00.000Z", "2027-03-14T07:30:00.000Z",
                                       "2027-03-15T06:30:00.000Z"]
    finally:
        app.extensions["moesim"].close()


def test_spec5_3_dst_autumn_night_london_one_send(tmp_path, partner, auth):
    from simulator.app import create_app
    from simulator.core.settings import Settings

    app = create_app(Settings(db=str(tmp_path / "l.db"), fixtures="none",
                              workspace_id=WORKSPACE, data_api_key="K1", clock="virtual",
                              start_time="2027-10-29T12:00:00Z"))
    client = app.test_client()
    try:
        _periodic(client, auth, partner, "2027-10-30T01:30:00", {
            "sending_frequency": "DAILY", "repeat_frequency": 1, "no_of_occurences": 3},
            timezone="Europe/London")
        _advance(client, to="2027-11-02T00:00:00Z")
        # 01:30 BST; on 31 October 01:30 happens twice: one send, at the first (BST); then GMT
        assert _sent_times(client) == ["2027-10-30T00:30:00.000Z", "2027-10-31T00:30:00.000Z",
                                       "2027-11-01T01:30:00.000Z"]
    finally:
        app.extensions["moesim"].close()
