"""Bench: "Show count" (``services.segments.count``, what ``POST /api/segments/count`` runs) over
1M users and 10M events. Targets: one user-property filter < 200 ms; a nested 5-filter segment
with "Purchase at least 3 times in the last 7 days" < 1 s.

    python tests/bench/bench_segments.py [--users 1000000] [--events 10000000] [--runs 5]
                                         [--db /tmp/moesim-bench-segments.db]

The database is made through the app's migrations, filled with sqlite3 ``executemany`` (not
the Data API: this times queries, not ingestion) and kept at ``--db`` for the next run; a file
of another size is rebuilt. The clock is virtual at 2026-11-22T12:00Z so the cached events stay
"recent". Figures are the median of ``--runs`` runs, each a full service call (checks with the
attribute catalogue, compile, count).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import datetime, timezone

from simulator.app import create_context
from simulator.core.clock import VIRTUAL, SimClock
from simulator.core.settings import Settings
from simulator.core.timestamps import to_ms
from simulator.services import segments

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
CITIES = ["Mumbai", "Delhi", "Pune", "Chennai", "Kolkata", "Bengaluru", "Hyderabad", "Jaipur"]
# Purchase is one event in twenty: 500k purchases over 60 days, ~2 per user per 7 days at most
NAMES = ["App Opened"] * 8 + ["Viewed Product"] * 8 + ["Added To Cart"] * 3 + ["Purchase"]
DAY_MS = 86_400_000


def build(path: str, users: int, events: int) -> None:
    if os.path.exists(path):
        os.unlink(path)
    ctx, _ = create_context(Settings(db=path, fixtures="none"), SimClock(VIRTUAL, NOW))
    rng = random.Random(5)
    now_ms = to_ms(NOW)
    started = time.perf_counter()
    with ctx.store.write() as db:
        conn = db.conn
        conn.executemany(
            "INSERT INTO users (id, customer_id, attrs, created_at, updated_at) "
            "VALUES (?, ?, ?, 0, 0)",
            ((i, f"user_{i}", json.dumps({
                "u_fn": f"First{i}", "u_em": f"user{i}@example.com", "city": rng.choice(CITIES),
                "age": rng.randint(18, 70), "plan": rng.choice(["free", "pro", "team"]),
                "vip": rng.random() < 0.1, "spend": round(rng.random() * 1000, 2),
                "u_l_a": "2026-11-20T10:00:00.000Z"}, separators=(",", ":")))
             for i in range(1, users + 1)))
        attrs = [json.dumps({"amount": a, "category": c}, separators=(",", ":"))
                 for a in (10, 25, 50, 99, 250) for c in ("shoes", "bags", "hats")]
        conn.execute("DROP INDEX ix_events_name_user_ts")
        conn.executemany(
            "INSERT INTO events (user_id, name, ts, attrs, received_at) VALUES (?, ?, ?, ?, 0)",
            ((rng.randint(1, users), rng.choice(NAMES), now_ms - rng.randrange(60 * DAY_MS),
              rng.choice(attrs)) for _ in range(events)))
        conn.execute("CREATE INDEX ix_events_name_user_ts ON events(name, user_id, ts)")
        conn.executemany("INSERT OR IGNORE INTO attribute_types VALUES (?, ?, ?, ?)", [
            ("user", "", "city", "string"), ("user", "", "age", "number"),
            ("user", "", "plan", "string"), ("user", "", "vip", "bool"),
            ("event", "Purchase", "amount", "number"), ("event", "Purchase", "category", "string")])
    ctx.store.analyze()
    ctx.close()
    print(f"built {users:,} users and {events:,} events in {time.perf_counter() - started:.0f} s")


def _attr(name, data_type, operator, value, **extra):
    return {"filter_type": "user_attributes", "name": name, "data_type": data_type,
            "operator": operator, "value": value, **extra}


SINGLE = {"included_filters": {"filter_operator": "and", "filters": [
    _attr("city", "string", "is", "Mumbai")]}}
NESTED = {"included_filters": {"filter_operator": "and", "filters": [
    {"filter_type": "actions", "action_name": "Purchase", "executed": True,
     "execution": {"type": "atleast", "count": 3},
     "primary_time_range": {"type": "inTheLast", "value_type": "relative_past", "value": 7,
                            "period_unit": "days"},
     "attributes": {"filter_operator": "and", "filters": []}},
    _attr("city", "string", "in", ["Mumbai", "Delhi", "Pune"]),
    {"filter_type": "nested_filters", "filter_operator": "or", "filters": [
        _attr("age", "double", "greaterThan", 30),
        _attr("plan", "string", "is", "pro")]},
    _attr("vip", "bool", "is", True, negate=True)]}}
PURCHASES_ONLY = {"included_filters": {"filter_operator": "and",
                                       "filters": [NESTED["included_filters"]["filters"][0]]}}
EMAIL = {"included_filters": {"filter_operator": "and", "filters": [
    _attr("email", "string", "is", "user77@example.com", case_sensitive=True)]}}


def timed(ctx, segmentation, runs: int) -> tuple[int, float, list[float]]:
    times, count = [], None
    for _ in range(runs):
        started = time.perf_counter()
        count = segments.count(ctx, {"segmentation_details": segmentation})["count"]
        times.append((time.perf_counter() - started) * 1000)
    return count, statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default=os.path.join("/tmp", "moesim-bench-segments.db"))
    args = parser.parse_args()
    ctx, _ = (None, None)
    if os.path.exists(args.db):
        ctx, _ = create_context(Settings(db=args.db, fixtures="none"), SimClock(VIRTUAL, NOW))
        with ctx.store.read() as db:
            sizes = (db.execute("SELECT count(*) FROM users").fetchone()[0],
                     db.execute("SELECT max(id) FROM events").fetchone()[0])
        if sizes != (args.users, args.events):
            ctx.close()
            ctx = None
    if ctx is None:
        build(args.db, args.users, args.events)
        ctx, _ = create_context(Settings(db=args.db, fixtures="none"), SimClock(VIRTUAL, NOW))
    # start without the attribute indexes segments build on first use, so the first run
    # shows that one-time cost (services.segments.index_attributes)
    with ctx.store.write() as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                  "name LIKE 'ix_users_attr_%'").fetchall():
            db.execute(f"DROP INDEX {name}")
    try:
        print("(the first run of a filter on a custom attribute builds its expression index)")
        for label, segmentation, target in (
                ("single user-property filter (city is Mumbai)", SINGLE, 200),
                ("nested 5-filter segment with Purchase >= 3 in 7 days", NESTED, 1000),
                ("  its behaviour filter alone", PURCHASES_ONLY, None),
                ("  an indexed standard attribute (email is ...)", EMAIL, None)):
            count, median, times = timed(ctx, segmentation, args.runs)
            verdict = "" if target is None else \
                f" (target < {target} ms: {'met' if median < target else 'NOT met'})"
            print(f"{label}: count {count:,}, median {median:.0f} ms{verdict}; runs "
                  + ", ".join(f"{t:.0f}" for t in times))
    finally:
        ctx.close()


if __name__ == "__main__":
    main()
