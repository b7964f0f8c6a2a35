"""Bench: the scheduling engine (targets from the scheduling issue).

    python tests/bench/bench_scheduling.py virtual [--users 1000] [--days 30] [--sink minimal|moesim]
                                                   [--concurrency N]
    python tests/bench/bench_scheduling.py storage [--users 10000] [--days 30]
    python tests/bench/bench_scheduling.py realtime [--events 1000]

virtual: a daily periodic campaign to N users plus N users triggering a 2-hour delayed campaign,
on a virtual clock advanced D days, twice from scratch; prints the sends/s of each advance,
whether the two delivery logs (user, campaign, virtual time, outcome, request body, in that
order) are identical, and, in the same run, a one-time campaign to the same N users as the
baseline. Target: >= 0.7x the one-time campaign's rate; identical logs.

storage: the virtual run's SQLite writes alone (a delivery row and a response-created event
per user and day, through ``delivery.record``, no rendering, no HTTP): the part of the virtual
run that one writer must do whatever the rest costs.

realtime: `moesim serve` (system clock) and a sink in their own processes; an event-triggered
ASAP campaign; N events posted one by one to the Data API; prints p50/p99 of event post ->
request received by the sink. Target: p99 < 50 ms over 1,000 events.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from bench_transport import MINIMAL_SINK, MOESIM_SINK, Sink  # noqa: E402

from simulator.app import create_context  # noqa: E402
from simulator.core.settings import Settings  # noqa: E402
from simulator.core.tracking import parse_event  # noqa: E402
from simulator.services import (  # noqa: E402
    campaigns,
    clock,
    connected_apps,
    connections,
    delivery,
    importer,
    ingest,
    scheduling,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSITE = json.loads((ROOT / "tests" / "data" / "connectors" / "composite.json").read_text())
START = "2026-07-01T00:00:00Z"


def _setup(ctx, url: str, users: int, tmp: str) -> tuple[int, int]:
    path = os.path.join(tmp, f"users-{os.getpid()}.jsonl")
    with open(path, "w") as out:
        for i in range(users):
            out.write(json.dumps({"customer_id": f"user_{i}", "first_name": f"N{i % 97}",
                                  "acme_id": f"+9198{i:08d}"}) + "\n")
    importer.import_file(ctx, importer.USERS, path)
    config = json.loads(json.dumps(COMPOSITE))
    config["modules"][0]["params"]["request"]["url"] = url
    app_id = connected_apps.create_app(ctx, {"name": "Bench"})["id"]
    connector_id = connected_apps.upload_connector(ctx, app_id, config)["id"]
    connection_id = connections.create(ctx, {"connector_id": connector_id, "name": "b", "values": {
        "account_id": "ABC123", "account_key": "bench-key"}})["id"]
    return connector_id, connection_id


def _body(request_id, connector_id, connection_id, **extra):
    body = {"request_id": request_id, "channel": "CONNECTED_APP",
            "campaign_delivery_type": "ONE_TIME", "created_by": "bench@moesim.local",
            "basic_details": {"name": f"Bench {request_id}"},
            "campaign_content": {"content": {"connected_app": {
                "connector_id": connector_id, "connection_id": connection_id,
                "inputs": {"receiver_id": "{{UserAttribute['acme_id']}}",
                           "message": "Hi {{UserAttribute['First Name']}}"}}}},
            "segmentation_details": {"is_all_user_campaign": True},
            "scheduling_details": {"delivery_type": "ASAP"}}
    body.update(extra)
    return body


class _Timed:
    """Wall time spent in ``delivery.record`` (the SQLite writes of every batch) during a run."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        original = self.original = delivery.record

        def record(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        delivery.record = record
        return self

    def __exit__(self, *exc):
        delivery.record = self.original


def virtual_run(args, url: str) -> tuple[float, str, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        ctx, _ = create_context(Settings(db=os.path.join(tmp, "v.db"), fixtures="none",
                                         clock="virtual", start_time=START,
                                         send_concurrency=args.concurrency))
        ids = _setup(ctx, url, args.users, tmp)
        campaigns.create(ctx, _body("daily", *ids, campaign_delivery_type="PERIODIC",
                                    scheduling_details={
                                        "delivery_type": "AT_FIXED_TIME",
                                        "start_time": "2026-07-01T09:00:00",
                                        "periodic_details": {"sending_frequency": "DAILY",
                                                             "repeat_frequency": 1}}))
        campaigns.create(ctx, _body("cart", *ids, campaign_delivery_type="EVENT_TRIGGERED",
                                    trigger_condition={
                                        "included_filters": {"filter_operator": "or", "filters": [
                                            {"filter_type": "actions", "executed": True,
                                             "action_name": "Added To Cart",
                                             "attributes": {"filter_operator": "and",
                                                            "filters": []}}]},
                                        "trigger_delay_type": "DELAY", "trigger_delay_value": 2,
                                        "trigger_delay_granularity": "HOURS",
                                        "trigger_relation": "AFTER"}))
        events = [event for i in range(args.users) for event in parse_event(
            {"type": "event", "customer_id": f"user_{i}",
             "actions": [{"action": "Added To Cart"}]}, ctx.clock.now_ms())]
        ingest.apply(ctx, events)
        scheduling.on_events(ctx, events)
        started = time.perf_counter()
        with _Timed() as storing:
            clock.advance(ctx, {"seconds": args.days * 86400})
        elapsed = time.perf_counter() - started
        digest = hashlib.sha256()
        count = 0
        with ctx.store.read() as db:
            # rows are stored as answers come in: the log is compared in a fixed order
            for row in db.execute("SELECT d.customer_id, c.request_id, d.ts, d.outcome, "
                                  "d.request FROM deliveries d JOIN campaigns c ON "
                                  "c.id = d.campaign_id ORDER BY c.request_id, d.ts, "
                                  "d.customer_id"):
                request = json.loads(row[4]) if row[4] else {}
                digest.update(json.dumps([row[0], row[1], row[2], row[3],
                                          request.get("body")]).encode())
                count += 1
        ctx.close()
    return elapsed, digest.hexdigest(), count, storing.seconds


def virtual(args) -> None:
    sink = Sink(MOESIM_SINK if args.sink == "moesim" else MINIMAL_SINK)
    url = f"http://127.0.0.1:{sink.port}/_sim/sink/bench/v1/messages"
    runs, sink_cpu = [], []
    try:
        for _ in range(2):
            cpu = sink.cpu_seconds() or 0.0
            runs.append(virtual_run(args, url))
            sink_cpu.append((sink.cpu_seconds() or 0.0) - cpu)
        rate = one_time_rate(args, url)
    finally:
        sink.stop()
    for n, ((elapsed, digest, count, storing), cpu) in enumerate(zip(runs, sink_cpu), 1):
        print(f"run {n}: {args.users:,} users daily + {args.users:,} triggered (2 h delay), "
              f"advanced {args.days} days: {count:,} sends in {elapsed:.1f} s "
              f"({count / elapsed:,.0f} sends/s); delivery log sha256 {digest[:16]}")
        print(f"  of which storing (delivery.record, SQLite): {storing:.1f} s; "
              f"the rest (audiences, gates, render, HTTP, evaluate): {elapsed - storing:.1f} s; "
              f"the sink's CPU: {cpu:.1f} s")
    virtual_rate = min(count / elapsed for elapsed, _, count, _ in runs)
    print(f"one-time campaign to the same {args.users:,} users, same settings: {rate:,.0f} "
          f"sends/s; virtual time (slower run) / campaign = {virtual_rate / rate:.2f}x "
          f"(target >= 0.7x)")
    print(f"send_concurrency {args.concurrency}; delivery logs identical: "
          f"{runs[0][1] == runs[1][1]} (target: identical)")


def one_time_rate(args, url: str) -> float:
    """sends/s of a one-time ASAP campaign to the same users, in the same settings."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx, _ = create_context(Settings(db=os.path.join(tmp, "o.db"), fixtures="none",
                                         clock="virtual", start_time=START,
                                         send_concurrency=args.concurrency))
        ids = _setup(ctx, url, args.users, tmp)
        campaigns.create(ctx, _body("once", *ids))
        started = time.perf_counter()
        clock.advance(ctx, {"seconds": 60})
        elapsed = time.perf_counter() - started
        with ctx.store.read() as db:
            count = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        ctx.close()
    return count / elapsed


def storage(args) -> None:
    """The virtual run's writes alone: each day, a delivery row and a response-created event
    per user, in batches through ``delivery.record``, with no rendering and no HTTP; the
    rows are shaped like the run's (copied from a one-user virtual run)."""
    sink = Sink(MINIMAL_SINK)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ctx, _ = create_context(Settings(db=os.path.join(tmp, "s.db"), fixtures="none",
                                             clock="virtual", start_time=START))
            url = f"http://127.0.0.1:{sink.port}/_sim/sink/bench/v1/messages"
            _setup(ctx, url, args.users, tmp)
            with ctx.store.read() as db:
                ids = [row[0] for row in db.execute("SELECT id FROM users ORDER BY id")]
            shape = _one_send(args, url)
            started = time.perf_counter()
            for day in range(args.days):
                campaign_id, now_ms = f"{day:024x}", 1_782_896_400_000 + day * 86_400_000
                for first in range(0, len(ids), delivery.BATCH):
                    batch = ids[first:first + delivery.BATCH]
                    delivery.record(ctx, [(campaign_id, i, f"user_{i}", *shape[0][3:9], now_ms)
                                          for i in batch],
                                    ([(i, shape[1][1], now_ms, *shape[1][3:]) for i in batch],
                                     {}), now_ms)
            elapsed = time.perf_counter() - started
            ctx.close()
    finally:
        sink.stop()
    print(f"storing {args.days} days x {args.users:,} users (a delivery row and an event each, "
          f"batches of {delivery.BATCH}): {elapsed:.2f} s")


def _one_send(args, url: str) -> tuple[tuple, tuple]:
    """A delivery row and its event row as the virtual run stores them."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx, _ = create_context(Settings(db=os.path.join(tmp, "o.db"), fixtures="none",
                                         clock="virtual", start_time=START))
        ids = _setup(ctx, url, 1, tmp)
        campaigns.create(ctx, _body("one", *ids))
        clock.advance(ctx, {"seconds": 60})
        with ctx.store.read() as db:
            row = db.execute("SELECT campaign_id, user_id, customer_id, outcome, reason, "
                             "http_status, request, response, elapsed_ms, ts FROM deliveries "
                             "WHERE outcome = 'sent'").fetchone()
            event = db.execute("SELECT user_id, name, ts, attrs, platform, app_version, "
                               "user_time, tz_offset FROM events "
                               "WHERE name = 'Connected App Campaign Sent'").fetchone()
        ctx.close()
    return tuple(row), tuple(event)


def realtime(args) -> None:
    sink = Sink(MOESIM_SINK)
    tmp = tempfile.mkdtemp()
    env = {**os.environ, "MOESIM_WORKSPACE_ID": "BENCH", "MOESIM_DATA_API_KEY": "k"}
    server = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--port", "0",
                               "--db", os.path.join(tmp, "rt.db"), "--fixtures", "none",
                               "--log-level", "WARNING"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env)
    base = "http://127.0.0.1:" + re.search(r":(\d+)", server.stdout.readline()).group(1)
    threading.Thread(target=server.stdout.read, daemon=True).start()  # keep the pipe drained
    session = requests.Session()
    try:
        while True:
            try:
                if session.get(base + "/_sim/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.02)
        url = f"http://127.0.0.1:{sink.port}/_sim/sink/rt/v1/messages"
        config = json.loads(json.dumps(COMPOSITE))
        config["modules"][0]["params"]["request"]["url"] = url
        app_id = session.post(base + "/api/apps", json={"name": "RT"}).json()["id"]
        connector_id = session.post(f"{base}/api/apps/{app_id}/connectors", json=config).json()["id"]
        connection_id = session.post(base + "/api/connections", json={
            "connector_id": connector_id, "name": "rt",
            "values": {"account_id": "ABC123", "account_key": "k"}}).json()["id"]
        body = _body("rt", connector_id, connection_id, campaign_delivery_type="EVENT_TRIGGERED",
                     trigger_condition={"included_filters": {"filter_operator": "or", "filters": [
                         {"filter_type": "actions", "executed": True, "action_name": "Ping",
                          "attributes": {"filter_operator": "and", "filters": []}}]},
                         "trigger_delay_type": "ASAP"})
        body["campaign_content"]["content"]["connected_app"]["inputs"]["message"] = \
            "{{EventAttribute['n']}}"
        assert session.post(base + "/api/campaigns", json=body).status_code == 201
        auth = {"Authorization": "Basic " + base64.b64encode(b"BENCH:k").decode()}
        session.post(f"{base}/v1/customer/BENCH", headers=auth, json={
            "type": "customer", "customer_id": "rt", "attributes": {"acme_id": "+91"}})
        posted = {}
        for n in range(args.events):
            posted[str(n)] = time.time()
            session.post(f"{base}/v1/event/BENCH", headers=auth, json={
                "type": "event", "customer_id": "rt",
                "actions": [{"action": "Ping", "attributes": {"n": n}}]})
        deadline = time.time() + 60
        while time.time() < deadline:
            records = json.loads(sink.request("GET", "/_sim/sinks/rt")[1])["requests"]
            if len(records) >= args.events:
                break
            time.sleep(0.2)
        latencies = sorted(
            (datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
             - posted[r["json"]["text"]]) * 1000 for r in records if r["json"]["text"] in posted)
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"event -> request, ASAP trigger, {len(latencies):,} of {args.events:,} events: "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms "
              f"(target: p99 < 50 ms)")
    finally:
        server.terminate()
        server.wait(timeout=10)
        sink.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["virtual", "storage", "realtime"])
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--sink", choices=["minimal", "moesim"], default="minimal")
    parser.add_argument("--concurrency", type=int, default=16, help="MOESIM_SEND_CONCURRENCY")
    args = parser.parse_args()
    {"virtual": virtual, "storage": storage, "realtime": realtime}[args.mode](args)


if __name__ == "__main__":
    main()
