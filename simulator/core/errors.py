"""One exception hierarchy for the whole simulator.

Every class carries an HTTP status and a stable machine ``code``. The message names the
thing at fault (a JSON path, a file, an id). Edges translate these in one place: the
Flask error handler for our API (and MoEngage's own body for the MoEngage-compatible
endpoints), the CLI into a one-line message and a non-zero exit.

``moe_type`` is the ``error.type`` MoEngage puts in its Data API failure body; it is only
read when the error is rendered by a MoEngage-compatible endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str
    line: int | None = None  # of the JSON text the value came from, when there was one

    def as_dict(self) -> dict:
        shown = {"path": self.path, "message": self.message}
        if self.line is not None:
            shown["line"] = self.line
        return shown


class MoesimError(Exception):
    status = 500
    code = "internal_error"
    moe_type = "InternalServerError"

    def __init__(self, message: str, *, path: str | None = None, moe_type: str | None = None,
                 errors: list[FieldError] | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        if moe_type:
            self.moe_type = moe_type
        if errors is None:
            errors = [FieldError(path, message)] if path else []
        self.errors = errors

    def body(self) -> dict:
        """Our one JSON error body (pinned by ``tests/test_errors.py``)."""
        return {"code": self.code, "message": self.message,
                "errors": [e.as_dict() for e in self.errors]}


class BadRequest(MoesimError):
    status = 400
    code = "bad_request"
    moe_type = "InvalidParams"


class ValidationFailed(MoesimError):
    """Input that parsed but breaks the rules; ``errors`` lists every field at fault."""

    status = 422
    code = "validation_failed"
    moe_type = "InvalidParams"


class Unauthorized(MoesimError):
    status = 401
    code = "unauthorized"
    moe_type = "Authentication required"


class Forbidden(MoesimError):
    status = 403
    code = "forbidden"
    moe_type = "Forbidden"


class NotFound(MoesimError):
    status = 404
    code = "not_found"
    moe_type = "NotFound"


class Conflict(MoesimError):
    status = 409
    code = "conflict"
    moe_type = "Conflict"


class PayloadTooLarge(MoesimError):
    status = 413
    code = "payload_too_large"
    moe_type = "PayloadTooLarge"


class UnsupportedMediaType(MoesimError):
    status = 415
    code = "unsupported_media_type"
    moe_type = "UnsupportedMediaType"


class NotReady(MoesimError):
    status = 503
    code = "not_ready"


class ConfigError(MoesimError):
    """A setting, file or command-line value that cannot be used."""

    status = 400
    code = "config_error"
