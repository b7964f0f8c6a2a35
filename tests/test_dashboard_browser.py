"""The dashboard in a real browser (Chromium through Playwright) against ``moesim serve`` on a
loopback port: the partner's whole journey of MoEngage's Connected Apps guide, and every page
loading with no console error. The clock is virtual and moved from the dashboard itself."""

from __future__ import annotations

import json
import re
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from .browser import START, VIEWPORT, ConsoleWatch, launch, screenshot_dir
from .test_oauth import FakeOAuthPartner, _oauth_config

ROOT = Path(__file__).parent.parent
WORKSPACE, KEY = "MOESIMDEMO", "moesim-data-api-key"
SECRET = "journey-auth-token-s3cr3t"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def _config(base: str) -> dict:
    text = (ROOT / "fixtures/connectors/acme_send_sms.json").read_text()
    config = json.loads(text.replace("${MOESIM_URL}/_sim/sink/acme-sms",
                                     f"{base}/_sim/sink/journey"))
    config["basic_info"]["name"] = "Journey Send SMS"
    return config


def _users(base: str) -> None:
    for i in (1, 2, 3):
        answer = requests.post(f"{base}/v1/customer/{WORKSPACE}", auth=(WORKSPACE, KEY), json={
            "type": "customer", "customer_id": f"u{i}",
            "attributes": {"first_name": f"User{i}", "mobile": f"+9199000000{i}"}}, timeout=10)
        assert answer.status_code == 200, answer.text


