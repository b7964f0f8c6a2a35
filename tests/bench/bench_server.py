"""Bench: the HTTP server under `moesim serve`, on MoEngage's Track Event endpoint.

    python tests/bench/bench_server.py [--seconds 5] [--clients 16] [--rounds 1]
                                       [--servers cheroot,werkzeug] [--floor]

Each server is `moesim serve --server NAME` in its own process (so it does not share this
process's GIL) on a free port of 127.0.0.1, a throwaway database, no fixtures, a virtual clock
(no scheduler ticks) and `--log-level warning` (no access lines). `waitress` and `gunicorn`
in `--servers` serve the same app with `waitress-serve --threads 32` and `gunicorn -k gthread
-w 1 --threads 32` (one worker: the scheduler must not be shared), when they are installed. Then `--clients` threads, each with one
persistent `http.client.HTTPConnection`, POST `/v1/event/<workspace>` with one event per
request (Basic auth; 1,000 customers in turn) for `--seconds`, after a 1 s warm-up. With
`--rounds N` the servers take turns N times and the best round of each counts (the machine is
shared). Prints events/s, p50/p99 latency, the server's CPU time per request, and the events
the server stored; `--floor` exits 1 unless the first server reaches 1,000 events/s and 1.5x
the last one (issue 21: twice MoEngage's documented 30,000 Track Event calls a minute).

    python tests/bench/bench_server.py --app-cpu

measures the app alone instead: the same requests as WSGI environs (`werkzeug.test`) called
in this process, CPU time of this thread per request, best of 11 batches of 500.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from processes import Server  # the bench folder is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE, KEY = "BENCH", "bench-key"
HEADERS = {"Content-Type": "application/json",
           "Authorization": "Basic " + base64.b64encode(f"{WORKSPACE}:{KEY}".encode()).decode()}
FLOOR_EVENTS_PER_S = 1_000
FLOOR_RATIO = 1.5
APP_MODULE = """
import os
from simulator.app import create_app
from simulator.core.settings import Settings
app = create_app(Settings.load(os.environ))
"""


def body(number: int) -> bytes:
    return json.dumps({"type": "event", "customer_id": f"user-{number % 1000}", "actions": [{
        "action": "Added To Cart", "attributes": {"sku": f"SKU-{number}", "price": 499.0,
                                                   "category": "shoes"},
        "platform": "ANDROID", "current_time": 1760000000 + number % 1_000_000}]}).encode()


def drive(port: int, seconds: float, clients: int, offset: int):
    """POST from ``clients`` threads until ``seconds`` pass; (elapsed, latencies, failures)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.connect()
        mine = latencies[index]
        number = offset + index * 1_000_000
        start.wait()
        clock = time.perf_counter
        while clock() < deadline[0]:
            payload = body(number)
            number += 1
            began = clock()
            connection.request("POST", f"/v1/event/{WORKSPACE}", body=payload, headers=HEADERS)
            response = connection.getresponse()
            response.read()
            mine.append(clock() - began)
            if response.status != 200:
                failures[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - began
    return elapsed, sorted(x for per in latencies for x in per), sum(failures)


def start(name: str, tmp: str) -> Server:
    db = os.path.join(tmp, f"{name}-{time.monotonic_ns()}.db")
    env = {"MOESIM_DB": db, "MOESIM_FIXTURES": "none", "MOESIM_WORKSPACE_ID": WORKSPACE,
           "MOESIM_DATA_API_KEY": KEY, "MOESIM_CLOCK": "virtual",
           "MOESIM_START_TIME": "2026-01-01T00:00:00Z", "MOESIM_LOG_LEVEL": "warning"}
    os.environ.update(env)  # the server processes inherit these
    if name in ("gunicorn", "waitress"):
        (Path(tmp) / "bench_app.py").write_text(APP_MODULE)
        os.environ["PYTHONPATH"] = tmp
    if name == "gunicorn":
        return Server(name, [shutil.which("gunicorn") or "gunicorn", "--bind", "127.0.0.1:0",
                             "-k", "gthread", "-w", "1", "--threads", "32",
                             "--log-level", "info", "bench_app:app"],
                      url_pattern=r"Listening at: http://127\.0\.0\.1:(\d+)")
    if name == "waitress":
        return Server(name, [shutil.which("waitress-serve") or "waitress-serve",
                             "--listen", "127.0.0.1:0", "--threads", "32", "bench_app:app"])
    return Server(name, [sys.executable, "-m", "simulator.cli", "serve", "--server", name,
                         "--host", "127.0.0.1", "--port", "0"])


def measure(name: str, tmp: str, args, offset: int) -> float:
    server = start(name, tmp)
    try:
        server.wait_ready()
        drive(server.port, 1.0, args.clients, offset)  # warm-up
        cpu_before = server.cpu_seconds()
        elapsed, latencies, failures = drive(server.port, args.seconds, args.clients,
                                             offset + 500_000)
        cpu_after = server.cpu_seconds()
        status, answer = server.request("GET", "/api/events?limit=1")
        stored = json.loads(answer)["total"] if status == 200 else "?"
    finally:
        server.stop()
    count = len(latencies)
    rate = count / elapsed
    ms = lambda q: latencies[min(count - 1, int(q * count))] * 1000  # noqa: E731
    cpu = ""
    if cpu_before is not None and cpu_after is not None:
        cpu = f"; server CPU {(cpu_after - cpu_before) / count * 1e6:.0f} us/request"
    print(f"  {name:9} {count:6} events in {elapsed:.2f}s = {rate:7,.0f} events/s; "
          f"p50 {ms(0.5):.1f} ms, p99 {ms(0.99):.1f} ms; {failures} non-200; "
          f"{stored} stored (warm-up included){cpu}", flush=True)
    return rate if not failures else 0.0


def app_cpu() -> None:
    from werkzeug.test import EnvironBuilder

    from simulator.app import create_app
    from simulator.core.settings import Settings

    with tempfile.TemporaryDirectory(prefix="moesim-bench-") as tmp:
        app = create_app(Settings(db=os.path.join(tmp, "app.db"), fixtures="none",
                                  workspace_id=WORKSPACE, data_api_key=KEY, clock="virtual",
                                  start_time="2026-01-01T00:00:00Z"))
        environs = [EnvironBuilder(path=f"/v1/event/{WORKSPACE}", method="POST", data=body(n),
                                   headers=HEADERS).get_environ() for n in range(6_000)]

        def call(environ) -> None:
            answer = app(environ, lambda status, headers, exc_info=None: None)
            b"".join(answer)
            answer.close()

        for environ in environs[:500]:  # warm-up
            call(environ)
        best = float("inf")
        for start_at in range(500, 6_000, 500):
            began = time.thread_time()
            for environ in environs[start_at:start_at + 500]:
                call(environ)
            best = min(best, (time.thread_time() - began) / 500)
        app.extensions["moesim.workspaces"].close()
        app.extensions["moesim"].close()
    print(f"the app alone, /v1/event: {best * 1e6:.0f} us of CPU a request (best of 11 "
          f"batches of 500)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--servers", default="cheroot,werkzeug",
                        help="comma-separated: cheroot, waitress, werkzeug, gunicorn")
    parser.add_argument("--floor", action="store_true")
    parser.add_argument("--app-cpu", action="store_true")
    args = parser.parse_args()
    if args.app_cpu:
        app_cpu()
        return
    names = args.servers.split(",")
    print(f"/v1/event, one event a request, {args.clients} clients, {args.seconds:g} s; "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
    best = {name: 0.0 for name in names}
    with tempfile.TemporaryDirectory(prefix="moesim-bench-") as tmp:
        for round_number in range(args.rounds):
            print(f"round {round_number + 1}", flush=True)
            for name in names:
                best[name] = max(best[name], measure(name, tmp, args, round_number * 10_000_000))
    print("best: " + ", ".join(f"{name} {rate:,.0f} events/s" for name, rate in best.items()))
    if len(names) > 1:
        ratio = best[names[0]] / best[names[-1]] if best[names[-1]] else float("inf")
        print(f"{names[0]} / {names[-1]} = {ratio:.2f}x")
    if args.floor:
        first, last = best[names[0]], best[names[-1]]
        ok = first >= FLOOR_EVENTS_PER_S and first >= FLOOR_RATIO * last
        print(f"floor (>= {FLOOR_EVENTS_PER_S:,} events/s and >= {FLOOR_RATIO}x {names[-1]}): "
              f"{'met' if ok else 'NOT met'}")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
