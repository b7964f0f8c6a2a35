"""Rendering MoEngage templates (spec §2.4): namespaces, fallbacks, failure categories,
MOE_NOT_SEND, the custom filters and the two-pass campaign values."""

from datetime import datetime, timezone

import pytest

from simulator.core.templating import (
    NotSend,
    PersonalizationFailed,
    Renderer,
    app_form_values,
    compile_problem,
    render_campaign_values,
)

SUMMER = datetime(2026, 7, 4, 15, 30, tzinfo=timezone.utc)
WINTER = datetime(2026, 1, 15, 15, 30, tzinfo=timezone.utc)
USER = {"u_fn": "ana", "u_ln": "Silva", "plan": "gold", "visits": 0, "vip": False, "note": "",
        "u_bd": "1990-05-17T00:00:00.000Z", "moe_dtzo": 330, "tags": ["a", "b"],
        "city": None, "geo": {"lat": 18.5}}


def render(source, user=USER, event=None, app_form=None, campaign_form=None, now=SUMMER):
    renderer = Renderer(now)
    return renderer.render(source, renderer.context(user, event, app_form, campaign_form))


@pytest.mark.parametrize("source, expected", [
    ("{{UserAttribute['First Name']}}", "ana"),                 # display name
    ("{{UserAttribute['first_name']}}", "ana"),                 # Data API key
    ("{{UserAttribute['u_fn']}}", "ana"),                       # internal key
    ("{{UserAttribute.first_name}}", "ana"),                    # dotted access
    ("{{UserAttribute['Last Name']|upper}}", "SILVA"),
    ("{{UserAttribute['plan']}}", "gold"),                      # custom attribute
    ("{{UserAttribute['visits']}}|{{UserAttribute['vip']}}|{{UserAttribute['note']}}",
     "0|False|"),                                               # present but falsy values print
    ("{{UserAttribute['User Timezone Offset (Mins)']}}", "330"),
    ("{{UserAttribute['tags']|join(',')}}", "a,b"),
    ("{{UserAttribute['geo'].lat}}", "18.5"),
    ("{% for t in UserAttribute['tags'] %}[{{t}}]{% endfor %}", "[a][b]"),
    ("plain text, no Jinja", "plain text, no Jinja"),
    ("{{ '{{' }}", "{{"),
])
def test_user_attribute_lookup(source, expected):
    assert render(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("{{UserAttribute['Gender']|default('friend')}}", "friend"),       # missing
    ("{{UserAttribute['city']|default('Pune')}}", "Pune"),              # stored null
    ("{{UserAttribute['plan']|default('basic')}}", "gold"),             # present: no fallback
    ("{{UserAttribute['city'] or 'somewhere'}}", "somewhere"),
    ("{% if UserAttribute['city'] %}in town{% else %}away{% endif %}", "away"),
    ("{{UserAttribute['city'] is defined}}", "False"),
    ("{{EventAttribute['sku']|default('none')}}", "none"),              # no event: fallback applies
    ("{{CampaignCreationForm['x']|default('-')}}", "-"),
])
def test_fallbacks_apply_to_missing_and_null_values(source, expected):
    assert render(source) == expected


