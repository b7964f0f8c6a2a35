"""The request a send makes (spec §2.5, §2.6, §4.3, §6): Connected App configs, Connector
campaign content, and the Connector content check."""

import copy
from datetime import datetime, timezone

import pytest

from simulator.core.errors import FieldError
from simulator.core.http import OutboundRequest
from simulator.core.outbound import (
    ConfigRequest,
    check_connector_content,
    connection_texts,
    connector_oauth,
    from_config,
    from_connector_content,
    with_query,
)
from simulator.core.templating import NotSend, PersonalizationFailed, Renderer

NOW = datetime(2026, 7, 4, 15, 30, tzinfo=timezone.utc)
USER = {"u_fn": "Ana", "u_mb": "+5511999", "city": "São Paulo", "quote": 'say "hi"',
        "bad_header": "x\r\nInjected: 1"}
APP_FORM = {"account_id": "ABC123", "account_key": "123XYZ"}
CAMPAIGN_FORM = {"receiver_id": "Ana", "message": "Hello"}
BASIC = {"auth_type": "basic_auth", "alias": "a",
         "auth_info": {"username": '{{AppMarketplaceForm["account_id"]}}',
                       "password": '{{AppMarketplaceForm["account_key"]}}'}}
NO_AUTH = {"auth_type": "no_auth", "auth_info": {}, "alias": "a"}


def config_request(**changes) -> dict:
    request = {"method": "POST", "headers": {}, "url": "https://partner.test/v1/messages",
               "url_params": {}, "body_type": "JSON",
               "body": '{"to": "{{CampaignCreationForm["receiver_id"]}}", '
                       '"text": "{{CampaignCreationForm["message"]}}"}'}
    request.update(changes)
    return request


def build(request, auth=NO_AUTH, app_form=APP_FORM, campaign_form=CAMPAIGN_FORM, user=USER,
          event=None) -> OutboundRequest:
    return from_config(Renderer(NOW), request, auth, app_form, campaign_form, user, event)


@pytest.mark.parametrize("url, params, expected", [
    ("https://p.test/a", [], "https://p.test/a"),
    ("https://p.test/a", [("q", "x")], "https://p.test/a?q=x"),
    ("https://p.test/a?z=1", [("q", "x")], "https://p.test/a?z=1&q=x"),
    ("https://p.test/a", [("name", "Ana Maria"), ("t", "a&b=c/d"), ("c", "São")],
     "https://p.test/a?name=Ana%20Maria&t=a%26b%3Dc%2Fd&c=S%C3%A3o"),
    ("https://p.test/a?z=1#frag", [("q", "x y")], "https://p.test/a?z=1&q=x%20y#frag"),
])
def test_url_params_are_appended_encoded(url, params, expected):
    assert with_query(url, params) == expected


def test_config_request_rendered_with_basic_auth():
    request = config_request(
        url="https://partner.test/v1/users/{{UserAttribute['First Name']}}",
        url_params={"mobile": "{{UserAttribute['Mobile Number (Standard)']}}", "v": "2"},
        headers={"X-Account": '{{AppMarketplaceForm["account_id"]}}'})
    assert build(request, auth=BASIC) == OutboundRequest(
        "POST", "https://partner.test/v1/users/Ana?mobile=%2B5511999&v=2",
        (("X-Account", "ABC123"), ("Content-Type", "application/json"),
         ("Authorization", "Basic QUJDMTIzOjEyM1hZWg==")),   # spec §2.5's example
        b'{"to": "Ana", "text": "Hello"}')


def test_connection_only_templates_are_rendered_once_with_the_same_request():
    """The templates every user renders the same (plain text, AppMarketplaceForm lookups) are
    rendered once per send; the request is the one rendered user by user."""
    request = config_request(
        url="https://partner.test/v1/{{AppMarketplaceForm['account_id']}}/{{UserAttribute['u_fn']}}",
        url_params={"v": "2", "k": "{{AppMarketplaceForm['account_key']|upper}}"},
        headers={"X-Account": '{{AppMarketplaceForm["account_id"]}}', "X-Fixed": "1"})
    texts = connection_texts(request, BASIC, APP_FORM)
    assert texts == {"2": "2", '{{AppMarketplaceForm["account_id"]}}': "ABC123", "1": "1",
                     '{{AppMarketplaceForm["account_key"]}}': "123XYZ"}
    assert send_build(request, BASIC) == build(request, auth=BASIC)


