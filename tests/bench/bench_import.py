"""Bench: `moesim import events` of N events from JSONL (target: >= 150k events/s).

    python tests/bench/bench_import.py [--events 1000000] [--users 10000]

Writes a JSONL file of flat event rows to a temp directory, then times the same code path
the CLI runs (``importer.import_file`` into a new SQLite file), and prints events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time

from simulator.app import create_context
from simulator.core.settings import Settings
from simulator.services import importer

NAMES = ["App Opened", "Viewed Product", "Added To Cart", "Purchase", "Flight Booked"]


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "events.jsonl")
        write_events(source, args.events, args.users)
        ctx, _ = create_context(Settings(db=os.path.join(tmp, "bench.db"), fixtures="none"))
        started = time.perf_counter()
        report = importer.import_file(ctx, importer.EVENTS, source)
        elapsed = time.perf_counter() - started
        ctx.close()
        size_mb = os.path.getsize(source) / 1e6
    print(f"imported {report.result.events:,} events ({size_mb:.0f} MB JSONL, "
          f"{report.result.users_created:,} users created) in {elapsed:.2f} s: "
          f"{report.result.events / elapsed:,.0f} events/s")


if __name__ == "__main__":
    main()
