"""The moesim CLI: import with Data API semantics; serve end to end over real sockets."""

import json

import requests
from click.testing import CliRunner

from simulator.cli import main

from .conftest import basic


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _users(db):
    import sqlite3
    with sqlite3.connect(db) as conn:
        return {cid: json.loads(attrs) for cid, attrs in
                conn.execute("SELECT customer_id, attrs FROM users")}


def _events(db):
    import sqlite3
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, ts FROM events ORDER BY id").fetchall()


def test_import_users_jsonl_csv_and_json(tmp_path):
    db = str(tmp_path / "i.db")
    (tmp_path / "u.jsonl").write_text(
        '{"customer_id": "a", "first_name": "Ann", "points": 3}\n'
        '{"type": "customer", "customer_id": "b", "attributes": {"email": "b@x.io"}}\n')
    (tmp_path / "u.csv").write_text("customer_id,first_name,vip,score\nc,Cy,true,4.5\n")
    (tmp_path / "u.json").write_text(json.dumps([{"customer_id": "d", "plan": "pro"}]))
    for name in ("u.jsonl", "u.csv", "u.json"):
        result = _run("import", "users", str(tmp_path / name), "--db", db)
        assert result.exit_code == 0, result.output
    users = _users(db)
    assert users["a"]["u_fn"] == "Ann" and users["a"]["points"] == 3
    assert users["b"]["u_em"] == "b@x.io"
    assert users["c"]["vip"] is True and users["c"]["score"] == 4.5
    assert users["d"]["plan"] == "pro"


def test_import_events_flat_and_payload_rows(tmp_path):
    db = str(tmp_path / "e.db")
    (tmp_path / "e.jsonl").write_text(
        '{"customer_id": "a", "action": "Purchase", "current_time": "2026-01-01T00:00:00Z",'
        ' "attributes": {"cartValue": 10}}\n'
        '{"type": "event", "customer_id": "a", "actions": [{"action": "App Opened",'
        ' "current_time": 1767225600}]}\n')
    result = _run("import", "events", str(tmp_path / "e.jsonl"), "--db", db)
    assert result.exit_code == 0, result.output
    assert "2 event(s)" in result.output
    assert _events(db) == [("Purchase", 1767225600000), ("App Opened", 1767225600000)]


def test_import_with_a_bad_row_stores_nothing_and_names_line_and_field(tmp_path):
    db = str(tmp_path / "bad.db")
    (tmp_path / "e.jsonl").write_text(
        '{"customer_id": "a", "action": "Purchase"}\n'
        '{"customer_id": "a", "action": "X", "current_time": "tomorrow-ish"}\n'
        '{not json\n')
    result = CliRunner().invoke(main, ["import", "events", str(tmp_path / "e.jsonl"), "--db", db])
    assert result.exit_code == 1
    assert "e.jsonl:2: current_time" in result.output
    assert "e.jsonl:3" in result.output
    assert _events(db) == []
    skipped = CliRunner().invoke(main, ["import", "events", str(tmp_path / "e.jsonl"), "--db", db,
                                        "--skip-invalid"])
    assert skipped.exit_code == 1 and [n for n, _ in _events(db)] == ["Purchase"]


