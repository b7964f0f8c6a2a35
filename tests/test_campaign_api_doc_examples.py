"""MoEngage's Campaign API and Stats API examples (campaigns.yaml, stats-report.yaml) get the
bodies and wording the docs show. Fixtures: tests/data/moengage_docs/campaign_api/."""

import json
from pathlib import Path

from .test_campaigns import _campaign, _connected_app, _users
from .test_reports import SEARCH, STATS, moe_headers

DOC = json.loads((Path(__file__).parent / "data" / "moengage_docs" / "campaign_api" /
                  "examples.json").read_text())


def test_stats_report_with_campaign_ids_example_is_answered_not_refused(client):
    """stats-report.yaml "With Campaign IDs": the example's ids are not this workspace's. The
    doc documents no error for that: 200, ``response_id`` is the request id, ``total_campaigns``
    counts the ids requested, and ``data`` has no entry for an unknown id."""
    example = DOC["campaign_stats_with_campaign_ids"]
    response = client.post(STATS, json=example["request"], headers=moe_headers())
    assert response.status_code == 200, response.json
    assert set(response.json) == set(example["doc_response_top_level"]) | {"data"}
    assert response.json["response_id"] == "abc"
    assert response.json["total_campaigns"] == 3
    assert (response.json["current_page"], response.json["total_pages"]) == (1, 1)
    assert response.json["data"] == {}


def test_stats_report_without_campaign_ids_example(client):
    """stats-report.yaml "Without Campaign IDs": the campaigns active in the range."""
    response = client.post(STATS, json=DOC["campaign_stats_without_campaign_ids"]["request"],
                           headers=moe_headers())
    assert response.status_code == 200, response.json
    assert response.json["total_campaigns"] == 0 and response.json["data"] == {}


def test_campaigns_yaml_test_campaign_messages(client, auth, partner):
    """campaigns.yaml /campaigns/test 200 "partial_success": ``message`` and a missing user's
    ``failure_reason`` are the doc's words."""
    doc = DOC["test_campaign_responses"]["partial_success"]
    _users(client, auth, 1)
    connector_id, connection_id = _connected_app(client, partner)
    body = _campaign(connector_id, connection_id)
    for key in ("segmentation_details", "scheduling_details", "campaign_delivery_type"):
        body.pop(key)
    body["test_campaign_meta"] = {"identifier": "EMAIL",
                                  "identifier_values": ["jane.smith@example.com"]}
    answer = client.post("/api/campaigns/test", json=body)
    assert answer.status_code == 200, answer.json
    assert answer.json["message"] == doc["message"]
    assert answer.json["data"]["jane.smith@example.com"] == \
        doc["data"]["jane.smith@example.com"]


def test_campaign_search_writes_statuses_as_the_response_examples_do(client, auth, partner):
    """campaigns.yaml: the search filter takes ACTIVE, SCHEDULED, ... and the response
    examples write "Active", "Scheduled", "Sent" (campaign-api.md §2.4)."""
    doc = DOC["campaign_status_in_responses"]
    _users(client, auth, 1)
    connector_id, connection_id = _connected_app(client, partner)
    client.post("/api/campaigns", json=_campaign(connector_id, connection_id))
    client.post("/_sim/run-due")
    found = client.post(SEARCH, json={"request_id": "s1", "limit": 15, "page": 1,
                                      "campaign_fields": {"status": ["SENT"]}},
                        headers=moe_headers())
    assert found.status_code == 200, found.json
    [item] = found.json
    assert item["status"] == "Sent" and item["status"] in doc["response_values"]
