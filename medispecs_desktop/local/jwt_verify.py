"""Bearer-token checks as API Gateway's HTTP API JWT authorizer makes them.

The authorizer (and so this verifier) accepts a token only when:

- it is a JWS signed with RS256 by a key of the issuer's JWKS (fetched once and cached),
- ``iss`` equals the configured issuer (for Cognito ``https://cognito-idp.{region}.amazonaws.com/
  {poolId}`` - moto signs with that AWS-style issuer, while its JWKS is served by the local
  endpoint, so the JWKS URL is given separately),
- ``aud`` (ID token) or ``client_id`` (access token) is one of the configured audiences,
- ``exp`` is in the future and ``nbf``/``iat`` are not (no leeway unless asked for).

The verified claims are handed to the Lambda as ``requestContext.authorizer.jwt.claims`` with
every value turned into a string, as API Gateway does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import jwt
from jwt import PyJWKClient

__all__ = ["InvalidTokenError", "JwtVerifier", "cognito_issuer", "gateway_claims", "scopes_of"]


class InvalidTokenError(Exception):
    """The bearer token is missing, malformed, badly signed, expired or not for this API.

    The message says why, for the gateway's log; the client only ever sees 401 Unauthorized.
    It never contains the token itself.
    """


def cognito_issuer(region: str, user_pool_id: str) -> str:
    """The ``iss`` Cognito (and moto) put in the tokens of a user pool."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


class JwtVerifier:
    """Verifies bearer tokens against one issuer's JWKS, audiences and the clock.

    ``clock`` returns the current epoch seconds (tests inject one). The JWKS is fetched on the
    first token and kept for ``jwks_lifespan`` seconds; an unknown ``kid`` triggers at most one
    refetch per ``cooldown`` seconds (PyJWT's client), so a flood of forged tokens cannot turn
    into a flood of JWKS requests.
    """

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audiences: Iterable[str],
        leeway: float = 0.0,
        clock: Callable[[], float] = time.time,
        jwks_lifespan: float = 24 * 3600,
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        if not self.audiences:
            raise ValueError("at least one audience (app client id) is required")
        self.leeway = leeway
        self._clock = clock
        self._jwks = PyJWKClient(
            jwks_url, cache_jwk_set=True, lifespan=jwks_lifespan, timeout=timeout
        )

    def prefetch(self) -> int:
        """Fetch (and cache) the JWKS now; returns how many keys it has. Raises
        :class:`InvalidTokenError` if it cannot be fetched or has no keys."""
        try:
            keys = self._jwks.get_jwk_set().keys
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"JWKS unreachable: {exc}") from None
        if not keys:
            raise InvalidTokenError("the JWKS has no signing keys")
        return len(keys)

    def verify(self, token: str) -> dict[str, Any]:
        """Return the token's claims, or raise :class:`InvalidTokenError`."""
        if not token or token.count(".") != 2:
            raise InvalidTokenError("not a JWT")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"malformed token header ({type(exc).__name__})") from None
        if header.get("alg") != "RS256":
            raise InvalidTokenError(f"unsupported algorithm {header.get('alg')!r}")
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise InvalidTokenError(f"JWKS unreachable: {exc}") from None
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"no matching signing key ({type(exc).__name__})") from None
        try:
            # Signature only here: time and audience are checked below against our clock.
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "require": ["exp", "iss"],
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"bad token ({type(exc).__name__})") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        if claims.get("iss") != self.issuer:
            raise InvalidTokenError("issuer does not match the user pool")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidTokenError("exp is not a number")
        if now >= exp + self.leeway:
            raise InvalidTokenError("token has expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InvalidTokenError(f"{name} is not a number")
            if value > now + self.leeway:
                raise InvalidTokenError(f"token used before its {name}")
        token_use = claims.get("token_use")
        if token_use == "access" or (token_use is None and "client_id" in claims):
            audience = claims.get("client_id")
            candidates = [audience] if isinstance(audience, str) else []
        else:
            aud = claims.get("aud")
            if isinstance(aud, str):
                candidates = [aud]
            else:
                candidates = list(aud) if isinstance(aud, list) else []
        if not any(isinstance(c, str) and c in self.audiences for c in candidates):
            raise InvalidTokenError("audience / client id does not match the app client")


def _claim_text(value: Any) -> str:
    """A claim value as API Gateway passes it to the Lambda (everything becomes a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + " ".join(_claim_text(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """``requestContext.authorizer.jwt.claims`` for verified ``claims``."""
    return {str(name): _claim_text(value) for name, value in claims.items()}


def scopes_of(claims: dict[str, Any]) -> list[str] | None:
    """``requestContext.authorizer.jwt.scopes``: the access token's scopes, else ``None``."""
    scope = claims.get("scope")
    if isinstance(scope, str) and scope.strip():
        return scope.split()
    if isinstance(scope, list):
        return [str(s) for s in scope]
    return None
