"""The sign-in's own errors (each a step the user must take, or why it failed) and the
mapping of Cognito's error codes to sentences a clinician understands."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions

from medispecs_desktop.core.errors import (
    AuthError,
    ConfigurationError,
    MediSpecsError,
    NotSignedInError,
    OfflineError,
)


class NewPasswordRequired(AuthError):
    """The account has a temporary password: ask for a new one and call
    ``CognitoAuth.complete_new_password(challenge, new_password)``."""

    code = "new_password_required"

    def __init__(self, *, session: str, username: str,
                 required_attributes: tuple[str, ...] = ()) -> None:
        super().__init__(
            f"The account {username!r} has a temporary password: choose a new password."
        )
        self.session = session
        self.username = username
        self.required_attributes = required_attributes

    def __repr__(self) -> str:  # never show the challenge session
        return f"NewPasswordRequired(username={self.username!r})"


class MfaRequired(AuthError):
    """The account has multi-factor authentication: ask for the code and call
    ``CognitoAuth.answer_mfa(challenge, code)``. ``kind`` is ``SOFTWARE_TOKEN_MFA`` (an
    authenticator app) or ``SMS_MFA`` (a text message to ``destination``)."""

    code = "mfa_required"

    def __init__(self, *, kind: str, session: str, username: str,
                 destination: str = "") -> None:
        if kind == "SMS_MFA":
            where = f" to {destination}" if destination else ""
            text = f"Enter the code sent by text message{where}."
        else:
            text = "Enter the 6-digit code from your authenticator app."
        super().__init__(text)
        self.kind = kind
        self.session = session
        self.username = username
        self.destination = destination

    @property
    def by_sms(self) -> bool:
        return self.kind == "SMS_MFA"

    def __repr__(self) -> str:  # never show the challenge session
        return f"MfaRequired(kind={self.kind!r}, username={self.username!r})"


class MfaSetupRequired(AuthError):
    """The user pool requires multi-factor authentication and this account has none yet:
    call ``CognitoAuth.begin_mfa_setup(challenge)`` for the authenticator secret (QR code),
    then ``finish_mfa_setup(setup, code)`` with a code from the app."""

    code = "mfa_setup_required"

    def __init__(self, *, session: str, username: str) -> None:
        super().__init__(
            "Your organisation requires a second sign-in step: set up an authenticator app."
        )
        self.session = session
        self.username = username

    def __repr__(self) -> str:
        return f"MfaSetupRequired(username={self.username!r})"


class SignInCancelled(AuthError):
    """The sign-in was cancelled while its request ran; the session it got was discarded."""

    def __init__(self) -> None:
        super().__init__("The sign-in was cancelled.", code="cancelled")


def reason(exc: BaseException) -> str:
    """The innermost cause's message (e.g. the certificate verification failure)."""
    for _ in range(20):  # chains are short; never loop on a cyclic one
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return str(exc) or type(exc).__name__


def required_attributes(raw: Any) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ()
    if not isinstance(values, list):
        return ()
    return tuple(str(v).removeprefix("userAttributes.") for v in values)


def map_client_error(exc: botocore.exceptions.ClientError, *, username: str) -> MediSpecsError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    lowered = message.lower()
    who = f" {username!r}" if username else ""
    if code == "NotAuthorizedException":
        if "refresh token" in lowered:
            return NotSignedInError(
                "Your sign-in has expired or was revoked: sign in again.", code="session_expired"
            )
        if "secret hash" in lowered:
            return ConfigurationError(
                "The Cognito app client has a client secret; the desktop app needs a public app "
                "client (no secret) with USER_SRP_AUTH and REFRESH_TOKEN_AUTH enabled."
            )
        if "disabled" in lowered:
            return AuthError(f"The account{who} is disabled: ask your administrator.",
                             code="user_disabled")
        if "attempts exceeded" in lowered:
            return AuthError("Too many failed sign-in attempts: wait a while, then try again.",
                             code="too_many_attempts")
        if ("session" in lowered and "expired" in lowered) or "invalid session" in lowered:
            return AuthError("The sign-in took too long: start again.", code="session_expired")
        if "reset password" in lowered or "administrator to reset" in lowered:
            return AuthError("This account cannot reset its own password: ask your "
                             "administrator.", code="reset_not_allowed")
        if "incorrect username or password" in lowered or not message:
            return AuthError("Wrong username or password.", code="wrong_password")
        return AuthError(f"Sign-in refused: {message}", code="not_authorized")
    if code == "UserNotFoundException":
        return AuthError(f"There is no account{who} in this user pool: check the username.",
                         code="unknown_user")
    if code == "UserNotConfirmedException":
        return AuthError(f"The account{who} is not confirmed yet: ask your administrator.",
                         code="user_not_confirmed")
    if code == "PasswordResetRequiredException":
        return AuthError(f"The password of{who or ' this account'} must be reset: ask your "
                         "administrator.", code="password_reset_required")
    if code in ("CodeMismatchException", "EnableSoftwareTokenMFAException"):
        return AuthError("That code is not right: check it and try again (authenticator codes "
                         "change every 30 seconds).", code="wrong_code")
    if code == "ExpiredCodeException":
        return AuthError("The code has expired or was already used: ask for a new one.",
                         code="expired_code")
    if code == "CodeDeliveryFailureException":
        return AuthError(f"The code could not be sent: {message}", code="code_not_sent")
    if code == "SoftwareTokenMFANotFoundException":
        return AuthError("No authenticator app is set up for this account.",
                         code="no_authenticator")
    if code == "InvalidPasswordException":
        return AuthError(f"The new password does not meet the pool's rules: {message}",
                         code="invalid_password")
    if code in ("TooManyRequestsException", "LimitExceededException",
                "TooManyFailedAttemptsException"):
        return AuthError("Too many sign-in attempts: wait a while, then try again.",
                         code="too_many_attempts")
    if code in ("ResourceNotFoundException", "InvalidParameterException",
                "InvalidUserPoolConfigurationException", "UnrecognizedClientException"):
        return ConfigurationError(
            "The sign-in settings do not match a Cognito user pool and app client that allows "
            f"password sign-in ({code}: {message}). Check the region, user pool id and app "
            "client id in Settings."
        )
    if code in ("InternalErrorException", "ServiceUnavailable", "InternalFailure") or (
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    ):
        return OfflineError("The sign-in service is unavailable right now: try again later.",
                            code="service_unavailable")
    return AuthError(f"Sign-in failed ({code or 'unknown error'}): {message}", code="auth")
