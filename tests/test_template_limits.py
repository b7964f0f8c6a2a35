"""Templates within limits (issue 19 item 3): output size, loop iterations and time of a render
are bounded; creation and the test send refuse a template that cannot render within them for a
sample user; a user past them fails with the personalization category "Template Limit"; the
server keeps answering /_sim/health while the bombs are handled."""

import json
import threading
import time
from pathlib import Path

import pytest
import requests

from simulator.core import templating
from simulator.core.template_limits import TEMPLATE_LIMIT_FAILED

ROOT = Path(__file__).parent.parent
BOMBS = {
    "size": "{{ 'x' * 1000 * 1000 * 1000 }}",
    "power": "{{ 2 ** 1000000000 }}",
    "width": "{{ '{:>999999999}'.format(1) }}",
    "filter width": "{{ 'x'|center(999999999) }}",
    "percent width": "{{ '%0999999999d' % 1 }}",
    "loops": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "empty loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                   "{% endfor %}",
    "time": "{% set ns = namespace(s='') %}{% for i in range(90000) %}"
            "{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}{% endfor %}{{ ns.s|length }}",
}


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_fails_the_user_with_the_limit_category(name):
    from datetime import datetime, timezone
    renderer = templating.Renderer(datetime(2026, 1, 1, tzinfo=timezone.utc))
    started = time.perf_counter()
    with pytest.raises(templating.PersonalizationFailed) as failed:
        renderer.render(BOMBS[name], renderer.context({}))
    assert failed.value.category == TEMPLATE_LIMIT_FAILED
    assert time.perf_counter() - started < 2.5


def test_templates_within_the_bounds_render_as_before():
    from datetime import datetime, timezone
    renderer = templating.Renderer(datetime(2026, 1, 1, tzinfo=timezone.utc))
    source = "{% for i in range(3) %}{{ i * 2 }}{% endfor %}-{{ 'ab' * 2 }}-{{ 2 ** 10 }}"
    assert renderer.render(source, renderer.context({})) == "024-abab-1024"


