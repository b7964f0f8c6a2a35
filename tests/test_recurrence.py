"""Schedules (spec §5.3, campaign-api.md §1.6): periodic rules, DST nights, ends, the
per-user one-time variants and the checks on scheduling_details."""

from datetime import UTC, date, datetime, time

import pytest

from simulator.core.recurrence import (
    active_window,
    bts_fire,
    campaign_day,
    fire_times,
    first_fire,
    is_active,
    next_fire,
    parse_clock,
    user_timezone_fire,
)
from simulator.core.schedule_checks import check_schedule

NOW = datetime(2025, 12, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    """'2026-03-08 07:30' as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def periodic(start, zone=None, expiry=None, **details):
    body = {"delivery_type": "AT_FIXED_TIME", "start_time": start, "periodic_details": details}
    if zone:
        body["timezone"] = zone
    if expiry:
        body["expiry_time"] = expiry
    return body


def listed(body, count, after=None, fired_count=0):
    return [f.strftime("%Y-%m-%d %H:%M") for f in fire_times(body, count, after, fired_count)]


# ---- monthly on dates ------------------------------------------------------------------

@pytest.mark.parametrize("start, dates, expected", [
    # non-leap year: 30 and 31 in February give ONE send on the 28th
    ("2026-01-01T09:00:00", [30, 31], ["2026-01-30 09:00", "2026-01-31 09:00", "2026-02-28 09:00",
                                       "2026-03-30 09:00", "2026-03-31 09:00", "2026-04-30 09:00"]),
    # leap year: one send on the 29th
    ("2028-01-01T09:00:00", [30, 31], ["2028-01-30 09:00", "2028-01-31 09:00", "2028-02-29 09:00",
                                       "2028-03-30 09:00", "2028-03-31 09:00", "2028-04-30 09:00"]),
    ("2026-02-01T09:00:00", [29, 30, 31], ["2026-02-28 09:00", "2026-03-29 09:00",
                                           "2026-03-30 09:00", "2026-03-31 09:00"]),
    ("2028-02-01T09:00:00", [29, 31], ["2028-02-29 09:00", "2028-03-29 09:00", "2028-03-31 09:00",
                                       "2028-04-29 09:00"]),
    # the fallback day coinciding with a chosen day still sends once
    ("2026-02-01T09:00:00", [28, 31], ["2026-02-28 09:00", "2026-03-28 09:00",
                                       "2026-03-31 09:00", "2026-04-28 09:00"]),
    # 31 alone: the last day of each month
    ("2026-04-01T09:00:00", [31], ["2026-04-30 09:00", "2026-05-31 09:00", "2026-06-30 09:00",
                                   "2026-07-31 09:00"]),
])
def test_spec5_3_monthly_missing_date_sends_once_on_last_day(start, dates, expected):
    body = periodic(start, sending_frequency="MONTHLY", repeat_on_date_of_month=dates)
    assert listed(body, len(expected)) == expected


@pytest.mark.parametrize("start, interval, dates, expected", [
    ("2026-11-15T09:00:00", 2, [15], ["2026-11-15 09:00", "2027-01-15 09:00", "2027-03-15 09:00",
                                      "2027-05-15 09:00"]),
    ("2026-10-31T09:00:00", 2, [31], ["2026-10-31 09:00", "2026-12-31 09:00", "2027-02-28 09:00",
                                      "2027-04-30 09:00"]),
    # the month of start_time is month 0 even when the first send day is before it
    ("2026-01-20T09:00:00", 2, [10], ["2026-03-10 09:00", "2026-05-10 09:00", "2026-07-10 09:00"]),
    # no date and no weekday: start_time's day of the month [I]
    ("2026-01-31T08:00:00", 1, None, ["2026-01-31 08:00", "2026-02-28 08:00", "2026-03-31 08:00"]),
])
def test_spec5_3_monthly_every_n_months(start, interval, dates, expected):
    body = periodic(start, sending_frequency="MONTHLY", repeat_frequency=interval,
                    repeat_on_date_of_month=dates)
    assert listed(body, len(expected)) == expected


# ---- monthly on weekdays -----------------------------------------------------------------

def by_weekday(*rules):
    return [{"week_granularity": g, "repeat_on_days_of_week": days} for g, days in rules]


def test_spec5_3_fifth_saturday_skipped():
    # FIFTH is the UI's option [I]; months without a fifth Saturday are skipped (2026: Jan,
    # May, Aug and Oct have one).
    body = periodic("2026-01-01T10:00:00", sending_frequency="MONTHLY",
                    repeat_on_days_of_week_for_month=by_weekday(("FIFTH", ["SATURDAY"])))
    assert listed(body, 4) == ["2026-01-31 10:00", "2026-05-30 10:00", "2026-08-29 10:00",
                               "2026-10-31 10:00"]


def test_spec5_3_last_saturday_every_month():
    body = periodic("2026-01-01T10:00:00", sending_frequency="MONTHLY",
                    repeat_on_days_of_week_for_month=by_weekday(("LAST", ["SATURDAY"])))
    assert listed(body, 3) == ["2026-01-31 10:00", "2026-02-28 10:00", "2026-03-28 10:00"]


def test_spec5_3_fourth_and_last_monday_send_once():
    # Jan and Feb 2026 have four Mondays (4th = last): one send; March has five: two.
    body = periodic("2026-01-01T09:00:00", sending_frequency="MONTHLY",
                    repeat_on_days_of_week_for_month=by_weekday(("FOURTH", ["MONDAY"]),
                                                                 ("LAST", ["MONDAY"])))
    assert listed(body, 5) == ["2026-01-26 09:00", "2026-02-23 09:00", "2026-03-23 09:00",
                               "2026-03-30 09:00", "2026-04-27 09:00"]


def test_spec5_3_monthly_dates_and_weekdays_union_once():
    # 2026-03-15 is a Sunday and the 3rd Sunday is the 15th: one send
    body = periodic("2026-03-01T09:00:00", sending_frequency="MONTHLY",
                    repeat_on_date_of_month=[15],
                    repeat_on_days_of_week_for_month=by_weekday(("THIRD", ["SUNDAY"])))
    assert listed(body, 3) == ["2026-03-15 09:00", "2026-04-15 09:00", "2026-04-19 09:00"]


# ---- daily and weekly ----------------------------------------------------------------------

def test_spec5_3_every_2_weeks_mon_wed_across_the_year_end():
    # Week 0 is 2026-12-14..20 (the week of start_time, weeks start Monday). 2026 has 53 ISO
    # weeks, so ISO-week parity would wrongly pick 2027-01-04/06.
    body = periodic("2026-12-16T09:00:00", sending_frequency="WEEKLY", repeat_frequency=2,
                    repeat_on_days_of_week=["MONDAY", "WEDNESDAY"])
    assert listed(body, 6) == ["2026-12-16 09:00", "2026-12-28 09:00", "2026-12-30 09:00",
                               "2027-01-11 09:00", "2027-01-13 09:00", "2027-01-25 09:00"]


def test_spec5_3_weekly_without_weekdays_uses_start_weekday():
    body = periodic("2026-07-15T09:00:00", sending_frequency="WEEKLY", repeat_frequency=3)
    assert listed(body, 3) == ["2026-07-15 09:00", "2026-08-05 09:00", "2026-08-26 09:00"]


def test_spec5_3_daily_every_3_days_in_campaign_zone():
    body = periodic("2026-01-30T09:00:00", "Asia/Kolkata", sending_frequency="DAILY",
                    repeat_frequency=3)
    assert listed(body, 3) == ["2026-01-30 03:30", "2026-02-02 03:30", "2026-02-05 03:30"]


def test_spec1_6_skeleton_every_monday_ist_ten_times():
    body = {"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-13T09:00:00",
            "timezone": "Asia/Kolkata",
            "periodic_details": {"sending_frequency": "WEEKLY", "repeat_frequency": 1,
                                 "repeat_on_days_of_week": ["MONDAY"], "no_of_occurences": 10}}
    assert check_schedule(body, "PERIODIC", NOW) == []
    fires = fire_times(body, 50)
    assert len(fires) == 10
    assert (fires[0], fires[-1]) == (at("2026-07-13 03:30"), at("2026-09-14 03:30"))


# ---- DST nights ------------------------------------------------------------------------------

@pytest.mark.parametrize("zone, start, expected", [
    # spring forward 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist, send 03:30 EDT
    ("America/New_York", "2026-03-07T02:30:00",
     ["2026-03-07 07:30", "2026-03-08 07:30", "2026-03-09 06:30"]),
    ("America/New_York", "2026-03-07T01:30:00",
     ["2026-03-07 06:30", "2026-03-08 06:30", "2026-03-09 05:30"]),
    # fall back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice, send once (EDT)
    ("America/New_York", "2026-10-31T01:30:00",
     ["2026-10-31 05:30", "2026-11-01 05:30", "2026-11-02 06:30"]),
    ("America/New_York", "2026-10-31T02:30:00",
     ["2026-10-31 06:30", "2026-11-01 07:30", "2026-11-02 07:30"]),
    # spring forward 2026-03-29 01:00 GMT -> 02:00 BST: 01:30 does not exist, send 02:30 BST
    ("Europe/London", "2026-03-28T01:30:00",
     ["2026-03-28 01:30", "2026-03-29 01:30", "2026-03-30 00:30"]),
    ("Europe/London", "2026-03-28T02:30:00",
     ["2026-03-28 02:30", "2026-03-29 01:30", "2026-03-30 01:30"]),
    # fall back 2026-10-25 02:00 BST -> 01:00 GMT: 01:30 twice, send once (BST)
    ("Europe/London", "2026-10-24T01:30:00",
     ["2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30"]),
    ("Europe/London", "2026-10-24T02:30:00",
     ["2026-10-24 01:30", "2026-10-25 02:30", "2026-10-26 02:30"]),
])
def test_spec5_3_daily_across_dst_nights(zone, start, expected):
    body = periodic(start, zone, sending_frequency="DAILY")
    assert listed(body, 3) == expected
    # stepping with next_fire gives the same sends, one each night
    fires = [first_fire(body, "PERIODIC", NOW)]
    for count in (1, 2):
        fires.append(next_fire(body, fires[-1], count))
    assert [f.strftime("%Y-%m-%d %H:%M") for f in fires] == expected


def test_spec5_3_fall_back_repeat_hour_is_not_sent_again():
    body = periodic("2026-10-31T01:30:00", "America/New_York", sending_frequency="DAILY")
    # 06:00 UTC is 01:00 EST, after the first 01:30 and before the repeated one
    assert next_fire(body, at("2026-11-01 06:00"), 2) == at("2026-11-02 06:30")
    assert listed(body, 1, after=at("2026-11-01 06:00")) == ["2026-11-02 06:30"]


# ---- ends ------------------------------------------------------------------------------------

def test_spec5_3_ends_after_n_occurrences():
    body = periodic("2026-05-01T09:00:00", sending_frequency="DAILY", no_of_occurences=3)
    assert listed(body, 10) == ["2026-05-01 09:00", "2026-05-02 09:00", "2026-05-03 09:00"]
    assert next_fire(body, at("2026-05-02 09:00"), 2) == at("2026-05-03 09:00")
    assert next_fire(body, at("2026-05-03 09:00"), 3) is None
    # real sends are counted: a campaign that has sent once has two to go
    assert listed(body, 10, after=at("2026-05-10 00:00"), fired_count=1) == [
        "2026-05-10 09:00", "2026-05-11 09:00"]


def test_spec5_3_ends_on_expiry_time():
    body = periodic("2026-05-01T09:00:00", "Europe/Paris", "2026-05-03T09:00:00",
                    sending_frequency="DAILY")
    # a send exactly at expiry_time still goes out
    assert listed(body, 10) == ["2026-05-01 07:00", "2026-05-02 07:00", "2026-05-03 07:00"]
    assert next_fire(body, at("2026-05-03 07:00"), 3) is None
    assert first_fire(body, "PERIODIC", at("2026-05-04 00:00")) is None


def test_spec5_3_ends_never():
    body = periodic("2026-01-01T00:00:00", sending_frequency="DAILY")
    assert next_fire(body, at("2036-01-01 00:00"), 3653) == at("2036-01-02 00:00")


def test_spec5_3_periodic_first_fire_never_before_start_nor_now():
    body = periodic("2026-05-01T09:00:00", sending_frequency="DAILY")
    assert first_fire(body, "PERIODIC", at("2026-04-01 00:00")) == at("2026-05-01 09:00")
    # a start already past: occurrences missed before creation are not sent
    assert first_fire(body, "PERIODIC", at("2026-05-10 10:00")) == at("2026-05-11 09:00")
    assert first_fire(body, "PERIODIC", at("2026-05-10 09:00")) == at("2026-05-10 09:00")


# ---- one time ----------------------------------------------------------------------------------

def test_spec5_3_one_time_fires_once_at_start_time_in_timezone():
    body = {"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-15T09:00:00",
            "timezone": "America/New_York"}
    assert first_fire(body, "ONE_TIME", NOW) == at("2026-07-15 13:00")
    assert fire_times(body, 5) == [at("2026-07-15 13:00")]
    assert fire_times(body, 5, fired_count=1) == []
    assert next_fire(body, at("2026-07-15 13:00"), 1) is None
    no_zone = {"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-15T09:00:00"}
    assert first_fire(no_zone, "ONE_TIME", NOW) == at("2026-07-15 09:00")


def test_spec5_3_asap_fires_now_and_event_triggered_uses_a_window():
    assert first_fire({"delivery_type": "ASAP"}, "ONE_TIME", NOW) == NOW
    assert fire_times({"delivery_type": "ASAP"}, 3) == []
    body = {"delivery_type": "AT_FIXED_TIME", "start_time": "2026-06-01T00:00:00",
            "expiry_time": "2026-06-30T23:59:59", "timezone": "Asia/Kolkata"}
    assert first_fire(body, "EVENT_TRIGGERED", NOW) is None
    assert active_window(body) == (at("2026-05-31 18:30"), at("2026-06-30 18:29:59"))
    assert [is_active(body, at(t)) for t in ("2026-05-31 18:29", "2026-06-15 00:00",
                                             "2026-06-30 18:30")] == [False, True, False]
    assert active_window({"delivery_type": "ASAP"}) == (None, None)


def test_spec5_3_campaign_day_is_in_campaign_zone():
    body = periodic("2026-01-01T02:00:00", "Asia/Tokyo", sending_frequency="DAILY")
    assert campaign_day(body, at("2026-01-01 17:00")) == date(2026, 1, 2)


# ---- send in user time zone ----------------------------------------------------------------

USER_TZ = {"delivery_type": "SEND_IN_USER_TIMEZONE", "start_time": "2026-07-15T09:00:00",
           "timezone": "Europe/Berlin"}


@pytest.mark.parametrize("offset, send_if_passed, now, expected", [
    (330, False, "2026-07-15 00:00", "2026-07-15 03:30"),     # IST, not yet passed
    (330, True, "2026-07-15 00:00", "2026-07-15 03:30"),
    (330, True, "2026-07-15 05:00", "2026-07-15 05:00"),      # passed: send now
    (330, False, "2026-07-15 05:00", None),                   # passed: skip
    (330, False, "2026-07-15 03:30", "2026-07-15 03:30"),     # exactly due is not passed
    (-300, False, "2026-07-15 05:00", "2026-07-15 14:00"),    # UTC-5 still ahead
    (None, False, "2026-07-15 05:00", "2026-07-15 07:00"),    # no offset: campaign zone
    (None, False, "2026-07-15 08:00", None),
    (1500, True, "2026-07-15 00:00", "2026-07-15 07:00"),     # unusable offset: campaign zone
])
def test_spec5_3_user_timezone_has_passed_both_ways(offset, send_if_passed, now, expected):
    body = {**USER_TZ, "user_timezone_details": {
        "send_in_user_timezone": True, "send_if_user_timezone_has_passed": send_if_passed}}
    fire = user_timezone_fire(body, offset, at(now))
    assert fire == (None if expected is None else at(expected))


def test_spec5_3_user_timezone_first_fire_is_the_earliest_zone():
    assert first_fire(USER_TZ, "ONE_TIME", NOW) == at("2026-07-14 19:00")  # 09:00 at UTC+14


def test_spec5_3_user_timezone_periodic_day():
    body = {**USER_TZ, "user_timezone_details": {"send_if_user_timezone_has_passed": False}}
    assert user_timezone_fire(body, 60, NOW, on=date(2026, 8, 3)) == at("2026-08-03 08:00")


# ---- best time to send --------------------------------------------------------------------------

def bts(window_end="6:00 pm", not_available=None, outside=None, start="2026-07-15T09:30:00"):
    details = {"send_in_bts": True, "window_end_time": window_end}
    if not_available:
        details["if_user_bts_is_not_available"] = not_available
    if outside:
        details["if_user_bts_outside_time_window"] = outside
    return {"delivery_type": "SEND_IN_BTS", "start_time": start, "timezone": "Asia/Kolkata",
            "bts_details": details}


EARLY = at("2026-07-01 00:00")


@pytest.mark.parametrize("body, user_hour, app_hour, expected", [
    # best hour inside the window: its start (14:00 IST)
    (bts(), 14, None, "2026-07-15 08:30"),
    # best hour under way at start_time: start_time itself
    (bts(), 9, None, "2026-07-15 04:00"),
    # best hour at the window's last hour start still counts (18:00 = window end)
    (bts(), 18, None, "2026-07-15 12:30"),
    # outside the window (19:00, or 08:00 which comes round only tomorrow): default window end
    (bts(), 19, None, "2026-07-15 12:30"),
    (bts(), 8, None, "2026-07-15 12:30"),
    (bts(outside="send_at_window_end"), 19, None, "2026-07-15 12:30"),
    (bts(outside="send_at_start_time"), 19, None, "2026-07-15 04:00"),
    (bts(outside="do_not_send"), 19, None, None),
    # window end not after start_time: the window runs to that clock time tomorrow
    (bts(window_end="6:43 am"), 2, None, "2026-07-15 20:30"),
    (bts(window_end="6:43 am"), 7, None, "2026-07-16 01:13"),
    # no best hour: default start time
    (bts(), None, 14, "2026-07-15 04:00"),
    (bts(not_available="send_at_start_time"), None, 14, "2026-07-15 04:00"),
    (bts(not_available="send_at_app_bts"), None, 14, "2026-07-15 08:30"),
    (bts(not_available="send_at_app_bts", outside="do_not_send"), None, 20, None),
    (bts(not_available="send_at_app_bts"), None, None, "2026-07-15 04:00"),
    (bts(not_available="do_not_send"), None, 14, None),
    # a best hour that is not 0-23 counts as unavailable
    (bts(not_available="do_not_send"), 24, None, None),
])
def test_spec5_3_bts_every_branch(body, user_hour, app_hour, expected):
    fire = bts_fire(body, user_hour, app_hour, EARLY)
    assert fire == (None if expected is None else at(expected))


def test_spec5_3_bts_late_send_goes_out_now_and_periodic_day():
    assert bts_fire(bts(), 14, None, at("2026-07-15 10:00")) == at("2026-07-15 10:00")
    assert bts_fire(bts(), 14, None, EARLY, on=date(2026, 7, 20)) == at("2026-07-20 08:30")
    assert first_fire(bts(), "ONE_TIME", EARLY) == at("2026-07-15 04:00")


@pytest.mark.parametrize("text, expected", [
    ("6:43 am", time(6, 43)), ("6:43 PM", time(18, 43)), ("12:00 am", time(0, 0)),
    ("12:15 pm", time(12, 15)), ("6:43am", time(6, 43)), ("18:43", time(18, 43)),
    ("7 pm", time(19, 0)), ("11:59 p.m.", time(23, 59)), (" 06:43:30 ", time(6, 43, 30)),
])
def test_spec1_6_window_end_time_clock_forms(text, expected):
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["6", "13:00 pm", "0:30 am", "24:00", "6:60", "teatime", 643])
def test_spec1_6_window_end_time_rejected(text):
    with pytest.raises(ValueError):
        parse_clock(text)


# ---- check_schedule -------------------------------------------------------------------------

def paths(body, campaign_type="ONE_TIME"):
    return [e.path for e in check_schedule(body, campaign_type, NOW)]


@pytest.mark.parametrize("body, campaign_type, expected", [
    ({"delivery_type": "ASAP"}, "ONE_TIME", []),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-15T09:00:00",
      "timezone": "Asia/Kolkata"}, "ONE_TIME", []),
    ({"delivery_type": "AT_FIXED_TIME", "expiry_time": "2026-07-15T09:00:00"},
     "EVENT_TRIGGERED", []),
    ({**USER_TZ, "user_timezone_details": {"send_if_user_timezone_has_passed": True}},
     "ONE_TIME", []),
    (bts(), "ONE_TIME", []),
    (bts(), "PERIODIC", ["scheduling_details.periodic_details"]),
    ("later", "ONE_TIME", ["scheduling_details"]),
    ({"delivery_type": "SOON"}, "ONE_TIME", ["scheduling_details.delivery_type"]),
    ({"delivery_type": "ASAP"}, "PERIODIC",
     ["scheduling_details.delivery_type", "scheduling_details.periodic_details"]),
    ({"delivery_type": "SEND_IN_BTS", "start_time": "2026-07-15T09:00:00"}, "EVENT_TRIGGERED",
     ["scheduling_details.delivery_type"]),
    ({"delivery_type": "AT_FIXED_TIME"}, "ONE_TIME", ["scheduling_details.start_time"]),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-02-30T09:00:00"}, "ONE_TIME",
     ["scheduling_details.start_time"]),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-15T25:00:00"}, "ONE_TIME",
     ["scheduling_details.start_time"]),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "15/07/2026 09:00"}, "ONE_TIME",
     ["scheduling_details.start_time"]),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "2025-11-30T09:00:00"}, "ONE_TIME",
     ["scheduling_details.start_time"]),
    # a past start is fine for periodic campaigns (missed occurrences are skipped)
    (periodic("2025-11-30T09:00:00", sending_frequency="DAILY"), "PERIODIC", []),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-15T09:00:00",
      "timezone": "Mars/Olympus_Mons"}, "ONE_TIME", ["scheduling_details.timezone"]),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-15T09:00:00",
      "timezone": "../etc/passwd"}, "ONE_TIME", ["scheduling_details.timezone"]),
    ({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-07-15T09:00:00",
      "timezone": "America"}, "ONE_TIME", ["scheduling_details.timezone"]),
    (periodic("2026-07-15T09:00:00", expiry="2026-07-15T08:00:00", sending_frequency="DAILY"),
     "PERIODIC", ["scheduling_details.expiry_time"]),
    ({"delivery_type": "AT_FIXED_TIME", "expiry_time": "2025-11-01T00:00:00"},
     "EVENT_TRIGGERED", ["scheduling_details.expiry_time"]),
    (periodic("2026-07-15T09:00:00", sending_frequency="DAILY"), "ONE_TIME",
     ["scheduling_details.periodic_details"]),
    ({"delivery_type": "SEND_IN_BTS", "start_time": "2026-07-15T09:00:00"}, "ONE_TIME",
     ["scheduling_details.bts_details"]),
    (bts(window_end="teatime", not_available="send_later", outside="send_never"), "ONE_TIME",
     ["scheduling_details.bts_details.window_end_time",
      "scheduling_details.bts_details.if_user_bts_is_not_available",
      "scheduling_details.bts_details.if_user_bts_outside_time_window"]),
    (bts(window_end="13:00 pm"), "ONE_TIME", ["scheduling_details.bts_details.window_end_time"]),
    (bts(window_end="6"), "ONE_TIME", ["scheduling_details.bts_details.window_end_time"]),
    ({**USER_TZ}, "ONE_TIME", ["scheduling_details.user_timezone_details"]),
    ({**USER_TZ, "user_timezone_details": {"send_if_user_timezone_has_passed": "yes"}},
     "ONE_TIME", ["scheduling_details.user_timezone_details.send_if_user_timezone_has_passed"]),
])
def test_spec1_6_check_schedule_paths(body, campaign_type, expected):
    assert paths(body, campaign_type) == expected


@pytest.mark.parametrize("details, expected", [
    ({"sending_frequency": "DAILY", "repeat_frequency": 2, "no_of_occurences": 5}, []),
    ({}, ["sending_frequency"]),
    ({"sending_frequency": "YEARLY"}, ["sending_frequency"]),
    ({"sending_frequency": "DAILY", "repeat_frequency": 0, "no_of_occurences": 0},
     ["repeat_frequency", "no_of_occurences"]),
    ({"sending_frequency": "DAILY", "repeat_frequency": True, "no_of_occurences": "3"},
     ["repeat_frequency", "no_of_occurences"]),
    ({"sending_frequency": "WEEKLY", "repeat_on_days_of_week": ["MONDAY", "Funday", "monday"]},
     ["repeat_on_days_of_week[1]", "repeat_on_days_of_week[2]"]),
    ({"sending_frequency": "WEEKLY", "repeat_on_days_of_week": "MONDAY"},
     ["repeat_on_days_of_week"]),
    ({"sending_frequency": "DAILY", "repeat_on_days_of_week": ["MONDAY"]},
     ["repeat_on_days_of_week"]),
    ({"sending_frequency": "WEEKLY", "repeat_on_date_of_month": [1]},
     ["repeat_on_date_of_month"]),
    ({"sending_frequency": "MONTHLY", "repeat_on_date_of_month": [0, 1, 31, 32, "5"]},
     ["repeat_on_date_of_month[0]", "repeat_on_date_of_month[3]", "repeat_on_date_of_month[4]"]),
    ({"sending_frequency": "MONTHLY", "repeat_on_days_of_week_for_month": [
        {"week_granularity": "LAST", "repeat_on_days_of_week": ["FRIDAY"]},
        {"week_granularity": "SIXTH", "repeat_on_days_of_week": ["FRIDAY"]},
        {"week_granularity": "FIRST", "repeat_on_days_of_week": []},
        {"week_granularity": "FIRST", "repeat_on_days_of_week": ["FRY"]},
        "LAST FRIDAY"]},
     ["repeat_on_days_of_week_for_month[1].week_granularity",
      "repeat_on_days_of_week_for_month[2].repeat_on_days_of_week",
      "repeat_on_days_of_week_for_month[3].repeat_on_days_of_week[0]",
      "repeat_on_days_of_week_for_month[4]"]),
    # lists left empty are as good as absent
    ({"sending_frequency": "DAILY", "repeat_on_date_of_month": [],
      "repeat_on_days_of_week": [], "repeat_on_days_of_week_for_month": []}, []),
])
def test_spec1_6_check_periodic_details_paths(details, expected):
    body = periodic("2026-07-15T09:00:00", **details)
    assert paths(body, "PERIODIC") == [f"scheduling_details.periodic_details.{p}"
                                       for p in expected]


def test_spec1_6_check_schedule_messages_name_the_problem():
    errors = check_schedule({"delivery_type": "AT_FIXED_TIME", "start_time": "2026-02-30T09:00:00",
                             "timezone": "Europe/Lisbn"}, "ONE_TIME", NOW, path="schedule")
    assert [e.as_dict() for e in errors] == [
        {"path": "schedule.timezone", "message": "'Europe/Lisbn' is not a known IANA time zone"},
        {"path": "schedule.start_time",
         "message": "'2026-02-30T09:00:00' is not a real date and time"}]
    past = check_schedule({"delivery_type": "AT_FIXED_TIME", "start_time": "2025-11-30T09:00:00"},
                          "ONE_TIME", NOW)
    assert past[0].message == ("is in the past (2025-11-30T09:00:00.000Z; "
                               "now is 2025-12-01T00:00:00.000Z)")
