"""A client of a running simulator: ``Moesim`` talks HTTP to it (users, events, apps,
connectors, connections, campaigns, the clock, deliveries, stats, the built-in sink), ``Sink``
is a standalone capture endpoint, and ``serve_in_process`` runs a simulator on a free loopback
port. Used by the pytest plugin and by ``moesim scenario run``.
"""

from __future__ import annotations

import base64
import json
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlencode

from .core.http import OutboundRequest
from .core.settings import Settings
from .transport import Transport

WORKSPACE, KEY = "PYTEST", "pytest-data-api-key"


class MoesimError(AssertionError):
    """moesim answered a client call with an error (``status`` None: no answer at all)."""

    def __init__(self, message: str, status: int | None = None, answer: Any = None):
        super().__init__(message)
        self.status = status
        self.answer = answer


class _Http:
    def __init__(self, base: str, timeout_s: float = 120, admin_token: str = ""):
        self.base = base.rstrip("/")
        self.admin_token = admin_token  # for /api/ and /_sim/ of a guarded server
        # assertion API answers (1,000 deliveries, all of a sink's requests) pass 64 KB
        self._transport = Transport(timeout_s=timeout_s, concurrency=1,
                                    max_body_bytes=256 * 1024 * 1024)

    def call(self, method: str, path: str, payload: Any = None,
             headers: tuple = (), raw: bytes | None = None) -> tuple[int, Any]:
        """``raw``: a JSON body sent as it is (its line numbers then mean the caller's file)."""
        body = raw if raw is not None else None if payload is None else json.dumps(
            payload).encode()
        if self.admin_token and not any(k.lower() == "authorization" for k, _ in headers):
            headers = (("Authorization", f"Bearer {self.admin_token}"), *headers)
        if body is not None:
            headers = (("Content-Type", "application/json"), *headers)
        result = self._transport.send(OutboundRequest(method, self.base + path, headers, body))
        if result.status is None:
            raise MoesimError(f"{method} {path}: no response ({result.error})")
        if result.status >= 400 and result.body and not result.body.lstrip().startswith(
                (b"{", b"[")):
            return result.status, {"message": result.body.decode("utf-8", "replace")[:500]}
        return result.status, json.loads(result.body) if result.body else None

    def ok(self, method: str, path: str, payload: Any = None, headers: tuple = (),
           raw: bytes | None = None) -> Any:
        status, answer = self.call(method, path, payload, headers, raw)
        if status >= 400:
            raise MoesimError(f"{method} {path} -> {status}: {json.dumps(answer)}", status,
                              answer)
        return answer

    def close(self) -> None:
        self._transport.close()


