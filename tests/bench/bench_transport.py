"""Bench: requests/s of ``Transport.send_all`` (simulator.transport) against a requests loop.

    python tests/bench/bench_transport.py [--requests 20000] [--concurrency 4,8,16,32]
                                          [--skip-requests] [--sink moesim|minimal]
                                          [--pipeline N]

Starts ``moesim sink`` (``python -m simulator.cli sink --port 0``) in its own process on a
free port of 127.0.0.1, then sends ``--requests`` POSTs with ~300-byte JSON bodies (one per
user, prebuilt ``OutboundRequest``s) to ``/_sim/sink/bench/v1/send``: first through
``Transport.send_all`` at each ``--concurrency``, then the same requests in a plain Python loop
over ``requests.Session().post``. Prints requests/s, latency p50/p99, CPU time per request of
this process and of the sink, and the best transport figure against the requests loop. The
sink and this process share the machine's CPUs, as the app and the sink do in a demo.

``moesim sink`` is one Python process (one GIL) that spends more CPU per request than the
transport does, so it sets the ceiling; ``--sink minimal`` swaps it for a bare asyncio
responder (fixed 200, nothing recorded) to show what the transport itself can push.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import requests
from processes import Server  # the bench folder is on sys.path when a bench runs

from simulator.core.http import OutboundRequest
from simulator.transport import Transport

ROOT = Path(__file__).resolve().parents[2]

MAX_REQUESTS = 500_000
SINK_PATH = "/_sim/sink/bench/v1/send"
HEADERS = (("Content-Type", "application/json"), ("X-Api-Key", "bench-key"))
MOESIM_SINK = [sys.executable, "-m", "simulator.cli", "sink", "--host", "127.0.0.1", "--port", "0"]
MINIMAL_SINK = [sys.executable, "-c", """
import asyncio, re
LENGTH = re.compile(rb"(?im)^content-length:[ \\t]*([0-9]+)")
REPLY = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 21\\r\\n\\r\\n"
         b'{"status": "success"}')
class Responder(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        answered = 0
        while (end := self.buffer.find(b"\\r\\n\\r\\n")) >= 0:
            length = LENGTH.search(self.buffer, 0, end)
            size = end + 4 + (int(length.group(1)) if length else 0)
            if len(self.buffer) < size:
                break
            self.buffer = self.buffer[size:]
            answered += 1
        if answered:  # pipelined requests read together are answered in one write
            self.transport.write(REPLY * answered)
async def main():
    server = await asyncio.get_running_loop().create_server(Responder, "127.0.0.1", 0)
    print(f"minimal sink on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""]


def body(n: int) -> bytes:
    return json.dumps({
        "to": f"+9198{n:08d}", "sender": "MOESIM", "campaign_id": "c-0001",
        "user_id": f"user_{n}",
        "message": "Hi Priya, your order #123456 has shipped and will arrive on Friday. "
                   "Track: https://example.test/t/abc123",
        "attributes": {"first_name": "Priya", "city": "Bengaluru", "tier": "gold"},
        "sent_at": "2026-11-22T12:00:00.000Z",
    }).encode()


class Sink(Server):
    """``moesim sink`` (or the minimal responder) in a subprocess."""

    def __init__(self, argv: list[str]):
        super().__init__("the sink", argv)
        self.recording = argv is MOESIM_SINK

    def served(self) -> int | str:
        if not self.recording:
            return "-"
        return json.loads(self.request("GET", "/_sim/sinks/bench")[1])["served"]

    def forget(self) -> None:
        if self.recording:
            self.request("DELETE", "/_sim/sinks/bench")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(label: str, sink: Sink, run) -> dict:
    """``run()`` sends everything and returns (latencies in ms, non-200 count)."""
    sink.forget()
    cpu, sink_cpu, began = own_cpu(), sink.cpu_seconds(), time.perf_counter()
    latencies, failed = run()
    elapsed = time.perf_counter() - began
    cpu, sink_cpu = own_cpu() - cpu, (sink.cpu_seconds() or 0) - (sink_cpu or 0)
    count = len(latencies)
    latencies.sort()
    row = {"label": label, "rate": count / elapsed, "elapsed": elapsed,
           "p50": latencies[count // 2], "p99": latencies[min(count - 1, int(count * 0.99))],
           "cpu_us": cpu / count * 1e6, "sink_cpu_us": sink_cpu / count * 1e6,
           "failed": failed, "served": sink.served()}
    print(f"{label:<28} {row['rate']:>8,.0f} req/s  {elapsed:6.2f} s  p50 {row['p50']:5.2f} ms"
          f"  p99 {row['p99']:6.2f} ms  client CPU {row['cpu_us']:4.0f} us/req"
          f"  sink CPU {row['sink_cpu_us']:4.0f} us/req  non-200 {failed}"
          f"  sink saw {row['served']}", flush=True)
    return row


def via_transport(batch: list[OutboundRequest], concurrency: int, pipeline: int = 1):
    def run():
        with Transport(timeout_s=10, concurrency=concurrency, pipeline=pipeline) as transport:
            results = list(transport.send_all(batch))
        return [r.elapsed_ms for r in results], sum(r.status != 200 for r in results)
    return run


def via_requests(batch: list[OutboundRequest]):
    def run():
        latencies, failed = [], 0
        with requests.Session() as session:
            for request in batch:
                began = time.perf_counter()
                response = session.post(request.url, data=request.body,
                                        headers=dict(request.headers), timeout=10)
                latencies.append((time.perf_counter() - began) * 1000)
                failed += response.status_code != 200
        return latencies, failed
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", default="4,8,16,32",
                        help="one number or a comma-separated list")
    parser.add_argument("--skip-requests", action="store_true",
                        help="measure only the transport, not the requests loop")
    parser.add_argument("--sink", choices=["moesim", "minimal"], default="moesim")
    parser.add_argument("--pipeline", type=int, default=1,
                        help="requests written per connection before reading (1 = off)")
    args = parser.parse_args()
    count = max(1, min(args.requests, MAX_REQUESTS))
    levels = [int(c) for c in args.concurrency.split(",")]

    sink = Sink(MOESIM_SINK if args.sink == "moesim" else MINIMAL_SINK)
    try:
        url = f"http://127.0.0.1:{sink.port}{SINK_PATH}"
        batch = [OutboundRequest("POST", f"{url}?user=user_{n}", HEADERS, body(n))
                 for n in range(count)]
        print(f"{count} POSTs, bodies ~{len(batch[0].body)} bytes, to the {args.sink} sink on "
              f"127.0.0.1:{sink.port}; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        with Transport(concurrency=max(levels)) as warm_up:
            list(warm_up.send_all(batch[:min(count, 1000)]))
        shown = f" p={args.pipeline}" if args.pipeline > 1 else ""
        rows = [measure(f"Transport.send_all c={c}{shown}", sink,
                        via_transport(batch, c, args.pipeline)) for c in levels]
        best = max(rows, key=lambda row: row["rate"])
        if args.skip_requests:
            print(f"best: {best['label']} at {best['rate']:,.0f} req/s")
            return
        plain = measure("requests.Session().post loop", sink, via_requests(batch))
        print(f"best: {best['label']} at {best['rate']:,.0f} req/s = "
              f"{best['rate'] / plain['rate']:.1f}x the requests loop "
              f"({plain['rate']:,.0f} req/s)")
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
