"""MoEngage templating (spec §2.4): sandboxed Jinja with MoEngage's tags, namespaces and filters.

Parsing (config validation) and finding ``AppMarketplaceForm[...]`` / ``CampaignCreationForm[...]``
references, and per-user rendering:

- ``UserAttribute['First Name']`` answers to a display name, a Data API key (``first_name``), an
  internal key (``u_fn``) or a custom attribute's name; ``EventAttribute['x']`` reads the trigger
  event's attributes; ``AppMarketplaceForm`` / ``CampaignCreationForm`` read the form values.
- A missing or null value is a *categorized* undefined: ``|default('x')``, ``is defined`` and
  ``{% if %}`` work on it (it is falsy), but printing, iterating or computing with it raises
  ``PersonalizationFailed`` with MoEngage's category.
- ``{% MOE_NOT_SEND("reason") %}``, or an output containing ``MOE_NOT_SEND``, raises ``NotSend``.

The custom filters and the time-zone names live in ``template_filters``. Time comes in: a
``Renderer`` is built with ``now``; the ``today`` and ``days`` filters read it. Compiled
templates are cached per source text for the whole process (compiling is pure), so a campaign
rendering the same templates for 100k users compiles each once, and a ``Renderer`` is cheap to
create per send.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from jinja2 import Template, TemplateSyntaxError, Undefined, nodes
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

from . import template_limits
from .attributes import CUSTOMER_ID_KEY, template_key
from .template_filters import FILTERS, NOW_SLOT
from .template_limits import TEMPLATE_LIMIT_FAILED, BoundedSandbox, TemplateLimit

APP_FORM = "AppMarketplaceForm"
CAMPAIGN_FORM = "CampaignCreationForm"
USER_ATTRIBUTE = "UserAttribute"
EVENT_ATTRIBUTE = "EventAttribute"
# Spec §2.5: variables MoEngage fills in itself for OAuth connections.
OAUTH_SPECIAL_KEYS = frozenset({"redirect_uri", "state", "auth_code", "MOE_ACCESS_TOKEN_DEFAULT",
                                "refresh_token"})
NOT_SEND_MARKER = "MOE_NOT_SEND"

# Spec §2.4: MoEngage's personalization-failure categories.
USER_ATTRIBUTE_FAILED = "User Attribute"
EVENT_ATTRIBUTE_FAILED = "Event Attribute"
CAMPAIGN_ATTRIBUTE_FAILED = "Campaign Attribute"
UNDEFINED_FAILED = "Undefined"
UNKNOWN_FAILED = "Unknown"
CUSTOM_ERROR_MESSAGE = "Custom Error Message"



class PersonalizationFailed(Exception):
    """Nothing is sent to this user; counted as Failed / "Personalization Failed"."""

    def __init__(self, category: str, detail: str):
        super().__init__(f"{category}: {detail}")
        self.category = category
        self.detail = detail


class NotSend(Exception):
    """``{% MOE_NOT_SEND("reason") %}`` or ``default('MOE_NOT_SEND')``: skip this user."""

    category = CUSTOM_ERROR_MESSAGE

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    @property
    def detail(self) -> str:
        return self.reason


class MoeNotSendExtension(Extension):
    """The ``{% MOE_NOT_SEND("custom reason") %}`` tag (spec §2.4, S11/S13)."""

    tags = {"MOE_NOT_SEND"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        reason: nodes.Expr = nodes.Const(NOT_SEND_MARKER)
        if parser.stream.skip_if("lparen"):
            if parser.stream.current.type != "rparen":
                reason = parser.parse_expression()
            parser.stream.expect("rparen")
        return nodes.Output([self.call_method("_not_send", [reason])], lineno=lineno)

    def _not_send(self, reason) -> str:
        raise NotSend(str(reason))


# --- undefined values, one class per failure category --------------------------------------

class _Missing(Undefined):
    """Falsy and ``default``-able; printing, iterating or computing with it fails the send."""

    __slots__ = ()
    category = UNDEFINED_FAILED

    def __init__(self, hint=None, obj=missing, name=None, exc=None):
        super().__init__(hint, obj, name, functools.partial(PersonalizationFailed, self.category))

    __iter__ = __str__ = __len__ = __contains__ = Undefined._fail_with_undefined_error


class _MissingUserAttribute(_Missing):
    __slots__ = ()
    category = USER_ATTRIBUTE_FAILED


class _MissingEventAttribute(_Missing):
    __slots__ = ()
    category = EVENT_ATTRIBUTE_FAILED


class _MissingFormValue(_Missing):
    __slots__ = ()
    category = CAMPAIGN_ATTRIBUTE_FAILED


class _Namespace:
    """``UserAttribute[...]`` and friends: read-only, subscript or dotted access. No public
    attributes, so ``UserAttribute.items`` looks up an attribute called ``items``."""

    __slots__ = ("_absent", "_label", "_missing", "_resolve", "_values")

    def __init__(self, label: str, values: Mapping[str, Any] | None, missing: type[_Missing],
                 resolve=None, absent: str | None = None):
        self._values = values or {}
        self._label, self._missing, self._resolve, self._absent = label, missing, resolve, absent

    def __getitem__(self, name):
        if self._absent is not None:
            return self._missing(f"{self._label}[{name!r}]: {self._absent}")
        value = self._values.get(name)
        if value is None and self._resolve is not None and isinstance(name, str):
            value = self._values.get(self._resolve(name))
        if value is None:
            return self._missing(f"{self._label}[{name!r}] is not set")
        return value


class _UserNamespace(_Namespace):
    """``UserAttribute[...]``: the stored attributes, and ``ID`` (``uid``), the user's customer
    id, which is not stored among them (spec §7 table)."""

    __slots__ = ("_customer_id",)

    def __init__(self, values: Mapping[str, Any] | None, customer_id: str | None):
        super().__init__(USER_ATTRIBUTE, values, _MissingUserAttribute, template_key)
        self._customer_id = customer_id

    def __getitem__(self, name):
        if self._customer_id is not None and isinstance(name, str) \
                and template_key(name) == CUSTOMER_ID_KEY:
            return self._customer_id
        return super().__getitem__(name)


def form_namespace(values: Mapping[str, Any] | None) -> _Namespace:
    """``AppMarketplaceForm`` over ``values`` (read-only, so one serves a whole send)."""
    return _Namespace(APP_FORM, values, _MissingFormValue)


# read-only, so shared by every context
_NO_EVENT = _Namespace(EVENT_ATTRIBUTE, None, _MissingEventAttribute,
                       absent="event attributes exist only in event-triggered campaigns")
_NO_APP_FORM = form_namespace(None)
_NO_CAMPAIGN_FORM = _Namespace(CAMPAIGN_FORM, None, _MissingFormValue)


# --- environment, parsing, references --------------------------------------------------------

# Jinja's built-in filters that take a width or count, or a format string
_SIZED_FILTERS = ("center", "indent", "wordwrap", "truncate", "format", "batch", "slice")


def environment() -> SandboxedEnvironment:
    # loopcontrols: {% break %} / {% continue %} (jinja-templating-language.mdx, "Content Break")
    env = BoundedSandbox(extensions=[MoeNotSendExtension, "jinja2.ext.loopcontrols"],
                         autoescape=False, undefined=_Missing)
    env.filters.update(FILTERS)
    for name in _SIZED_FILTERS:
        env.filters[name] = template_limits.bounded_filter(env.filters[name])
    return env


@functools.cache
def _shared_environment() -> SandboxedEnvironment:
    return environment()


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


def is_template(source: str) -> bool:
    return "{{" in source or "{%" in source or "{#" in source


_NAMESPACES = frozenset({USER_ATTRIBUTE, EVENT_ATTRIBUTE, APP_FORM, CAMPAIGN_FORM})


def _sendable(text: str) -> str:
    """A rendering's text, unless it asks not to send (``MOE_NOT_SEND`` anywhere in it)."""
    if NOT_SEND_MARKER in text:
        raise NotSend(NOT_SEND_MARKER)
    return text


