"""Ids (issue 19 item 6): unique within a database across restarts and across workspaces, while
a new database with the same seed gives the same ids (runs repeat)."""

from simulator.app import create_app
from simulator.core.ids import IdSource

from .conftest import KEY, WORKSPACE, basic
from .test_campaigns import _campaign, _connected_app


def test_same_seed_scope_and_epoch_give_the_same_ids_and_any_change_gives_others():
    def first(source, n=50):
        return [source.campaign_id() for _ in range(n)]

    assert first(IdSource(7, "W", 1)) == first(IdSource(7, "W", 1))
    seen = set(first(IdSource(7, "W", 1)))
    for other in (IdSource(7, "W", 2), IdSource(7, "X", 1), IdSource(8, "W", 1)):
        assert seen.isdisjoint(first(other))
    source = IdSource(7, "W", 1)
    assert len({source.campaign_id() for _ in range(10_000)}) == 10_000
    assert len(source.campaign_id()) == 24 and len(source.oauth_state()) == 32
    assert source.request_id().startswith("moesim-")


def _run(settings, clock, partner, ws_prefix=""):
    """Start a server on ``settings.db``, make a campaign and two Data API calls; the ids."""
    app = create_app(settings, clock=clock)
    try:
        client = app.test_client()
        if ws_prefix:
            created = client.post("/_sim/workspaces", json={"id": ws_prefix[len("/_ws/"):]})
            assert created.status_code in (201, 409), created.json

        class Prefixed:
            def __getattr__(self, method):
                return lambda path, **kw: getattr(client, method)(ws_prefix + path, **kw)

        scoped = Prefixed()
        workspace = ws_prefix[len("/_ws/"):] or WORKSPACE
        existing = scoped.get("/api/connections").json["connections"]
        ids = (existing[0]["connector_id"], existing[0]["id"]) if existing else \
            _connected_app(scoped, partner)
        campaign = scoped.post("/api/campaigns", json=_campaign(
            *ids, request_id=f"r{len(existing)}"))
        assert campaign.status_code == 201, campaign.json
        requests = [scoped.post(f"/v1/customer/{workspace}", headers=basic(workspace, KEY),
                                json={"type": "customer", "customer_id": f"u{i}"})
                    for i in range(2)]
        assert all(r.status_code == 200 for r in requests), requests[0].json
        return [campaign.json["campaign_id"], *(r.json["request_id"] for r in requests)]
    finally:
        app.extensions["moesim.workspaces"].close()
        app.extensions["moesim"].close()


def test_ids_do_not_repeat_after_a_restart_or_in_another_workspace(settings, clock, partner,
                                                                   tmp_path):
    first = _run(settings, clock, partner)
    restarted = _run(settings, clock, partner)  # the same SQLite file, a new process state
    other_workspace = _run(settings, clock, partner, ws_prefix="/_ws/ci-2")
    assert len(set(first + restarted + other_workspace)) == 9

    # a new database with the same seed makes the same ids: runs repeat
    fresh = settings.replace(db=str(tmp_path / "fresh.db"))
    assert _run(fresh, clock, partner) == first
    assert _run(settings.replace(db=str(tmp_path / "seeded.db"), seed=5), clock,
                partner) != first


def test_a_reset_or_a_restore_never_brings_back_an_id(client, ctx, tmp_path, partner):
    ids = _connected_app(client, partner)

    def campaign_id(n):
        answer = client.post("/api/campaigns", json=_campaign(*ids, request_id=f"r{n}"))
        assert answer.status_code == 201, answer.json
        return answer.json["campaign_id"]

    made = [campaign_id(1)]
    snapshot = str(tmp_path / "s.db")
    assert client.post("/_sim/snapshot", json={"path": snapshot}).status_code == 200
    made.append(campaign_id(2))
    assert client.post("/_sim/reset").status_code == 200
    ids = _connected_app(client, partner)
    made.append(campaign_id(3))
    assert client.post("/_sim/snapshot/restore", json={"path": snapshot}).status_code == 200
    made.append(campaign_id(4))
    assert len(set(made)) == 4
