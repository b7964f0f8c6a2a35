"""``delivery.send_batch`` as a unit: a transport that answers from a list."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

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


def _plan(**changes):
    request = {"method": "POST", "url": "http://partner.test/", "body_type": "JSON",
               "body": '{"to": "{{CampaignCreationForm[\'to\']}}"}'}
    responses = [{"actions": [{"type": "CREATE_EVENT", "config": {
        "event": {"name": "Sent"}, "attributes": [{"key": "to", "value": "{{UserAttribute.to}}"}]}}]}]
    parts = {"request": request, "auth": None, "responses": responses,
             "app_form": {"key": "k1"}, "campaign_values": {"to": "{{UserAttribute['to']}}"},
             "secrets": ("k1",), **changes}
    return delivery.Plan({"id": "c1"}, "CONNECTED_APP", **parts)


def test_a_send_signature_covers_every_input_of_a_request_and_refuses_the_clock():
    """What a reused request (``delivery._BUILT``) depends on: the same inputs give the same
    signature; another connection value (an OAuth token), secret or field value another one;
    any template with a filter (which may read the clock), none."""
    signature = delivery._signature(_plan())
    assert signature is not None and delivery._signature(_plan()) is signature
    assert len({signature, delivery._signature(_plan(app_form={"key": "k2"})),
                delivery._signature(_plan(secrets=("k2",))),
                delivery._signature(_plan(campaign_values={"to": "{{UserAttribute.phone}}"}))}
               ) == 4
    clock = "{{'2026-12-01'|days}}"
    assert delivery._signature(_plan(campaign_values={"to": clock})) is None
    responses = _plan().responses
    responses[0]["actions"][0]["config"]["attributes"][0]["value"] = clock
    assert delivery._signature(_plan(responses=responses)) is None
    assert delivery._signature(_plan(request={**_plan().request, "url": "http://p.test/{{x|e}}"})
                               ) is None


def test_a_send_signature_tells_infinities_and_nan_apart():
    """Review finding: orjson writes inf, -inf and NaN all as null, so campaigns differing only
    in such a number field value shared a signature, and one's requests went for the other's."""
    signatures = {delivery._signature(_plan(campaign_values={"to": "x", "amount": value}))
                  for value in (float("inf"), float("-inf"), float("nan"), None)}
    assert len(signatures) == 4 and None not in signatures


@pytest.mark.parametrize("bound", [{"max_entries": 2}, {"max_bytes": 2 * 1600 + 100}])
def test_reused_requests_are_kept_up_to_a_count_and_a_size(monkeypatch, bound):
    """At most so many requests, and so many bytes, are kept; past either the store starts
    over (review finding: 20,000 requests of 12 KB bodies held ~540 MB)."""
    monkeypatch.setattr(delivery, "_BUILT", delivery._Kept(**bound))
    plan = _plan()
    plan.signature = delivery._signature(plan)
    plan.config_request = delivery.outbound.ConfigRequest(plan.request, None, {})
    plan.app_namespace = templating.form_namespace(plan.app_form)
    plan.campaign_templates = [(k, templating.compiled(v)) for k, v in plan.campaign_values.items()]
    plan.standard, plan.standard_json = {}, "{}"
    users = [(n, f"u{n}", {"to": f"+{n}"}) for n in (1, 2, 3)]
    answers = _Answers([HttpResult(200, {}, b"ok")] * 3)
    for _ in range(2):
        rows, _ = delivery.send_batch(plan, templating.Renderer(NOW), answers, users, NOW, 0)
        assert [json.loads(json.loads(row[6])["body"])["to"] for row in rows] == ["+1", "+2", "+3"]
        assert len(delivery._BUILT.entries) <= 2


def test_a_kept_users_judging_is_used_again_only_for_the_same_matched_entries(monkeypatch):
    """A kept request keeps its last judging of the response (decisions.md, Sending), and
    uses it again only for the very same actions: those of the same signature, matched
    response entries and status (``_Kept.actions``). Two answers with one status that match
    different entries (spec §2.6) create each entry's own event."""
    monkeypatch.setattr(delivery, "_BUILT", delivery._Kept())

    def entry(state: str, event: str) -> dict:
        return {"evaluation_criteria": {"filter_operator": "and", "filters": [
            {"name": "response_body", "data_type": "object", "filter_operator": "and",
             "filters": [{"name": "state", "data_type": "string", "operator": "is",
                          "value": state}]}]},
            "actions": [{"type": "CREATE_EVENT", "config": {
                "event": {"name": event},
                "attributes": [{"key": "to", "value": "{{UserAttribute.to}}"}]}}]}

    plan = _plan(responses=[entry("ok", "Delivered"), entry("queued", "Queued")])
    plan.signature = delivery._signature(plan)
    plan.config_request = delivery.outbound.ConfigRequest(plan.request, None, {})
    plan.app_namespace = templating.form_namespace(plan.app_form)
    plan.campaign_templates = [(k, templating.compiled(v)) for k, v in plan.campaign_values.items()]
    plan.standard, plan.standard_json = {}, "{}"
    users = [(n, f"u{n}", {"to": f"+{n}"}) for n in (1, 2)]
    sent = []
    for state in ("ok", "queued", "ok"):
        answers = _Answers([HttpResult(200, {}, json.dumps({"state": state}).encode())] * 2)
        _, (events, _) = delivery.send_batch(plan, templating.Renderer(NOW), answers, users,
                                             NOW, 0)
        sent.append([(row[1], json.loads(row[3])) for row in events])
    assert sent == [[("Delivered", {"to": "+1"}), ("Delivered", {"to": "+2"})],
                    [("Queued", {"to": "+1"}), ("Queued", {"to": "+2"})],
                    [("Delivered", {"to": "+1"}), ("Delivered", {"to": "+2"})]]
    actions = {id(built.judged[0]) for built in delivery._BUILT.entries.values()}
    assert len(actions) == 1  # the third batch's judging is the first's actions again
    assert delivery._BUILT.actions(plan.signature, plan.responses, [0], 200) is \
        next(iter(delivery._BUILT.entries.values())).judged[0]


def test_a_kept_users_fallback_outcome_follows_each_status(monkeypatch):
    """No entry matches (the fallback, spec §2.6): 200 is Sent, 503 Failed, for the same
    (empty) matched entries; the status in the actions' interning key tells them apart
    (review finding)."""
    monkeypatch.setattr(delivery, "_BUILT", delivery._Kept())
    never = {"evaluation_criteria": {"filter_operator": "and", "filters": [
        {"name": "response_body", "data_type": "object", "filter_operator": "and",
         "filters": [{"name": "state", "data_type": "string", "operator": "is",
                      "value": "never"}]}]}, "actions": []}
    plan = _plan(responses=[never])
    plan.signature = delivery._signature(plan)
    plan.config_request = delivery.outbound.ConfigRequest(plan.request, None, {})
    plan.app_namespace = templating.form_namespace(plan.app_form)
    plan.campaign_templates = [(k, templating.compiled(v)) for k, v in plan.campaign_values.items()]
    plan.standard, plan.standard_json = {}, "{}"
    users = [(1, "u1", {"to": "+1"})]
    outcomes = []
    for status in (200, 503, 200):
        rows, _ = delivery.send_batch(plan, templating.Renderer(NOW),
                                      _Answers([HttpResult(status, {}, b"{}")]), users, NOW, 0)
        outcomes.append((rows[0][3], rows[0][4]))
    assert outcomes == [("sent", None), ("failed", "http:503"), ("sent", None)]
