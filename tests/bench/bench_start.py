"""Bench: start-to-ready of ``moesim serve`` on a small and a larger database, and what a
start leaves on disk (the reset point beside the database, anything in the temp folder).

    python tests/bench/bench_start.py [--users 100000] [--events 1000000] [--runs 3]
                                      [--code DIR]

Two databases are written straight into new SQLite files (not timed): a small one (1,000
users, 10,000 events) and a larger one (``--users``, ``--events``). For each, ``--runs`` times:
``python -m simulator.cli serve --port 0`` is started (virtual clock, no fixtures) and timed
from the spawn to the first 200 from ``/_sim/ready`` (and the CPU time the server process used
until then, which the machine's other load disturbs less); a second later its RSS, the
time ``/_sim/reset`` reports after one user is updated, the size of ``<db>-reset`` and of
what it put in its temp folder (``TMPDIR``, one of the bench's own) is read, and the server is
stopped with SIGTERM; files still in that folder afterwards are counted.
Prints the median and the spread. ``--code DIR`` runs the simulator found in DIR (for
instance ``git archive main | tar -x -C DIR``) instead of this checkout's, to compare.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

START_MS = 1795348800000  # 2026-11-22T12:00Z


def build(path: str, users: int, events: int, code: Path) -> None:
    """A migrated database with ``users`` and ``events`` rows (in a child process, so the
    schema is the one of ``code``)."""
    script = f"""
import json, sys
sys.path.insert(0, {str(code)!r})
from simulator.store.database import Store
store = Store({path!r}); store.migrate()
with store.write() as db:
    db.conn.executemany(
        "INSERT INTO users (id, customer_id, attrs, created_at, updated_at) VALUES (?,?,?,?,?)",
        ((i + 1, f"u{{i}}", json.dumps({{"u_fn": f"User{{i}}", "plan": "pro", "city": "Pune"}}),
          {START_MS}, {START_MS}) for i in range({users})))
    db.conn.executemany(
        "INSERT INTO events (user_id, name, ts, attrs, received_at) VALUES (?,?,?,?,?)",
        ((i % {users} + 1, "Viewed Product", {START_MS} - i * 1000, '{{"sku": "A1"}}',
          {START_MS}) for i in range({events})))
store.close()
"""
    subprocess.run([sys.executable, "-c", script], check=True)


def change_and_reset(port: int) -> float:
    """One user updated through the Data API (the server's default workspace and key), then
    ``/_sim/reset``; the ``took_ms`` it reports."""
    base = f"http://127.0.0.1:{port}"
    auth = "Basic " + base64.b64encode(b"MOESIMDEMO:moesim-data-api-key").decode()
    body = json.dumps({"type": "customer", "customer_id": "u7",
                       "attributes": {"plan": "free"}}).encode()
    urllib.request.urlopen(urllib.request.Request(
        f"{base}/v1/customer/MOESIMDEMO", body, {"Content-Type": "application/json",
                                                 "Authorization": auth}), timeout=60).read()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/_sim/reset", b"",
                                                       method="POST"), timeout=600) as answer:
        return json.loads(answer.read())["took_ms"]


def start_once(db: str, code: Path, temp: str) -> dict:
    """One start; the server's temp folder is ``temp`` (its own, so what it leaves there is
    counted, and removed with the bench's folder)."""
    before = set(os.listdir(temp))
    started = time.perf_counter()
    # run from ``code``: ``python -m`` puts the working folder first on sys.path
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--port", "0",
                             "--db", db, "--fixtures", "none", "--clock", "virtual"],
                            cwd=code, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONPATH": str(code),
                                            "TMPDIR": temp})
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline()).group(1))
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/ready", timeout=30):
                    break
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.01)
        ready_s = time.perf_counter() - started
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        time.sleep(1.0)  # idle: what the server holds once ready (not a wait on the server)
        rss = next((int(line.split()[1]) / 1024 for line in
                    Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS:")), 0.0) if os.path.exists("/proc") else 0.0
        reset_ms = change_and_reset(port)
        temp_bytes = sum(os.path.getsize(os.path.join(temp, name))
                         for name in set(os.listdir(temp)) - before)
        reset = db + "-reset"
        reset_bytes = os.path.getsize(reset) if os.path.exists(reset) else 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"ready_s": ready_s, "cpu_s": cpu_s, "rss_mb": rss, "reset_ms": reset_ms, "temp_bytes": temp_bytes, "reset_bytes": reset_bytes,
            "left_in_temp": len(set(os.listdir(temp)) - before)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, default=ROOT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-start-") as directory:
        for label, users, events in (("small", 1_000, 10_000),
                                     ("larger", args.users, args.events)):
            db = os.path.join(directory, f"{label}.db")
            build(db, users, events, args.code.resolve())
            size_mb = sum(os.path.getsize(db + end) for end in ("", "-wal")
                          if os.path.exists(db + end)) / 1e6
            temp = os.path.join(directory, f"{label}-tmp")
            os.mkdir(temp)
            runs = [start_once(db, args.code.resolve(), temp) for _ in range(args.runs)]
            ready = [r["ready_s"] for r in runs]
            print(json.dumps({
                "database": label, "users": users, "events": events,
                "db_mb": round(size_mb, 1),
                "start_to_ready_s_median": round(statistics.median(ready), 2),
                "start_to_ready_s_min_max": [round(min(ready), 2), round(max(ready), 2)],
                "server_cpu_s_to_ready_median": round(statistics.median(
                    r["cpu_s"] for r in runs), 2),
                "idle_rss_mb_max": round(max(r["rss_mb"] for r in runs), 1),
                "reset_after_one_change_ms_median": statistics.median(r["reset_ms"] for r in runs),
                "reset_point_kb_at_ready": round(max(r["reset_bytes"] for r in runs) / 1e3, 1),
                "temp_mb_at_ready": round(max(r["temp_bytes"] for r in runs) / 1e6, 1),
                "files_left_in_temp_after_sigterm": max(r["left_in_temp"] for r in runs),
                "code": str(args.code)}), flush=True)


if __name__ == "__main__":
    main()
