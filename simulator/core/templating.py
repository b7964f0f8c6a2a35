"""MoEngage templating (spec §2.4): sandboxed Jinja with MoEngage's tags and namespaces.

So far: parsing (config validation) and finding ``AppMarketplaceForm[...]`` /
``CampaignCreationForm[...]`` references. Rendering arrives with the sending work.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, nodes
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment

APP_FORM = "AppMarketplaceForm"
CAMPAIGN_FORM = "CampaignCreationForm"
# Spec §2.5: variables MoEngage fills in itself for OAuth connections.
OAUTH_SPECIAL_KEYS = frozenset({"redirect_uri", "state", "auth_code", "MOE_ACCESS_TOKEN_DEFAULT",
                                "refresh_token"})


class NotSend(Exception):
    """``{% MOE_NOT_SEND("reason") %}`` or ``default('MOE_NOT_SEND')``: skip this user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MoeNotSendExtension(Extension):
    """The ``{% MOE_NOT_SEND("custom reason") %}`` tag (spec §2.4, S11/S13)."""

    tags = {"MOE_NOT_SEND"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        reason: nodes.Expr = nodes.Const("MOE_NOT_SEND")
        if parser.stream.skip_if("lparen"):
            if parser.stream.current.type != "rparen":
                reason = parser.parse_expression()
            parser.stream.expect("rparen")
        return nodes.Output([self.call_method("_not_send", [reason])], lineno=lineno)

    def _not_send(self, reason) -> str:
        raise NotSend(str(reason))


def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(extensions=[MoeNotSendExtension], autoescape=False)


@dataclass(frozen=True)
class Reference:
    namespace: str
    key: str


def parse(env: SandboxedEnvironment, source: str) -> nodes.Template:
    """The template's syntax tree; raises ``TemplateSyntaxError``."""
    return env.parse(source)


def references(tree: nodes.Template) -> list[Reference]:
    """``AppMarketplaceForm["k"]``, ``AppMarketplaceForm.k`` and the same for
    ``CampaignCreationForm``, in source order."""
    found = []
    for node in tree.find_all((nodes.Getitem, nodes.Getattr)):
        target = node.node
        if not isinstance(target, nodes.Name) or target.name not in (APP_FORM, CAMPAIGN_FORM):
            continue
        if isinstance(node, nodes.Getattr):
            found.append(Reference(target.name, node.attr))
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.append(Reference(target.name, node.arg.value))
    return found


__all__ = ["NotSend", "Reference", "TemplateSyntaxError", "environment", "parse", "references",
           "APP_FORM", "CAMPAIGN_FORM", "OAUTH_SPECIAL_KEYS"]