def send_build(request, auth, user=USER):
    """What a send to many users builds: ``ConfigRequest`` with the connection texts."""
    renderer = Renderer(NOW)
    return ConfigRequest(request, auth, connection_texts(request, auth, APP_FORM)).build(
        renderer, renderer.context(user, None, APP_FORM, CAMPAIGN_FORM))


@pytest.mark.parametrize("changes", [
    {},                                                   # url and headers worked out once
    {"body": ""},                                         # no body: no Content-Type
    {"body_type": "RAW", "body": "hi {{UserAttribute['u_fn']}}"},
    {"method": "GET"},
    {"headers": {"Content-Type": "text/plain", "X-A": "{{AppMarketplaceForm['account_id']}}"}},
    {"headers": {"X-User": "{{UserAttribute['u_fn']}}"}},            # a header per user
    {"url": "https://p.test/{{UserAttribute['u_fn']}}", "url_params": {"a": "1"}},
])
@pytest.mark.parametrize("auth", [BASIC, NO_AUTH])
def test_a_send_builds_each_user_the_request_rendered_whole(changes, auth):
    request = config_request(**changes)
    assert send_build(request, auth) == build(request, auth=auth)


def test_a_line_break_in_a_fixed_header_fails_each_user_as_rendered_whole():
    request = config_request(headers={"X-Bad": "a\r\nInjected: 1"})
    for make in (send_build, lambda r, a: build(r, auth=a)):
        with pytest.raises(PersonalizationFailed, match="line break"):
            make(request, BASIC)


def test_a_failing_connection_template_leaves_every_user_to_fail_on_their_own():
    request = config_request(headers={"X-Account": "{{AppMarketplaceForm['absent']}}"})
    assert connection_texts(request, BASIC, APP_FORM) == {}
    with pytest.raises(PersonalizationFailed) as failure:
        build(request, auth=BASIC)
    assert failure.value.category == "Campaign Attribute"


def test_basic_auth_replaces_a_configured_authorization_header():
    sent = build(config_request(headers={"authorization": "Token abc"}), auth=BASIC)
    assert [h for h in sent.headers if h[0].lower() == "authorization"] == [
        ("Authorization", "Basic QUJDMTIzOjEyM1hZWg==")]


@pytest.mark.parametrize("auth", [
    NO_AUTH, None,
    {"auth_type": "oauth", "alias": "a", "auth_info": {"client_id": "c"}},  # nothing automatic
])
def test_no_auth_and_oauth_add_no_header(auth):
    assert build(config_request(), auth=auth).headers == (("Content-Type", "application/json"),)


def test_oauth_token_goes_where_the_config_puts_it():
    request = config_request(
        headers={"Authorization": 'Bearer {{AppMarketplaceForm["MOE_ACCESS_TOKEN_DEFAULT"]}}'})
    sent = build(request, app_form={**APP_FORM, "MOE_ACCESS_TOKEN_DEFAULT": "tok-9"})
    assert ("Authorization", "Bearer tok-9") in sent.headers


@pytest.mark.parametrize("headers, expected", [
    ({}, (("Content-Type", "application/json"),)),
    ({"content-type": "application/vnd.acme+json"},
     (("content-type", "application/vnd.acme+json"),)),
    ({"CONTENT-TYPE": "text/plain", "X-A": "1"}, (("CONTENT-TYPE", "text/plain"), ("X-A", "1"))),
])
def test_json_content_type_added_unless_a_header_sets_it(headers, expected):
    assert build(config_request(headers=headers)).headers == expected


@pytest.mark.parametrize("body_type, body, expected_body, expected_type", [
    ("JSON", '{"a": {{ 1 + 1 }},  "b": "x"}', b'{"a": 2,  "b": "x"}', "application/json"),
    ("FORM", '{"to": "{{UserAttribute.first_name}}", "n": 2}', b"to=Ana&n=2",
     "application/x-www-form-urlencoded"),
    ("FORM", '[{"name": "grant_type", "value": "client credentials"}]',
     b"grant_type=client+credentials", "application/x-www-form-urlencoded"),
    ("FORM", "a=1&b={{UserAttribute.first_name}}", b"a=1&b=Ana",
     "application/x-www-form-urlencoded"),
    ("RAW", "<to>{{UserAttribute.first_name}}</to>", b"<to>Ana</to>", None),
    ("JSON", "", None, None),
])
def test_config_body_types(body_type, body, expected_body, expected_type):
    sent = build(config_request(body_type=body_type, body=body))
    assert sent.body == expected_body
    assert dict(sent.headers).get("Content-Type") == expected_type