def _unknown(exc: Exception) -> PersonalizationFailed:
    """A template error that is not a missing value: the user fails, category Unknown."""
    return PersonalizationFailed(UNKNOWN_FAILED, f"{type(exc).__name__}: {exc}")


_ASK = object()  # a ``_Lookups`` part whose value only the namespace's ``[...]`` knows


class _Text(str):
    """Plain text (no template syntax): renders as itself."""

    __slots__ = ()

    def render(self, context: dict) -> str:
        return _sendable(str(self))


class _Lookups(tuple):
    """A template that only prints literal text and ``Namespace['key']`` / ``Namespace.key``
    values: its parts, literal strings and ``(namespace, key, stored key or None)``. Rendered without
    Jinja's per-render context, with the same result and the same errors: a value prints as
    ``str(value)`` (Jinja's output of a non-autoescaped expression) and a missing one raises
    its category's ``PersonalizationFailed`` from ``__str__``, exactly as in Jinja."""

    __slots__ = ()

    def render(self, context: dict) -> str:
        out = []
        try:
            for part in self:
                if type(part) is str:
                    out.append(part)
                    continue
                namespace = context[part[0]]
                if part[2] is _ASK:  # the customer id: what [...] answers
                    value = namespace[part[1]]
                else:
                    value = namespace._values.get(part[1])  # a set value; else what [...] says
                    if value is None and part[2] is not None:
                        value = namespace._values.get(part[2])
                    if value is None:
                        value = namespace[part[1]]
                out.append(value if type(value) is str else str(value))
        except PersonalizationFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - as a Jinja render's errors
            raise _unknown(exc) from None
        return _sendable("".join(out))


