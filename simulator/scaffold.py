"""``moesim init``: a partner's working folder, each file runnable at once: a connector config
that validates (the bundled Acme SMS connector, renamed, sending to the built-in sink
``my-partner``), a connection and a campaign for ``moesim serve``, a scenario, and a pytest
test using the plugin."""

from __future__ import annotations

import json
from pathlib import Path

from .core.errors import ConfigError
from .core.settings import BUNDLED_FIXTURES
from .services import fixtures

CONNECTOR = "connectors/my_partner_sms.json"
SINK = "my-partner"

CONNECTION = {"name": "Sandbox", "values": {
    "account_sid": "AC12345678", "auth_token": "sandbox-token", "sender_id": "MYPRTN",
    "region": "in"}}

CAMPAIGN = {
    "channel": "CONNECTED_APP", "campaign_delivery_type": "ONE_TIME",
    "created_by": "partner@example.com", "basic_details": {"name": "Hello SMS"},
    "campaign_content": {"content": {"connected_app": {"inputs": {
        "to": "{{UserAttribute['mobile']}}",
        "message": "Hello {{UserAttribute['First Name']|default('there')}}!"}}}},
    "segmentation_details": {"is_all_user_campaign": True},
    "scheduling_details": {"delivery_type": "ASAP"},
}

SCENARIO = f"""\
name: Hello SMS to every user
description: A one-time campaign sends one request per user to the partner endpoint.
start: 2026-01-05T09:00:00Z

fixtures:
  users:
    - {{customer_id: ann, first_name: Ann, mobile: "+919900000001"}}
    - {{customer_id: bob, first_name: Bob, mobile: "+919900000002"}}
  connectors:
    - {{ref: sms, app: My App, config: {CONNECTOR}}}
  connections:
    - ref: sandbox
      connector: sms
      name: Sandbox
      values: {json.dumps(CONNECTION["values"])}

steps:
  - create_campaign:
      ref: hello
      body:
        request_id: hello-1
        channel: CONNECTED_APP
        campaign_delivery_type: ONE_TIME
        created_by: partner@example.com
        basic_details: {{name: Hello SMS}}
        campaign_content:
          content:
            connected_app:
              connector_id: ${{connector.sms}}
              connection_id: ${{connection.sandbox}}
              inputs:
                to: "{{{{UserAttribute['mobile']}}}}"
                message: "Hello {{{{UserAttribute['First Name']}}}}!"
        segmentation_details: {{is_all_user_campaign: true}}
        scheduling_details: {{delivery_type: ASAP}}
  - advance: 1m

expect:
  - requests:
      sink: {SINK}
      count: 2
      unordered:
        - json: {{to: "+919900000001", text: Hello Ann!}}
        - json: {{to: "+919900000002", text: Hello Bob!}}
  - stats: {{campaign: hello, attempted: 2, sent: 2, failed: 0}}
"""

TEST = f'''\
"""The connector against an in-process simulator (the moesim pytest plugin): run `pytest`."""

import json
from pathlib import Path

HERE = Path(__file__).parent


def test_hello_sms_reaches_the_partner(moesim):
    config = json.loads((HERE / "{CONNECTOR}").read_text().replace("${{MOESIM_URL}}", moesim.url))
    connector_id = moesim.upload_connector(moesim.create_app("My App"), config)
    connection = json.loads((HERE / "connection.json").read_text())
    connection_id = moesim.connect(connector_id, connection["name"], connection["values"])
    moesim.load_users([{{"customer_id": "ann", "first_name": "Ann", "mobile": "+919900000001"}}])
    campaign = json.loads((HERE / "campaign.json").read_text())
    campaign["request_id"] = "hello-1"
    campaign["campaign_content"]["content"]["connected_app"].update(
        connector_id=connector_id, connection_id=connection_id)
    campaign_id = moesim.create_campaign(campaign)
    moesim.advance(seconds=60)
    moesim.assert_requests(moesim.sink_requests("{SINK}"), count=1, to="+919900000001",
                           text="Hello Ann!")
    assert moesim.stats(campaign_id)["sent"] == 1
'''

README = f"""\
# My partner connector

Made by `moesim init`. Every file runs as it is:

```sh
moesim validate {CONNECTOR}          # the config, checked as an upload would
moesim scenario run scenario.yaml    # end to end, in a simulator of its own
pytest                               # test_my_partner.py, with the moesim pytest plugin
```

Against a running simulator (`moesim serve --clock virtual --fixtures none` in another
terminal):

```sh
moesim connectors push {CONNECTOR}
moesim connections create 1 -f connection.json
moesim users add ann first_name=Ann mobile=+919900000001
moesim campaigns create -f campaign.json --connector 1 --connection 1
moesim clock advance 1m
moesim sinks show {SINK}
```

`moesim serve --watch connectors/` uploads every config in the folder at start and a new
version whenever a file changes. The config sends to the built-in sink
(`${{MOESIM_URL}}/_sim/sink/{SINK}/...`): point `url` at your endpoint when it is ready.
"""


def connector_config() -> str:
    bundled = fixtures.directory(BUNDLED_FIXTURES) / "connectors" / "acme_send_sms.json"
    return (bundled.read_text(encoding="utf-8")
            .replace('"Acme Send SMS"', '"My Partner SMS"')
            .replace("Send a text message to a user via Acme Messaging",
                     "Send a text message to a user")
            .replace("/_sim/sink/acme-sms/", f"/_sim/sink/{SINK}/"))


def files() -> dict[str, str]:
    return {
        CONNECTOR: connector_config(),
        "connection.json": json.dumps(CONNECTION, indent=2) + "\n",
        "campaign.json": json.dumps(CAMPAIGN, indent=2) + "\n",
        "scenario.yaml": SCENARIO,
        "test_my_partner.py": TEST,
        "README.md": README,
    }


def write(directory: str, force: bool = False) -> list[str]:
    """Write the files under ``directory``; existing ones stop it (nothing written) unless
    ``force``. Returns the paths written."""
    root = Path(directory)
    planned = files()
    clashes = [name for name in planned if (root / name).exists()]
    if clashes and not force:
        raise ConfigError(f"{', '.join(str(root / n) for n in clashes)} already exist(s): "
                          f"choose another folder or pass --force", path="directory")
    written = []
    for name, text in planned.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(str(target))
    return written