def test_json_body_that_does_not_parse_after_rendering_fails_the_user():
    request = config_request(body='{"text": "{{UserAttribute.quote}}"}')
    with pytest.raises(PersonalizationFailed) as failure:
        build(request)
    assert failure.value.category == "Unknown"
    assert failure.value.detail.startswith("body is not valid JSON after rendering: ")


def test_get_sends_no_body_and_does_not_render_it():
    request = config_request(method="GET", body="{{UserAttribute['missing']}}")
    sent = build(request)
    assert (sent.method, sent.body, sent.headers) == ("GET", None, ())


@pytest.mark.parametrize("request_changes, error", [
    ({"url": "https://p.test/{{UserAttribute['missing']}}"}, PersonalizationFailed),
    ({"headers": {"X-City": "{{UserAttribute['bad_header']}}"}}, PersonalizationFailed),
    ({"url_params": {"c": "{{UserAttribute['missing']|default('MOE_NOT_SEND')}}"}}, NotSend),
])
def test_rendering_problems_stop_this_user(request_changes, error):
    with pytest.raises(error):
        build(config_request(**request_changes))


def test_event_attributes_reach_the_config():
    sent = build(config_request(url_params={"sku": "{{EventAttribute['sku']}}"}),
                 event={"sku": "X 1"})
    assert sent.url == "https://partner.test/v1/messages?sku=X%201"


# --- Connector campaigns ------------------------------------------------------------------

def connector(**changes) -> dict:
    content = {"method": "POST", "url": "https://hooks.test/in?src=moe",
               "url_params": [{"key": "uid", "value": "{{UserAttribute['First Name']}}"}],
               "headers": [{"key": "X-Api-Key", "value": "k1"}],
               "body_type": "JSON",
               "body": {"name": "{{UserAttribute['First Name']}}", "age": 31,
                        "tags": ["{{UserAttribute.city}}", True], "nested": {"m": "é"}}}
    content.update(changes)
    return {"connector": content}


def send(content, user=USER, event=None, token=None) -> OutboundRequest:
    return from_connector_content(Renderer(NOW), content, user, event, token)


@pytest.mark.parametrize("changes, expected_body, expected_type", [
    ({}, '{"name":"Ana","age":31,"tags":["São Paulo",true],"nested":{"m":"é"}}'.encode(),
     "application/json"),
    ({"body_type": "FORM", "body": [{"key": "name", "value": "{{UserAttribute.first_name}}"},
                                    {"key": "city", "value": "{{UserAttribute.city}}"}]},
     b"name=Ana&city=S%C3%A3o+Paulo", "application/x-www-form-urlencoded"),
    ({"body_type": "RAW", "body": "Hi {{UserAttribute.first_name}}!"}, b"Hi Ana!", None),
    ({"method": "GET"}, None, None),
    ({"method": "DELETE", "body_type": "RAW", "body": "gone"}, b"gone", None),
    ({"body_type": None, "body": None}, None, None),
])
def test_connector_bodies(changes, expected_body, expected_type):
    sent = send(connector(**changes))
    assert sent.body == expected_body
    assert dict(sent.headers).get("Content-Type") == expected_type
    assert sent.url == "https://hooks.test/in?src=moe&uid=Ana"
    assert sent.method == connector(**changes)["connector"]["method"]


@pytest.mark.parametrize("settings, token, expected", [
    ({}, None, None),
    ({"oauth_config_id": 4}, None, None),
    ({"oauth_config_id": 4}, "t0k", ("Authorization", "Bearer t0k")),
    ({"oauth_config_id": 4, "oauth": {"header_key": "X-Token", "prefix": "Token"}}, "t0k",
     ("X-Token", "Token t0k")),
    ({"oauth_config_id": 4, "oauth": {"prefix": ""}}, "t0k", ("Authorization", "t0k")),
    ({"oauth_config_id": 4, "headers": [{"key": "authorization", "value": "old"}]}, "t0k",
     ("Authorization", "Bearer t0k")),
])
def test_connector_oauth_header(settings, token, expected):
    sent = send(connector(**settings), token=token)
    auth = [(k, v) for k, v in sent.headers if k.lower() in ("authorization", "x-token")]
    assert auth == ([expected] if expected else [])


def test_connector_oauth_settings():
    content = connector(oauth_config_id=4, oauth={"reattempt_codes": [400, 401]})["connector"]
    assert connector_oauth(content).reattempt_codes == (400, 401)
    assert connector_oauth(connector()["connector"]) is None


