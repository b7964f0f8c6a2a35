"""``delivery.send_batch`` as a unit: a transport that answers from a list."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from simulator.core import templating
from simulator.core.http import HttpResult
from simulator.services import delivery

NOW = datetime(2026, 7, 1, tzinfo=timezone.utc)


class _Answers:
    def __init__(self, results: list[HttpResult]):
        self.results = results

    def send_all(self, requests):
        return self.results[:len(list(requests))]


def test_each_delivery_logs_its_own_responses_headers_in_the_order_they_came():
    """Identical responses share one evaluation and one logged record per batch; headers in
    another order are another response (review finding: they shared the first record)."""
    content = {"connector": {"method": "POST", "url": "http://partner.test/", "body_type": "RAW",
                             "body": "hi"}}
    plan = delivery.Plan({"id": "c1"}, "CONNECTOR", content=content, standard={},
                         standard_json="{}")
    answers = _Answers([HttpResult(200, {"a": "1", "b": "2"}, b"ok"),
                        HttpResult(200, {"a": "1", "b": "2"}, b"ok"),
                        HttpResult(200, {"b": "2", "a": "1"}, b"ok")])
    rows, _ = delivery.send_batch(plan, templating.Renderer(NOW), answers,
                                  [(n, f"u{n}", {}) for n in (1, 2, 3)], NOW, 0)
    logged = [list(json.loads(row[7])["headers"].items()) for row in rows]
    assert logged == [[("a", "1"), ("b", "2")]] * 2 + [[("b", "2"), ("a", "1")]]
    assert [row[3] for row in rows] == ["sent"] * 3
