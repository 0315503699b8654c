"""Forgot password: Cognito sends a code (by e-mail, as the pool's account recovery says), the
user types it with a new password. Nothing here needs a signed-in session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medispecs_desktop.core.auth.mfa import clean_code
from medispecs_desktop.core.errors import AuthError

Call = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class CodeDelivery:
    """Where the code went: ``destination`` is masked by Cognito (``d***@e***``)."""

    destination: str
    medium: str  # EMAIL or SMS

    def describe(self) -> str:
        by = "text message" if self.medium == "SMS" else "e-mail"
        where = f" to {self.destination}" if self.destination else ""
        return f"A code was sent by {by}{where}."


def send_code(call: Call, client_id: str, username: str) -> CodeDelivery:
    username = username.strip()
    if not username:
        raise AuthError("Enter your username first.", code="missing_credentials")
    result = call("forgot_password", username=username, ClientId=client_id, Username=username)
    details = result.get("CodeDeliveryDetails") or {}
    return CodeDelivery(destination=str(details.get("Destination") or ""),
                        medium=str(details.get("DeliveryMedium") or "EMAIL"))


def confirm(call: Call, client_id: str, username: str, code: str, new_password: str) -> None:
    username = username.strip()
    if not username or not new_password:
        raise AuthError("Enter your username and a new password.", code="missing_credentials")
    call("confirm_forgot_password", username=username, ClientId=client_id, Username=username,
         ConfirmationCode=clean_code(code), Password=new_password)
