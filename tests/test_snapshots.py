"""Snapshots (issue 6 part 6): export, reset, import gives the same users, events, campaigns and
schedules; exports are atomic; imports are checked; ``moesim serve --snapshot`` starts from one."""

import os
import sqlite3

import pytest
import requests
from click.testing import CliRunner

from simulator.cli import main
from simulator.store import snapshots as snapshot_files

from .conftest import WORKSPACE
from .test_campaigns import _campaign, _connected_app, _users


def _tables(ctx) -> dict:
    """Every row of every table (the migrations' bookkeeping and the id epoch apart: a restore
    moves ids to a new epoch, core.ids)."""
    with ctx.store.read() as db:
        names = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != '_sqlite_migrations' ORDER BY name")]
        return {name: sorted(db.execute(f"SELECT * FROM [{name}]"
                                        + (" WHERE key != 'id_epoch'" if name == "meta" else "")
                                        ).fetchall(), key=repr)
                for name in names}


def _advance(client, to):
    response = client.post("/_sim/clock/advance", json={"to": to})
    assert response.status_code == 200, response.json
    # a restore moves the id source to a new epoch (ids never repeat): instance ids compared
    # apart
    return [{k: v for k, v in job.items() if k != "instance_id"}
            for job in response.json["ran"]]


@pytest.fixture
def workspace(client, auth, partner):
    """Users, events, a periodic campaign with one instance sent and two pending, at 10:00 on
    the 23rd (virtual)."""
    _users(client, auth, 3)
    client.post(f"/v1/event/{WORKSPACE}", headers=auth, json={
        "type": "event", "customer_id": "u1", "actions": [{"action": "Signed Up",
                                                           "attributes": {"plan": "pro"}}]})
    ids = _connected_app(client, partner)
    body = _campaign(*ids, campaign_delivery_type="PERIODIC", scheduling_details={
        "delivery_type": "AT_FIXED_TIME", "start_time": "2026-11-23T09:00:00",
        "periodic_details": {"sending_frequency": "DAILY", "repeat_frequency": 1,
                             "no_of_occurences": 3}})
    campaign_id = client.post("/api/campaigns", json=body).json["campaign_id"]
    _advance(client, "2026-11-23T10:00:00Z")
    return campaign_id


def test_must_show_snapshot_round_trip_export_reset_import(client, ctx, workspace, tmp_path):
    campaign_id = workspace
    schedule = client.get(f"/api/campaigns/{campaign_id}/schedule?count=5").json
    assert schedule["next"] == ["2026-11-24T09:00:00.000Z", "2026-11-25T09:00:00.000Z"]
    before = _tables(ctx)
    assert len(before["users"]) == 3 and before["events"] and before["jobs"]
    path = str(tmp_path / "snap.db")
    exported = client.post("/_sim/snapshot", json={"path": path})
    assert exported.status_code == 200, exported.json
    assert exported.json["now"] == "2026-11-23T10:00:00.000Z"
    assert exported.json["bytes"] == os.path.getsize(path)

    # what the original does next
    original_runs = _advance(client, "2026-11-26T00:00:00Z")
    # rows are stored as responses come in: compared in send-time order
    original_log = sorted((d["time"], d["customer_id"], d["status"]) for d in
                          client.get("/_sim/deliveries?limit=1000").json["deliveries"])

    client.post("/_sim/reset")
    assert client.get("/api/users").json["users"] == []

    restored = client.post("/_sim/snapshot/restore", json={"path": path})
    assert restored.status_code == 200, restored.json
    assert restored.json["now"] == "2026-11-23T10:00:00.000Z"
    assert _tables(ctx) == before  # same users, events, campaigns, jobs, connections, ...
    assert client.get(f"/api/campaigns/{campaign_id}/schedule?count=5").json == schedule
    assert client.get("/_sim/clock").json == {"mode": "virtual",
                                              "now": "2026-11-23T10:00:00.000Z"}

    # and it fires exactly as the original did
    assert _advance(client, "2026-11-26T00:00:00Z") == original_runs
    assert [r.get("instance") for r in original_runs if r["kind"] == "periodic_instance"] == [
        2, 3]
    assert sorted((d["time"], d["customer_id"], d["status"]) for d in client.get(
        "/_sim/deliveries?limit=1000").json["deliveries"]) == original_log
    assert client.get(f"/api/campaigns/{campaign_id}").json["status"] == "SENT"


