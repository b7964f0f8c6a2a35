"""Bench: requests/s and latency of the capture sink, standalone (`moesim sink`) and in the app.

    python tests/bench/bench_sink.py [--seconds 5] [--connections 8] [--max-requests 300000]
                                     [--target both|standalone|app]

Each server runs in its own process (so it does not share this process's GIL), on a free
port of 127.0.0.1: the standalone sink as ``python -c "...sinkserver import run..."``, the
app as ``moesim serve`` (``python -m simulator.cli serve``) on a throwaway database. Then
``--connections`` threads, each with one persistent ``http.client.HTTPConnection``, POST a
~300-byte JSON body to ``/_sim/sink/bench/v1/send`` until ``--seconds`` have passed or
``--max-requests`` were sent. Prints requests/s, p50/p99/max latency, the server's CPU time
per request and its resident memory at the end (from /proc, where there is one), and how many
requests the sink served and kept (the newest ``sink_max_records``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from processes import Server  # the bench folder is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = "from simulator.sinkserver import run; run('127.0.0.1', 0, 0)"
PATH = "/_sim/sink/bench/v1/send?campaign=c-1"
BODY = json.dumps({
    "to": "+919800000001", "sender": "MOESIM", "campaign_id": "c-0001", "user_id": "user_42",
    "message": "Hi Priya, your order #123456 has shipped and will arrive on Friday. Track: "
               "https://example.test/t/abc123",
    "attributes": {"first_name": "Priya", "city": "Bengaluru", "tier": "gold"},
    "sent_at": "2026-11-22T12:00:00.000Z",
}).encode()
HEADERS = {"Content-Type": "application/json", "X-Api-Key": "bench-key"}


def drive(port: int, seconds: float, connections: int, max_requests: int):
    """POST from ``connections`` threads; returns (elapsed s, latencies s, failures)."""
    per_thread = max(1, max_requests // connections)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    start = threading.Barrier(connections + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.connect()
        mine = latencies[index]
        start.wait()
        clock = time.perf_counter
        while len(mine) < per_thread and clock() < deadline[0]:
            began = clock()
            connection.request("POST", PATH, body=BODY, headers=HEADERS)
            response = connection.getresponse()
            response.read()
            mine.append(clock() - began)
            if response.status != 200:
                failures[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(connections)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - began
    return elapsed, sorted(x for per in latencies for x in per), sum(failures)


def measure(server: Server, args) -> None:
    drive(server.port, min(1.0, args.seconds), args.connections, 2_000)  # warm-up
    server.request("DELETE", "/_sim/sinks/bench")
    cpu_before = server.cpu_seconds()
    elapsed, latencies, failures = drive(server.port, args.seconds, args.connections,
                                         args.max_requests)
    cpu_after = server.cpu_seconds()
    count = len(latencies)
    status, view = server.request("GET", "/_sim/sinks/bench")
    served = json.loads(view)["served"] if status == 200 else "?"
    kept = len(json.loads(view)["requests"]) if status == 200 else "?"
    rss = server.rss_mb()
    ms = lambda q: latencies[min(count - 1, int(q * count))] * 1000  # noqa: E731
    print(f"{server.label}: {count} requests in {elapsed:.2f}s over {args.connections} "
          f"connections = {count / elapsed:,.0f} req/s; latency p50 {ms(0.50):.2f} ms, "
          f"p99 {ms(0.99):.2f} ms, max {latencies[-1] * 1000:.1f} ms; "
          f"{failures} non-200; sink served {served}, kept {kept}"
          + (f"; server RSS {rss:.0f} MB" if rss is not None else ""))
    if cpu_before is not None and cpu_after is not None:
        print(f"  server CPU {cpu_after - cpu_before:.2f}s = "
              f"{(cpu_after - cpu_before) / count * 1e6:.0f} us/request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=300_000)
    parser.add_argument("--target", choices=["both", "standalone", "app"], default="both")
    args = parser.parse_args()
    print(f"body {len(BODY)} bytes, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    if args.target in ("both", "standalone"):
        server = Server("standalone sink (moesim sink)", [sys.executable, "-c", STANDALONE])
        try:
            measure(server, args)
        finally:
            server.stop()

    if args.target in ("both", "app"):
        if not (ROOT / "simulator" / "cli.py").exists():
            print("app sink: skipped, simulator/cli.py (moesim serve) does not exist yet")
            return
        with tempfile.TemporaryDirectory() as tmp:
            server = Server("app sink (moesim serve)", [
                sys.executable, "-m", "simulator.cli", "serve", "--host", "127.0.0.1",
                "--port", "0", "--db", os.path.join(tmp, "bench.db"), "--fixtures", "none",
                "--log-level", "warning"])
            try:
                server.wait_ready()
                measure(server, args)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
