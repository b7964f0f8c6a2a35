"""No input gives a 500: one test per root cause the fuzzing of issue 19 found, each answered
with the edge's own error body naming the JSON path, and nothing stored."""

import pytest

from simulator.core import json_input

from .conftest import KEY, WORKSPACE, basic

DEEP = b"[" * 10_000 + b"]" * 10_000
JSON = {"Content-Type": "application/json"}


def _our_error(response, status: int, path: str) -> None:
    assert response.status_code == status, response.json
    assert path in [e["path"] for e in response.json["errors"]], response.json


@pytest.mark.parametrize("raw, path, words", [
    (DEEP, "body", "nested deeper than 64"),
    (b'{"a": ' * 65 + b"1" + b"}" * 65, "a." * 63 + "a", "nested deeper than 64"),
    (b'{"seconds": NaN}', "seconds", "NaN"),
    (b'{"seconds": -Infinity}', "seconds", "Infinity"),
    (b'{"seconds": 1e400}', "seconds", "finite"),
    (b'{"ids": [1, 9223372036854775808]}', "ids[1]", "64 bits"),
    (b'{"name": "\\ud800x"}', "name", "surrogate"),
    (b'{"\\udfff": 1}', "body", "surrogate"),
    (b'{"a": ', "body", "not JSON"),
])
def test_one_decoding_point_rules(raw, path, words):
    with pytest.raises(json_input.MalformedJson) as caught:
        json_input.decode(raw)
    assert caught.value.path == path and words in caught.value.message
    assert caught.value.status == 400


def test_deep_json_is_400_on_every_edge(client, auth):
    _our_error(client.post("/api/campaigns", data=DEEP, headers=JSON), 400, "body")
    _our_error(client.post("/_sim/clock/advance", data=DEEP, headers=JSON), 400, "body")
    moe = client.post(f"/v1/customer/{WORKSPACE}", data=DEEP, headers={**auth, **JSON})
    assert moe.status_code == 400 and moe.json["error"]["type"] == "Malformed JSON"
    stats = client.post("/core-services/v1/campaign-stats", data=DEEP,
                        headers={**basic(WORKSPACE, KEY), "MOE-APPKEY": WORKSPACE, **JSON})
    assert stats.status_code == 400 and set(stats.json) == {"title", "description", "code"}


def test_nan_and_infinity_on_the_clock_are_400_and_the_clock_stays(client):
    before = client.get("/_sim/clock").json["now"]
    _our_error(client.post("/_sim/clock/advance", data=b'{"seconds": NaN}', headers=JSON),
               400, "seconds")
    _our_error(client.post("/_sim/clock/advance", data=b'{"seconds": Infinity}', headers=JSON),
               400, "seconds")
    assert client.get("/_sim/clock").json["now"] == before


@pytest.mark.parametrize("url, status, path", [
    ("/api/apps/99999999999999999999", 404, None),
    ("/api/connectors/99999999999999999999/versions/1", 404, None),
    ("/api/users?after=99999999999999999999", 400, "after"),
    ("/api/events?after=-1", 400, "after"),
    ("/api/events?limit=99999999999999999999", 400, "limit"),
    ("/_sim/deliveries?after=99999999999999999999", 400, "after"),
    ("/_sim/deliveries?limit=x", 400, "limit"),
    ("/api/connections?connector_id=99999999999999999999", 400, "connector_id"),
    ("/api/users/u1/events?after=99999999999999999999:1", 400, "after"),
])
def test_ids_and_cursors_beyond_64_bits_are_client_errors(client, url, status, path):
    response = client.get(url)
    assert response.status_code == status, response.json
    assert set(response.json) == {"code", "message", "errors"}
    if path:
        assert [e["path"] for e in response.json["errors"]] == [path]


def test_lone_surrogates_are_refused_and_nothing_stored(client, auth):
    _our_error(client.post("/api/apps", data=b'{"name": "\\ud800x", "type": "CHANNEL"}',
                           headers=JSON), 400, "name")
    assert client.get("/api/apps").json["apps"] == []
    moe = client.post(f"/v1/customer/{WORKSPACE}", headers={**auth, **JSON},
                      data=b'{"type": "customer", "customer_id": "\\ud800x"}')
    assert moe.status_code == 400
    assert moe.json["error"]["type"] == "Malformed JSON"
    assert moe.json["error"]["attribute"] == "customer_id"
    assert client.get("/api/users").json["total"] == 0