@pytest.mark.parametrize("source, event, category, detail", [
    ("Hi {{UserAttribute['Gender']}}", None, "User Attribute",
     "UserAttribute['Gender'] is not set"),
    ("{{UserAttribute['city']}}", None, "User Attribute", "UserAttribute['city'] is not set"),
    ("{{UserAttribute['city']|upper}}", None, "User Attribute",
     "UserAttribute['city'] is not set"),
    ("{{UserAttribute['city'] + 1}}", None, "User Attribute",
     "UserAttribute['city'] is not set"),
    ("{% for c in UserAttribute['city'] %}{% endfor %}", None, "User Attribute",
     "UserAttribute['city'] is not set"),
    ("{{UserAttribute['city']|base64encode}}", None, "User Attribute",
     "UserAttribute['city'] is not set"),
    ("{{EventAttribute['sku']}}", {"price": 3}, "Event Attribute",
     "EventAttribute['sku'] is not set"),
    ("{{EventAttribute['sku']}}", None, "Event Attribute",
     "EventAttribute['sku']: event attributes exist only in event-triggered campaigns"),
    ("{{CampaignCreationForm['message']}}", None, "Campaign Attribute",
     "CampaignCreationForm['message'] is not set"),
    ("{{AppMarketplaceForm['api_key']}}", None, "Campaign Attribute",
     "AppMarketplaceForm['api_key'] is not set"),
    ("{{ first_name }}", None, "Undefined", "'first_name' is undefined"),
    ("{{ user.name }}", None, "Undefined", "'user' is undefined"),
    ("{{ 1 / 0 }}", None, "Unknown", "ZeroDivisionError: division by zero"),
    ("{{ 'x'|nosuchfilter }}", None, "Unknown",
     "Jinja does not parse: No filter named 'nosuchfilter'. (line 1)"),
    ("{{ UserAttribute['plan' }}", None, "Unknown",
     "Jinja does not parse: unexpected '}', expected ']' (line 1)"),
    ("{{ 'a-b'|base64decode }}", None, "Unknown",
     "ValueError: base64decode: Only base64 data is allowed"),
    ("{{ 'not a date'|dateFormatter('%Y') }}", None, "Unknown",
     "ValueError: 'not a date' is not a date (ISO 8601, epoch or a day-first date expected)"),
    ("{{ '%Y'|today('Mars/Olympus') }}", None, "Unknown",
     "ZoneInfoNotFoundError: 'No time zone found with key Mars/Olympus'"),
])
def test_failures_carry_moengage_categories(source, event, category, detail):
    with pytest.raises(PersonalizationFailed) as failure:
        render(source, event=event)
    assert (failure.value.category, failure.value.detail) == (category, detail)


def test_the_sandbox_refuses_python_internals():
    with pytest.raises(PersonalizationFailed):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}")


@pytest.mark.parametrize("source, reason", [
    ('{% MOE_NOT_SEND("no plan for this user") %}', "no plan for this user"),
    ("{% MOE_NOT_SEND() %}", "MOE_NOT_SEND"),
    ("{% MOE_NOT_SEND %}", "MOE_NOT_SEND"),
    ("{% if not UserAttribute['city'] %}{% MOE_NOT_SEND('no city') %}{% endif %}", "no city"),
    ("Hi {{UserAttribute['Gender']|default('MOE_NOT_SEND')}}", "MOE_NOT_SEND"),
    ("{{UserAttribute['city']|default('MOE_NOT_SEND')}}", "MOE_NOT_SEND"),
])
def test_moe_not_send(source, reason):
    with pytest.raises(NotSend) as stop:
        render(source)
    assert (stop.value.reason, stop.value.category, stop.value.detail) == (
        reason, "Custom Error Message", reason)


