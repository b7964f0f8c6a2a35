"""Peak memory and answer time of a server handed template bombs (issue 19 item 3).

Starts ``moesim serve`` (virtual clock, no fixtures), sets up one Connected App connector and
connection, then sends each bomb as a test send's campaign field and prints the answer time and
the server's peak RSS (``VmHWM``) after it.

    python tests/bench/bench_template_bombs.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from processes import ROOT, Server  # noqa: E402
from tests.test_template_limits import BOMBS  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    where = tempfile.mkdtemp(prefix="moesim-bombs-")
    server = Server("moesim", [sys.executable, "-m", "simulator.cli", "serve", "--port", "0",
                               "--db", f"{where}/b.db", "--fixtures", "none",
                               "--clock", "virtual"])
    try:
        server.wait_ready()
        url = f"http://127.0.0.1:{server.port}"
        config = json.loads((ROOT / "fixtures" / "connectors" / "acme_send_sms.json")
                            .read_text().replace("${MOESIM_URL}", url))
        app_id = requests.post(f"{url}/api/apps", json={"name": "A", "type": "CHANNEL"},
                               timeout=10).json()["id"]
        connector = requests.post(f"{url}/api/apps/{app_id}/connectors", json=config,
                                  timeout=10).json()["id"]
        connection = requests.post(f"{url}/api/connections", timeout=10, json={
            "connector_id": connector, "name": "c", "values": {
                "account_sid": "AC12345678", "auth_token": "t", "sender_id": "S",
                "region": "in"}}).json()["id"]
        requests.post(f"{url}/v1/customer/MOESIMDEMO", auth=("MOESIMDEMO",
                      "moesim-data-api-key"), timeout=10,
                      json={"type": "customer", "customer_id": "u1",
                            "attributes": {"mobile": "+1555"}})
        print(f"idle: peak RSS {peak_rss_mb(server.proc.pid):.0f} MB")
        for name, bomb in BOMBS.items():
            started = time.perf_counter()
            answer = requests.post(f"{url}/api/campaigns/test", timeout=120, json={
                "request_id": name, "channel": "CONNECTED_APP",
                "campaign_delivery_type": "ONE_TIME", "created_by": "a@b.c",
                "basic_details": {"name": "Bomb bench"},
                "campaign_content": {"content": {"connected_app": {
                    "connector_id": connector, "connection_id": connection,
                    "inputs": {"to": "{{UserAttribute['mobile']}}", "message": bomb}}}},
                "test_campaign_meta": {"identifier": "USER_ATTRIBUTE_UNIQUE_ID",
                                       "identifier_values": ["u1"]}})
            took = time.perf_counter() - started
            print(f"{name:13s} {answer.status_code}  {took:6.2f} s  "
                  f"peak RSS {peak_rss_mb(server.proc.pid):.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
