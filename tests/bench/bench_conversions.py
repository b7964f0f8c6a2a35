"""Bench: conversion attribution at read time. A one-time campaign sent to N users, a
campaign control group of N/10, and E goal events (plus as many other events) spread over
3 days after the send; times ``GET /api/campaigns/<id>/stats``'s conversions (two goals, one
with an attribute condition) and one Campaign Stats API call.

    python tests/bench/bench_conversions.py [--users 100000] [--events 300000]

Rows are written straight into a new SQLite file (not timed). Only the reads are timed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from simulator.app import create_context  # noqa: E402
from simulator.core.settings import Settings  # noqa: E402
from simulator.services import conversions, reports  # noqa: E402
from simulator.store import campaigns as table  # noqa: E402

SEND_MS = 1795348800000  # 2026-11-22T12:00Z
HOUR_MS = 3_600_000
GOALS = {"attribution_window_in_hours": 36, "goals": [
    {"goal_name": "Big purchase", "goal_event_name": "Purchased", "revenue_attribute": "amount",
     "goal_event_attribute": {"name": "amount", "condition": "greaterThan",
                              "data_type": "DOUBLE", "value": "50"}},
    {"goal_name": "Any purchase", "goal_event_name": "Purchased", "revenue_attribute": "amount"}]}


def load(ctx, users: int, events: int) -> str:
    rng = random.Random(7)
    with ctx.store.write() as db:
        db.conn.executemany("INSERT INTO users (id, customer_id, attrs, created_at, updated_at) "
                            "VALUES (?, ?, '{}', 0, 0)",
                            [(i, f"u{i}", ) for i in range(1, users + 1)])
        campaign_id = "c" * 24
        table.insert(db, {"id": campaign_id, "request_id": "bench", "channel": "CONNECTOR",
                          "delivery_type": "ONE_TIME", "name": "Bench campaign",
                          "status": "SENT", "body": {"conversion_goal_details": GOALS},
                          "created_at": SEND_MS, "updated_at": SEND_MS, "sent_at": SEND_MS})
        control = users // 10
        db.conn.executemany(
            "INSERT INTO deliveries (campaign_id, user_id, customer_id, outcome, reason, ts) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(campaign_id, i, f"u{i}", "removed" if i <= control else "sent",
              "campaign_control_group" if i <= control else None, SEND_MS)
             for i in range(1, users + 1)])
        rows = []
        for _ in range(events):
            user = rng.randint(1, users)
            ts = SEND_MS + rng.randint(-24 * HOUR_MS, 72 * HOUR_MS)
            rows.append((user, "Purchased", ts, json.dumps({"amount": rng.randint(1, 100)}), ts))
            rows.append((user, "Viewed", ts, "{}", ts))
        db.conn.executemany("INSERT INTO events (user_id, name, ts, attrs, received_at) "
                            "VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("ANALYZE")
    return campaign_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db=str(Path(tmp) / "bench.db"), fixtures="none")
        ctx, _ = create_context(settings)
        try:
            started = time.perf_counter()
            campaign_id = load(ctx, args.users, args.events)
            print(f"loaded {args.users:,} sends and {2 * args.events:,} events in "
                  f"{time.perf_counter() - started:.1f} s (not timed below)")
            started = time.perf_counter()
            with ctx.store.read() as db:
                goals = conversions.goal_stats(db, campaign_id)[campaign_id]
            took = time.perf_counter() - started
            for name, figures in goals.items():
                print(f"  {name}: {figures['conversions']:,} conversions, "
                      f"{figures['converted_users']:,} users, cvr {figures['cvr']}%, "
                      f"uplift {figures['uplift']}%")
            print(f"stats conversions (2 goals x sent + 2 control groups): {took * 1000:.0f} ms")
            started = time.perf_counter()
            reports.campaign_stats(ctx, {
                "request_id": "b", "campaign_ids": [campaign_id], "start_date": "2026-11-22",
                "end_date": "2026-11-25", "attribution_type": "VIEW_THROUGH",
                "metric_type": "TOTAL"})
            print(f"campaign-stats API call (date range): "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")
        finally:
            ctx.close()


if __name__ == "__main__":
    main()