@pytest.mark.parametrize("source, now, expected", [
    # today: now in a zone; EST means New York's local time (EDT in July)
    ("{{ '%m/%d/%Y %H:%M'|today('EST') }}", SUMMER, "07/04/2026 11:30"),
    ("{{ '%m/%d/%Y %H:%M'|today('EST') }}", WINTER, "01/15/2026 10:30"),
    ("{{ '%d %H:%M'|today('Asia/Kolkata') }}", SUMMER, "04 21:00"),
    ("{{ '%H:%M'|today('IST') }}", SUMMER, "21:00"),
    ("{{ '%H:%M'|today('+05:45') }}", SUMMER, "21:15"),
    ("{{ '%H:%M'|today('UTC-3') }}", SUMMER, "12:30"),
    ("{{ '%Y-%m-%d'|today }}", SUMMER, "2026-07-04"),
    ("{{ '%H:%M'|today('PST') }}", WINTER, "07:30"),
    # dateFormatter: ISO text, epoch seconds / milliseconds, an explicit input format
    ("{{ UserAttribute['Birthday']|dateFormatter('%m/%d/%Y') }}", SUMMER, "05/17/1990"),
    ("{{ 1783179000|dateFormatter('%Y-%m-%d %H:%M') }}", SUMMER, "2026-07-04 15:30"),
    ("{{ 1783179000000|dateFormatter('%Y-%m-%d %H:%M') }}", SUMMER, "2026-07-04 15:30"),
    ("{{ '17/05/1990'|dateFormatter('%B %d', fromFormat='%d/%m/%Y') }}", SUMMER, "May 17"),
    # days: other (default: now) minus value, in whole UTC calendar days
    ("{{ '2026-07-14'|days }}", SUMMER, "-10"),
    ("{{ '2026-06-30T23:59:00Z'|days }}", SUMMER, "4"),
    ("{{ '2026-07-14'|days('2026-07-01') }}", SUMMER, "-13"),
    # dateTimeFormatter: tzOffset (minutes) wins; -1000 means "not available" -> timeZone
    ("{{ '2026-07-04T10:00:00Z'|dateTimeFormatter(toFormat='%H:%M', tzOffset=330, "
     "timeZone='EST') }}", SUMMER, "15:30"),
    ("{{ '2026-07-04T10:00:00Z'|dateTimeFormatter(toFormat='%H:%M %Z', tzOffset=-1000, "
     "timeZone='Asia/Kolkata') }}", SUMMER, "15:30 IST"),
    ("{{ '2026-07-04T10:00:00Z'|dateTimeFormatter(toFormat='%H:%M', "
     "tzOffset=UserAttribute['User Timezone Offset (Mins)']) }}", SUMMER, "15:30"),
    ("{{ '2026-07-04T10:00:00Z'|dateTimeFormatter(toFormat='%H:%M', "
     "tzOffset=UserAttribute['city']|default(-1000), timeZone='EST') }}", SUMMER, "06:00"),
    ("{{ '2026-07-04T10:00:00Z'|dateTimeFormatter(toFormat='%Y-%m-%d %H:%M') }}", SUMMER,
     "2026-07-04 10:00"),
    ("{{ '04-07-2026 10:00'|dateTimeFormatter(toFormat='%H:%M', tzOffset=-60, "
     "fromFormat='%d-%m-%Y %H:%M') }}", SUMMER, "09:00"),
])
def test_date_filters_use_the_renderers_now(source, now, expected):
    assert render(source, now=now) == expected


