"""The built-in capture sink under /_sim/ (issue: foundation §6)."""

import time


def test_sink_records_method_path_query_headers_body_and_time(client):
    response = client.post("/_sim/sink/partner/v1/send?lang=en", json={"to": "+911"},
                           headers={"X-Api-Key": "abc"})
    assert response.status_code == 200 and response.json == {"status": "success"}
    [record] = client.get("/_sim/sinks/partner").json["requests"]
    assert record["method"] == "POST" and record["path"] == "/v1/send"
    assert record["query"] == "lang=en"
    assert record["headers"]["X-Api-Key"] == "abc"
    assert record["json"] == {"to": "+911"}
    assert record["time"] == "2026-11-22T12:00:00.000Z"  # from the (virtual) clock
    assert record["seq"] == 1 and record["response_status"] == 200


def test_sink_answers_with_configured_status_body_and_headers(client):
    client.put("/_sim/sinks/p", json={"status": 202, "body": {"id": "m-1"},
                                      "headers": {"X-Request-Id": "r1"}})
    response = client.get("/_sim/sink/p")
    assert response.status_code == 202 and response.json == {"id": "m-1"}
    assert response.headers["X-Request-Id"] == "r1"
    text = client.put("/_sim/sinks/t", json={"body": "OK"})
    assert text.status_code == 200
    assert client.delete("/_sim/sink/t").data == b"OK"


def test_sink_fail_next_fails_exactly_count_then_reverts(client):
    client.put("/_sim/sinks/p", json={"fail_next": {"count": 2, "status": 503}})
    statuses = [client.post("/_sim/sink/p").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    records = client.get("/_sim/sinks/p").json["requests"]
    assert [r["injected_failure"] for r in records] == ["fail_next", "fail_next", None, None]


def test_sink_fail_rate_is_seeded_and_repeatable(client):
    client.put("/_sim/sinks/p", json={"fail_rate": {"rate": 0.3, "status": 500}})
    first = [client.post("/_sim/sink/p").status_code for _ in range(200)]
    client.delete("/_sim/sinks/p")
    client.put("/_sim/sinks/p", json={"fail_rate": {"rate": 0.3, "status": 500}})
    second = [client.post("/_sim/sink/p").status_code for _ in range(200)]
    assert first == second
    assert 40 <= first.count(500) <= 80


def test_sink_delay_ms_delays_the_answer(client):
    client.put("/_sim/sinks/slow", json={"delay_ms": 150})
    started = time.monotonic()
    assert client.get("/_sim/sink/slow").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_sink_invalid_behaviour_names_every_field(client):
    response = client.put("/_sim/sinks/p", json={"status": 99, "fail_rate": {"rate": 2},
                                                 "colour": "red"})
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert {e["path"] for e in response.json["errors"]} == {"status", "fail_rate.rate", "colour"}
    assert client.get("/_sim/sinks/p").json["behaviour"]["status"] == 200


def test_sink_delete_clears_requests_and_behaviour(client):
    client.put("/_sim/sinks/p", json={"status": 500})
    client.post("/_sim/sink/p")
    assert client.delete("/_sim/sinks/p").status_code == 204
    view = client.get("/_sim/sinks/p").json
    assert view["requests"] == [] and view["behaviour"]["status"] == 200