def test_partner_journey_from_config_to_sink_inbox(serve, page, tmp_path):
    """The guide's steps 2-5 (spec's partner guide: create app, upload config, add integration,
    run a test campaign, verify Sent/Failed) in the browser, as a new partner does them."""
    server = serve("--fixtures", "none", "--clock", "virtual", "--start-time", START,
                   "--db", str(tmp_path / "journey.db"))
    base = server.url
    _users(base)
    shots = screenshot_dir(tmp_path)
    console = ConsoleWatch(page)

    # Step 2: + Create app
    page.goto(f"{base}/apps")
    page.get_by_label("App name").fill("Acme Journey")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Journey")

    # Step 4: + Add configuration, picked with the file picker, with a mistake in it
    broken = _config(base)
    broken["input_variables"][1]["type"] = "passwrd"
    picked = tmp_path / "journey_send_sms.json"
    picked.write_text(json.dumps(broken, indent=2))
    page.get_by_label("JSON file").set_input_files(str(picked))
    expect(page.get_by_label("Configuration (paste")).to_have_value(re.compile("passwrd"))
    page.get_by_role("button", name="Add", exact=True).click()
    errors = page.get_by_test_id("config-errors")
    expect(errors).to_contain_text("input_variables[1].type")
    marked = page.locator("ol.json-lines li.has-error")
    expect(marked.first).to_contain_text('"type": "passwrd"')
    expect(marked.first).to_contain_text("input_variables[1].type: 'passwrd' is not one of")
    page.locator("#upload-errors").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "config-errors.png"), full_page=False)

    # ... fixed, pasted this time
    page.get_by_label("Configuration (paste").fill(json.dumps(_config(base), indent=2))
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("version 1 added")

    # Step 5.1: Integrate tab, + Add integration through the generated form
    page.get_by_role("link", name="Integrate").click()
    page.get_by_label("Connection name").fill("My Test Connection")
    page.get_by_label("Account SID").fill("XX-not-a-sid")
    expect(page.locator(".regex-note")).to_contain_text("Starts with AC")  # inline, as typed
    page.get_by_label("Auth Token").fill(SECRET)
    page.get_by_label("Sender ID").fill("JOURNY")
    page.get_by_label("Region").select_option("in")
    page.get_by_role("button", name="Connect").click()
    # the API's error, at its field; the secret is not sent back into the form
    expect(page.locator('[data-path="values.account_sid"] .field-error')).to_contain_text(
        "values.account_sid: does not match Starts with AC")
    assert SECRET not in page.content()
    page.get_by_label("Account SID").fill("AC0123456789journey")
    page.get_by_label("Auth Token").fill(SECRET)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status")).to_contain_text("'My Test Connection' is connected")
    page.screenshot(path=str(shots / "app-integrate.png"), full_page=True)

    # Step 5.2: create a campaign through the wizard
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="+ Create campaign").click()
    page.get_by_label("Campaign name").fill("Journey welcome SMS")
    page.get_by_label("All users").check()
    page.get_by_role("button", name="Show count").click()
    expect(page.get_by_test_id("segment-count")).to_contain_text("3 users")
    page.get_by_role("button", name="2 Content").click()
    expect(page.get_by_label("Connection")).to_contain_text("My Test Connection")
    page.get_by_label("Mobile Number").fill("{{UserAttribute['Mobile Number (Standard)']}}")
    page.get_by_label("Message Text").fill("Hi {{UserAttribute['First Name']}}, welcome!")
    page.get_by_label("Identifier values").fill("u1")
    page.get_by_role("button", name="Send test").click()
    result = page.get_by_test_id("test-result")
    expect(result).to_contain_text("success")
    expect(result.get_by_label("Request")).to_contain_text(f"{base}/_sim/sink/journey/v1/accounts")
    expect(result.get_by_label("Request")).to_contain_text("+91990000001")
    expect(result.get_by_label("Response")).to_contain_text("HTTP 200")
    page.screenshot(path=str(shots / "wizard-test-send.png"), full_page=True)
    page.get_by_role("button", name="3 Schedule and goals").click()
    page.get_by_label("One time").check()
    page.get_by_label("Send", exact=True).select_option("ASAP")

    # the partner's endpoint fails the next request: Failed must show it
    sink_page = page.context.new_page()
    sink_page.goto(f"{base}/sinks/journey")
    sink_page.get_by_label("Fail the next N requests").fill("1")
    sink_page.get_by_role("button", name="Save behaviour").click()
    expect(sink_page.get_by_role("status")).to_contain_text("Behaviour saved")
    sink_page.close()

    page.get_by_role("button", name="Launch campaign").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign launched")
    campaign_url = page.url

    # advance the (virtual) clock from the Clock page
    page.get_by_role("link", name="Clock & jobs").click()
    page.get_by_label("By a duration").fill("2m")
    page.get_by_role("button", name="Advance").click()
    expect(page.get_by_role("status")).to_contain_text("2 sent, 1 failed")

    # Step 5.3: the performance page: Sent and Failed match the partner's responses
    page.goto(campaign_url)
    expect(page.get_by_test_id("kpi-sent")).to_have_text("2")
    expect(page.get_by_test_id("kpi-failed")).to_have_text("1")
    expect(page.get_by_test_id("kpi-attempted")).to_have_text("3")
    drawn = page.evaluate("() => [...document.querySelectorAll('canvas[data-chart]')]"
                          ".map(c => !!Chart.getChart(c))")
    assert drawn and all(drawn)
    expect(page.locator("#performance")).to_contain_text("http_status: 503")
    page.screenshot(path=str(shots / "campaign-performance.png"), full_page=True)

    # the delivery detail behind a figure
    page.get_by_test_id("kpi-failed").click()
    page.get_by_test_id("delivery-link").first.click()
    expect(page.get_by_test_id("delivery-request-line")).to_contain_text(
        f"POST {base}/_sim/sink/journey/v1/accounts/AC0123456789journey/messages")
    expect(page.get_by_label("Response", exact=True)).to_contain_text("HTTP 503")
    page.screenshot(path=str(shots / "delivery-detail.png"), full_page=True)

    # the requests in the sink inbox
    page.get_by_role("link", name="Sinks").click()
    page.get_by_role("link", name="journey").click()
    expect(page.get_by_test_id("sink-request-link")).to_have_count(4)  # test + 3 sends
    page.get_by_test_id("sink-request-link").first.click()
    detail = page.get_by_test_id("sink-request-detail")
    expect(detail).to_contain_text("POST /v1/accounts/AC0123456789journey/messages")
    expect(page.get_by_test_id("sink-request-body")).to_contain_text('"from": "JOURNY"')
    expect(detail).to_contain_text("Basic ********")
    page.screenshot(path=str(shots / "sink-inbox.png"), full_page=True)

    # the connection's secret reached no page on the way
    for path in ("/", "/apps/1?tab=integrate", "/deliveries?id=1", "/deliveries?id=2",
                 "/sinks/journey?seq=1", "/sinks/journey?seq=2", campaign_url):
        page.goto(path if path.startswith("http") else base + path)
        assert SECRET not in page.content(), path
    # the two forms answered 422 on purpose (the browser logs that status); nothing else
    expected = "Failed to load resource: the server responded with a status of 422"
    assert [e for e in console.errors if expected not in e] == []
    assert len(console.errors) == 2, console.errors


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``moesim serve`` with the bundled demo workspace, its campaign sent, on a virtual clock."""
    from .conftest import Server

    where = tmp_path_factory.mktemp("demo")
    server = Server(["--fixtures", "bundled", "--clock", "virtual", "--start-time", START,
                     "--db", str(where / "demo.db")], {})
    try:
        server.wait_ready()
        advanced = requests.post(f"{server.url}/_sim/clock/advance", json={"seconds": 120},
                                 timeout=60)
        assert advanced.status_code == 200, advanced.text
        yield server.url
    finally:
        server.stop()


def _pages(base: str) -> list[tuple[str, str]]:
    campaign = requests.get(f"{base}/api/campaigns", timeout=10).json()["campaigns"][0]
    delivery = requests.get(f"{base}/_sim/deliveries?limit=1", timeout=10).json()["deliveries"][0]
    app_id = requests.get(f"{base}/api/apps", timeout=10).json()["apps"][0]["id"]
    cid = campaign["campaign_id"]
    return [("overview", "/"), ("apps", "/apps"), ("app-configure", f"/apps/{app_id}"),
            ("app-integrate", f"/apps/{app_id}?tab=integrate"), ("campaigns", "/campaigns"),
            ("campaign-new", "/campaigns/new"), ("campaign-performance", f"/campaigns/{cid}"),
            ("campaign-edit", f"/campaigns/{cid}/edit"),
            ("deliveries", f"/deliveries?id={delivery['id']}"), ("sinks", "/sinks"),
            ("sink", "/sinks/acme-sms"), ("users", "/users"),
            ("user", f"/users/{delivery['customer_id']}"), ("clock", "/clock"),
            ("settings", "/settings")]


PAGES = ["overview", "apps", "app-configure", "app-integrate", "campaigns", "campaign-new",
         "campaign-performance", "campaign-edit", "deliveries", "sinks", "sink", "users", "user",
         "clock", "settings"]


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_with_no_console_error(demo, page, name, tmp_path):
    path = dict(_pages(demo))[name]
    console = ConsoleWatch(page)
    answer = page.goto(demo + path)
    assert answer.status == 200
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_be_visible()
    # every form field has a label a screen reader reads out
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]), select, textarea')].filter(e =>
        !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
        && !e.closest('[role=radiogroup][aria-label], [role=group][aria-label]')
        ).map(e => e.name || e.id)""")
    assert unlabelled == []
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"{name}.png"), full_page=True)
    assert console.errors == []


