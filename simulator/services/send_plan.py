"""What a campaign send needs that does not depend on the user (``Plan``, made once per send
by ``prepare``), and one user's request built from it (``build``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..core import campaigns as rules
from ..core import form_values, jsontext, outbound, templating
from ..core import oauth_configs as oauth_rules
from ..core.http import OutboundRequest
from ..store import connections, connectors
from . import oauth, oauth_configs
from .context import Context

# Spec §2.7 standard attribute "Delivery Type": MoEngage's names of the delivery types
# (S33, "Delivery Types - MoEngage Channels").
DELIVERY_TYPE_NAMES = {"ONE_TIME": "One Time", "PERIODIC": "Periodic",
                       "EVENT_TRIGGERED": "Event Triggered"}


@dataclass
class Plan:
    """Everything a campaign send needs that does not depend on the user."""
    campaign: dict
    channel: str
    request: dict | None = None
    auth: dict | None = None
    responses: list | None = None
    app_form: dict | None = None
    campaign_values: dict | None = None
    content: dict | None = None
    secrets: tuple[str, ...] = ()
    standard: dict | None = None
    config_request: outbound.ConfigRequest | None = None  # its user-independent part, once
    app_namespace: Any = None  # AppMarketplaceForm, built once for every user
    # (key, compiled template) of the campaign values when all are text, else None
    campaign_templates: list | None = None
    standard_json: str = "{}"  # ``standard`` as JSON text
    # Connector campaigns with authorization settings (spec §6.6)
    oauth: outbound.ConnectorOAuth | None = None
    token: str | None = None
    refresh: Callable[[], str | None] | None = None

    def renew_token(self) -> bool:
        """A reattempt code came back: fetch a new token (False when that failed)."""
        token = self.refresh() if self.refresh else None
        if token:
            self.token = token
            self.secrets = (*self.secrets, token)
        return token is not None


def _plan(db, campaign: dict, token: str | None) -> Plan:
    body = campaign["body"]
    plan = Plan(campaign, campaign["channel"])
    content = body["campaign_content"]["content"]
    standard = {"Campaign Name": campaign["name"], "Campaign Id": campaign["id"],
                "Readable Campaign Id": campaign["id"],
                "Campaign Type": body["campaign_delivery_type"],
                "Delivery Type": DELIVERY_TYPE_NAMES.get(body["campaign_delivery_type"],
                                                         body["campaign_delivery_type"]),
                "Campaign Tags": body["basic_details"].get("tags", [])}
    if plan.channel == rules.CONNECTED_APP:
        version = connectors.version(db, campaign["connector_id"], campaign["connector_version"])
        config = version["config"]
        module = config["modules"][0]["params"]
        connection = connections.get(db, campaign["connection_id"])
        plan.request, plan.auth, plan.responses = module["request"], config["auth"], \
            module["response"]
        specials = {"MOE_ACCESS_TOKEN_DEFAULT": token} if token else None
        plan.app_form = templating.app_form_values(connection["values"], specials)
        plan.config_request = outbound.ConfigRequest(
            plan.request, plan.auth,
            outbound.connection_texts(plan.request, plan.auth, plan.app_form))
        plan.app_namespace = templating.form_namespace(plan.app_form)
        plan.campaign_values = content["connected_app"].get("inputs", {})
        if all(isinstance(v, str) for v in plan.campaign_values.values()):
            plan.campaign_templates = [(k, templating.compiled(v))
                                       for k, v in plan.campaign_values.items()]
        secret_keys = form_values.secret_keys(config["input_variables"])
        plan.secrets = tuple(str(v) for k, v in connection["values"].items()
                             if k in secret_keys and v not in (None, "")) + ((token,) if token else ())
        app = connectors.app(db, version["app_id"])
        standard.update({"App name": app["name"], "Integration type": version["name"],
                         "Campaign Channel": "Connected Apps"})
    else:
        plan.content = content
        plan.oauth = outbound.connector_oauth(content["connector"])
        standard["Campaign Channel"] = "Connector"
    plan.standard = standard
    plan.standard_json = jsontext.dumps(standard)
    return plan


def build(plan: Plan, renderer: templating.Renderer, customer_id: str, attrs: dict,
          event: dict | None) -> tuple[OutboundRequest, dict | None]:
    """The user's request, and (Connected Apps) the pass-2 context, with the pass-1 campaign
    field values, which the response actions render with again. ``customer_id``: what
    ``UserAttribute['ID']`` reads; ``event``: the triggering event's attributes
    (event-triggered sends only)."""
    if plan.channel == rules.CONNECTED_APP:
        context = renderer.user_context(attrs, event, customer_id)
        if plan.campaign_templates is not None:  # the usual case: text fields, in order
            form = {key: template.render(context) for key, template in plan.campaign_templates}
        else:
            form = templating.render_campaign_values(renderer, plan.campaign_values, attrs,
                                                     event, context=context)
        context = renderer.fill_forms(context, plan.app_namespace, form)
        return plan.config_request.build(renderer, context), context
    if plan.oauth is not None and plan.token is None:
        raise TokenUnavailable()
    return outbound.from_connector_content(renderer, plan.content, attrs, event,
                                           oauth_token=plan.token, customer_id=customer_id), None


class TokenUnavailable(Exception):
    """MoEngage could not fetch the OAuth token: the send fails (spec §6.6: a generic 500)."""


def _oauth_token(ctx: Context, campaign: dict) -> str | None:
    """A Connected App campaign on an OAuth connection sends with a fresh access token."""
    if campaign["channel"] != rules.CONNECTED_APP:
        return None
    with ctx.store.read() as db:
        version = connectors.version(db, campaign["connector_id"], campaign["connector_version"])
    if version["config"]["auth"]["auth_type"] != "oauth":
        return None
    return oauth.access_token(ctx, campaign["connection_id"])


def prepare(ctx: Context, campaign: dict) -> Plan:
    """The user-independent part of a send (an OAuth token is fetched or refreshed here)."""
    token = _oauth_token(ctx, campaign)
    with ctx.store.read() as db:
        plan = _plan(db, campaign, token)
    if plan.oauth is not None:
        config_id = plan.oauth.config_id
        plan.token, spec = oauth_configs.token(ctx, config_id)
        connector = plan.content["connector"]
        # the campaign's prefix wins; else the configuration's preferred one (spec §6.6)
        overrides = connector.get("oauth") or {}
        plan.content = {**plan.content, "connector": {**connector, "oauth": {
            **overrides, "prefix": overrides.get("prefix", oauth_rules.prefix(spec))}}}
        plan.oauth = outbound.connector_oauth(plan.content["connector"])
        plan.secrets = (*plan.secrets, *([plan.token] if plan.token else []))
        plan.refresh = lambda: oauth_configs.token(ctx, config_id, refresh=True)[0]
    return plan


