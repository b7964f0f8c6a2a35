"""Bench: what the delivery log costs on disk, with and without ``delivery_retention_days``.

    python tests/bench/bench_retention.py [--deliveries 200000] [--rounds 3]

Writes ``--rounds`` days of ``--deliveries`` delivery rows each (a request of ~600 bytes and a
response of ~250, the shape ``delivery.record`` stores) through ``store.deliveries.insert`` into
a new SQLite file, once keeping everything and once with a retention of one day (the prune of
``services.retention`` run after each day, as the engine would, in 2,000-row transactions). Prints the database size
file after a checkpoint, and the pages it has in use, after each day, and the time a prune
pass takes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from simulator.store import deliveries  # noqa: E402
from simulator.store.database import Store  # noqa: E402

DAY_MS = 86_400_000
START_MS = 1795348800000  # 2026-11-22T12:00Z
REQUEST = json.dumps({
    "method": "POST", "url": "https://partner.example.com/v1/messages?account=ABC123",
    "headers": {"Content-Type": "application/json", "Authorization": "Basic ********",
                "X-Request-Id": "0" * 32},
    "body": json.dumps({"to": "+919800000001", "sender": "MOESIM", "campaign_id": "c" * 24,
                        "message": "Hi Priya, your order #123456 has shipped and will arrive "
                                   "on Friday. Track: https://example.test/t/abc123" * 2})})
RESPONSE = json.dumps({"status": 200, "headers": {"Content-Type": "application/json",
                                                  "Date": "Sun, 22 Nov 2026 12:00:00 GMT"},
                       "body": json.dumps({"status": "success", "id": "m" * 32})})


def sizes_mb(store: Store) -> tuple[float, float]:
    """The database file after a full checkpoint, and the bytes of its pages in use."""
    store.checkpoint_landed()
    with store.read() as db:
        page, count, free = (db.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_size", "page_count", "freelist_count"))
    with store._write_lock:
        store._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return os.path.getsize(store.path) / 1e6, (count - free) * page / 1e6


def run(directory: str, count: int, rounds: int, retention_days: float) -> None:
    store = Store(os.path.join(directory, f"retention-{retention_days}.db"))
    store.migrate()
    low, files, used, prunes = 0, [], [], []
    for day in range(rounds):
        ts = START_MS + day * DAY_MS
        for start in range(0, count, 5000):
            rows = [(f"campaign-{day:02d}".ljust(24, "0"), n, f"user_{n}", "sent", None, 200,
                     REQUEST, RESPONSE, 12.5, ts) for n in range(start, start + 5000)]
            with store.write() as db:
                deliveries.insert(db, rows)
        if retention_days:
            began = time.perf_counter()
            while True:
                with store.write() as db:
                    pruned = deliveries.prune_payloads(
                        db, ts + DAY_MS - round(retention_days * DAY_MS), low)
                if not pruned:
                    break
            with store.read() as db:
                low = deliveries.lowest_with_payload(db, low)
            prunes.append(time.perf_counter() - began)
        file_mb, used_mb = sizes_mb(store)
        files.append(round(file_mb, 1))
        used.append(round(used_mb, 1))
    with store.read() as db:
        rows = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    store.close()
    print(json.dumps({"retention_days": retention_days, "deliveries_per_day": count,
                      "rows_kept": rows, "file_mb_after_each_day": files,
                      "pages_in_use_mb_after_each_day": used,
                      "prune_pass_s": [round(p, 2) for p in prunes]}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as directory:
        run(directory, args.deliveries, args.rounds, 0)
        run(directory, args.deliveries, args.rounds, 1.0)


if __name__ == "__main__":
    main()