def test_snapshot_download_and_upload(client, ctx, workspace):
    before = _tables(ctx)
    download = client.post("/_sim/snapshot")
    assert download.status_code == 200
    assert download.mimetype == "application/octet-stream"
    assert download.data.startswith(b"SQLite format 3\x00")
    client.post("/_sim/reset")
    upload = client.post("/_sim/snapshot/restore", data=download.data,
                         content_type="application/octet-stream")
    assert upload.status_code == 200, upload.json
    assert _tables(ctx) == before


def test_export_is_atomic_when_the_copy_fails_midway(client, workspace, tmp_path, monkeypatch):
    path = tmp_path / "snap.db"
    assert client.post("/_sim/snapshot", json={"path": str(path)}).status_code == 200
    old = path.read_bytes()
    client.post(f"/v1/customer/{WORKSPACE}", json={"type": "customer", "customer_id": "new"})

    def crash(source, target):
        target.execute("CREATE TABLE half (x)")  # the temporary file has been written to
        raise OSError("disk full")

    monkeypatch.setattr(snapshot_files, "_copy", crash)
    response = client.post("/_sim/snapshot", json={"path": str(path)})
    assert response.status_code == 500 and "disk full" in response.json["message"]
    assert path.read_bytes() == old  # the previous snapshot, untouched
    assert sorted(os.listdir(tmp_path)) == sorted([
        "snap.db", "moesim.db", "moesim.db-wal", "moesim.db-shm",
        "moesim.db-reset"])  # no temporary left (the reset point lives beside the database)


