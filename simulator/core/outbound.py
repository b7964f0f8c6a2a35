"""The HTTP request one user's send makes (spec §2.6, §4.3, §6): rendered from a Connected App
config's request and auth, or from a Connector campaign's content. Pure: it builds an
``OutboundRequest``; ``transport`` sends it.

Rendering problems raise ``templating.PersonalizationFailed`` / ``templating.NotSend``, which
fail or skip that user only.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from . import jsontext, templating
from .errors import FieldError
from .http import OutboundRequest
from .templating import UNKNOWN_FAILED, PersonalizationFailed, Renderer

CONNECTOR_METHODS = ("GET", "POST", "PUT", "DELETE")  # spec §5.2
BODY_TYPES = ("FORM", "JSON", "RAW")
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
CONNECTOR_FIELDS = ("method", "url", "url_params", "headers", "body_type", "body",
                    "oauth_config_id", "oauth")
OAUTH_FIELDS = ("header_key", "prefix", "reattempt_codes")

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class ConnectorOAuth:
    """A Connector campaign's authorization settings (spec §6.6): which OAuth config, and the
    header the token goes in (``<header_key>: <prefix> <token>``)."""

    config_id: Any
    header_key: str = "Authorization"
    prefix: str = "Bearer"                   # spec §6.6 [I]: the simulator's default prefix
    reattempt_codes: tuple[int, ...] = ()    # refresh the token and retry once on these


def connector_oauth(connector: Mapping[str, Any]) -> ConnectorOAuth | None:
    """``oauth_config_id`` plus the optional per-campaign ``oauth`` overrides, or None."""
    if connector.get("oauth_config_id") is None:
        return None
    overrides = connector.get("oauth") or {}
    return ConnectorOAuth(connector["oauth_config_id"],
                          overrides.get("header_key", "Authorization"),
                          overrides.get("prefix", "Bearer"),
                          tuple(overrides.get("reattempt_codes", ())))


# --- building blocks -------------------------------------------------------------------------

def with_query(url: str, params: Iterable[tuple[str, str]]) -> str:
    """``url`` with ``params`` appended to its query, percent-encoded (space -> ``%20``)."""
    params = list(params)
    if not params:
        return url
    parts = urlsplit(url)
    extra = urlencode(params, quote_via=quote)
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def named_rows(rows: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """A config's ``headers`` / ``url_params`` without the rows that have no name: MoEngage's
    own File Format skeleton and OAuth example carry ``{"": ""}`` as an empty row, which sends
    nothing (issue 17; validation warns about it)."""
    return [(str(k), v) for k, v in (rows or {}).items() if str(k).strip()]


def has_header(headers: Headers, name: str) -> bool:
    wanted = name.lower()
    return any(key.lower() == wanted for key, _ in headers)


def set_header(headers: Headers, name: str, value: str) -> Headers:
    """``headers`` with every ``name`` (any case) replaced by one ``name: value`` at the end."""
    wanted = name.lower()
    return [(k, v) for k, v in headers if k.lower() != wanted] + [(name, value)]


@functools.lru_cache(maxsize=256)
def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _renderer_for(renderer: Renderer, context: dict,
                  texts: Mapping[str, str] | None = None) -> Callable[[Any], str]:
    def render(value: Any) -> str:
        if isinstance(value, str):
            if texts:
                text = texts.get(value)
                if text is not None:
                    return text
            return renderer.render(value, context)
        return "" if value is None else str(value)
    return render


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def connection_texts(request: Mapping[str, Any], auth: Mapping[str, Any] | None,
                     app_form: Mapping[str, Any]) -> dict[str, str]:
    """The config's url, url_params, header and basic-auth templates that render the same for
    every user (``templating.connection_only``), rendered once for a whole send. Empty when one
    of them fails: each user then renders, and fails, on their own, as without it."""
    sources = [request.get("url", ""), *(request.get("url_params") or {}).values(),
               *(request.get("headers") or {}).values()]
    if auth and auth.get("auth_type") == "basic_auth":
        info = auth.get("auth_info") or {}
        sources += [info.get("username", ""), info.get("password", "")]
    renderer = Renderer(_EPOCH)  # connection-only templates read no clock
    context = renderer.context(None, None, app_form, None)
    texts: dict[str, str] = {}
    try:
        for source in sources:
            if isinstance(source, str) and templating.connection_only(source):
                texts[source] = renderer.render(source, context)
    except (PersonalizationFailed, templating.NotSend):
        return {}
    return texts


def _with_content_type(headers: Headers, content_type: str | None) -> Headers:
    if content_type and not has_header(headers, "Content-Type"):
        return [*headers, ("Content-Type", content_type)]
    return headers


def _checked(headers: Headers) -> Headers:
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise PersonalizationFailed(UNKNOWN_FAILED,
                                        f"header {name!r} contains a line break after rendering")
    return headers


def _finish(method: str, url: str, headers: Headers, body: bytes | None) -> OutboundRequest:
    return OutboundRequest(method, url, tuple(_checked(headers)), body)


def _json_checked(text: str, where: str) -> None:
    try:
        jsontext.loads(text)  # orjson first: this runs per user
    except ValueError as exc:
        raise PersonalizationFailed(UNKNOWN_FAILED,
                                    f"{where} is not valid JSON after rendering: {exc}") from None


def _form_pairs(text: str) -> list[tuple[str, str]] | None:
    """A FORM body written as JSON: an object, or rows of ``{name|key, value}`` (the shape
    OAuth token mappings use, spec §2.5). None when ``text`` is not one of those."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in data.items()]
    if isinstance(data, list) and all(isinstance(r, dict) and "value" in r for r in data):
        return [(str(r.get("name", r.get("key", ""))), str(r["value"])) for r in data]
    return None


