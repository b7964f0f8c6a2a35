"""Who may use the simulator's own API: the admin token (docs/security.md).

moesim's ``/api/``, ``/_sim/`` and pages have no users; one shared token guards them. When the
server listens on anything but loopback the token is required, and the server does not start
without one. MoEngage-compatible endpoints keep MoEngage's own auth and are not guarded by it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress

from .errors import ConfigError

TOKEN_ENV = "MOESIM_ADMIN_TOKEN"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine. A name other than localhost
    is not trusted to resolve to loopback; an empty host means every interface."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str) -> None:
    """Refuse to serve beyond loopback without an admin token."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"host {host or '(all interfaces)'} is reachable from other machines: set "
            f"{TOKEN_ENV} (or --admin-token) to a secret; /api/, /_sim/ and the pages "
            "then require it (docs/security.md)", path=TOKEN_ENV)


def presented_token(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header: ``Bearer <token>``, or the password of Basic
    auth (any user name), which a browser asks for by itself."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def token_accepted(authorization: str | None, token: str) -> bool:
    presented = presented_token(authorization)
    return presented is not None and hmac.compare_digest(presented.encode("utf-8", "replace"),
                                                         token.encode("utf-8"))