class Moesim:
    """A test's handle on a running simulator (Data API calls as ``workspace``/``key``)."""

    def __init__(self, base: str, workspace: str = WORKSPACE, key: str = KEY,
                 timeout_s: float = 120, admin_token: str = ""):
        self.url = base
        self.http = _Http(base, timeout_s, admin_token)
        self.workspace = workspace
        token = base64.b64encode(f"{workspace}:{key}".encode()).decode()
        self._auth = (("Authorization", f"Basic {token}"),)

    # data
    def load_users(self, users: list[dict]) -> None:
        """Flat rows (``customer_id`` plus attributes) through the Data API's bulk import."""
        elements = [{"type": "customer", "customer_id": u["customer_id"],
                     "attributes": {k: v for k, v in u.items() if k != "customer_id"}}
                    for u in users]
        self.http.ok("POST", f"/v1/transition/{self.workspace}",
                     {"type": "transition", "elements": elements}, self._auth)

    def post_event(self, customer_id: str, name: str, attributes: dict | None = None,
                   time: str | None = None) -> None:
        action = {"action": name, "attributes": attributes or {}}
        if time is not None:
            action["current_time"] = time
        self.http.ok("POST", f"/v1/event/{self.workspace}",
                     {"type": "event", "customer_id": customer_id, "actions": [action]},
                     self._auth)

    def update_user(self, customer_id: str, attributes: dict) -> None:
        """Track User (``/v1/customer``): set attributes, creating the user if new."""
        self.http.ok("POST", f"/v1/customer/{self.workspace}",
                     {"type": "customer", "customer_id": customer_id, "attributes": attributes},
                     self._auth)

    def user(self, customer_id: str) -> dict:
        return self.http.ok("GET", f"/api/users/{quote(customer_id, safe='@')}")

    # connected apps
    def create_app(self, name: str) -> int:
        return self.http.ok("POST", "/api/apps", {"name": name, "type": "CHANNEL"})["id"]

    def upload_connector(self, app_id: int, config: dict | str | Path) -> int:
        if not isinstance(config, dict):
            config = json.loads(Path(config).read_text())
        return self.http.ok("POST", f"/api/apps/{app_id}/connectors", config)["id"]

    def connect(self, connector_id: int, name: str, values: dict) -> int:
        return self.http.ok("POST", "/api/connections",
                            {"connector_id": connector_id, "name": name, "values": values})["id"]

    def create_campaign(self, body: dict) -> str:
        return self.http.ok("POST", "/api/campaigns", body)["campaign_id"]

    def update_campaign(self, campaign_id: str, body: dict) -> dict:
        return self.http.ok("PATCH", f"/api/campaigns/{campaign_id}", body)

    def campaign_action(self, action: str, campaign_ids: list[str], request_id: str) -> dict:
        """``STOP``, ``PAUSE`` or ``RESUME`` (``POST /api/campaigns/status``)."""
        return self.http.ok("POST", "/api/campaigns/status", {
            "request_id": request_id, "action": action, "campaign_ids": campaign_ids})

    def create_oauth_config(self, body: dict) -> dict:
        """A connector-campaign authorization configuration (tested on creation)."""
        return self.http.ok("POST", "/api/oauth-configs", body)

    def campaign(self, campaign_id: str) -> dict:
        return self.http.ok("GET", f"/api/campaigns/{campaign_id}")

    def stats(self, campaign_id: str) -> dict:
        return self.http.ok("GET", f"/api/campaigns/{campaign_id}/stats")

    # time and outcomes
    def now(self) -> str:
        return self.http.ok("GET", "/_sim/clock")["now"]

    def advance(self, seconds: float | None = None, to: str | None = None) -> dict:
        """Move the virtual clock, running everything that falls due (``seconds=0``: what is
        due now)."""
        body = {"to": to} if to is not None else {"seconds": seconds or 0}
        return self.http.ok("POST", "/_sim/clock/advance", body)

    def deliveries(self, **filters: Any) -> list[dict]:
        """The delivery log (first 1,000): ``campaign_id``, ``customer_id``, ``status``
        (sent|failed|removed), ``since``/``until`` (ISO; since inclusive, until exclusive)."""
        return self.http.ok("GET", "/_sim/deliveries?" + _query(limit=1000, **filters))[
            "deliveries"]

    def delete_deliveries(self, **filters: Any) -> int:
        """Test-only: delete the matching deliveries (stats change with them); how many."""
        return self.http.ok("DELETE", "/_sim/deliveries?" + _query(**filters))["deleted"]

    def sink_requests(self, name: str, **filters: Any) -> list[dict]:
        """Requests received by the built-in sink ``/_sim/sink/<name>``: ``method``, ``path``,
        ``path_prefix``, ``header`` (``"Name"`` or ``"Name:value"``, or a list),
        ``body_contains``, ``json={"dotted.path": value}``, ``since``/``until``."""
        return self.http.ok("GET", f"/_sim/sinks/{name}?" + _query(**filters))["requests"]

    def wait_for_requests(self, name: str, count: int = 1, timeout: float = 10,
                          **filters: Any) -> list[dict]:
        """Wait (in real time, at most ``timeout`` s, up to 60) until the sink has ``count``
        matching requests; returns them, or fails listing what matched."""
        answer = self.http.ok("GET", f"/_sim/sinks/{name}/wait?" + _query(
            count=count, timeout=timeout, **filters))
        if answer["timed_out"]:
            raise AssertionError(f"sink {name}: {answer['matched']} of {count} request(s) "
                                 f"matching {filters} after {timeout} s: "
                                 f"{json.dumps(answer['requests'])[:2000]}")
        return answer["requests"]

    def sink_url(self, name: str) -> str:
        return f"{self.url}/_sim/sink/{name}"

    def configure_sink(self, name: str, **behaviour: Any) -> None:
        self.http.ok("PUT", f"/_sim/sinks/{name}", behaviour)

    def assert_requests(self, requests: list[dict], count: int | None = None,
                        **json_fields: Any) -> list[dict]:
        """Every request's JSON body has ``json_fields``; and there are ``count`` of them."""
        if count is not None and len(requests) != count:
            raise AssertionError(f"expected {count} request(s), got {len(requests)}")
        for number, request in enumerate(requests):
            body = request.get("json") or {}
            wrong = {k: body.get(k) for k, v in json_fields.items() if body.get(k) != v}
            if wrong:
                raise AssertionError(f"request {number}: expected {json_fields}, got {wrong}")
        return requests


def _query(**filters: Any) -> str:
    """Assertion API filters as a query string: ``json={"a.b": 1}`` becomes ``json.a.b=1``, a
    list repeats its parameter."""
    pairs: list[tuple[str, Any]] = []
    for name, value in filters.items():
        if value is None:
            continue
        if name == "json":
            pairs += [(f"json.{k}", v if isinstance(v, str) else json.dumps(v))
                      for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            pairs += [(name, v) for v in value]
        else:
            pairs.append((name, value))
    return urlencode(pairs)


class Sink:
    """A standalone capture endpoint (the ``moesim sink`` server) on a free port."""

    def __init__(self):
        from .sinkserver import make_server

        self._server = make_server("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        self._http = _Http(self.base)

    def url(self, name: str, path: str = "") -> str:
        return f"{self.base}/_sim/sink/{name}{path}"

    def requests(self, name: str) -> list[dict]:
        return self._http.ok("GET", f"/_sim/sinks/{name}")["requests"]

    def configure(self, name: str, **behaviour: Any) -> None:
        self._http.ok("PUT", f"/_sim/sinks/{name}", behaviour)

    def close(self) -> None:
        self._http.close()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def serve_in_process(start_time: str, seed: int = 0, workspace_id: str = WORKSPACE,
                     data_api_key: str = KEY, **settings: Any) -> Iterator[Moesim]:
    """A simulator on a free loopback port with a new database (in a temporary directory,
    removed afterwards), no fixtures and a virtual clock at ``start_time``; ``settings``
    sets any other setting (``send_concurrency=1``, ...)."""
    from werkzeug.serving import make_server

    from .app import create_app

    with tempfile.TemporaryDirectory(prefix="moesim-") as tmp:
        settings = Settings(db=str(Path(tmp) / "moesim.db"), fixtures="none",
                            workspace_id=workspace_id, data_api_key=data_api_key,
                            clock="virtual", start_time=start_time, seed=seed, **settings)
        app = create_app(settings)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        # a short poll: shutdown() waits up to one poll (0.5 s by default) per simulator
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                  daemon=True)
        thread.start()
        client = Moesim(f"http://127.0.0.1:{server.server_port}", workspace_id, data_api_key)
        try:
            yield client
        finally:
            client.http.close()
            server.shutdown()
            server.server_close()
            app.extensions["moesim"].close()