# --- Connected App config (modules[0].params.request + auth) ---------------------------------

def from_config(renderer: Renderer, request: Mapping[str, Any], auth: Mapping[str, Any] | None,
                app_form: Mapping[str, Any], campaign_form: Mapping[str, Any],
                user_attrs: Mapping[str, Any] | None,
                event: Mapping[str, Any] | None, customer_id: str | None = None
                ) -> OutboundRequest:
    """Pass 2 (spec §2.4 [I]): ``campaign_form`` holds the pass-1 values; ``app_form`` the
    connection values (``templating.app_form_values`` adds the OAuth variables)."""
    return ConfigRequest(request, auth, {}).build(
        renderer, renderer.context(user_attrs, event, app_form, campaign_form, customer_id))


class ConfigRequest:
    """A config's request and auth for one send to many users. ``texts``: its
    ``connection_texts``. The url and headers, when they render the same for every user, are
    worked out once; ``build`` renders the rest, with the result and the failures of
    rendering everything for each user."""

    __slots__ = ("auth", "body_type", "method", "request", "texts", "_body", "_headers",
                 "_url")

    def __init__(self, request: Mapping[str, Any], auth: Mapping[str, Any] | None,
                 texts: Mapping[str, str]):
        self.request, self.auth, self.texts = request, auth, texts
        self.method = str(request.get("method", "GET")).upper()
        self.body_type = str(request.get("body_type") or "JSON").upper()
        self._url: str | None = None
        body = request.get("body") or ""
        # the body's text when it is the same for everyone, else its compiled template
        self._body: Any = (texts.get(body) or templating.compiled(body)) \
            if isinstance(body, str) else str(body)
        # (without, with) the body's content type; None: a header renders per user
        self._headers: tuple[tuple, tuple] | None = None
        fixed, render = self._fixed, _renderer_for(Renderer(_EPOCH), {}, texts)
        params = (request.get("url_params") or {}).values()
        if fixed(request.get("url", "")) and all(fixed(v) for v in params):
            self._url = self._render_url(render)
        info = (auth or {}).get("auth_info") or {}
        if all(fixed(v) for v in (request.get("headers") or {}).values()) and (
                not self._basic_auth or fixed(info.get("username", "")) and
                fixed(info.get("password", ""))):
            configured = self._configured_headers(render)
            try:
                self._headers = tuple(tuple(_checked(self._final_headers(render, configured, kind)))
                                      for kind in (None, _CONTENT_TYPES.get(self.body_type)))
            except PersonalizationFailed:  # a line break: each user fails on their own
                self._headers = None

    def _fixed(self, value: Any) -> bool:
        return not isinstance(value, str) or value in self.texts

    @property
    def _basic_auth(self) -> bool:
        return bool(self.auth) and self.auth.get("auth_type") == "basic_auth"

    def _render_url(self, render: Callable[[Any], str]) -> str:
        request = self.request
        return with_query(render(request.get("url", "")),
                          [(k, render(v)) for k, v in named_rows(request.get("url_params"))])

    def _configured_headers(self, render: Callable[[Any], str]) -> Headers:
        return [(k, render(v)) for k, v in named_rows(self.request.get("headers"))]

    def _final_headers(self, render: Callable[[Any], str], configured: Headers,
                       content_type: str | None) -> Headers:
        """The configured headers, then the body's Content-Type, then basic auth."""
        headers = _with_content_type(configured, content_type)
        if self._basic_auth:
            info = self.auth.get("auth_info") or {}
            headers = set_header(headers, "Authorization",
                                 basic_auth(render(info.get("username", "")),
                                            render(info.get("password", ""))))
        return headers

    def build(self, renderer: Renderer, context: dict) -> OutboundRequest:
        """One user's request; ``context`` is their pass-2 context (``Renderer.context``)."""
        if self._url is not None and self._headers is not None:  # only the body to render
            body, content_type = self._render_body(context)
            return OutboundRequest(self.method, self._url, self._headers[content_type is not None],
                                   body)
        render = _renderer_for(renderer, context, self.texts)
        url = self._url if self._url is not None else self._render_url(render)
        if self._headers is None:  # rendered in the order of a whole render: headers first
            configured = self._configured_headers(render)
        body, content_type = self._render_body(context)
        if self._headers is not None:
            return OutboundRequest(self.method, url, self._headers[content_type is not None],
                                   body)
        return _finish(self.method, url, self._final_headers(render, configured, content_type),
                       body)

    def _render_body(self, context: dict) -> tuple[bytes | None, str | None]:
        if self.method == "GET":
            return None, None
        text = self._body if type(self._body) is str else self._body.render(context)
        return _config_body(self.body_type, text)


