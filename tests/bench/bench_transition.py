"""Bench: Data API bulk import `/v1/transition` over HTTP with ~100 KB bodies
(target: >= 20k events/s), and `moesim serve` start to `/_sim/ready` on an existing database
(target: < 1.5 s).

    python tests/bench/bench_transition.py [--seconds 10] [--clients 4]

Starts `moesim serve` in a subprocess on 127.0.0.1 (a free port), posts bulk bodies from
client threads for a bounded time, then restarts the server on the same database and times
start-up to readiness. Only loopback is targeted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import requests

WORKSPACE, KEY = "BENCH", "bench-key"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WORKSPACE}:{KEY}".encode()).decode(),
        "Content-Type": "application/json"}


def bulk_body(batch: int, start_ts: int) -> bytes:
    elements, size, i = [], 0, 0
    while True:
        element = {"type": "event", "customer_id": f"user_{(batch * 7919 + i) % 20000}",
                   "actions": [{"action": "Viewed Product", "current_time": start_ts + i,
                                "platform": "ANDROID",
                                "attributes": {"product_id": f"p{i}", "price": 19.5,
                                               "category": "shoes", "position": i}}]}
        encoded = json.dumps(element, separators=(",", ":"))
        if size + len(encoded) > 100 * 1024 - 64:
            break
        elements.append(element)
        size += len(encoded) + 1
        i += 1
    return json.dumps({"type": "transition", "elements": elements},
                      separators=(",", ":")).encode()


def start(db: str) -> tuple[subprocess.Popen, str, float]:
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--port", "0",
                             "--db", db, "--fixtures", "none", "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "MOESIM_WORKSPACE_ID": WORKSPACE,
                                 "MOESIM_DATA_API_KEY": KEY})
    url = "http://127.0.0.1:" + re.search(r":(\d+)", proc.stdout.readline()).group(1)
    session = requests.Session()
    while True:
        try:
            if session.get(url + "/_sim/ready", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.005)
    return proc, url, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        proc, url, _ = start(db)
        bodies = [bulk_body(b, 1_790_000_000 + b * 1000) for b in range(32)]
        per_body = [len(json.loads(b)["elements"]) for b in bodies]
        events, requests_done, errors = [0], [0], [0]
        lock = threading.Lock()
        deadline = time.perf_counter() + args.seconds

        def client(n: int) -> None:
            session = requests.Session()
            k = n
            while time.perf_counter() < deadline:
                response = session.post(url + f"/v1/transition/{WORKSPACE}",
                                        data=bodies[k % len(bodies)], headers=AUTH, timeout=30)
                with lock:
                    if response.status_code == 200:
                        events[0] += per_body[k % len(bodies)]
                        requests_done[0] += 1
                    else:
                        errors[0] += 1
                k += args.clients

        began = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        stored = requests.get(url + "/api/events?limit=1", timeout=10).json()["total"]
        proc.terminate()
        proc.wait(timeout=10)
        print(f"/v1/transition: {requests_done[0]} requests of ~{sum(map(len, bodies)) // len(bodies) // 1024} KB "
              f"({per_body[0]} events each), {errors[0]} errors, {args.clients} clients, "
              f"{elapsed:.1f} s: {events[0] / elapsed:,.0f} events/s ({stored:,} stored)")
        startups = []
        for _ in range(3):
            proc, url, took = start(db)
            startups.append(took)
            proc.terminate()
            proc.wait(timeout=10)
        print(f"moesim serve start to /_sim/ready on an existing database ({stored:,} events): "
              + ", ".join(f"{t:.2f} s" for t in startups))


if __name__ == "__main__":
    main()