class _Jinja:
    """A compiled Jinja template."""

    __slots__ = ("template",)

    def __init__(self, template: Template):
        self.template = template

    def render(self, context: dict) -> str:
        try:
            text = template_limits.render(self.template, context)
        except (NotSend, PersonalizationFailed):
            raise
        except TemplateLimit as limit:
            raise PersonalizationFailed(TEMPLATE_LIMIT_FAILED, str(limit)) from None
        except Exception as exc:  # noqa: BLE001 - any template error fails this user only
            raise _unknown(exc) from None
        return _sendable(text)


class _Broken:
    """A template that does not compile: every render fails."""

    __slots__ = ("error",)

    def __init__(self, error: TemplateSyntaxError):
        self.error = error

    def render(self, context: dict) -> str:
        raise PersonalizationFailed(UNKNOWN_FAILED, _problem(self.error))


def _lookups(tree: nodes.Template) -> _Lookups | None:
    """The parts of a template that is only text and namespace lookups, else None."""
    parts: list = []
    for output in tree.body:
        if type(output) is not nodes.Output:
            return None
        for node in output.nodes:
            if type(node) is nodes.TemplateData:
                parts.append(node.data)
                continue
            if type(node) is nodes.Getitem and type(node.arg) is nodes.Const \
                    and type(node.arg.value) is str:
                key = node.arg.value
            elif type(node) is nodes.Getattr and not node.attr.startswith("_") \
                    and not hasattr(_Namespace, node.attr):  # the sandbox falls back to [attr]
                key = node.attr
            else:
                return None
            target = node.node
            if type(target) is not nodes.Name or target.name not in _NAMESPACES:
                return None
            # a user attribute's display name also reads its stored key (``_Namespace``)
            stored = template_key(key) if target.name == USER_ATTRIBUTE else key
            if stored == CUSTOMER_ID_KEY and target.name == USER_ATTRIBUTE:
                parts.append((target.name, key, _ASK))
            else:
                parts.append((target.name, key, stored if stored != key else None))
    return _Lookups(parts)


@functools.lru_cache(maxsize=4096)
def compiled(source: str) -> _Text | _Lookups | _Jinja | _Broken:
    """``source`` ready to render: ``compiled(source).render(context)`` is
    ``Renderer.render(source, context)``. Plain text as is, else the lookups-only fast form or
    the compiled template, else why it does not compile. A send keeps the handles of the
    templates it renders for every user."""
    if not is_template(source):
        return _Text(source)
    env = _shared_environment()
    try:
        template = env.from_string(source)
    except TemplateSyntaxError as exc:
        return _Broken(exc.with_traceback(None))
    return _lookups(env.parse(source)) or _Jinja(template)


def connection_only(source: str) -> bool:
    """Whether ``source`` renders the same for every user of a send: plain text, or text and
    ``AppMarketplaceForm`` lookups only (no filters, so no clock either)."""
    handle = compiled(source)
    return type(handle) is _Text or type(handle) is _Lookups and all(
        type(part) is str or part[0] == APP_FORM for part in handle)


def _problem(error: TemplateSyntaxError) -> str:
    return f"Jinja does not parse: {error.message} (line {error.lineno})"


def compile_problem(source: str) -> str | None:
    """Why ``source`` cannot be rendered (syntax, unknown filter), or None."""
    handle = compiled(source)
    return _problem(handle.error) if type(handle) is _Broken else None


# --- rendering -------------------------------------------------------------------------------