_CONTENT_TYPES = {"JSON": JSON_TYPE, "FORM": FORM_TYPE}


def _config_body(body_type: str, text: str) -> tuple[bytes | None, str | None]:
    if not text.strip():
        return None, None
    if body_type == "JSON":
        _json_checked(text, "body")
        return text.encode(), JSON_TYPE
    if body_type == "FORM":
        pairs = _form_pairs(text)
        return (urlencode(pairs) if pairs is not None else text).encode(), FORM_TYPE
    if body_type == "RAW":
        return text.encode(), None
    raise ValueError(f"unknown body_type {body_type!r}")


# --- Connector campaign (content.connector) --------------------------------------------------

def from_connector_content(renderer: Renderer, content: Mapping[str, Any],
                           user_attrs: Mapping[str, Any] | None, event: Mapping[str, Any] | None,
                           oauth_token: str | None = None, customer_id: str | None = None
                           ) -> OutboundRequest:
    """``content`` is the campaign's content holding ``connector`` (campaign-api.md §1.3);
    ``oauth_token`` the OAuth config's current token when authorization is enabled;
    ``customer_id`` what ``UserAttribute['ID']`` reads."""
    connector = content["connector"]
    render = _renderer_for(renderer, renderer.context(user_attrs, event,
                                                      customer_id=customer_id))

    def rows(items) -> list[tuple[str, str]]:
        return [(render(r["key"]), render(r["value"])) for r in items or ()]

    method = str(connector["method"]).upper()
    url = with_query(render(connector["url"]), rows(connector.get("url_params")))
    headers = rows(connector.get("headers"))
    body, content_type = None, None
    body_type = str(connector.get("body_type") or "").upper()
    if method != "GET" and connector.get("body") is not None:
        if body_type == "FORM":
            body, content_type = urlencode(rows(connector["body"])).encode(), FORM_TYPE
        elif body_type == "JSON":
            document = _render_leaves(connector["body"], render)
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
            content_type = JSON_TYPE
        elif body_type == "RAW":
            body = render(connector["body"]).encode()
        else:
            raise ValueError(f"unknown body_type {body_type!r}")
    headers = _with_content_type(headers, content_type)
    if oauth_token is not None:
        settings = connector_oauth(connector) or ConnectorOAuth(None)
        value = f"{settings.prefix} {oauth_token}" if settings.prefix else oauth_token
        headers = set_header(headers, settings.header_key, value)
    return _finish(method, url, headers, body)


def _render_leaves(value: Any, render: Callable[[Any], str]) -> Any:
    if isinstance(value, str):
        return render(value)
    if isinstance(value, dict):
        return {key: _render_leaves(item, render) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_leaves(item, render) for item in value]
    return value


# --- validation at campaign creation ---------------------------------------------------------

