"""Bench: a Connected App campaign, ASAP, to N users, with the full per-user work (render,
send, evaluate, record), against a fast local sink; and, in the same run, a plain Python loop
posting the same bodies with ``requests.Session`` (targets: >= 3,333 req/s, MoEngage's
200,000/min cap, and >= 2x the plain loop), and the campaign's peak RSS (target < 300 MB for
1M users).

    python tests/bench/bench_delivery.py [--users 100000] [--sink moesim|minimal]
                                         [--concurrency 8] [--loop 10000]

The campaign is the spec's §2.9 composite config (basic auth, JSON body from two campaign
fields, two response entries) pointed at the sink; users are imported into a new SQLite file
first (not timed). ``--sink moesim`` is ``moesim sink`` (records every request; its own CPU cost
is the ceiling on 2 CPUs), ``--sink minimal`` a bare asyncio responder. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from bench_transport import MINIMAL_SINK, MOESIM_SINK, Sink  # noqa: E402

from simulator.app import create_context  # noqa: E402
from simulator.core.settings import Settings  # noqa: E402
from simulator.services import campaigns, connected_apps, connections, engine, importer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPOSITE = json.loads((ROOT / "tests" / "data" / "connectors" / "composite.json").read_text())


def reset_peak_rss() -> None:
    """Linux: start VmHWM afresh, so the peak is the campaign's, not the import's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--sink", choices=["moesim", "minimal"], default="moesim")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--loop", type=int, default=10_000, help="requests of the plain loop")
    args = parser.parse_args()
    sink = Sink(MOESIM_SINK if args.sink == "moesim" else MINIMAL_SINK)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run(args, sink, tmp)
    finally:
        sink.stop()


def run(args, sink: Sink, tmp: str) -> None:
    # throttle_realtime off: this measures the send path, not MoEngage's 60,000/min pacing
    ctx, _ = create_context(Settings(db=os.path.join(tmp, "bench.db"), fixtures="none",
                                     send_concurrency=args.concurrency, throttle_realtime=False))
    users = os.path.join(tmp, "users.jsonl")
    with open(users, "w") as out:
        for i in range(args.users):
            out.write(json.dumps({"customer_id": f"user_{i}", "first_name": f"Name{i % 977}",
                                  "acme_id": f"+9198{i:08d}", "plan": "pro"}) + "\n")
    importer.import_file(ctx, importer.USERS, users)
    url = f"http://127.0.0.1:{sink.port}/_sim/sink/bench/v1/messages"
    config = json.loads(json.dumps(COMPOSITE))
    config["modules"][0]["params"]["request"]["url"] = url
    app_id = connected_apps.create_app(ctx, {"name": "Bench"})["id"]
    connector_id = connected_apps.upload_connector(ctx, app_id, config)["id"]
    connection_id = connections.create(ctx, {"connector_id": connector_id, "name": "bench",
                                             "values": {"account_id": "ABC123",
                                                        "account_key": "bench-key"}})["id"]
    campaign_id = campaigns.create(ctx, {
        "request_id": "bench", "channel": "CONNECTED_APP", "campaign_delivery_type": "ONE_TIME",
        "created_by": "bench@moesim.local", "basic_details": {"name": "Bench campaign"},
        "campaign_content": {"content": {"connected_app": {
            "connector_id": connector_id, "connection_id": connection_id,
            "inputs": {"receiver_id": "{{UserAttribute['acme_id']}}",
                       "message": "Hi {{UserAttribute['First Name']|default('there')}}, your "
                                  "order has shipped"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}})["campaign_id"]

    reset_peak_rss()
    rss_before = rss_mb("VmRSS")
    started = time.perf_counter()
    cpu = time.process_time()
    [ran] = engine.run_due(ctx)
    elapsed = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    cpu = time.process_time() - cpu
    stats = campaigns.stats(ctx, campaign_id)
    rate = ran["attempted"] / elapsed
    print(f"campaign to {args.users:,} users via {args.sink} sink, concurrency "
          f"{args.concurrency}: {ran['attempted']:,} requests in {elapsed:.1f} s = "
          f"{rate:,.0f} req/s (sent {stats['sent']:,}, failed {stats['failed']:,}; "
          f"{cpu / ran['attempted'] * 1e6:.0f} us CPU per user in this process)")
    print(f"peak RSS of this process during the campaign: {peak:,.0f} MB (before it: "
          f"{rss_before:,.0f} MB; target < 300 MB for 1M users)")

    bodies = [json.dumps({"to": f"+9198{i:08d}", "text": f"Hi Name{i % 977}, your order has "
                                                          "shipped"}).encode()
              for i in range(args.loop)]
    headers = {"Content-Type": "application/json", "Authorization": "Basic " +
               base64.b64encode(b"ABC123:bench-key").decode()}
    session = requests.Session()
    started = time.perf_counter()
    for body in bodies:
        session.post(url, data=body, headers=headers, timeout=5)
    loop = args.loop / (time.perf_counter() - started)
    print(f"plain loop, requests.Session posting the same bodies: {args.loop:,} requests = "
          f"{loop:,.0f} req/s")
    print(f"delivery / plain loop = {rate / loop:.1f}x (targets: >= 3,333 req/s and >= 2x)")
    ctx.close()


if __name__ == "__main__":
    main()
