"""The OpenAPI 3.1 document (issue 19 item 1): served at /openapi.json, published in docs/,
made from the schemas that validate requests, and fuzzed by schemathesis against a real
server on a loopback socket: no 5xx, no answer that breaks the document."""

import json
import threading
from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from jsonschema import Draft202012Validator
from werkzeug.serving import make_server

from simulator.api import contract
from simulator.app import base_url, bootstrap, create_app
from simulator.core.settings import Settings

from .conftest import KEY, WORKSPACE

ROOT = Path(__file__).parent.parent
PUBLISHED = ROOT / "docs" / "openapi.json"
# Left out of the fuzzing, each for a reason of its own:
NOT_FUZZED = (
    # the capture sink answers whatever a test configured it to (5xx and delays included)
    "/_sim/sink/{name}", "/_sim/sink/{name}/{rest}",
    # long-polls hold the request up to 60 s of real time by design
    "/_sim/deliveries/wait", "/_sim/sinks/{name}/wait",
    # writes a file at a client-chosen server path (the process runs as any user it runs as)
    "/_sim/snapshot",
)
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance,
          schemathesis.checks.response_schema_conformance,
          schemathesis.checks.response_headers_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The bundled demo on a real socket, virtual clock (nothing runs unless the fuzzer asks)."""
    where = tmp_path_factory.mktemp("openapi")
    chosen = Settings(db=str(where / "moesim.db"), fixtures="bundled", workspace_id=WORKSPACE,
                      data_api_key=KEY, clock="virtual", start_time="2026-11-22T12:00:00Z",
                      send_timeout_s=1.0)
    app = create_app(chosen, start=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.extensions["moesim.base_url"] = base_url(chosen, server.server_port)
    bootstrap(app.extensions["moesim"], app.extensions["moesim.is_new"],
              base_url(chosen, server.server_port))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    app.extensions["moesim.workspaces"].close()
    app.extensions["moesim"].close()


@pytest.fixture(scope="module")
def api_schema(live):
    schema = schemathesis.openapi.from_url(f"{live}/openapi.json")
    for path in NOT_FUZZED:
        schema = schema.exclude(path=path)
    return schema


def test_the_served_document_is_the_published_one(live):
    served = requests.get(f"{live}/openapi.json", timeout=10).json()
    assert served == json.loads(PUBLISHED.read_text()), \
        "docs/openapi.json is stale: moesim openapi > docs/openapi.json"


def test_every_route_has_a_contract_and_every_contract_a_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if not rule.endpoint.startswith(contract.DASHBOARD)} - {"static"}
    assert endpoints == set(contract.CONTRACTS)


def test_document_is_openapi_3_1_and_its_body_schemas_are_the_validating_ones(live):
    document = requests.get(f"{live}/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0"
    operation = document["paths"]["/api/campaigns"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == \
        contract.CAMPAIGN
    assert document["paths"]["/api/apps/{app_id}/connectors"]["post"]["requestBody"][
        "content"]["application/json"]["schema"] == {"$ref": contract.CONNECTOR_REF}
    errors = {op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"]
              for path, item in document["paths"].items() for op in item.values()
              if "4XX" in op["responses"] and path.startswith("/v1/")}
    assert errors == {"#/components/schemas/DataApiError"}
    Draft202012Validator.check_schema(document["components"]["schemas"]["ConnectorConfig"])


def test_a_body_the_schema_refuses_is_answered_with_its_paths(live):
    bad = requests.post(f"{live}/api/connections", timeout=10,
                        json={"connector_id": "one", "name": 5, "values": []})
    assert bad.status_code == 422
    assert [e["path"] for e in bad.json()["errors"]] == ["connector_id", "name", "values"]
    valid = [e for e in Draft202012Validator(contract.CONNECTION).iter_errors(
        {"connector_id": "one", "name": 5, "values": []})]
    assert len(valid) == 3  # the same schema, read from the table the server uses




def _can_be_invalid(operation: dict) -> bool:
    """A body or a typed parameter: something a negative case can get wrong."""
    return "requestBody" in operation or any(
        p["schema"].get("type") in ("integer", "number") for p in operation.get("parameters", []))


OPERATIONS = [(path, method.upper(), mode) for path, item in
              json.loads(PUBLISHED.read_text())["paths"].items()
              if path not in NOT_FUZZED for method, operation in item.items()
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              if mode is GenerationMode.POSITIVE or _can_be_invalid(operation)]
EXAMPLES = 15
# Cases of a whole connector config are slow to generate (a large schema), not to answer.
FEWER_EXAMPLES = {"/api/apps/{app_id}/connectors": 3, "/api/connectors/{connector_id}": 3}


@pytest.mark.parametrize("path, method, mode", OPERATIONS,
                         ids=[f"{m} {p} {g.value}" for p, m, g in OPERATIONS])
def test_fuzzed_requests_never_break_the_server_or_the_document(api_schema, live, path, method,
                                                                mode):
    """Seeded (``derandomize``) and bounded (``EXAMPLES`` valid and as many invalid requests per
    operation); the Data API and report APIs get valid credentials so the bodies reach the
    parsers behind them."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=FEWER_EXAMPLES.get(path, EXAMPLES), derandomize=True,
              deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def fuzz(case):
        headers = {}
        if path.startswith(("/v1/", "/core-services/")):
            if "app_id" in (case.path_parameters or {}):
                case.path_parameters["app_id"] = WORKSPACE
            else:
                case.query = {**(case.query or {}), "app_id": WORKSPACE}
            headers["MOE-APPKEY"] = WORKSPACE
        case.call_and_validate(base_url=live, headers=headers, auth=(WORKSPACE, KEY),
                               checks=CHECKS, timeout=30)

    fuzz()
