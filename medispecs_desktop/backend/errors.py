"""The handler's one exception hierarchy, mapped to HTTP in one place (``handler``).

Every error a client can cause is an ``ApiError`` carrying its status and a snake_case code; the
handler turns it into ``{"error": {"code", "message"}}``. Anything else is a server fault: logged
with its traceback and answered 500 ``internal_error`` without details.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Unauthorized",
]


class ApiError(Exception):
    status: int = 500
    default_code: str = "internal_error"

    def __init__(
        self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(ApiError):
    status = 400
    default_code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    default_code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    default_code = "forbidden"


class NotFound(ApiError):
    status = 404
    default_code = "not_found"


class MethodNotAllowed(ApiError):
    status = 405
    default_code = "method_not_allowed"


class Conflict(ApiError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    default_code = "payload_too_large"


class ServiceUnavailable(ApiError):
    """AWS throttled us or is briefly unavailable: the client may retry."""

    status = 503
    default_code = "service_unavailable"
