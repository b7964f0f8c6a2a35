"""Bench: the dashboard's page times (server time: Flask's test client, the full request
handling without the network) on a database of 1M users and 10M events, plus 100k deliveries
(half of them of one campaign, the rest spread over 19 more) and 10k requests in one sink.
Target: every page < 300 ms.

    python tests/bench/bench_dashboard.py [--users 1000000] [--events 10000000] [--runs 5]
                                          [--db /tmp/moesim-bench-dashboard.db]

Users and events are made as ``bench_segments.py`` makes them (its ``build``, through the app's
migrations, kept at ``--db``; a file of another size is rebuilt). The app, connector,
connection and campaigns are made through the services; the deliveries and sink requests are
inserted with ``executemany`` (this times pages, not sending). Figures are the median of
``--runs`` requests per page after one warm-up request (first-request figures are printed too);
``cpu ms`` is the median CPU time of this process per request (the wall time less waiting for a
CPU, which the shared 2-CPU machine's load inflates). The load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_segments import NOW, build  # noqa: E402

from simulator.app import create_app, create_context  # noqa: E402
from simulator.core.clock import VIRTUAL, SimClock  # noqa: E402
from simulator.core.settings import Settings  # noqa: E402
from simulator.core.timestamps import iso, to_ms  # noqa: E402
from simulator.services import campaigns, connected_apps, connections  # noqa: E402

ROOT = Path(__file__).parent.parent.parent
DELIVERIES, SINK_REQUESTS = 100_000, 10_000


def _sized(path: str, users: int, events: int) -> bool:
    if not os.path.exists(path):
        return False
    ctx, _ = create_context(Settings(db=path, fixtures="none"), SimClock(VIRTUAL, NOW))
    try:
        with ctx.store.read() as db:
            found = (db.execute("SELECT count(*) FROM users").fetchone()[0],
                     db.execute("SELECT max(id) FROM events").fetchone()[0],
                     db.execute("SELECT count(*) FROM campaigns").fetchone()[0])
    finally:
        ctx.close()
    return found[:2] == (users, events) and found[2] > 0


def _campaign(connector_id: int, connection_id: int, request_id: str, start: str) -> dict:
    return {"request_id": request_id, "created_by": "bench@moesim.local",
            "channel": "CONNECTED_APP", "campaign_delivery_type": "ONE_TIME",
            "basic_details": {"name": f"Bench campaign {request_id}"},
            "campaign_content": {"content": {"connected_app": {
                "connector_id": connector_id, "connection_id": connection_id,
                "inputs": {"to": "{{UserAttribute['Mobile Number (Standard)']}}",
                           "message": "hi"}}}},
            "segmentation_details": {"is_all_user_campaign": True},
            "scheduling_details": {"delivery_type": "AT_FIXED_TIME", "start_time": start}}


def populate(path: str, users: int) -> None:
    """Apps, connector, connection and 20 campaigns through the services; deliveries of the
    first campaign and sink requests inserted directly."""
    ctx, _ = create_context(Settings(db=path, fixtures="none"), SimClock(VIRTUAL, NOW))
    config = json.loads((ROOT / "fixtures/connectors/acme_send_sms.json").read_text().replace(
        "${MOESIM_URL}", "http://127.0.0.1:9"))
    app = connected_apps.create_app(ctx, {"name": "Bench"})
    connector = connected_apps.upload_connector(ctx, app["id"], config)
    connection = connections.create(ctx, {"connector_id": connector["id"], "name": "Prod",
                                           "values": {"account_sid": "AC0123456789",
                                                      "auth_token": "secret", "sender_id": "B",
                                                      "region": "in"}})
    ids = [campaigns.create(ctx, _campaign(connector["id"], connection["id"], f"bench-{i}",
                                           "2027-01-01T09:00:00"))["campaign_id"]
           for i in range(20)]
    rng = random.Random(7)
    now_ms = to_ms(NOW)
    request = json.dumps({"method": "POST", "url": "http://127.0.0.1:9/_sim/sink/bench/v1",
                          "headers": [["Content-Type", "application/json"]],
                          "body": json.dumps({"to": "+911", "text": "hi"})})
    with ctx.store.write() as db:
        db.conn.executemany(
            "INSERT INTO deliveries (campaign_id, user_id, customer_id, outcome, reason, "
            "http_status, request, response, elapsed_ms, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((ids[0] if n % 2 else ids[1 + n % 19], i, f"user_{i}", "sent" if ok else "failed",
              None if ok else "http:503", 200 if ok else 503, request,
              json.dumps({"status": 200 if ok else 503, "headers": {}, "body": "{}"}), 3,
              now_ms - (DELIVERIES - n) * 30)
             for n, i in enumerate(rng.sample(range(1, users + 1), min(DELIVERIES, users)))
             for ok in [rng.random() < 0.97]))
        db.conn.executemany(
            "INSERT INTO sink_requests (sink, seq, received_at, record) VALUES (?, ?, ?, ?)",
            (("bench", seq, now_ms - seq, json.dumps({
                "seq": seq, "time": iso(now_ms - seq), "method": "POST", "path": "/v1",
                "query": "", "headers": {"Content-Type": "application/json"},
                "body": '{"to": "+911"}', "body_encoding": "utf-8", "json": {"to": "+911"},
                "response_status": 200, "injected_failure": None}))
             for seq in range(1, SINK_REQUESTS + 1)))
    ctx.store.analyze()
    ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="/tmp/moesim-bench-dashboard.db")
    args = parser.parse_args()
    if not _sized(args.db, args.users, args.events):
        build(args.db, args.users, args.events)
        started = time.perf_counter()
        populate(args.db, args.users)
        print(f"populated campaigns, {DELIVERIES:,} deliveries and {SINK_REQUESTS:,} sink "
              f"requests in {time.perf_counter() - started:.0f} s")
    app = create_app(Settings(db=args.db, fixtures="none"), clock=SimClock(VIRTUAL, NOW))
    client = app.test_client()
    # the second delivery belongs to the campaign with half of them (see ``populate``)
    first = client.get("/_sim/deliveries?limit=2").get_json()["deliveries"][1]
    campaign_id, delivery_id = first["campaign_id"], first["id"]
    middle = args.users // 2
    pages = ["/", "/fragments/overview", "/apps", "/apps/1", "/apps/1?tab=integrate",
             "/campaigns", "/campaigns/new", f"/campaigns/{campaign_id}",
             f"/fragments/campaigns/{campaign_id}", "/deliveries", f"/deliveries?id={delivery_id}",
             f"/deliveries?campaign_id={campaign_id}&status=failed",
             f"/deliveries?customer_id=user_{middle}", "/sinks", "/sinks/bench",
             "/users", f"/users?after={middle}", f"/users?q=user{middle}@example.com",
             f"/users/user_{middle}", "/clock", "/settings"]
    print(f"{args.users:,} users, {args.events:,} events, {DELIVERIES:,} deliveries, "
          f"{SINK_REQUESTS:,} sink requests; median of {args.runs} after a warm-up")
    print(f"{'page':<58} {'first ms':>9} {'median ms':>10} {'max ms':>8} {'cpu ms':>7}")
    worst = 0.0
    for page in pages:
        times, cpu = [], []
        for _ in range(args.runs + 1):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(page)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code in (200, 303), (page, response.status_code)
        median = statistics.median(times[1:])
        worst = max(worst, median)
        print(f"{page:<58} {times[0]:>9.1f} {median:>10.1f} {max(times[1:]):>8.1f} "
              f"{statistics.median(cpu[1:]):>7.1f}")
    print(f"slowest page median: {worst:.1f} ms (target < 300 ms); load average "
          f"{os.getloadavg()[0]:.1f}")
    app.extensions["moesim.workspaces"].close()
    app.extensions["moesim"].close()


if __name__ == "__main__":
    main()