def test_connector_json_leaf_failure_is_categorised():
    with pytest.raises(PersonalizationFailed) as failure:
        send(connector(body={"sku": "{{EventAttribute['sku']}}"}))
    assert failure.value.category == "Event Attribute"
    assert send(connector(body={"sku": "{{EventAttribute['sku']}}"}),
                event={"sku": "S-1"}).body == b'{"sku":"S-1"}'


BASE = "campaign_content.content.connector"


def test_valid_connector_content_has_no_errors():
    assert check_connector_content(connector(oauth_config_id=4,
                                             oauth={"prefix": "Bearer",
                                                    "reattempt_codes": [400]})) == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c.pop("method"), [(f"{BASE}.method", "is required")]),
    (lambda c: c.update(method="PATCH"), [(f"{BASE}.method",
                                           "'PATCH' is not one of GET, POST, PUT, DELETE")]),
    (lambda c: c.update(url=""), [(f"{BASE}.url", "is required (a non-empty string)")]),
    (lambda c: c.update(url="hooks.test/in"), [(f"{BASE}.url",
                                                "must be an absolute http(s) URL")]),
    (lambda c: c.update(url="https://h.test/{{ UserAttribute['x' }}"),
     [(f"{BASE}.url", "Jinja does not parse: unexpected '}', expected ']' (line 1)")]),
    (lambda c: c.update(headers={"X": "1"}),
     [(f"{BASE}.headers", 'must be an array of {"key", "value"} rows')]),
    (lambda c: c.update(url_params=[{"key": "", "value": "x"}, {"key": "a"}, "x"]),
     [(f"{BASE}.url_params[0].key", "is required (a non-empty string)"),
      (f"{BASE}.url_params[1].value", "is required"),
      (f"{BASE}.url_params[2]", 'must be a {"key", "value"} object')]),
    (lambda c: c.update(headers=[{"key": "X", "value": 5}]),
     [(f"{BASE}.headers[0].value", "must be a string")]),
    (lambda c: c.update(body_type="XML"), [(f"{BASE}.body_type",
                                            "'XML' is not one of FORM, JSON, RAW")]),
    (lambda c: c.pop("body_type"), [(f"{BASE}.body_type", "is required when there is a body")]),
    (lambda c: c.update(body_type="FORM"),
     [(f"{BASE}.body", 'must be an array of {"key", "value"} rows')]),
    (lambda c: c.update(body="[1]"), [(f"{BASE}.body",
                                       "must be a JSON object for body_type JSON")]),
    (lambda c: c.update(body_type="RAW", body={"a": 1}), [(f"{BASE}.body", "must be a string")]),
    (lambda c: c.update(body={"a": {"b": ["{{ x|nope }}"]}}),
     [(f"{BASE}.body.a.b[0]", "Jinja does not parse: No filter named 'nope'. (line 1)")]),
    (lambda c: c.update(method="GET"), [(f"{BASE}.body", "a GET request carries no body")]),
    (lambda c: c.update(body={"k": '{{CampaignCreationForm["k"]}}'}),
     [(f"{BASE}.body.k", "CampaignCreationForm is not available in Connector campaigns "
                         "(there is no connector config)")]),
    (lambda c: c.update(webhook="x"), [(f"{BASE}.webhook", "is not a connector field (expected "
                                        "method, url, url_params, headers, body_type, body, "
                                        "oauth_config_id, oauth)")]),
    (lambda c: c.update(oauth={"prefix": 1, "reattempt_codes": [99], "key": "x"}),
     [(f"{BASE}.oauth_config_id", "is required when oauth is given"),
      (f"{BASE}.oauth.key", "is not an oauth field (expected header_key, prefix, "
                            "reattempt_codes)"),
      (f"{BASE}.oauth.prefix", "must be a string"),
      (f"{BASE}.oauth.reattempt_codes", "must be an array of HTTP status codes")]),
    (lambda c: c.update(oauth_config_id=True), [(f"{BASE}.oauth_config_id",
                                                 "must be an OAuth config id")]),
])
def test_check_connector_content(mutate, expected):
    content = copy.deepcopy(connector())
    mutate(content["connector"])
    assert check_connector_content(content) == [FieldError(p, m) for p, m in expected]


@pytest.mark.parametrize("content, path, expected", [
    ([], "campaign_content.content", [("campaign_content.content", "must be an object")]),
    ({}, "campaign_content.content.default.variation_1",
     [("campaign_content.content.default.variation_1.connector", "is required (an object)")]),
])
def test_check_connector_content_shape(content, path, expected):
    assert check_connector_content(content, path) == [FieldError(p, m) for p, m in expected]
