"""Bench: `moesim import events` of N events from JSONL against a plain sqlite3 loader.

    python tests/bench/bench_import.py [--events 1000000] [--users 10000] [--runs 1]

Writes a JSONL file of flat event rows to a temp directory. Each run then loads it twice, into
two new databases of moesim's schema: once through ``importer.import_file`` (the code path
the CLI runs), once through the baseline, a plain single-process loader (orjson per line, the
users it meets inserted as it goes, ``executemany`` of the event rows, one transaction, the
store's connection settings and its late `events` index). The baseline validates nothing;
both must store the same rows, which is checked after the first run. Prints events/s, CPU
seconds (this process and its children) and the ratio import / baseline of each run, in wall
time (floor: >= 0.8) and in CPU time: on a machine whose other work takes CPU away in bursts,
the wall-time ratio of one run swings widely, the CPU-time ratio much less.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time

import orjson

from simulator.app import create_context
from simulator.core.settings import Settings
from simulator.core.timestamps import iso
from simulator.services import importer
from simulator.store import database

NAMES = ["App Opened", "Viewed Product", "Added To Cart", "Purchase", "Flight Booked"]
CHUNK = 20_000


def write_events(path: str, count: int, users: int) -> None:
    rng = random.Random(7)
    base = 1_790_000_000
    with open(path, "w") as out:
        for i in range(count):
            name = NAMES[i % len(NAMES)]
            row = {"customer_id": f"user_{rng.randrange(users)}", "action": name,
                   "current_time": base + i, "platform": "ANDROID",
                   "attributes": {"product_id": f"p{i % 997}", "price": (i % 500) + 0.5,
                                  "category": "shoes"}}
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


def new_database(path: str) -> None:
    ctx, _ = create_context(Settings(db=path, fixtures="none"))
    ctx.close()


def plain_load(db_path: str, source: str, now_ms: int) -> int:
    """The baseline: what a script that knows its file is valid would do."""
    conn = database.connect(db_path)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("BEGIN")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                           "AND tbl_name = 'events' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    profile = orjson.dumps({"cr_t": iso(now_ms)}).decode()
    ids: dict[str, int] = {}
    loaded = 0
    with open(source, "rb") as lines:
        while True:
            rows = [orjson.loads(line) for _, line in zip(range(CHUNK), lines)]
            if not rows:
                break
            for row in rows:
                cid = row["customer_id"]
                if cid not in ids:
                    ids[cid] = conn.execute(
                        "INSERT INTO users (customer_id, attrs, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?)", (cid, profile, now_ms, now_ms)).lastrowid
            conn.executemany(
                "INSERT INTO events (user_id, name, ts, attrs, platform, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(ids[row["customer_id"]], row["action"], row["current_time"] * 1000,
                  orjson.dumps(row["attributes"]).decode(), row["platform"], now_ms)
                 for row in rows])
            loaded += len(rows)
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()
    return loaded


def moesim_load(db_path: str, source: str) -> int:
    ctx, _ = create_context(Settings(db=db_path, fixtures="none"))
    try:
        return importer.import_file(ctx, importer.EVENTS, source).result.events
    finally:
        ctx.close()


def timed(load, *args) -> tuple[int, float, float]:
    cpu, started = os.times(), time.perf_counter()
    count = load(*args)
    elapsed, after = time.perf_counter() - started, os.times()
    used = sum(after[:4]) - sum(cpu[:4])  # user + system, this process and waited children
    return count, elapsed, used


def stored_rows(db_path: str) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(db_path) as conn:
        for row in conn.execute(
                "SELECT u.customer_id, e.name, e.ts, e.attrs, e.platform, e.app_version, "
                "e.user_time, e.tz_offset FROM events e JOIN users u ON u.id = e.user_id "
                "ORDER BY e.id"):
            digest.update(repr(row).encode())
        indexes = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                               "AND tbl_name = 'events' ORDER BY name").fetchall()
    digest.update(repr(indexes).encode())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1, help="baseline/import pairs, alternating")
    args = parser.parse_args()
    ratios, cpu_ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "events.jsonl")
        write_events(source, args.events, args.users)
        print(f"{args.events:,} events, {args.users:,} users, "
              f"{os.path.getsize(source) / 1e6:.0f} MB JSONL")
        for run in range(args.runs):
            plain_db, import_db = (os.path.join(tmp, f"{name}{run}.db")
                                   for name in ("plain", "import"))
            new_database(plain_db)
            new_database(import_db)
            plain = timed(plain_load, plain_db, source, int(time.time() * 1000))
            imported = timed(moesim_load, import_db, source)
            if run == 0 and stored_rows(plain_db) != stored_rows(import_db):
                raise SystemExit("the baseline and the import stored different rows")
            for label, (count, elapsed, used) in (("baseline", plain), ("import", imported)):
                print(f"run {run + 1} {label:8}: {count:,} events in {elapsed:.2f} s = "
                      f"{count / elapsed:,.0f} events/s, {used:.2f} CPU s")
            ratios.append(plain[1] / imported[1])
            cpu_ratios.append(plain[2] / imported[2])
            print(f"run {run + 1} import/baseline: {ratios[-1]:.2f}x in wall time (floor 0.8x), "
                  f"{cpu_ratios[-1]:.2f}x in CPU time")
            for path in (plain_db, import_db):
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)
    if len(ratios) > 1:
        print(f"median import/baseline over {len(ratios)} runs: "
              f"{statistics.median(ratios):.2f}x in wall time (floor 0.8x), "
              f"{statistics.median(cpu_ratios):.2f}x in CPU time")


if __name__ == "__main__":
    main()