@pytest.mark.parametrize("source, expected", [
    # HMAC-SHA256 with the secret as key (RFC 4231-style vector from the HMAC article)
    ("{{ 'The quick brown fox jumps over the lazy dog'|convertToSHA256('key') }}",
     "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"),
    ("{{ 'abc'|convertToSHA256NoSalt }}",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("{{ 'ABC123:123XYZ'|base64encode }}", "QUJDMTIzOjEyM1hZWg=="),
    ("{{ 'QUJDMTIzOjEyM1hZWg=='|base64decode }}", "ABC123:123XYZ"),
    ("{{ 'São Paulo'|base64encode|base64decode }}", "São Paulo"),
    ("{{ 'a b&c=d/é'|urlencode }}", "a%20b%26c%3Dd%2F%C3%A9"),
    ("{{ {'q': 'a b', 'n': 1}|urlencode }}", "q=a%20b&n=1"),
    ("{{ 'a%20b%26c%2Fd+e'|urldecode }}", "a b&c/d+e"),
])
def test_encoding_filters(source, expected):
    assert render(source) == expected


def test_a_naive_now_is_utc():
    renderer = Renderer(datetime(2026, 7, 4, 15, 30))
    assert renderer.render("{{ '%H:%M'|today('UTC') }}", renderer.context()) == "15:30"


@pytest.mark.parametrize("source, problem", [
    ("{{ UserAttribute['First Name'] }}", None),
    ("{{ x|dateTimeFormatter(toFormat='%Y') }}", None),
    ("{{ x|nope }}", "Jinja does not parse: No filter named 'nope'. (line 1)"),
    ("{% if x %}", "Jinja does not parse: Unexpected end of template. Jinja was looking for "
                   "the following tags: 'elif' or 'else' or 'endif'. The innermost block that "
                   "needs to be closed is 'if'. (line 1)"),
])
def test_compile_problem(source, problem):
    assert compile_problem(source) == problem


@pytest.mark.parametrize("values, expected", [
    ({"receiver_id": "{{UserAttribute['First Name']|title}}"}, {"receiver_id": "Ana"}),
    ({"message": "Hi {{UserAttribute['Gender']|default('there')}}"}, {"message": "Hi there"}),
    ({"count": 3, "flag": True, "choice": ["k1", "k2"], "doc": {"a": "{{x}}"}, "none": None},
     {"count": 3, "flag": True, "choice": ["k1", "k2"], "doc": {"a": "{{x}}"}, "none": None}),
    ({"pairs": [{"key": "name_{{UserAttribute['plan']}}", "value": "{{UserAttribute['u_ln']}}",
                 "deletable": True, "uniqueKey": "u-1"},
                {"key": "fixed", "value": 7}]},
     {"pairs": [{"key": "name_gold", "value": "Silva", "deletable": True, "uniqueKey": "u-1"},
                {"key": "fixed", "value": 7}]}),
    ({"sku": "{{EventAttribute['sku']}}"}, {"sku": "X-1"}),
])
def test_pass_one_renders_campaign_values(values, expected):
    renderer = Renderer(SUMMER)
    assert render_campaign_values(renderer, values, USER, {"sku": "X-1"}) == expected


def test_pass_one_failure_names_the_user_attribute():
    with pytest.raises(PersonalizationFailed) as failure:
        render_campaign_values(Renderer(SUMMER), {"to": "{{UserAttribute['Mobile Number']}}"},
                               USER, None)
    assert failure.value.category == "User Attribute"


def test_pass_two_sees_both_forms_and_the_user():
    renderer = Renderer(SUMMER)
    campaign_form = render_campaign_values(
        renderer, {"message": "Hi {{UserAttribute['First Name']}}"}, USER, None)
    app_form = app_form_values({"account_id": "ACME"}, {"MOE_ACCESS_TOKEN_DEFAULT": "tok-1"})
    source = ('{{AppMarketplaceForm["account_id"]}}|{{AppMarketplaceForm.MOE_ACCESS_TOKEN_DEFAULT}}'
              '|{{CampaignCreationForm["message"]}}|{{UserAttribute["plan"]}}')
    context = renderer.context(USER, None, app_form, campaign_form)
    assert renderer.render(source, context) == "ACME|tok-1|Hi ana|gold"


def test_app_form_values_accepts_only_oauth_variables():
    with pytest.raises(ValueError, match="not OAuth variables: password"):
        app_form_values({}, {"password": "x"})


LOOKUP_ONLY = [
    "{{UserAttribute['First Name']}}", 'Hi {{ UserAttribute["plan"] }}!\n',
    "{{UserAttribute.first_name}} {{UserAttribute['visits']}}{{UserAttribute['vip']}}",
    "{{UserAttribute['tags']}} {{UserAttribute['geo']}} {{UserAttribute['note']}}.",
    "{{UserAttribute['city']}}", "{{UserAttribute['missing']}}", "{{EventAttribute['n']}}",
    '{"to": "{{CampaignCreationForm["to"]}}", "key": "{{AppMarketplaceForm["key"]}}"}',
    "{{AppMarketplaceForm['absent']}}", "{{ UserAttribute['x']  }}MOE_NOT_SEND",
    "{{ UserAttribute.items }}",  # no such attribute on the namespace: a lookup, as in Jinja
]


@pytest.mark.parametrize("source", LOOKUP_ONLY)
@pytest.mark.parametrize("event", [None, {"n": 7}])
def test_lookup_only_templates_render_as_jinja_does(source, event):
    """The lookups-only fast form (no Jinja render context per user) gives Jinja's text, or
    its failure with the same category and detail."""
    from simulator.core import templating
    assert isinstance(templating.compiled(source), templating._Lookups)
    renderer = Renderer(SUMMER)
    context = renderer.context(USER, event, {"key": "k"}, {"to": "+91"})

    def outcome(run):
        try:
            text = run()
        except PersonalizationFailed as failure:
            return ("failed", failure.category, failure.detail)
        return ("not send",) if "MOE_NOT_SEND" in text else ("text", text)

    jinja = templating._shared_environment().from_string(source)
    try:
        fast = ("text", renderer.render(source, context))
    except NotSend:
        fast = ("not send",)
    except PersonalizationFailed as failure:
        fast = ("failed", failure.category, failure.detail)
    assert fast == outcome(lambda: jinja.render(context))


@pytest.mark.parametrize("source", ["{{UserAttribute['plan']|upper}}", "{% if 1 %}x{% endif %}",
                                    "{{ UserAttribute[0] }}", "{{ UserAttribute.__class__ }}",
                                    "{{ other['x'] }}", "{{ '{{' }}"])
def test_anything_more_than_lookups_renders_through_jinja(source):
    from simulator.core import templating
    assert not isinstance(templating.compiled(source), templating._Lookups)


@pytest.mark.parametrize("source", [
    "{{UserAttribute['ID']}}", "{{ UserAttribute['ID']|upper|lower }}", "{{UserAttribute.uid}}",
    "{{UserAttribute['uid']}}", "Hi {{UserAttribute['ID']}}{% if true %}{% endif %}",
])
def test_user_attribute_id_is_the_customer_id(source):
    """Spec §7 table: ``uid``, display name ``ID``, is the user's customer id; it is not among
    the stored attributes, so the renderer is given it. A stored ``uid`` does not win."""
    renderer = Renderer(SUMMER)
    context = renderer.context({"uid": "stale", "u_fn": "Ana"}, None, customer_id="cust-42")
    assert renderer.render(source, context).removeprefix("Hi ") == "cust-42"


def test_user_attribute_id_without_a_customer_id_is_a_user_attribute_failure():
    renderer = Renderer(SUMMER)
    with pytest.raises(PersonalizationFailed) as failure:
        renderer.render("{{UserAttribute['ID']}}", renderer.context({}, None))
    assert failure.value.category == "User Attribute"


@pytest.mark.parametrize("name, stored", [
    ("Email", "u_em"), ("Mobile Number", "u_mb"), ("First name", "u_fn"),
    ("first name", "u_fn"), ("User Time Zone Offset (Mins)", "moe_dtzo"),
    ("User Timezone Offset (Mins)", "moe_dtzo"), ("Location", "geo"),
    ("Advertising Identifier", "advertising_identifier"),
    ("Google Advertising ID", "moe_gaid"),
])
def test_user_attribute_spellings_the_docs_use(name, stored):
    """jinja-templating-language.mdx writes UserAttribute['Email'], ['Mobile Number'],
    ['First name'] and ['User Time Zone Offset (Mins)']; the personalization-failure page lists
    Location and Advertising Identifier. Each reads its standard attribute, on the fast path
    and through Jinja."""
    renderer = Renderer(SUMMER)
    context = renderer.context({stored: "v"}, None, customer_id="c")
    assert renderer.render(f"{{{{UserAttribute['{name}']}}}}", context) == "v"
    assert renderer.render(f"{{{{UserAttribute['{name}']|lower}}}}", context) == "v"


def test_custom_attribute_names_stay_case_sensitive():
    renderer = Renderer(SUMMER)
    context = renderer.context({"Plan": "gold"}, None)
    with pytest.raises(PersonalizationFailed):
        renderer.render("{{UserAttribute['plan']}}", context)
