"""Helpers for the local-stack tests: signed-in users of the session stack, and JWTs forged
with moto's own signing key (the key moto's Cognito uses, shipped inside the moto package) so
expired or foreign tokens carry a *valid* signature and only the claim under test is wrong."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from medispecs_desktop.local.jwt_verify import cognito_issuer
from medispecs_desktop.local.stack import sign_in


def moto_private_key() -> Any:
    from moto.utilities.utils import load_resource

    return RSAAlgorithm.from_jwk(load_resource("cognitoidp/resources/jwks-private.json"))


@pytest.fixture(scope="session")
def stack_users(local_stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """username -> Cognito AuthenticationResult (+ "sub") for demo and demo2."""
    out: dict[str, dict[str, Any]] = {}
    for user in local_stack["users"]:
        result = sign_in(local_stack["awsEndpoint"], local_stack["region"],
                         local_stack["clientId"], user["username"], user["password"])
        result["sub"] = jwt.decode(result["IdToken"], options={"verify_signature": False})["sub"]
        out[user["username"]] = result
    return out


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture(scope="session")
def forge(
    local_stack: dict[str, Any], stack_users: dict[str, dict[str, Any]]
) -> Callable[..., str]:
    """``forge(key="moto"|"foreign", kid="dummy", **claim_overrides)`` -> a signed ID token for
    the demo user; a claim set to ``None`` is removed."""
    moto_key = moto_private_key()
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def make(*, key: str = "moto", kid: str = "dummy", alg: str = "RS256",
             **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": cognito_issuer(local_stack["region"], local_stack["userPoolId"]),
            "sub": stack_users["demo"]["sub"],
            "aud": local_stack["clientId"],
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
            "cognito:username": "demo",
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signing_key = moto_key if key == "moto" else foreign_key
        if alg == "HS256":
            return jwt.encode(claims, "not-a-secret-key-but-long-enough-for-hs256",
                              algorithm="HS256", headers={"kid": kid})
        return jwt.encode(claims, signing_key, algorithm=alg, headers={"kid": kid})

    return make
