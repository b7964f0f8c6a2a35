"""Bench: snapshot export and restore of a workspace with U users and E events, and how fast
a sink ``wait`` long-poll answers once the awaited request arrives.

    python tests/bench/bench_snapshots.py [--users 100000] [--events 1000000] [--waits 200]

Rows are written straight into a new SQLite file (not timed). Timed: ``POST /_sim/snapshot``'s
service (export to a file), ``/_sim/snapshot/restore``'s (check, private copy, page copy), and,
over a real threaded server on 127.0.0.1, the time from the start of a sink POST to the return
of a ``/_sim/sinks/<name>/wait`` that was already waiting for it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from werkzeug.serving import make_server  # noqa: E402

from simulator.app import create_app  # noqa: E402
from simulator.core.settings import Settings  # noqa: E402
from simulator.services import snapshots  # noqa: E402

START_MS = 1795348800000  # 2026-11-22T12:00Z


def fill(ctx, users: int, events: int) -> None:
    with ctx.store.write() as db:
        db.conn.executemany(
            "INSERT INTO users (id, customer_id, attrs, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            ((i + 1, f"u{i}", json.dumps({"u_fn": f"User{i}", "plan": "pro"}), START_MS,
              START_MS) for i in range(users)))
        db.conn.executemany(
            "INSERT INTO events (user_id, name, ts, attrs, received_at) VALUES (?, ?, ?, ?, ?)",
            ((i % users + 1, "Viewed Product", START_MS - i * 1000, '{"sku": "A1"}', START_MS)
             for i in range(events)))


def bench_snapshots(ctx, directory: str) -> None:
    path = os.path.join(directory, "snap.db")
    started = time.perf_counter()
    snapshots.export(ctx, path)
    export_s = time.perf_counter() - started
    size_mb = os.path.getsize(path) / 1e6
    started = time.perf_counter()
    snapshots.restore(ctx, path)
    restore_s = time.perf_counter() - started
    print(f"snapshot: {size_mb:.1f} MB; export {export_s:.2f} s ({size_mb / export_s:.0f} MB/s), "
          f"restore {restore_s:.2f} s ({size_mb / restore_s:.0f} MB/s)")


def bench_wait(app, waits: int) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    ctx = app.extensions["moesim"]
    poster, latencies, plain = requests.Session(), [], []
    for number in range(waits):
        started = time.perf_counter()
        poster.post(f"{base}/_sim/sink/baseline", json={"n": number}, timeout=5)
        plain.append((time.perf_counter() - started) * 1000)
    for number in range(waits):
        answered = threading.Event()
        seen = ctx.writes

        def wait(count=number + 1):
            requests.get(f"{base}/_sim/sinks/bench/wait?count={count}&timeout=30", timeout=40)
            answered.set()

        waiter = threading.Thread(target=wait)
        waiter.start()
        # the long-poll has checked once and found nothing: it is asleep (or about to be)
        while not ctx.written._waiters and waiter.is_alive():
            time.sleep(0.0005)
        assert ctx.writes == seen
        started = time.perf_counter()
        poster.post(f"{base}/_sim/sink/bench", json={"n": number}, timeout=5)
        answered.wait(30)
        latencies.append((time.perf_counter() - started) * 1000)
        waiter.join()
    server.shutdown()
    latencies.sort()
    print(f"wait wake-up over {waits} waits (sink POST start -> wait answered): median "
          f"{statistics.median(latencies):.2f} ms, p95 {latencies[int(0.95 * len(latencies))]:.2f}"
          f" ms, max {latencies[-1]:.2f} ms; a sink POST alone: median "
          f"{statistics.median(plain):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--waits", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="moesim-bench-") as directory:
        settings = Settings(db=os.path.join(directory, "moesim.db"), fixtures="none",
                            clock="virtual", start_time="2026-11-22T12:00:00Z")
        app = create_app(settings)
        ctx = app.extensions["moesim"]
        fill(ctx, args.users, args.events)
        print(f"{args.users} users, {args.events} events")
        bench_snapshots(ctx, directory)
        bench_wait(app, args.waits)
        ctx.close()


if __name__ == "__main__":
    main()
