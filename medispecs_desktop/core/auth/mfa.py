"""Authenticator-app (TOTP) enrolment: the secret Cognito hands out, as the ``otpauth://`` link
and QR code an authenticator app scans (segno draws it), and the codes' checks.

Enrolment happens in two places: during sign-in, when the user pool requires MFA and the account
has none yet (the ``MFA_SETUP`` challenge: ``CognitoAuth.begin_mfa_setup``), and from a signed-in
session (``CognitoAuth.start_totp_enrolment``). Either way the secret is shown once and never
stored by the app.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from medispecs_desktop.core.errors import AuthError

ISSUER = "MediSpecs"
DEFAULT_DEVICE_NAME = "MediSpecs Desktop"
_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class TotpSetup:
    """An authenticator secret waiting for its first code. ``session`` is the sign-in's
    challenge session (empty when a signed-in user enrols)."""

    secret: str = field(repr=False)
    username: str
    session: str = field(default="", repr=False)

    @property
    def uri(self) -> str:
        """The ``otpauth://totp/...`` link authenticator apps read from the QR code."""
        label = quote(f"{ISSUER}:{self.username}", safe=":@")
        query = urlencode({"secret": self.secret, "issuer": ISSUER, "algorithm": "SHA1",
                           "digits": 6, "period": 30})
        return f"otpauth://totp/{label}?{query}"

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four, for typing it into an app by hand."""
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))

    def qr_png(self, scale: int = 5) -> bytes:
        """The QR code of :attr:`uri` as PNG bytes (black on white, with a quiet zone)."""
        buffer = io.BytesIO()
        import segno  # the QR code only when one is drawn

        segno.make(self.uri, error="m").save(buffer, kind="png", scale=scale, border=4)
        return buffer.getvalue()


def clean_code(code: str) -> str:
    """A 6-digit code as typed ("123 456", "123-456") -> "123456"; AuthError if it is not."""
    digits = re.sub(r"[\s-]", "", code or "")
    if not _CODE.match(digits):
        raise AuthError("Enter the 6-digit code.", code="missing_code")
    return digits
