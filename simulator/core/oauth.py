"""OAuth 2.0 for Connected App connections (spec §2.5): MoEngage's half of the authorization
code flow, from the config's ``authorization_mapping``, ``access_token_mapping`` and
``refresh_token_mapping``. Pure: builds the requests, reads the token responses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from . import outbound
from .http import HttpResult, OutboundRequest
from .templating import Renderer

# How long before its expiry a token counts as expired: a send must not race the expiry [I].
EXPIRY_MARGIN_MS = 60_000


class OAuthError(Exception):
    """The partner's token endpoint did not give what the mapping says it would."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    access_expires_at: int | None       # epoch ms; None: no expiry known
    refresh_token: str | None
    refresh_expires_at: int | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> "Tokens":
        return cls(**{k: stored.get(k) for k in cls.__dataclass_fields__})

    def access_expired(self, now_ms: int) -> bool:
        return self.access_expires_at is not None and \
            now_ms >= self.access_expires_at - EXPIRY_MARGIN_MS


def authorization_url(renderer: Renderer, mapping: Mapping[str, Any],
                      app_form: Mapping[str, Any]) -> str:
    """Where MoEngage sends the customer's browser: the rendered url plus url_params."""
    request = outbound.from_config(renderer, {**mapping, "method": "GET"}, None, app_form, {},
                                   None, None)
    return request.url


def token_request(renderer: Renderer, mapping: Mapping[str, Any],
                  app_form: Mapping[str, Any]) -> OutboundRequest:
    """The call to the token URL (``access_token_mapping`` or ``refresh_token_mapping``);
    a FORM body is the documented stringified array of ``{name, value}``."""
    return outbound.from_config(renderer, mapping, None, app_form, {}, None, None)


def read_path(data: Any, path: str | None) -> Any:
    """A dotted path (``data.access_token``) into a JSON document; None when absent."""
    if not path:
        return None
    if isinstance(data, dict) and path in data:
        return data[path]
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def expiry_ms(value: Any, fallback_s: Any, now_ms: int) -> int | None:
    """An expiry from the response (seconds from now, or an epoch time when it is that
    large [I]), else the config's fallback seconds."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value > 1_000_000_000_000:
            return int(value)
        if value > 1_000_000_000:
            return int(value * 1000)
        return now_ms + int(value * 1000)
    if isinstance(fallback_s, (int, float)) and not isinstance(fallback_s, bool):
        return now_ms + int(fallback_s * 1000)
    return None


def token_response(result: HttpResult) -> Any:
    """The JSON a token endpoint answered, or ``OAuthError`` saying why there is none."""
    if result.status is None:
        raise OAuthError(f"token endpoint unreachable: {result.error} {result.detail}".strip())
    if not 200 <= result.status < 300:
        raise OAuthError(f"token endpoint answered HTTP {result.status}")
    try:
        return json.loads(result.body or b"null")
    except ValueError:
        raise OAuthError("token endpoint answered something that is not JSON") from None


def read_tokens(result: HttpResult, access: Mapping[str, Any], refresh: Mapping[str, Any],
                now_ms: int, previous: Tokens | None = None) -> Tokens:
    """Tokens from a token endpoint's answer, per the config's response mappings. A refresh
    answer without a new refresh token keeps the old one."""
    data = token_response(result)
    access_map = access.get("response_mapping") or {}
    refresh_map = refresh.get("response_mapping") or {}
    token = read_path(data, access_map.get("access_token_mapping"))
    if not isinstance(token, str) or not token:
        raise OAuthError(f"no access token at {access_map.get('access_token_mapping')!r}")
    refresh_token = read_path(data, refresh_map.get("refresh_token_mapping"))
    if not isinstance(refresh_token, str) or not refresh_token:
        refresh_token = previous.refresh_token if previous else None
        refresh_expires = previous.refresh_expires_at if previous else None
    else:
        refresh_expires = expiry_ms(read_path(data, refresh_map.get("refresh_token_expiry_mapping")),
                                  refresh.get("refresh_token_expiry_time"), now_ms)
    return Tokens(token, expiry_ms(read_path(data, access_map.get("access_token_expiry_mapping")),
                                 access.get("access_token_expiry_time"), now_ms),
                  refresh_token, refresh_expires)
