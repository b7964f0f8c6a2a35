"""kill -9 during a campaign send, then a restart: every user ends with exactly one outcome,
nothing is lost, and the partner saw again at most the ``send_concurrency`` requests that were
in flight (outcomes are recorded as they come in; docs/decisions.md, "Sending")."""

from __future__ import annotations

import signal
import threading
import time

import requests

from .conftest import KEY, WORKSPACE
from .partners import HANG, RawPartner, response

USERS, CONCURRENCY, KILL_AT = 1500, 8, 600


def _create_users(url: str) -> None:
    for start in range(0, USERS, 250):
        answer = requests.post(f"{url}/v1/transition/{WORKSPACE}", auth=(WORKSPACE, KEY),
                               json={"type": "transition", "elements": [
                                   {"type": "customer", "customer_id": f"u{n}",
                                    "attributes": {"first_name": f"u{n}"}}
                                   for n in range(start, min(start + 250, USERS))]}, timeout=30)
        assert answer.status_code == 200, answer.text


def _campaign(url: str, partner: str) -> str:
    created = requests.post(f"{url}/api/campaigns", json={
        "request_id": "crash-1", "channel": "CONNECTOR", "campaign_delivery_type": "ONE_TIME",
        "created_by": "dev@example.com", "basic_details": {"name": "Crash test"},
        "campaign_content": {"content": {"connector": {
            "method": "POST", "url": partner + "/send", "url_params": [], "headers": [],
            "body_type": "JSON", "body": {"user": "{{UserAttribute['First Name']}}"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}}, timeout=30)
    assert created.status_code == 201, created.text
    return created.json()["campaign_id"]


def test_kill_9_mid_send_repeats_at_most_the_requests_in_flight(serve, tmp_path):
    frozen = threading.Event()  # past KILL_AT the partner stops answering: the send stalls

    def answer(request):
        if frozen.is_set() or len(partner.requests) > KILL_AT:
            frozen.set()
            return HANG
        return response(200)
    partner = RawPartner(answer)
    env = {"MOESIM_DB": str(tmp_path / "crash.db"), "MOESIM_FIXTURES": "none",
           "MOESIM_WORKSPACE_ID": WORKSPACE, "MOESIM_DATA_API_KEY": KEY,
           "MOESIM_SEND_CONCURRENCY": str(CONCURRENCY), "MOESIM_THROTTLE_REALTIME": "false",
           "MOESIM_SEND_TIMEOUT_S": "60", "MOESIM_CLOCK": "virtual"}
    try:
        first = serve(env=env)
        _create_users(first.url)
        campaign_id = _campaign(first.url, partner.url)
        threading.Thread(target=lambda: _run_due(first.url), daemon=True).start()
        assert frozen.wait(60), "the send never reached the partner's freezing point"
        deadline = time.monotonic() + 10  # the requests in flight reach the partner
        while len(partner.requests) < KILL_AT + CONCURRENCY and time.monotonic() < deadline:
            time.sleep(0.01)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        sent_before = len(partner.requests)
        frozen.clear()
        partner.answer = lambda request: response(200)

        second = serve(env=env)  # recovers the job left running and sends the rest
        requests.post(f"{second.url}/_sim/run-due", timeout=120)
        stats = requests.get(f"{second.url}/api/campaigns/{campaign_id}/stats", timeout=30).json()
        deliveries = []
        after = 0
        while True:
            page = requests.get(f"{second.url}/_sim/deliveries", params={
                "campaign_id": campaign_id, "limit": 1000, "after": after}, timeout=30).json()
            deliveries += page["deliveries"]
            if not page["next"]:
                break
            after = page["next"]
    finally:
        partner.close()
    per_user = {d["customer_id"] for d in deliveries}
    assert len(deliveries) == len(per_user) == USERS  # one outcome each, none lost
    assert stats["attempted"] == USERS
    counts = partner.per_user()
    assert set(counts) == {f"u{n}" for n in range(USERS)}  # everyone reached
    repeats = sum(count - 1 for count in counts.values())
    assert sent_before > KILL_AT and 0 < repeats <= CONCURRENCY, (sent_before, repeats)


def _run_due(url: str) -> None:
    try:
        requests.post(f"{url}/_sim/run-due", timeout=120)
    except requests.RequestException:
        pass  # the server is killed while answering
