"""Bench: what ``ix_deliveries_campaign_ts`` (migration m011, read by the dashboard and campaign
stats) costs the send path's writes: N delivery rows inserted through ``store.deliveries.insert``
in 500-row transactions, with and without the index, alternately.

    python tests/bench/bench_delivery_index.py [--rows 300000] [--rounds 3]

Prints the CPU seconds of this process (all its threads) and the wall seconds of each round.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import tempfile
import time

from simulator.app import create_context
from simulator.core.settings import Settings
from simulator.store import deliveries

REQUEST = json.dumps({"method": "POST", "url": "http://127.0.0.1:9/_sim/sink/x/v1/messages",
                      "headers": [["Content-Type", "application/json"],
                                  ["Authorization", "Basic ********"]],
                      "body": json.dumps({"to": "+911", "text": "hello there " * 3})})
RESPONSE = json.dumps({"status": 200, "headers": {"content-type": "application/json"},
                       "body": '{"status": "success"}'})


def one_round(path: str, rows: int, with_index: bool) -> tuple[float, float]:
    for old in glob.glob(path + "*"):
        os.unlink(old)
    ctx, _ = create_context(Settings(db=path, fixtures="none"))
    with ctx.store.write() as db:
        if not with_index:
            db.execute("DROP INDEX ix_deliveries_campaign_ts")
        db.conn.executemany("INSERT INTO users (id, customer_id, attrs, created_at, updated_at) "
                            "VALUES (?, ?, '{}', 0, 0)", [(i, f"u{i}") for i in range(1, rows + 1)])
    batch = [(f"c{i // 100_000:02d}", i, f"u{i}", "sent", None, 200, REQUEST, RESPONSE, 3.0,
              1_700_000_000_000 + i * 10) for i in range(1, rows + 1)]
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, rows, 500):
        with ctx.store.write() as db:
            deliveries.insert(db, batch[start:start + 500])
    result = time.process_time() - cpu, time.perf_counter() - wall
    ctx.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = os.path.join(tempfile.mkdtemp(prefix="moesim-bench-index-"), "d.db")
    found: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for with_index in (False, True):
            found[with_index].append(one_round(path, args.rows, with_index))
    for with_index, runs in found.items():
        label = "with ix_deliveries_campaign_ts" if with_index else "without it"
        print(f"{label:<32} cpu s {' / '.join(f'{c:.2f}' for c, _ in runs)}   "
              f"wall s {' / '.join(f'{w:.2f}' for _, w in runs)}")
    print(f"{args.rows:,} rows, 500 a transaction; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