class Health(threading.Thread):
    """Polls /_sim/health meanwhile; keeps the slowest answer."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.slowest, self.answers, self.done = url, 0.0, 0, threading.Event()

    def run(self):
        session = requests.Session()
        while not self.done.is_set():
            started = time.perf_counter()
            assert session.get(f"{self.url}/_sim/health", timeout=10).status_code == 200
            self.slowest = max(self.slowest, time.perf_counter() - started)
            self.answers += 1
            self.done.wait(0.05)


def test_bombs_are_refused_fast_while_health_answers_and_a_user_past_them_fails(serve,
                                                                                  tmp_path):
    server = serve("--db", str(tmp_path / "t.db"), "--fixtures", "none", "--clock", "virtual",
                   "--start-time", "2026-11-22T12:00:00Z")
    url = server.url
    config = json.loads((ROOT / "fixtures" / "connectors" / "acme_send_sms.json").read_text()
                        .replace("${MOESIM_URL}", url))
    app_id = requests.post(f"{url}/api/apps", json={"name": "A", "type": "CHANNEL"},
                           timeout=10).json()["id"]
    connector = requests.post(f"{url}/api/apps/{app_id}/connectors", json=config,
                              timeout=10).json()["id"]
    connection = requests.post(f"{url}/api/connections", timeout=10, json={
        "connector_id": connector, "name": "c", "values": {
            "account_sid": "AC12345678", "auth_token": "t0k", "sender_id": "S",
            "region": "in"}}).json()["id"]
    requests.put(f"{url}/_sim/sinks/acme-sms", json={"body": {"status": "success"}}, timeout=10)
    requests.post(f"{url}/v1/transition/MOESIMDEMO", auth=("MOESIMDEMO", "moesim-data-api-key"),
                  timeout=10, json={"type": "transition", "elements": [
                      {"type": "customer", "customer_id": cid, "attributes": attrs}
                      for cid, attrs in (("small", {"mobile": "+1555", "plan": "free"}),
                                         ("big", {"mobile": "+1556", "plan": "big"}))]})

    def body(message: str, request_id: str) -> dict:
        return {"request_id": request_id, "channel": "CONNECTED_APP",
                "campaign_delivery_type": "ONE_TIME", "created_by": "a@b.c",
                "basic_details": {"name": "Bomb test"},
                "campaign_content": {"content": {"connected_app": {
                    "connector_id": connector, "connection_id": connection,
                    "inputs": {"to": "{{UserAttribute['mobile']}}", "message": message}}}},
                "segmentation_details": {"is_all_user_campaign": True},
                "scheduling_details": {"delivery_type": "ASAP"}}

    health = Health(url)
    health.start()
    timings = {}
    for name, bomb in BOMBS.items():
        started = time.perf_counter()
        test = requests.post(f"{url}/api/campaigns/test", timeout=60, json={
            **body(bomb, f"t-{name}"), "test_campaign_meta": {
                "identifier": "USER_ATTRIBUTE_UNIQUE_ID", "identifier_values": ["small"]}})
        created = requests.post(f"{url}/api/campaigns", json=body(bomb, f"c-{name}"),
                                timeout=60)
        timings[name] = time.perf_counter() - started
        for answer in (test, created):
            assert answer.status_code == 422, (name, answer.text)
            assert any(e["path"] == "campaign_content.content.connected_app.inputs.message"
                       and "within bounds" in e["message"] for e in answer.json()["errors"])
    # a bomb only some users reach passes the sample-user check and fails those users
    partial = "{% if UserAttribute['plan'] == 'big' %}" + BOMBS["size"] + "{% endif %}hi"
    campaign = requests.post(f"{url}/api/campaigns", json=body(partial, "c-partial"),
                             timeout=60).json()["campaign_id"]
    requests.post(f"{url}/_sim/run-due", timeout=60)
    health.done.set()
    health.join()
    stats = requests.get(f"{url}/api/campaigns/{campaign}/stats", timeout=10).json()
    assert (stats["sent"], stats["failed"]) == (1, 1)
    assert stats["failure_breakdown"]["personalization"] == {TEMPLATE_LIMIT_FAILED: 1}
    assert max(timings.values()) < 5.0, timings    # two renders each, 1 s budget per render
    assert health.answers > 5 and health.slowest < 1.0, (health.answers, health.slowest)


def test_a_bomb_in_the_connector_config_is_refused_at_campaign_creation(client, auth):
    config = json.loads((ROOT / "fixtures" / "connectors" / "acme_send_sms.json").read_text()
                        .replace("${MOESIM_URL}", "http://127.0.0.1:9"))
    config["modules"][0]["params"]["request"]["headers"]["X-Pad"] = BOMBS["size"]
    app_id = client.post("/api/apps", json={"name": "A", "type": "CHANNEL"}).json["id"]
    connector = client.post(f"/api/apps/{app_id}/connectors", json=config).json["id"]
    connection = client.post("/api/connections", json={
        "connector_id": connector, "name": "c", "values": {
            "account_sid": "AC12345678", "auth_token": "t0k", "sender_id": "S",
            "region": "in"}}).json["id"]
    created = client.post("/api/campaigns", json={
        "request_id": "r", "channel": "CONNECTED_APP", "campaign_delivery_type": "ONE_TIME",
        "created_by": "a@b.c", "basic_details": {"name": "Bomb in config"},
        "campaign_content": {"content": {"connected_app": {
            "connector_id": connector, "connection_id": connection,
            "inputs": {"to": "+1555", "message": "hi"}}}},
        "segmentation_details": {"is_all_user_campaign": True},
        "scheduling_details": {"delivery_type": "ASAP"}})
    assert created.status_code == 422
    [error] = created.json["errors"]
    assert error["path"] == "campaign_content.content.connected_app.connector_id"
    assert "modules[0].params.request.headers.X-Pad" in error["message"]
    assert client.get("/api/campaigns").json["campaigns"] == []