def test_export_never_replaces_a_file_that_is_not_a_snapshot(client, ctx, tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    response = client.post("/_sim/snapshot", json={"path": str(precious)})
    assert response.status_code == 400 and "not a moesim snapshot" in response.json["message"]
    assert precious.read_text() == "keep me"
    live = client.post("/_sim/snapshot", json={"path": ctx.store.path})
    assert live.status_code == 400 and "live database" in live.json["message"]
    assert client.post("/_sim/snapshot", json={"file": "x"}).status_code == 400


def _sqlite_file(path, *statements):
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return str(path)


def test_import_of_a_non_moesim_file_is_a_clear_error_and_changes_nothing(
        client, ctx, workspace, tmp_path):
    before = _tables(ctx)
    text = tmp_path / "users.csv"
    text.write_text("customer_id\nu1\n" * 100)
    other = _sqlite_file(tmp_path / "other.db", "CREATE TABLE t (x)")
    good = str(tmp_path / "good.db")
    client.post("/_sim/snapshot", json={"path": good})
    newer = tmp_path / "newer.db"
    newer.write_bytes(open(good, "rb").read())
    _sqlite_file(newer, "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                        "VALUES ('moesim', 'm999_from_the_future', '2030')")
    for path, why in ((text, "file is not a database"), (other, "no moesim schema"),
                      (newer, "newer moesim"), (tmp_path / "missing.db", "no snapshot file")):
        response = client.post("/_sim/snapshot/restore", json={"path": str(path)})
        assert response.status_code in (400, 422), response.json
        assert why in response.json["message"], response.json
    garbage = client.post("/_sim/snapshot/restore", data=b"not sqlite",
                          content_type="application/octet-stream")
    assert garbage.status_code == 422 and "not a moesim snapshot" in garbage.json["message"]
    assert _tables(ctx) == before


def test_snapshot_from_an_older_moesim_is_migrated_on_import(client, ctx, tmp_path):
    from sqlite_utils import Database

    from simulator.store.migrations import MIGRATIONS

    old = tmp_path / "old.db"
    db = Database(str(old))
    MIGRATIONS.apply(db, stop_before="m007_campaign_versions_instances")
    db.execute("INSERT INTO users (customer_id, attrs, created_at, updated_at) "
               "VALUES ('old', '{}', 0, 0)")
    db.conn.commit()
    db.close()
    assert client.post("/_sim/snapshot/restore", json={"path": str(old)}).status_code == 200
    assert [u["customer_id"] for u in client.get("/api/users").json["users"]] == ["old"]
    with ctx.store.read() as live:
        columns = {c.name for c in live["campaigns"].columns}
    assert "parent_id" in columns  # m007 applied to the imported copy


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_export_and_import_snapshot_offline(client, ctx, workspace, tmp_path):
    before = _tables(ctx)
    snap = str(tmp_path / "cli.db")
    result = _cli("export", snap, "--db", ctx.store.path)
    assert result.exit_code == 0, result.output
    other_db = str(tmp_path / "other.db")
    result = _cli("import-snapshot", snap, "--db", other_db)
    assert result.exit_code == 0, result.output
    copy = sqlite3.connect(other_db)
    assert copy.execute("SELECT count(*) FROM users").fetchone()[0] == len(before["users"])
    assert copy.execute("SELECT count(*) FROM jobs").fetchone()[0] == len(before["jobs"])
    copy.close()
    bad = _cli("import-snapshot", str(tmp_path / "nope.db"), "--db", other_db)
    assert bad.exit_code == 1 and bad.output.startswith("error: no snapshot file at")
    (tmp_path / "x.txt").write_text("hello")
    bad = _cli("import-snapshot", str(tmp_path / "x.txt"), "--db", other_db)
    assert bad.exit_code == 1 and "is not a moesim snapshot" in bad.output
    assert len(bad.output.strip().splitlines()) <= 2


def test_serve_from_a_snapshot_resumes_its_data_and_clock(serve, tmp_path, client, workspace):
    snap = str(tmp_path / "serve.db")
    assert client.post("/_sim/snapshot", json={"path": snap}).status_code == 200
    server = serve("--snapshot", snap, "--db", str(tmp_path / "served.db"),
                   "--fixtures", "bundled")
    users = requests.get(f"{server.url}/api/users", timeout=5).json()["users"]
    assert sorted(u["customer_id"] for u in users) == ["u0", "u1", "u2"]  # no fixtures loaded
    assert requests.get(f"{server.url}/_sim/clock", timeout=5).json() == {
        "mode": "virtual", "now": "2026-11-23T10:00:00.000Z"}
    # the CLI against the running server: export, change, import back
    again = str(tmp_path / "again.db")
    result = _cli("export", again, "--url", server.url)
    assert result.exit_code == 0, result.output
    requests.post(f"{server.url}/_sim/clock/advance", json={"seconds": 86400}, timeout=30)
    result = _cli("import-snapshot", again, "--url", server.url)
    assert result.exit_code == 0, result.output
    assert "2026-11-23T10:00:00.000Z" in result.output
    assert requests.get(f"{server.url}/_sim/clock", timeout=5).json()["now"] == \
        "2026-11-23T10:00:00.000Z"


def test_snapshots_and_waits_are_per_workspace(client, tmp_path):
    assert client.post("/_sim/workspaces", json={"id": "ci-7"}).status_code == 201
    client.post("/_ws/ci-7/_sim/sink/s", json={"a": 1})
    assert client.get("/_ws/ci-7/_sim/sinks/s/wait?timeout=0").json["matched"] == 1
    assert client.get("/_sim/sinks/s/wait?timeout=0").json["matched"] == 0
    snap = str(tmp_path / "ws.db")
    assert client.post("/_ws/ci-7/_sim/snapshot", json={"path": snap}).status_code == 200
    client.delete("/_ws/ci-7/_sim/sinks/s")
    assert client.post("/_ws/ci-7/_sim/snapshot/restore", json={"path": snap}).status_code == 200
    assert len(client.get("/_ws/ci-7/_sim/sinks/s").json["requests"]) == 1
    assert client.get("/_sim/sinks/s").json["requests"] == []


def test_serve_from_a_file_that_is_not_a_snapshot_exits_with_one_line(tmp_path):
    (tmp_path / "x.db").write_text("not a database")
    result = _cli("serve", "--snapshot", str(tmp_path / "x.db"), "--db", str(tmp_path / "s.db"),
                  "--port", "0")
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "is not a moesim snapshot" in result.output


def test_a_snapshot_restores_into_a_database_of_another_page_size(tmp_path):
    """Files made before moesim chose 16 KB pages keep 4 KB ones; a snapshot restores into
    either (SQLite copies pages into a WAL database only of its own size)."""
    import sqlite3

    from simulator.store.database import Store
    from simulator.store.snapshots import export, restore

    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA page_size=4096")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    live = Store(str(old))
    live.migrate()
    new = Store(str(tmp_path / "new.db"))
    new.migrate()
    assert (live.page_size(), new.page_size()) == (4096, 16384)
    with new.write() as db:
        db.execute("INSERT INTO users (customer_id, attrs, created_at, updated_at) "
                   "VALUES ('sixteen', '{}', 0, 0)")
    export(new, str(tmp_path / "snap.db"))
    restore(live, str(tmp_path / "snap.db"))
    with live.read() as db:
        assert db.execute("SELECT customer_id FROM users").fetchall() == [("sixteen",)]
    assert live.page_size() == 4096
    live.close()
    new.close()
