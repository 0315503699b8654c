"""Exception types shared by the core: every failure a user can meet has a clear type."""

from __future__ import annotations


class MediSpecsError(Exception):
    """Base of every error the core raises on purpose. ``str(err)`` is a user-facing sentence."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status


class ConfigurationError(MediSpecsError):
    """Settings are missing or wrong (API URL, user pool, client id)."""

    code = "configuration"


class OfflineError(MediSpecsError):
    """The network or the server could not be reached."""

    code = "offline"


class AuthError(MediSpecsError):
    """Sign-in failed or the session is no longer valid."""

    code = "auth"


class NotSignedInError(AuthError):
    """An operation needs a signed-in user and there is none (or the refresh token expired)."""

    code = "not_signed_in"


class ApiError(MediSpecsError):
    """The videos API answered with an error."""

    code = "api_error"


class NotFoundError(ApiError):
    code = "not_found"


class ForbiddenError(ApiError):
    code = "forbidden"


class ValidationError(ApiError):
    code = "validation"


class ConflictError(ApiError):
    code = "conflict"


class ServerError(ApiError):
    code = "server"
