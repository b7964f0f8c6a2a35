"""Exposure (issue 19 item 7, docs/security.md): the admin token guards /api/, /_sim/ and every
page; beyond loopback the server refuses to start without one; snapshot paths stay inside the
snapshot folder; the MoEngage-compatible endpoints keep MoEngage's own auth."""

import base64
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from simulator.app import create_app
from simulator.core.exposure import is_loopback, presented_token

from .conftest import KEY, WORKSPACE, Server, basic

ROOT = Path(__file__).parent.parent
TOKEN = "s3cret-admin-token"


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False),
    ("example.com", False), ("192.168.1.10", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("header, token", [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"),
    ("Basic " + base64.b64encode(b"anyone:abc").decode(), "abc"),
    ("Basic " + base64.b64encode(b":abc").decode(), "abc"),
    ("Basic !!!", None), ("Token abc", None), ("", None), (None, None)])
def test_the_token_is_read_from_bearer_or_the_basic_password(header, token):
    assert presented_token(header) == token


def _bearer(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def guarded(settings, clock):
    app = create_app(settings.replace(admin_token=TOKEN), clock=clock)
    yield app.test_client()
    app.extensions["moesim.workspaces"].close()
    app.extensions["moesim"].close()


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/users"), ("GET", "/api/campaigns"), ("POST", "/api/apps"),
    ("GET", "/_sim/deliveries"), ("POST", "/_sim/reset"), ("GET", "/_sim/clock"),
    ("POST", "/_sim/snapshot"), ("GET", "/_sim/sinks/acme"), ("POST", "/_sim/workspaces"),
    ("GET", "/"), ("GET", "/dashboard"), ("GET", "/no/such/page"),
    ("GET", "/_ws/other/api/users")])
def test_every_own_route_and_page_needs_the_token(guarded, method, path):
    for headers in ({}, _bearer("wrong"), basic("admin", "wrong"), {"Authorization": "Bearer"}):
        response = guarded.open(path, method=method, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.json["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert TOKEN not in response.get_data(as_text=True)
    assert guarded.open(path, method=method, headers=_bearer()).status_code != 401
    assert guarded.open(path, method=method, headers=basic("me", TOKEN)).status_code != 401


def test_moengage_endpoints_keep_moengage_auth_and_the_sink_stays_open(guarded):
    body = {"type": "customer", "customer_id": "u1", "attributes": {"plan": "pro"}}
    assert guarded.post(f"/v1/customer/{WORKSPACE}", json=body,
                        headers=basic(WORKSPACE, KEY)).status_code == 200
    refused = guarded.post(f"/v1/customer/{WORKSPACE}", json=body, headers=_bearer())
    assert refused.status_code == 401 and refused.json["status"] == "fail"  # MoEngage's body
    assert guarded.get("/_sim/health").status_code == 200
    assert guarded.get("/_sim/ready").status_code == 200
    assert guarded.post("/_sim/sink/acme", json={"x": 1}).status_code == 200
    assert guarded.get("/_sim/sinks/acme").status_code == 401
    assert guarded.get("/_sim/sinks/acme", headers=_bearer()).json["served"] == 1


def test_snapshot_paths_are_confined_to_the_snapshot_folder(client, ctx, tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.db"
    link = tmp_path / "link"
    link.symlink_to(tmp_path.parent)
    for path in (str(outside), "../" + outside.name, str(link / outside.name), "/etc/passwd",
                 str(tmp_path)):
        for route in ("/_sim/snapshot", "/_sim/snapshot/restore"):
            response = client.post(route, json={"path": path})
            assert response.status_code == 403, (route, path, response.json)
            assert response.json["errors"][0]["path"] == "path"
    assert not outside.exists()
    for path in ("", "a\0b"):
        assert client.post("/_sim/snapshot", json={"path": path}).status_code == 400

    relative = client.post("/_sim/snapshot", json={"path": "snaps.db"})
    assert relative.status_code == 200, relative.json
    assert relative.json["path"] == str(tmp_path / "snaps.db")
    assert client.post("/_sim/snapshot/restore", json={"path": "snaps.db"}).status_code == 200


def test_a_configured_snapshot_folder(settings, clock, tmp_path):
    folder = tmp_path / "snapshots"
    folder.mkdir()
    app = create_app(settings.replace(snapshot_dir=str(folder)), clock=clock)
    try:
        client = app.test_client()
        assert client.post("/_sim/snapshot", json={"path": "a.db"}).status_code == 200
        assert (folder / "a.db").is_file()
        beside_db = client.post("/_sim/snapshot", json={"path": str(tmp_path / "b.db")})
        assert beside_db.status_code == 403
    finally:
        app.extensions["moesim.workspaces"].close()
        app.extensions["moesim"].close()


def _procfile_command() -> list[str]:
    """The Procfile's web command, run by this interpreter, with ``$PORT`` 0 (a free port)."""
    line = (ROOT / "Procfile").read_text().strip()
    args = shlex.split(line.partition("web:")[2])
    assert args[0] == "moesim"
    return [a.replace("$PORT", "0") for a in args[1:]]


def test_beyond_loopback_the_server_refuses_to_start_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MOESIM_ADMIN_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "simulator.cli", *_procfile_command(),
         "--db", str(tmp_path / "m.db"), "--fixtures", "none"],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert "MOESIM_ADMIN_TOKEN" in result.stderr and "0.0.0.0" in result.stderr
    assert not (tmp_path / "m.db").exists()  # refused before anything was created

    # with --snapshot too: the snapshot is not copied into the database first
    snapshot = tmp_path / "s.db"
    snapshot.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "simulator.cli", *_procfile_command(),
         "--db", str(tmp_path / "m.db"), "--snapshot", str(snapshot)],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1 and "MOESIM_ADMIN_TOKEN" in result.stderr
    assert not (tmp_path / "m.db").exists()


def test_the_procfile_serves_with_a_token_over_a_real_socket(tmp_path):
    command = _procfile_command()
    assert command[:3] == ["serve", "--host", "0.0.0.0"]
    server = Server(command[1:] + ["--db", str(tmp_path / "m.db"), "--fixtures", "none",
                                   "--workspace-id", WORKSPACE, "--data-api-key", KEY],
                    {"MOESIM_ADMIN_TOKEN": TOKEN})
    try:
        server.wait_ready()
        assert TOKEN not in server.banner
        session = requests.Session()
        assert session.get(server.url + "/api/users", timeout=5).status_code == 401
        assert session.get(server.url + "/", timeout=5).status_code == 401
        assert session.get(server.url + "/api/users", headers=_bearer(),
                           timeout=5).status_code == 200
        assert session.get(server.url + "/api/users", auth=("admin", TOKEN),
                           timeout=5).status_code == 200
        tracked = session.post(f"{server.url}/v1/customer/{WORKSPACE}", auth=(WORKSPACE, KEY),
                               json={"type": "customer", "customer_id": "u1"}, timeout=5)
        assert tracked.status_code == 200
        # the CLI's --url commands send the token from the environment
        cli = subprocess.run([sys.executable, "-m", "simulator.cli", "clock", "show", "--url",
                              server.url], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "MOESIM_ADMIN_TOKEN": TOKEN})
        assert cli.returncode == 0, cli.stderr
    finally:
        server.stop()