@pytest.mark.parametrize("change, path", [
    ({"campaign_content": "x"}, "campaign_content"),
    ({"basic_details": {}}, "basic_details.name"),
    ({"basic_details": "x"}, "basic_details"),
    ({"test_campaign_meta": {"identifier": "ID", "identifier_values": "a"}},
     "test_campaign_meta.identifier_values"),
])
def test_wrong_types_on_the_test_send_are_422_naming_the_field(client, change, path):
    body = {"request_id": "r1", "created_by": "a@b.c", "channel": "CONNECTED_APP",
            "campaign_delivery_type": "ONE_TIME", "basic_details": {"name": "Hello there"},
            "campaign_content": {"content": {"connected_app": {"connector_id": 1,
                                                                "connection_id": 1}}},
            "test_campaign_meta": {"identifier": "ID", "identifier_values": ["a"]}, **change}
    _our_error(client.post("/api/campaigns/test", json=body), 422, path)
    if not path.startswith("test_campaign_meta"):
        _our_error(client.post("/api/campaigns", json=body), 422, path)
    assert client.get("/api/campaigns").json["campaigns"] == []


def test_the_clock_is_bounded_and_stays_usable(client):
    _our_error(client.post("/_sim/clock/advance", json={"to": "9999-12-31T00:00:00Z"}), 400, "to")
    _our_error(client.post("/_sim/clock", json={"mode": "virtual",
                                                "now": "9999-12-31T00:00:00Z"}), 400, "now")
    _our_error(client.post("/_sim/clock/advance", json={"seconds": 10 ** 12}), 400, "seconds")
    client.post("/_sim/clock/advance", json={"to": "8999-12-31T00:00:00Z"})
    _our_error(client.post("/_sim/clock/advance", json={"seconds": 86400 * 2}), 400, "seconds")
    later = client.post("/_sim/clock/advance", json={"seconds": 60})
    assert later.status_code == 200 and later.json["to"] == "8999-12-31T00:01:00.000Z"


@pytest.mark.parametrize("route, path, key", [
    ("/_sim/snapshot", "", "path"),
    ("/_sim/snapshot", "a\0b", "path"),
    ("/_sim/snapshot/restore", "a\0b", "path"),
    ("/_sim/snapshot/restore", "", "path"),
])
def test_empty_or_nul_snapshot_paths_are_400_without_server_paths(client, tmp_path, route,
                                                                  path, key):
    response = client.post(route, json={"path": path})
    _our_error(response, 400, key)
    assert str(tmp_path) not in response.get_data(as_text=True)
    assert "/" not in response.json["message"]


def test_events_total_counts_the_named_events_only(client, auth):
    for name in ("A", "A", "B"):
        client.post(f"/v1/event/{WORKSPACE}", headers=auth, json={
            "type": "event", "customer_id": "u1", "actions": [{"action": name}]})
    assert client.get("/api/events?name=A").json["total"] == 2
    assert client.get("/api/events?name=C").json["total"] == 0
    assert client.get("/api/events").json["total"] == 3


def test_sink_records_and_filters_take_any_body(client):
    """A partner-side body moesim only records (the sink) or a filter value is read by the
    same decoding point: not JSON by its rules means no ``json`` view, never a 500."""
    assert client.post("/_sim/sink/s", data=DEEP, headers=JSON).status_code == 200
    assert client.post("/_sim/sink/s", data=b'{"a": NaN}', headers=JSON).status_code == 200
    recorded = client.get("/_sim/sinks/s").json["requests"]
    assert [r["json"] for r in recorded] == [None, None]
    deep_filter = "[" * 5000 + "]" * 5000
    assert client.get(f"/_sim/sinks/s?json.a={deep_filter}").json["requests"] == []


def test_deep_json_on_the_other_paths_is_a_value_error_not_a_crash():
    """The import files and a rendered JSON body go through ``jsontext.loads``: too deep for
    either parser is the ``ValueError`` their callers report (a file line, a user's Unknown)."""
    from simulator.core import jsontext
    with pytest.raises(ValueError, match="nested too deep"):
        jsontext.loads("[" * 5000 + "]" * 5000)


@pytest.mark.parametrize("path", ["", "  ", "a\0b"])
def test_the_store_refuses_unusable_snapshot_paths_for_every_caller(path, tmp_path):
    """The CLI reaches the store without the HTTP edge's confinement: the same 400-class error,
    naming the path, before any file system call."""
    from simulator.core.errors import ConfigError
    from simulator.store import snapshots
    with pytest.raises(ConfigError) as refused:
        snapshots.export_file(str(tmp_path / "missing.db"), path)
    assert refused.value.path == "path" and str(tmp_path) not in refused.value.message
