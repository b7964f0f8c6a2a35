"""``UserAttribute['ID']`` in a real campaign send (spec §7 table: ``uid``, display name ID,
the customer id): every user gets their own id, none fails with personalization:User Attribute.
"""

import json

import requests

from .test_campaigns import _campaign, _connected_app, _users


def test_user_attribute_id_in_a_connected_app_send(client, auth, partner):
    _users(client, auth, 3)
    connector_id, connection_id = _connected_app(client, partner)
    body = _campaign(connector_id, connection_id)
    body["campaign_content"]["content"]["connected_app"]["inputs"]["receiver_id"] = \
        "{{UserAttribute['ID']}}"
    assert client.post("/api/campaigns", json=body).status_code == 201
    assert client.post("/_sim/run-due").json["ran"][0]["sent"] == 3
    records = requests.get(f"{partner}/_sim/sinks/acme", timeout=5).json()["requests"]
    assert sorted(json.loads(r["body"])["to"] for r in records) == ["u0", "u1", "u2"]
