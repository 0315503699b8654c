"""The Cognito tokens and who they say is signed in (claims read for display only: the API
gateway verifies every token, nothing here trusts the claims)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt

from medispecs_desktop.core.errors import AuthError


@dataclass
class Tokens:
    """The three Cognito tokens and when the ID/access tokens expire (epoch seconds)."""

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float


@dataclass(frozen=True)
class UserInfo:
    """Who is signed in, from the ID token's claims (for display only)."""

    username: str
    sub: str
    email: str | None = None
    name: str | None = None
    groups: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.username

    @classmethod
    def from_id_token(cls, id_token: str, *, fallback_username: str = "") -> UserInfo:
        claims = decode_claims(id_token)
        groups = claims.get("cognito:groups") or ()
        return cls(
            username=str(claims.get("cognito:username") or claims.get("username")
                         or fallback_username),
            sub=str(claims.get("sub") or ""),
            email=_str_or_none(claims.get("email")),
            name=_str_or_none(claims.get("name")),
            groups=tuple(str(g) for g in groups) if isinstance(groups, list | tuple) else (),
        )


def _str_or_none(value: Any) -> str | None:
    return str(value) if value else None


def decode_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (display only). Raises AuthError if it is not a JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError("The sign-in service returned an unreadable token.",
                        code="bad_token") from exc
    if not isinstance(claims, dict):  # pragma: no cover - PyJWT always returns a dict
        raise AuthError("The sign-in service returned an unreadable token.", code="bad_token")
    return claims