def test_import_unknown_file_type_is_a_clear_error(tmp_path):
    (tmp_path / "u.xml").write_text("<u/>")
    result = CliRunner().invoke(main, ["import", "users", str(tmp_path / "u.xml"),
                                       "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "unknown file type '.xml'" in result.output


def test_must_show_serve_with_env_credentials(serve, tmp_path):
    """The foundation issue's must-show, over real HTTP against `moesim serve`."""
    server = serve("--db", str(tmp_path / "x.db"), "--fixtures", "none",
                   env={"MOESIM_WORKSPACE_ID": "W1", "MOESIM_DATA_API_KEY": "K1"})
    assert server.banner.startswith("moesim serving on http://127.0.0.1:")
    auth = basic("W1", "K1")
    customer = {"type": "customer", "customer_id": "john@example.com",
                "attributes": {"name": "JohnDoe", "first_name": "John", "points": 20,
                               "expiry_date": "2020-05-31T03:47:35Z", "super_user": True}}
    event = {"type": "event", "customer_id": "john@example.com", "actions": [
        {"action": "Flight Booked", "attributes": {"price": 3999,
                                                   "departure_date": "2019-05-21T03:47:35Z"},
         "platform": "iOS", "current_time": 1433837969}]}
    assert requests.post(f"{server.url}/v1/customer/W1", json=customer, headers=auth,
                         timeout=5).status_code == 200
    assert requests.post(f"{server.url}/v1/event/W1", json=event, headers=auth,
                         timeout=5).status_code == 200
    user = requests.get(f"{server.url}/api/users/john@example.com", timeout=5).json()
    assert user["attributes"]["points"] == 20
    assert user["attribute_types"]["expiry_date"] == "datetime"
    assert user["attribute_types"]["super_user"] == "bool"
    [booked] = requests.get(f"{server.url}/api/users/john@example.com/events", timeout=5).json()
    assert booked["attributes"]["departure_date"] == "2019-05-21T03:47:35.000Z"
    wrong = requests.post(f"{server.url}/v1/customer/W1", json=customer,
                          headers=basic("W1", "nope"), timeout=5)
    assert wrong.status_code == 401 and wrong.json()["status"] == "fail"
    big = requests.post(f"{server.url}/v1/customer/W1", data=b"x" * 200_000,
                        headers={**auth, "Content-Type": "application/json"}, timeout=5)
    assert big.status_code == 413 and big.json()["error"]["type"] == "PayloadTooLarge"
    # the sink answers over real HTTP too
    requests.put(f"{server.url}/_sim/sinks/p", json={"fail_next": {"count": 1, "status": 502}},
                 timeout=5)
    assert requests.post(f"{server.url}/_sim/sink/p/send", json={}, timeout=5).status_code == 502
    assert requests.post(f"{server.url}/_sim/sink/p/send", json={}, timeout=5).status_code == 200


def test_large_event_import_streams_in_chunks_with_a_late_index(tmp_path, monkeypatch):
    """The bulk path (chunk after chunk, index dropped and rebuilt) stores the same thing,
    names bad lines across chunks, and a failed bulk import leaves the index in place (the
    drop rolls back)."""
    import sqlite3

    from simulator.services import importer
    from simulator.store import events as events_table

    monkeypatch.setattr(importer, "CHUNK", 20)
    monkeypatch.setattr(events_table, "bulk_load", _small_bulk_load(events_table.bulk_load))
    rows = [json.dumps({"customer_id": f"u{i % 7}", "action": "Purchase",
                        "current_time": 1767225600 + i, "attributes": {"n": i}})
            for i in range(400)]
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(rows) + "\n")
    db = str(tmp_path / "bulk.db")
    assert _run("import", "events", str(good), "--db", db).exit_code == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT user_id) FROM events").fetchone() \
            == (400, 7)
        assert [r[0] for r in conn.execute("SELECT json_extract(attrs, '$.n') FROM events "
                                           "ORDER BY id")] == list(range(400))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(rows[:30] + ["{not json"] + rows[30:300] + ['{"customer_id": "x"}']
                             + rows[300:]) + "\n")
    result = CliRunner().invoke(main, ["import", "events", str(bad), "--db", db])
    assert result.exit_code == 1 and "bad.jsonl:302: action" in result.output
    assert "bad.jsonl:31: malformed JSON" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (400,)
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                            "'ix_events_name_user_ts'").fetchone() == (1,)


def _small_bulk_load(original):
    def bulk_load(db, expected_rows):
        return original(db, max(expected_rows, 10_000_000))
    return bulk_load


def test_serve_has_a_flag_per_setting_parsed_like_the_environment():
    from simulator.core.settings import SETTINGS

    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert all("--" + s.name.replace("_", "-") in help_text for s in SETTINGS)
    bad = CliRunner().invoke(main, ["serve", "--send-timeout-s", "soon"])
    assert bad.exit_code == 2 and "--send-timeout-s" in bad.output
