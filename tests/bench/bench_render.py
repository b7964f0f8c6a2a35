"""Render cost per user: pass 1 + pass 2 for the composite config, and a connector campaign."""
import json
import time
from datetime import datetime, timezone

from simulator.core import outbound as o
from simulator.core import templating as t

config = json.load(open("/work/main/tests/data/connectors/composite.json"))
request, auth = config["modules"][0]["params"]["request"], config["auth"]
app_form = {"account_id": "ABC123", "account_key": "123XYZ"}
campaign_values = {"receiver_id": "{{UserAttribute['First Name']}}",
                   "message": "Hi {{UserAttribute['First Name']|title}}, your {{UserAttribute['plan']|default('basic')}} plan",
                   "priority": "high"}
connector = {"connector": {"method": "POST", "url": "https://x.test/hook",
    "url_params": [{"key": "uid", "value": "{{UserAttribute['uid']}}"}],
    "headers": [{"key": "X-Api-Key", "value": "k"}], "body_type": "JSON",
    "body": {"name": "{{UserAttribute['First Name']}}", "city": "{{UserAttribute['city']|default('?')}}"}}}
users = [{"u_fn": f"user{i}", "plan": "gold" if i % 2 else None, "uid": str(i), "city": "Pune"}
         for i in range(100_000)]
renderer = t.Renderer(datetime(2026, 7, 4, tzinfo=timezone.utc))

def bench(name, fn):
    fn(users[0])  # compile once
    start = time.perf_counter()
    for user in users:
        fn(user)
    per = (time.perf_counter() - start) / len(users) * 1e6
    print(f"{name}: {per:.1f} us/user over {len(users)} users")

ctx_tpl = "Hi {{UserAttribute['First Name']}}"
bench("one template (context + render)", lambda u: renderer.render(ctx_tpl, renderer.context(u)))
bench("connected app: pass 1 + pass 2 + basic auth",
      lambda u: o.from_config(renderer, request, auth, app_form,
                              t.render_campaign_values(renderer, campaign_values, u, None), u, None))
bench("connector campaign (JSON body, url param)",
      lambda u: o.from_connector_content(renderer, connector, u, None, None))