def test_pages_fit_a_narrow_window(demo, browser, tmp_path):
    """Readable in a narrow window: nothing wider than the viewport but tables that scroll."""
    context = browser.new_context(viewport={"width": 420, "height": 800})
    narrow = context.new_page()
    try:
        for name in ("overview", "campaign-new", "campaign-performance"):
            narrow.goto(demo + dict(_pages(demo))[name])
            width = narrow.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 440, (name, width)
        narrow.screenshot(path=str(screenshot_dir(tmp_path) / "narrow-performance.png"),
                          full_page=True)
    finally:
        context.close()


def test_keyboard_alone_creates_an_app(demo, page):
    """Keyboard-usable: Tab to the field, type, Enter submits; focus is visible on the way."""
    page.goto(f"{demo}/apps")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "app-name":
            break
    else:
        pytest.fail("Tab never reached the App name field")
    page.keyboard.type("Keyboard App")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Keyboard App")


def test_wizard_counts_an_audience_of_rows_and_previews_periodic_fire_times(demo, page):
    """Step 1's audience rows count what ``POST /api/segments/count`` counts; step 3 previews
    a weekly schedule's next fire times (spec §5.3) before launch."""
    expected = requests.post(f"{demo}/api/segments/count", json={"segmentation_details": {
        "included_filters": {"filter_operator": "and", "filters": [
            {"filter_type": "user_attributes", "name": "plan", "data_type": "string",
             "operator": "is", "value": "pro"}]}}}, timeout=10).json()["count"]
    console = ConsoleWatch(page)
    page.goto(f"{demo}/campaigns/new")
    expect(page.get_by_label("segmentation_details (JSON)")).to_be_hidden()
    page.get_by_label("Filter users by").check()
    page.get_by_label("filter 1: attribute, event or segment id").fill("plan")
    page.get_by_label("filter 1: value").fill("pro")
    page.get_by_role("button", name="Show count").click()
    expect(page.get_by_test_id("segment-count")).to_have_text(
        f"{expected:,} users in this audience now.")

    page.get_by_role("button", name="2 Content").click()
    page.get_by_label("Connector (custom request)").check()
    expect(page.get_by_label("URL", exact=True)).to_be_visible()
    expect(page.get_by_label("Connection", exact=True)).to_be_hidden()

    page.get_by_role("button", name="3 Schedule and goals").click()
    page.get_by_label("Periodic").check()
    page.get_by_label("Start time").fill("2026-01-05T10:00:00")
    page.get_by_label("Frequency", exact=True).select_option("WEEKLY")
    page.get_by_label("Mon", exact=True).check()
    page.get_by_label("Wed", exact=True).check()
    page.get_by_role("button", name="Preview the next fire times").click()
    times = page.get_by_test_id("fire-times").locator("li")
    expect(times).to_have_text(["2026-01-05T10:00:00+00:00", "2026-01-07T10:00:00+00:00",
                                "2026-01-12T10:00:00+00:00", "2026-01-14T10:00:00+00:00",
                                "2026-01-19T10:00:00+00:00"])
    assert console.errors == []