class Renderer:
    """Renders templates for one send at ``now``."""

    __slots__ = ("now",)

    def __init__(self, now: datetime):
        self.now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def context(self, user_attrs: Mapping[str, Any] | None = None,
                event: Mapping[str, Any] | None = None,
                app_form: Mapping[str, Any] | None = None,
                campaign_form: Mapping[str, Any] | None = None,
                customer_id: str | None = None) -> dict:
        """The names a template sees. ``user_attrs`` is keyed by storage key (``u_fn``);
        ``event`` is the trigger event's attributes (None: not an event-triggered send);
        ``customer_id`` is what ``UserAttribute['ID']`` reads (None: a missing value)."""
        return self.fill_forms(self.user_context(user_attrs, event, customer_id),
                               form_namespace(app_form), campaign_form)

    def user_context(self, user_attrs: Mapping[str, Any] | None,
                     event: Mapping[str, Any] | None, customer_id: str | None = None) -> dict:
        """``context`` with empty forms: what pass 1 (the campaign field values) sees."""
        return {
            NOW_SLOT: self.now,
            USER_ATTRIBUTE: _UserNamespace(user_attrs, customer_id),
            EVENT_ATTRIBUTE: _NO_EVENT if event is None else
            _Namespace(EVENT_ATTRIBUTE, event, _MissingEventAttribute),
            APP_FORM: _NO_APP_FORM,
            CAMPAIGN_FORM: _NO_CAMPAIGN_FORM,
        }

    def render(self, source: str, context: dict) -> str:
        """The rendered text; raises ``NotSend`` or ``PersonalizationFailed``."""
        return compiled(source).render(context)

    @staticmethod
    def fill_forms(context: dict, app_form: _Namespace,
                   campaign_form: Mapping[str, Any] | None) -> dict:
        """A ``user_context`` with the forms filled in, in place (pass 2; the caller is done
        with pass 1). ``app_form``: a ``form_namespace``, which a send builds once for all
        its users."""
        context[APP_FORM] = app_form
        context[CAMPAIGN_FORM] = _Namespace(CAMPAIGN_FORM, campaign_form, _MissingFormValue)
        return context


def app_form_values(connection_values: Mapping[str, Any],
                    oauth: Mapping[str, Any] | None = None) -> dict:
    """``AppMarketplaceForm`` for pass 2: the connection's values plus the OAuth variables
    MoEngage fills in (``MOE_ACCESS_TOKEN_DEFAULT``, ...)."""
    unknown = set(oauth or {}) - OAUTH_SPECIAL_KEYS
    if unknown:
        raise ValueError(f"not OAuth variables: {', '.join(sorted(unknown))}")
    return {**connection_values, **(oauth or {})}


def render_campaign_values(renderer: Renderer, values: Mapping[str, Any],
                           user_attrs: Mapping[str, Any] | None,
                           event: Mapping[str, Any] | None, *, context: dict | None = None,
                           customer_id: str | None = None) -> dict:
    """Pass 1 (spec §2.4 [I]): the marketer's campaign field values for one user. Strings and
    ``key_value`` row keys and values are rendered; other values pass through. ``context``:
    the user's ``Renderer.user_context``, when the caller has it."""
    if context is None:
        context = renderer.user_context(user_attrs, event, customer_id)
    rendered: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str):
            rendered[key] = renderer.render(value, context)
        elif isinstance(value, list) and value and all(
                isinstance(row, dict) and "key" in row and "value" in row for row in value):
            rendered[key] = [{**row, **{part: renderer.render(row[part], context)
                                        for part in ("key", "value")
                                        if isinstance(row[part], str)}} for row in value]
        else:
            rendered[key] = value
    return rendered


def limit_problem(renderer: Renderer, source: str, context: dict) -> str | None:
    """Why ``source`` cannot render within the bounds of ``template_limits`` for the user of
    ``context``, or None (any other outcome, a personalization failure included, is not a
    bounds problem)."""
    try:
        renderer.render(source, context)
    except PersonalizationFailed as failed:
        return failed.detail if failed.category == TEMPLATE_LIMIT_FAILED else None
    except NotSend:
        return None
    return None


__all__ = ["NotSend", "PersonalizationFailed", "Reference", "Renderer", "TemplateSyntaxError",
           "environment", "parse", "references", "is_template", "compile_problem",
           "render_campaign_values", "app_form_values", "form_namespace",
           "APP_FORM", "CAMPAIGN_FORM", "USER_ATTRIBUTE", "EVENT_ATTRIBUTE",
           "OAUTH_SPECIAL_KEYS", "NOT_SEND_MARKER",
           "USER_ATTRIBUTE_FAILED", "EVENT_ATTRIBUTE_FAILED", "CAMPAIGN_ATTRIBUTE_FAILED",
           "UNDEFINED_FAILED", "UNKNOWN_FAILED", "CUSTOM_ERROR_MESSAGE", "TEMPLATE_LIMIT_FAILED",
           "limit_problem"]