def check_connector_content(content: Any, path: str = "campaign_content.content"
                            ) -> list[FieldError]:
    """Every problem in a Connector campaign's ``content.connector``, with its JSON path."""
    if not isinstance(content, dict):
        return [FieldError(path, "must be an object")]
    base = f"{path}.connector"
    connector = content.get("connector")
    if not isinstance(connector, dict):
        return [FieldError(base, "is required (an object)")]
    errors: list[FieldError] = []
    env = templating.environment()

    def template(text: Any, where: str) -> None:
        if not isinstance(text, str):
            errors.append(FieldError(where, "must be a string"))
            return
        problem = templating.compile_problem(text)
        if problem:
            errors.append(FieldError(where, problem))
        elif templating.is_template(text):
            for ref in templating.references(templating.parse(env, text)):
                errors.append(FieldError(where, f"{ref.namespace} is not available in Connector "
                                                f"campaigns (there is no connector config)"))

    def rows(value: Any, where: str) -> None:
        if not isinstance(value, list):
            errors.append(FieldError(where, 'must be an array of {"key", "value"} rows'))
            return
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                errors.append(FieldError(f"{where}[{i}]", 'must be a {"key", "value"} object'))
                continue
            key = row.get("key")
            if not isinstance(key, str) or not key.strip():
                errors.append(FieldError(f"{where}[{i}].key", "is required (a non-empty string)"))
            else:
                template(key, f"{where}[{i}].key")
            if "value" not in row:
                errors.append(FieldError(f"{where}[{i}].value", "is required"))
            else:
                template(row["value"], f"{where}[{i}].value")

    def leaves(value: Any, where: str) -> None:
        if isinstance(value, str):
            template(value, where)
        elif isinstance(value, dict):
            for key, item in value.items():
                leaves(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                leaves(item, f"{where}[{i}]")

    for key in connector:
        if key not in CONNECTOR_FIELDS:
            errors.append(FieldError(f"{base}.{key}", "is not a connector field (expected "
                                                      f"{', '.join(CONNECTOR_FIELDS)})"))
    method = connector.get("method")
    if method not in CONNECTOR_METHODS:
        errors.append(FieldError(f"{base}.method", "is required" if method is None else
                                 f"{method!r} is not one of {', '.join(CONNECTOR_METHODS)}"))
    url = connector.get("url")
    if not isinstance(url, str) or not url.strip():
        errors.append(FieldError(f"{base}.url", "is required (a non-empty string)"))
    else:
        template(url, f"{base}.url")
        if not templating.is_template(url):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                errors.append(FieldError(f"{base}.url", "must be an absolute http(s) URL"))
    for key in ("url_params", "headers"):
        if key in connector:
            rows(connector[key], f"{base}.{key}")
    _check_body(connector, base, errors, rows, leaves, template)
    _check_oauth(connector, base, errors)
    return errors


def _check_body(connector: dict, base: str, errors: list[FieldError], rows, leaves,
                template) -> None:
    body_type, body = connector.get("body_type"), connector.get("body")
    if body_type is not None and body_type not in BODY_TYPES:
        errors.append(FieldError(f"{base}.body_type",
                                 f"{body_type!r} is not one of {', '.join(BODY_TYPES)}"))
        return
    if body in (None, "", [], {}):
        return
    if connector.get("method") == "GET":
        errors.append(FieldError(f"{base}.body", "a GET request carries no body"))
    elif body_type is None:
        errors.append(FieldError(f"{base}.body_type", "is required when there is a body"))
    elif body_type == "FORM":
        rows(body, f"{base}.body")
    elif body_type == "JSON":
        if isinstance(body, dict):
            leaves(body, f"{base}.body")
        else:
            errors.append(FieldError(f"{base}.body", "must be a JSON object for body_type JSON"))
    else:
        template(body, f"{base}.body")


def _check_oauth(connector: dict, base: str, errors: list[FieldError]) -> None:
    config_id = connector.get("oauth_config_id")
    if config_id is not None and (isinstance(config_id, bool) or
                                  not isinstance(config_id, (int, str)) or config_id == ""):
        errors.append(FieldError(f"{base}.oauth_config_id", "must be an OAuth config id"))
    if "oauth" not in connector:
        return
    oauth = connector["oauth"]
    if not isinstance(oauth, dict):
        errors.append(FieldError(f"{base}.oauth", "must be an object"))
        return
    if config_id is None:
        errors.append(FieldError(f"{base}.oauth_config_id", "is required when oauth is given"))
    for key in oauth:
        if key not in OAUTH_FIELDS:
            errors.append(FieldError(f"{base}.oauth.{key}",
                                     f"is not an oauth field (expected {', '.join(OAUTH_FIELDS)})"))
    header_key = oauth.get("header_key", "Authorization")
    if not isinstance(header_key, str) or not header_key.strip():
        errors.append(FieldError(f"{base}.oauth.header_key", "must be a non-empty string"))
    if not isinstance(oauth.get("prefix", ""), str):
        errors.append(FieldError(f"{base}.oauth.prefix", "must be a string"))
    codes = oauth.get("reattempt_codes", [])
    if not isinstance(codes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes):
        errors.append(FieldError(f"{base}.oauth.reattempt_codes",
                                 "must be an array of HTTP status codes"))