def test_authorize_runs_the_oauth_flow_of_a_connection(serve, page, tmp_path):
    """Spec §2.5: an OAuth connection is pending until **Authorize** has run the
    authorization-code flow (partner's authorize page, MoEngage's callback, token call)."""
    partner = ThreadingHTTPServer(("127.0.0.1", 0), FakeOAuthPartner)
    FakeOAuthPartner.issued = []
    threading.Thread(target=partner.serve_forever, daemon=True).start()
    try:
        server = serve("--fixtures", "none", "--clock", "virtual", "--start-time", START,
                       "--db", str(tmp_path / "oauth.db"))
        base = server.url
        partner_url = f"http://127.0.0.1:{partner.server_address[1]}"
        app_id = requests.post(f"{base}/api/apps", json={"name": "OAuth App"},
                               timeout=10).json()["id"]
        connector = requests.post(f"{base}/api/apps/{app_id}/connectors",
                                  json=_oauth_config(partner_url, base), timeout=10).json()
        requests.post(f"{base}/api/connections", json={
            "connector_id": connector["id"], "name": "Needs OAuth",
            "values": {"account_id": "ABC123", "account_key": "client-secret"}}, timeout=10)
        page.goto(f"{base}/apps/{app_id}?tab=integrate")
        expect(page.locator("tbody")).to_contain_text("authorization_pending")
        page.get_by_role("link", name="Authorize").click()
        page.wait_for_url(re.compile(r"/v3/partner/oauth/callback"))
        page.goto(f"{base}/apps/{app_id}?tab=integrate")
        expect(page.locator("tbody").first).to_contain_text("connected")
        expect(page.get_by_role("link", name="Authorize")).to_have_count(0)
        html = page.content()
        assert "access-1" not in html and "refresh-1" not in html and "client-secret" not in html
        assert [call["grant"] for call in FakeOAuthPartner.issued] == ["authorization_code"]
    finally:
        partner.shutdown()
        partner.server_close()
