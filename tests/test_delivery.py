"""``delivery.Send`` as a unit: a transport that answers from a list."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from simulator.core.http import HttpResult
from simulator.services import delivery

NOW = datetime(2026, 7, 1, tzinfo=timezone.utc)
CONTENT = {"connector": {"method": "POST", "url": "http://partner.test/", "body_type": "RAW",
                         "body": "hi {{UserAttribute['name']}}"}}


class _Answers:
    """Answers the requests in the order given, reading them lazily, ``group`` at a time."""

    def __init__(self, results: list[HttpResult], group: int = 100):
        self.results, self.group, self.sent = iter(results), group, []

    def send_all(self, requests, concurrency=None):
        answered = []
        for tag, request in requests:
            self.sent.append(request)
            answered.append((tag, next(self.results)))
            if len(answered) == self.group:
                yield answered
                answered = []
        if answered:
            yield answered


def _send() -> delivery.Send:
    plan = delivery.Plan({"id": "c1"}, "CONNECTOR", content=CONTENT, standard={},
                         standard_json="{}")
    return delivery.Send(plan, NOW, 0)


def test_each_delivery_logs_its_own_responses_headers_in_the_order_they_came():
    answers = _Answers([HttpResult(200, {"a": "1", "b": "2"}, b"ok"),
                        HttpResult(200, {"b": "2", "a": "1"}, b"ok")])
    groups = list(_send().groups(answers, [(n, f"u{n}", {"name": "x"}) for n in (1, 2)]))
    rows = [row for rows, _ in groups for row in rows]
    logged = [list(json.loads(row[7])["headers"].items()) for row in rows]
    assert logged == [[("a", "1"), ("b", "2")], [("b", "2"), ("a", "1")]]
    assert [row[3] for row in rows] == ["sent"] * 2


def test_rows_come_a_group_at_a_time_with_the_users_who_failed_before_sending():
    """A user whose request cannot be built fails without a request; the row goes out with
    the next group (nothing waits for a whole page)."""
    answers = _Answers([HttpResult(200, {}, b"ok")] * 3, group=1)
    batch = [(1, "u1", {"name": "a"}), (2, "u2", {}), (3, "u3", {"name": "c"}),
             (4, "u4", {"name": "d"})]
    groups = [[(row[2], row[3], row[4]) for row in rows]
              for rows, _ in _send().groups(answers, batch)]
    assert groups == [[("u1", "sent", None)],
                      [("u2", "failed", "personalization:User Attribute"), ("u3", "sent", None)],
                      [("u4", "sent", None)]]
    assert [request.body for request in answers.sent] == [b"hi a", b"hi c", b"hi d"]


def test_the_response_is_logged_decoded_in_its_charset_and_marked_when_cut():
    answers = _Answers([HttpResult(200, {}, "Café".encode("latin-1"), charset="iso8859-1",
                                   truncated=True)])
    (rows, _), = _send().groups(answers, [(1, "u1", {"name": "a"})])
    logged = json.loads(rows[0][7])
    assert logged["body"] == "Café" and logged["truncated"] is True
