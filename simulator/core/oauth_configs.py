"""Authorization configurations for Connector campaigns (spec §6.6): a client-credentials token
endpoint, how to read the token and its expiry from the answer (opaque: an expiry key; JWT: the
token's ``exp`` claim), and the preferred header prefix.

A config's ``request`` has the shape of a Connector campaign's request (method, url,
``url_params``/``headers`` as ``{key, value}`` rows, FORM/JSON/RAW body), so it is checked and
built by the same code (``outbound``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from . import outbound
from .errors import FieldError
from .http import HttpResult, OutboundRequest
from .oauth import EXPIRY_MARGIN_MS, OAuthError, expiry_ms, read_path, token_response
from .templating import Renderer

TOKEN_TYPES = ("OPAQUE", "JWT")
GRANT_TYPES = ("client_credentials",)  # spec §6.6: others need a support ticket
ACTIVE, FAILED = "ACTIVE", "FAILED"


def check(spec: Any) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [FieldError("body", "must be a JSON object")]
    errors = []
    if not isinstance(spec.get("name"), str) or not spec["name"].strip():
        errors.append(FieldError("name", "is required (a non-empty string)"))
    if spec.get("grant_type", "client_credentials") not in GRANT_TYPES:
        errors.append(FieldError("grant_type", "must be client_credentials"))
    if spec.get("token_type", "OPAQUE") not in TOKEN_TYPES:
        errors.append(FieldError("token_type", f"must be one of {', '.join(TOKEN_TYPES)}"))
    request = spec.get("request")
    if not isinstance(request, dict):
        errors.append(FieldError("request", "is required (an object)"))
    else:
        errors += [FieldError(e.path.replace("content.connector", "request", 1), e.message)
                   for e in outbound.check_connector_content({"connector": request}, "content")]
    response = spec.get("response")
    if not isinstance(response, dict) or not isinstance(response.get("token_key"), str) \
            or not response["token_key"]:
        errors.append(FieldError("response.token_key", "is required (where the token is)"))
    elif spec.get("token_type", "OPAQUE") == "OPAQUE" and not isinstance(
            response.get("expiry_key"), (str, type(None))):
        errors.append(FieldError("response.expiry_key", "must be a string"))
    return errors


def token_request(spec: dict, renderer: Renderer) -> OutboundRequest:
    return outbound.from_connector_content(renderer, {"connector": spec["request"]}, None, None)


def _jwt_expiry(token: str) -> int | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise OAuthError("token_type is JWT but the token is not a JWT") from None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return int(exp * 1000) if isinstance(exp, (int, float)) else None


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: int | None

    def expired(self, now_ms: int) -> bool:
        return self.expires_at is not None and now_ms >= self.expires_at - EXPIRY_MARGIN_MS


def read_token(spec: dict, result: HttpResult, now_ms: int) -> Token:
    data = token_response(result)
    response = spec["response"]
    token = read_path(data, response["token_key"])
    if not isinstance(token, str) or not token:
        raise OAuthError(f"no token at {response['token_key']!r}")
    if spec.get("token_type", "OPAQUE") == "JWT":
        return Token(token, _jwt_expiry(token))
    return Token(token, expiry_ms(read_path(data, response.get("expiry_key")), None, now_ms))


def prefix(spec: dict) -> str:
    """The preferred prefix; spec §6.6 [I]: ``Bearer`` when none is set."""
    value = (spec.get("response") or {}).get("prefix")
    return "Bearer" if value is None else value
