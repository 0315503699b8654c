"""``LocalStack`` used in-process (as the CLI and the benchmark do): start, serve, stop with no
thread left; one stack per process; loopback only; and the verifier's clock rules with a
genuine token (the clock is injected - nothing sleeps)."""

from __future__ import annotations

import threading
import time

import jwt
import pytest
import requests

from medispecs_desktop.local.jwt_verify import InvalidTokenError, JwtVerifier, cognito_issuer
from medispecs_desktop.local.stack import LocalStack, LocalStackError, sign_in


def test_start_serve_stop_leaves_nothing_behind() -> None:
    before = {t.ident for t in threading.enumerate()}
    fake_now = [0.0]
    stack = LocalStack(with_samples=False, clock=lambda: fake_now[0] or time.time())
    info = stack.start()
    try:
        assert stack.start() is info  # idempotent
        with pytest.raises(LocalStackError, match="already running"):
            LocalStack(with_samples=False).start()
        tokens = sign_in(info["awsEndpoint"], info["region"], info["clientId"],
                         info["username"], info["password"])
        api = info["apiUrl"]
        auth = {"Authorization": f"Bearer {tokens['IdToken']}"}
        with requests.Session() as s:
            s.trust_env = False
            r = s.get(f"{api}/videos", headers=auth)
            assert r.status_code == 200 and r.json()["items"] == []  # --no-samples: empty
            # the gateway checks expiry with the stack's clock: jump past the token's exp
            exp = jwt.decode(tokens["IdToken"], options={"verify_signature": False})["exp"]
            fake_now[0] = exp + 1
            assert s.get(f"{api}/videos", headers=auth).status_code == 401
            fake_now[0] = 0.0
            assert s.get(f"{api}/videos", headers=auth).status_code == 200
        assert set(stack.timings) >= {"moto", "provision", "gateway", "total"}
    finally:
        stack.stop()
    stack.stop()  # twice is fine
    leftover = [t for t in threading.enumerate() if t.ident not in before]
    assert leftover == []
    with pytest.raises(requests.ConnectionError):
        requests.get(info["apiUrl"], timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(info["awsEndpoint"], timeout=2)
    # a new stack can start in the same process afterwards, from a clean moto
    again = LocalStack(with_samples=False)
    try:
        info2 = again.start()
        assert info2["userPoolId"] != info["userPoolId"]
    finally:
        again.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "::", "example.org"])
def test_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        LocalStack(host=host)


def test_verifier_clock_rules_with_a_real_token(local_stack, stack_users) -> None:
    token = stack_users["demo"]["IdToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    now = [float(claims["iat"])]

    def make(**kw: object) -> JwtVerifier:
        args: dict[str, object] = {
            "jwks_url": local_stack["jwksUrl"],
            "issuer": cognito_issuer(local_stack["region"], local_stack["userPoolId"]),
            "audiences": {local_stack["clientId"]},
            "clock": lambda: now[0],
        }
        args.update(kw)
        return JwtVerifier(**args)  # type: ignore[arg-type]

    verifier = make()
    assert verifier.verify(token)["sub"] == claims["sub"]
    now[0] = claims["exp"] - 1
    assert verifier.verify(token)["sub"] == claims["sub"]
    now[0] = claims["exp"]
    with pytest.raises(InvalidTokenError, match="expired"):
        verifier.verify(token)
    assert make(leeway=5).verify(token)  # within the leeway
    now[0] = claims["iat"] - 60  # a token from the future
    with pytest.raises(InvalidTokenError, match="before"):
        verifier.verify(token)
    now[0] = float(claims["iat"])
    with pytest.raises(InvalidTokenError, match="audience"):
        make(audiences={"another-client"}).verify(token)
    with pytest.raises(InvalidTokenError, match="issuer"):
        make(issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x").verify(token)
    with pytest.raises(ValueError):
        make(audiences=set())
    # messages never carry the token
    try:
        make(audiences={"x"}).verify(token)
    except InvalidTokenError as exc:
        assert token not in str(exc)
