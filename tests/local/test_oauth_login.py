"""The local stack's managed login (/oauth2/authorize, /token, /revoke on authlib's server) and
the app's browser sign-in (authorization code + PKCE, RFC 8252 loopback redirect), driven the
way a browser would drive them: real HTTP with requests, through the real loopback redirect."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore, SignInCancelled
from medispecs_desktop.core.errors import AuthError, NotSignedInError
from tests.support.cognito import totp_code
from tests.support.stack import stack_settings

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: redirects are not followed here


def _browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def _settings(info: dict[str, Any]) -> Any:
    return stack_settings(info, auth_domain=info["authDomain"])


def _login(browser: requests.Session, url: str, username: str, password: str,
           **extra: str) -> requests.Response:
    page = browser.get(url, timeout=10)
    assert page.status_code == 200 and 'name="password"' in page.text
    return browser.post(url, data={"username": username, "password": password,
                                   "action": "sign-in", **extra}, timeout=10,
                        allow_redirects=False)


def _user_agent(info: dict[str, Any], account: dict[str, str], *,
                seen: list[str] | None = None) -> Callable[[str], None]:
    """open_browser: a 'browser' on another thread that logs in and follows the redirect."""
    def open_browser(url: str) -> None:
        def run() -> None:
            with _browser() as browser:
                answer = _login(browser, url, account["username"], account["password"])
                if "mfa_code" in answer.text:
                    answer = browser.post(url, data={
                        "pending": _hidden(answer.text, "pending"),
                        "mfa_code": totp_code(account["totpSecret"]), "action": "sign-in"},
                        allow_redirects=False, timeout=10)
                assert answer.status_code == 302, answer.text
                if seen is not None:
                    seen.append(answer.headers["Location"])
                landing = browser.get(answer.headers["Location"], timeout=10)
                assert landing.status_code == 200
                assert "You can close this tab" in landing.text

        threading.Thread(target=run, daemon=True).start()

    return open_browser


def _hidden(page: str, name: str) -> str:
    marker = f'name="{name}" value="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_browser_sign_in_with_pkce_through_the_loopback_redirect(
        local_stack: dict[str, Any]) -> None:
    store = MemoryTokenStore()
    auth = CognitoAuth(_settings(local_stack), store)
    seen: list[str] = []
    opened: list[str] = []
    account = local_stack["users"][1]
    agent = _user_agent(local_stack, account, seen=seen)

    def browser(url: str) -> None:
        opened.append(url)
        agent(url)

    user = auth.sign_in_with_browser(browser, timeout=30)
    assert user.username == account["username"] and auth.signed_in
    back = urlsplit(seen[0])
    assert back.hostname == "127.0.0.1" and back.path == "/callback" and back.port
    assert parse_qs(urlsplit(opened[0]).query)["prompt"] == ["login"]  # shared computers
    assert set(parse_qs(back.query)) == {"code", "state"}
    # the refresh token went to the store only; the tokens are the pool's real ones
    assert any(key.startswith("refresh-token:") for key in store._values)
    with ApiClient(_settings(local_stack), auth) as api:
        assert api.list_videos(limit=1).items is not None
    assert auth.force_refresh()  # REFRESH_TOKEN_AUTH works with the browser's refresh token


def test_browser_sign_in_of_the_mfa_user_asks_for_the_authenticator_code(
        local_stack: dict[str, Any]) -> None:
    auth = CognitoAuth(_settings(local_stack), MemoryTokenStore())
    user = auth.sign_in_with_browser(_user_agent(local_stack, local_stack["mfaUser"]),
                                     timeout=30)
    assert user.username == local_stack["mfaUser"]["username"]


def test_a_callback_with_another_state_is_ignored(local_stack: dict[str, Any]) -> None:
    auth = CognitoAuth(_settings(local_stack), MemoryTokenStore())
    account = local_stack["users"][1]
    real = _user_agent(local_stack, account)
    refused: list[int] = []

    def open_browser(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        with _browser() as browser:  # another page pokes the port first
            forged = browser.get(f"{redirect}?code=forged&state=not-ours", timeout=10)
            refused.append(forged.status_code)
            assert "does not belong to the sign-in" in forged.text
        real(url)

    assert auth.sign_in_with_browser(open_browser, timeout=30).username == account["username"]
    assert refused == [400]


def test_cancel_in_the_browser_and_cancel_in_the_app(local_stack: dict[str, Any]) -> None:
    auth = CognitoAuth(_settings(local_stack), MemoryTokenStore())

    def cancel_in_browser(url: str) -> None:
        def run() -> None:
            with _browser() as browser:
                answer = browser.post(url, data={"action": "cancel"}, allow_redirects=False,
                                      timeout=10)
                assert "error=access_denied" in answer.headers["Location"]
                browser.get(answer.headers["Location"], timeout=10)

        threading.Thread(target=run, daemon=True).start()

    with pytest.raises(AuthError) as info:
        auth.sign_in_with_browser(cancel_in_browser, timeout=30)
    assert info.value.code == "browser_refused" and not auth.signed_in

    cancel = threading.Event()
    with pytest.raises(SignInCancelled):
        auth.sign_in_with_browser(lambda url: cancel.set(), timeout=30, cancel=cancel)


def _authorize_url(info: dict[str, Any], verifier: str, *, state: str = "s1",
                   redirect: str = REDIRECT, pkce: bool = True) -> str:
    params = {"response_type": "code", "client_id": info["clientId"], "redirect_uri": redirect,
              "scope": "openid email", "state": state}
    if pkce:
        params |= {"code_challenge": create_s256_code_challenge(verifier),
                   "code_challenge_method": "S256"}
    return requests.Request("GET", f"{info['authDomain']}/oauth2/authorize",
                            params=params).prepare().url or ""


def _token(browser: requests.Session, info: dict[str, Any], code: str,
           verifier: str) -> requests.Response:
    return browser.post(f"{info['authDomain']}/oauth2/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": info["clientId"], "code_verifier": verifier})


def test_codes_need_the_verifier_and_work_once(local_stack: dict[str, Any]) -> None:
    account = local_stack["users"][1]
    verifier = generate_token(64)
    with _browser() as browser:
        answer = _login(browser, _authorize_url(local_stack, verifier), account["username"],
                        account["password"])
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["state"] == ["s1"]
        code = query["code"][0]
        wrong = _token(browser, local_stack, code, generate_token(64))
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        ok = _token(browser, local_stack, code, verifier)
        assert ok.status_code == 200, ok.text
        assert {"access_token", "id_token", "refresh_token"} <= set(ok.json())
        replay = _token(browser, local_stack, code, verifier)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        # RFC 7009 revocation: the refresh token stops working
        revoked = browser.post(f"{local_stack['authDomain']}/oauth2/revoke", timeout=10,
                               data={"token": ok.json()["refresh_token"],
                                     "client_id": local_stack["clientId"]})
        assert revoked.status_code == 200
    auth = CognitoAuth(_settings(local_stack), MemoryTokenStore())
    auth._accept({"AuthenticationResult": {
        "IdToken": ok.json()["id_token"], "AccessToken": ok.json()["access_token"],
        "RefreshToken": ok.json()["refresh_token"], "ExpiresIn": 3600}}, username="")
    with pytest.raises(NotSignedInError):
        auth.force_refresh()


@pytest.mark.parametrize(("change", "words"), [
    ({"pkce": False}, "code_challenge"),
    ({"redirect": "https://evil.example/callback"}, "Redirect URI"),
])
def test_invalid_authorize_requests_show_an_error_and_never_redirect(
        local_stack: dict[str, Any], change: dict[str, Any], words: str) -> None:
    with _browser() as browser:
        page = browser.get(_authorize_url(local_stack, generate_token(64), **change),
                           allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers
    assert words in page.text


def test_wrong_password_on_the_login_page(local_stack: dict[str, Any]) -> None:
    account = local_stack["users"][1]
    with _browser() as browser:
        answer = _login(browser, _authorize_url(local_stack, generate_token(64)),
                        account["username"], account["password"] + "x")
    assert answer.status_code == 401 and "Location" not in answer.headers
    assert "Incorrect username or password" in answer.text


def test_a_browser_that_never_comes_back_times_out(local_stack: dict[str, Any]) -> None:
    auth = CognitoAuth(_settings(local_stack), MemoryTokenStore())
    opened: list[str] = []
    with pytest.raises(AuthError) as info:
        auth.sign_in_with_browser(opened.append, timeout=0.5)  # the timeout is the subject
    assert info.value.code == "browser_timeout" and opened and not auth.signed_in
    # the loopback port is closed again: nothing listens for a late answer
    redirect = parse_qs(urlsplit(opened[0]).query)["redirect_uri"][0]
    with _browser() as browser, pytest.raises(requests.ConnectionError):
        browser.get(f"{redirect}?code=x&state=y", timeout=5)


def test_registered_ports_are_used_when_the_pool_needs_exact_callbacks(
        local_stack: dict[str, Any]) -> None:
    from medispecs_desktop.core.auth.pkce import parse_ports
    from medispecs_desktop.core.errors import ConfigurationError

    assert parse_ports("") == [0]
    assert parse_ports("47251, 47253-47254") == [47251, 47253, 47254]
    with pytest.raises(ConfigurationError):
        parse_ports("80")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = CognitoAuth(_settings(local_stack).with_overrides(redirect_ports=str(port)),
                       MemoryTokenStore())
    account = local_stack["users"][1]
    seen: list[str] = []
    auth.sign_in_with_browser(_user_agent(local_stack, account, seen=seen), timeout=30)
    assert urlsplit(seen[0]).port == port


def test_the_stack_checks_srp_proofs_moto_would_accept(local_stack: dict[str, Any]) -> None:
    """moto accepts any PASSWORD_VERIFIER answer; the stack's check refuses a forged proof, a
    replayed challenge and a body it cannot read (instead of passing it to moto unchecked)."""
    from medispecs_desktop.core.auth.srp import SrpProof

    account = local_stack["users"][1]
    target = "AWSCognitoIdentityProviderService."

    def call(action: str, payload: Any) -> requests.Response:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with _browser() as web:
            return web.post(local_stack["awsEndpoint"], data=data, timeout=10, headers={
                "X-Amz-Target": target + action,
                "Content-Type": "application/x-amz-json-1.1"})

    proof = SrpProof(account["username"], "not-the-password", pool_id=local_stack["userPoolId"],
                     client_id=local_stack["clientId"])
    first = call("InitiateAuth", {"ClientId": local_stack["clientId"],
                                  "AuthFlow": "USER_SRP_AUTH",
                                  "AuthParameters": proof.auth_parameters()}).json()
    answer = {"ClientId": local_stack["clientId"], "ChallengeName": "PASSWORD_VERIFIER",
              "Session": first["Session"],
              "ChallengeResponses": proof.answer(first["ChallengeParameters"])}
    for action in ("RespondToAuthChallenge", "AdminRespondToAuthChallenge"):
        refused = call(action, answer)
        assert refused.status_code == 400 and "AuthenticationResult" not in refused.text
    # moto finds its session by the secret block: naming moto's session there directly, in
    # a body too large to check, signed in with any password before the stack refused it
    forged = dict(answer, ChallengeResponses=dict(
        answer["ChallengeResponses"], PASSWORD_CLAIM_SECRET_BLOCK=first["Session"]))
    for body in (json.dumps(forged).encode(),
                 json.dumps(forged).encode() + b" " * (300 * 1024)):
        sneaked = call("RespondToAuthChallenge", body)
        assert sneaked.status_code == 400 and "AuthenticationResult" not in sneaked.text


def test_the_login_server_never_logs_issued_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """authlib logs "Issue token {...}" at DEBUG; the stack runs with DEBUG under -v."""
    import logging

    from medispecs_desktop.local.oauth_server import OAuthMiddleware

    monkeypatch.setattr(logging.getLogger("authlib"), "level", logging.NOTSET)
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)
    OAuthMiddleware(lambda environ, start_response: [])
    assert not logging.getLogger("authlib.oauth2.rfc6749.grants.authorization_code") \
        .isEnabledFor(logging.DEBUG)
