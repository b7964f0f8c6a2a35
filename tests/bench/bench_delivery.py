"""Bench: a Connected App campaign, ASAP, to N users, with the full per-user work (render,
send, evaluate, record), against a fast local sink; and, in the same run, before and after it,
a bare aiohttp client sending the same prebuilt requests at the same concurrency (targets:
>= 3,333 req/s, MoEngage's 200,000/min cap, and >= 0.7x the bare client); the peak RSS
through the campaign and the stats read after it (target < 300 MB for 1M users).

    python tests/bench/bench_delivery.py [--users 20000] [--sink minimal|moesim]
                                         [--concurrency 16] [--loop N]
    python tests/bench/bench_delivery.py --users 2000 --latency-ms 20
    python tests/bench/bench_delivery.py --users 1000 --hang 10

``--latency-ms``: a partner answering each request that late (target: >= 0.9x of
send_concurrency / latency); ``--hang N``: a partner that never answers N of the requests,
spread over the run (target: the campaign done within send_timeout_s + 3 s).

The campaign is the spec's §2.9 composite config (basic auth, JSON body from two campaign
fields, two response entries) pointed at the sink, with the default settings but
``throttle_realtime`` off (this measures the send path, not MoEngage's 60,000/min pacing);
users are imported into a new SQLite file first (not timed). ``--sink minimal`` is a bare
asyncio responder, ``--sink moesim`` is ``moesim sink``. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from bench_transport import MINIMAL_SINK, MOESIM_SINK, Sink  # noqa: E402

from simulator.app import create_context  # noqa: E402
from simulator.core.settings import Settings  # noqa: E402
from simulator.services import campaigns, connected_apps, connections, engine, importer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPOSITE = json.loads((ROOT / "tests" / "data" / "connectors" / "composite.json").read_text())


# A partner answering each request after a delay, and none of every N-th (argv: delay in
# seconds, N or 0); one request at a time per connection, as HTTP/1.1 clients send them.
SLOW_PARTNER = """
import asyncio, re, sys
DELAY, EVERY = float(sys.argv[1]), int(sys.argv[2])
LENGTH = re.compile(rb"(?im)^content-length:[ \\t]*([0-9]+)")
REPLY = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 21\\r\\n\\r\\n"
         b'{"status": "success"}')
seen = 0
async def serve(reader, writer):
    global seen
    while True:
        try:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        length = LENGTH.search(head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        seen += 1
        if EVERY and seen % EVERY == EVERY // 2:
            await asyncio.sleep(3600)
        await asyncio.sleep(DELAY)
        writer.write(REPLY)
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(f"slow partner on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


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
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--sink", choices=["moesim", "minimal"], default="minimal")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="a partner answering each request this late")
    parser.add_argument("--hang", type=int, default=0,
                        help="a partner leaving this many requests unanswered")
    parser.add_argument("--loop", type=int, default=None,
                        help="requests of each bare-client run (default: --users, at most 20,000)")
    args = parser.parse_args()
    if args.latency_ms or args.hang:
        sink = Sink([sys.executable, "-c", SLOW_PARTNER, str(args.latency_ms / 1000),
                     str(args.users // args.hang if args.hang else 0)])
    else:
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

    if args.latency_ms or args.hang:
        partner(args, ctx, url)
        return
    headers = {"Content-Type": "application/json", "Authorization": "Basic " +
               base64.b64encode(b"ABC123:bench-key").decode()}
    bodies = [json.dumps({"to": f"+9198{i:08d}", "text": f"Hi Name{i % 977}, your order has "
                                                          "shipped"}).encode()
              for i in range(args.loop or min(args.users, 20_000))]
    before = bare_client(url, headers, bodies, args.concurrency)

    reset_peak_rss()
    rss_before = rss_mb("VmRSS")
    started = time.perf_counter()
    cpu = time.process_time()
    [ran] = engine.run_due(ctx)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    sending_peak = rss_mb("VmHWM")
    stats = campaigns.stats(ctx, campaign_id)
    peak = rss_mb("VmHWM")
    rate = ran["attempted"] / elapsed
    after = bare_client(url, headers, bodies, args.concurrency)
    bare = (before + after) / 2
    print(f"campaign to {args.users:,} users via {args.sink} sink, concurrency "
          f"{args.concurrency}: {ran['attempted']:,} requests in {elapsed:.1f} s = "
          f"{rate:,.0f} req/s (sent {stats['sent']:,}, failed {stats['failed']:,}; "
          f"{cpu / ran['attempted'] * 1e6:.0f} us CPU per user in this process)")
    print(f"bare aiohttp client, the same {len(bodies):,} prebuilt requests at concurrency "
          f"{args.concurrency}: {before:,.0f} req/s before the campaign, {after:,.0f} after")
    print(f"campaign / bare client = {rate / bare:.2f}x (targets: >= 3,333 req/s and >= 0.7x)")
    print(f"peak RSS through the campaign and the stats read after it: {peak:,.0f} MB "
          f"(before it: {rss_before:,.0f} MB; through the send alone {sending_peak:,.0f} MB; "
          f"target < 300 MB for 1M users)")
    ctx.close()


def partner(args, ctx, url: str) -> None:
    """The campaign against the slow or hanging partner, and the floor it must meet."""
    started = time.perf_counter()
    [ran] = engine.run_due(ctx)
    elapsed = time.perf_counter() - started
    timeout = ctx.settings.send_timeout_s
    print(f"campaign to {args.users:,} users, concurrency {args.concurrency}, partner latency "
          f"{args.latency_ms:g} ms, {args.hang} hanging: {elapsed:.2f} s "
          f"(sent {ran['sent']:,}, failed {ran['failed']:,})")
    if args.latency_ms:
        ideal = args.concurrency / (args.latency_ms / 1000)
        rate = ran["attempted"] / elapsed
        print(f"{rate:,.0f} req/s = {rate / ideal:.2f}x of send_concurrency / latency "
              f"({ideal:,.0f} req/s; target >= 0.9x)")
        bare = bare_client(url, {"Content-Type": "application/json"},
                           [b'{"to": "+919800000000", "text": "Hi"}'] * args.users,
                           args.concurrency)
        print(f"bare aiohttp client against the same partner, same concurrency: {bare:,.0f} "
              f"req/s = {bare / ideal:.2f}x (what the machine allows)")
    if args.hang:
        print(f"done within send_timeout_s + {elapsed - timeout:.2f} s (target: + 3 s)")
    ctx.close()


def bare_client(url: str, headers: dict, bodies: list[bytes], concurrency: int) -> float:
    """req/s of aiohttp alone: the bodies posted with at most ``concurrency`` in flight."""
    async def run() -> None:
        limit = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            async def one(body: bytes) -> None:
                async with limit:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
            await asyncio.gather(*(one(body) for body in bodies))
    started = time.perf_counter()
    asyncio.run(run())
    return len(bodies) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
