"""core.auth against a real Cognito user pool served by moto over HTTP, with real keyring
backends set explicitly (never the developer's keyring)."""

from __future__ import annotations

import logging
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import keyring
import keyring.backends.fail
import keyring.errors
import pytest
from botocore.config import Config

from medispecs_desktop.core.auth import (
    KEYRING_SERVICE,
    REFRESH_MARGIN_SEC,
    CognitoAuth,
    KeyringTokenStore,
    MemoryTokenStore,
    NewPasswordRequired,
    TokenProvider,
    TokenStore,
    TokenStoreUnavailable,
    UserInfo,
    decode_claims,
)
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.errors import (
    AuthError,
    ConfigurationError,
    NotSignedInError,
    OfflineError,
)
from tests.support.keyrings import MemoryKeyring, active_keyring

REGION = "ap-southeast-1"
PASSWORD = "Correct-Horse-7!"


# --------------------------------------------------------------------------- keyrings


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's plain-text file backend: the store must refuse it."""


class LockedKeyring(MemoryKeyring):
    """A keyring whose every call fails (e.g. a locked Secret Service collection)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")


@pytest.fixture
def use_keyring() -> Iterator[Any]:
    """``use_keyring(backend)`` makes it the active keyring for this test only."""
    with ExitStack() as stack:
        yield lambda backend: stack.enter_context(active_keyring(backend))


@pytest.fixture
def memory_keyring(use_keyring: Any) -> MemoryKeyring:
    backend: MemoryKeyring = use_keyring(MemoryKeyring())
    return backend


# --------------------------------------------------------------------------- Cognito


@dataclass
class Pool:
    endpoint: str
    pool_id: str
    client_id: str
    admin: Any

    def settings(self, **kw: Any) -> Settings:
        return Settings(
            api_url="http://127.0.0.1:9/unused",
            region=REGION,
            user_pool_id=self.pool_id,
            client_id=self.client_id,
            cognito_endpoint=self.endpoint,
        ).with_overrides(**kw)

    def add_user(self, username: str, *, temporary: str | None = None,
                 email: str | None = None) -> None:
        attrs = [{"Name": "email", "Value": email or f"{username}@example.org"}]
        if temporary:
            self.admin.admin_create_user(UserPoolId=self.pool_id, Username=username,
                                         TemporaryPassword=temporary, MessageAction="SUPPRESS",
                                         UserAttributes=attrs)
            return
        self.admin.admin_create_user(UserPoolId=self.pool_id, Username=username,
                                     MessageAction="SUPPRESS", UserAttributes=attrs)
        self.admin.admin_set_user_password(UserPoolId=self.pool_id, Username=username,
                                           Password=PASSWORD, Permanent=True)


@pytest.fixture(scope="module")
def pool(local_stack: dict[str, Any]) -> Iterator[Pool]:
    """A user pool + public app client of our own on the local stack's moto (over HTTP), so
    these tests can add users and clients without touching the demo pool."""
    endpoint = local_stack["awsEndpoint"]
    admin = boto3.session.Session().client(
        "cognito-idp", region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    pool_id = admin.create_user_pool(PoolName="auth-tests")["UserPool"]["Id"]
    client_id = admin.create_user_pool_client(
        UserPoolId=pool_id, ClientName="desktop", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "name"],  # so the ID token carries them, as on AWS
    )["UserPoolClient"]["ClientId"]
    p = Pool(endpoint, pool_id, client_id, admin)
    p.add_user("alice", email="alice@example.org")
    try:
        yield p
    finally:
        admin.delete_user_pool(UserPoolId=pool_id)


def test_demo_user_signs_in_with_the_stack_settings(local_stack: dict[str, Any]) -> None:
    settings = Settings(
        api_url=local_stack["apiUrl"], region=local_stack["region"],
        user_pool_id=local_stack["userPoolId"], client_id=local_stack["clientId"],
        cognito_endpoint=local_stack["awsEndpoint"],
    )
    auth = CognitoAuth(settings, MemoryTokenStore())
    user = auth.sign_in(local_stack["username"], local_stack["password"])
    assert user.username == local_stack["username"]
    with pytest.raises(AuthError) as info:
        CognitoAuth(settings, MemoryTokenStore()).sign_in(local_stack["username"], "wrong-1A!")
    assert info.value.code == "wrong_password"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _count_calls(auth: CognitoAuth, operation: str) -> list[str]:
    """Record every real request of ``operation`` the auth's boto3 client sends."""
    seen: list[str] = []
    auth.client.meta.events.register(
        f"before-call.cognito-idp.{operation}", lambda **kw: seen.append(operation)
    )
    return seen


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- sign-in


def test_sign_in_remembers_refresh_token_only_in_keyring(
    pool: Pool, memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="medispecs_desktop")
    settings = pool.settings()
    auth = CognitoAuth(settings, KeyringTokenStore.for_settings(settings))
    assert isinstance(auth, TokenProvider)

    user = auth.sign_in("alice", PASSWORD)

    assert user.username == "alice"
    assert user.email == "alice@example.org"
    assert user.sub and user.display_name == "alice@example.org"
    assert auth.user == user and auth.signed_in
    assert auth.remembered and auth.remember_error is None
    token = auth.id_token()
    claims = decode_claims(token)
    assert claims["token_use"] == "id" and claims["aud"] == pool.client_id
    # exactly two keyring entries: the refresh token and who signed in last; no ID token
    scope = f"{pool.pool_id}/{pool.client_id}"
    stored = memory_keyring.values
    assert set(stored) == {
        (KEYRING_SERVICE, f"refresh-token:{scope}:alice"),
        (KEYRING_SERVICE, f"last-user:{scope}"),
    }
    assert stored[(KEYRING_SERVICE, f"last-user:{scope}")] == "alice"
    refresh = stored[(KEYRING_SERVICE, f"refresh-token:{scope}:alice")]
    assert token not in stored.values()
    # no secret reaches the log or a repr
    for secret in (token, refresh, PASSWORD):
        assert secret not in caplog.text
        assert secret not in repr(auth._tokens)


def test_new_password_challenge(pool: Pool, memory_keyring: MemoryKeyring) -> None:
    pool.add_user("newbie", temporary="Temporary-Pass-1!")
    auth = CognitoAuth(pool.settings(), MemoryTokenStore())

    with pytest.raises(NewPasswordRequired) as info:
        auth.sign_in("newbie", "Temporary-Pass-1!")
    challenge = info.value
    assert challenge.username == "newbie" and challenge.session
    assert challenge.session not in repr(challenge)
    assert not auth.signed_in

    user = auth.complete_new_password(challenge, "Brand-New-Pass-2!")
    assert user.username == "newbie"
    assert auth.id_token()
    # the new password is now the password
    again = CognitoAuth(pool.settings(), MemoryTokenStore())
    assert again.sign_in("newbie", "Brand-New-Pass-2!").username == "newbie"
    with pytest.raises(AuthError) as wrong:
        again.sign_in("newbie", "Temporary-Pass-1!")
    assert wrong.value.code == "wrong_password"


@pytest.mark.parametrize(
    ("username", "password", "code", "words"),
    [
        ("alice", "not-the-password", "wrong_password", "Wrong username or password"),
        ("nobody-here", "whatever-1A!", "unknown_user", "no account 'nobody-here'"),
        ("", "x", "missing_credentials", "Enter a username"),
    ],
)
def test_sign_in_failures_are_clear(pool: Pool, username: str, password: str, code: str,
                                    words: str) -> None:
    auth = CognitoAuth(pool.settings(), MemoryTokenStore())
    with pytest.raises(AuthError) as info:
        auth.sign_in(username, password)
    assert info.value.code == code
    assert words in str(info.value)
    assert not auth.signed_in
    with pytest.raises(NotSignedInError):
        auth.id_token()


def test_offline_sign_in(pool: Pool) -> None:
    settings = pool.settings(cognito_endpoint=f"http://127.0.0.1:{_closed_port()}")
    auth = CognitoAuth(settings, MemoryTokenStore(), max_attempts=1)
    with pytest.raises(OfflineError) as info:
        auth.sign_in("alice", PASSWORD)
    assert "Cannot reach the sign-in service" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"client_id": "no-such-client"}, "Check the region, user pool id and app client id"),
        ({"client_id": ""}, "Sign-in is not configured: set client_id"),
        ({"user_pool_id": "", "region": ""}, "region, user_pool_id"),
        ({"user_pool_id": "NoUnderscorePool"}, "is not a Cognito user pool id"),
    ],
)
def test_misconfigured_pool_or_client(pool: Pool, overrides: dict[str, str], words: str) -> None:
    auth = CognitoAuth(pool.settings(**overrides), MemoryTokenStore())
    with pytest.raises(ConfigurationError) as info:
        auth.sign_in("alice", PASSWORD)
    assert words in str(info.value)


def test_another_pools_id_cannot_prove_the_password(pool: Pool) -> None:
    """The pool's name is part of the SRP proof: with another pool id the right password is
    refused (as Cognito refuses it), and no tokens of the wrong pool are ever kept."""
    auth = CognitoAuth(pool.settings(user_pool_id="ap-southeast-1_SomeOtherPool"),
                       MemoryTokenStore())
    with pytest.raises(AuthError) as info:
        auth.sign_in("alice", PASSWORD)
    assert info.value.code == "wrong_password"
    assert not auth.signed_in


@pytest.mark.parametrize(
    ("code", "message", "kind", "our_code"),
    [  # answers real Cognito gives that moto does not reproduce
        ("NotAuthorizedException", "Unable to verify secret hash for client abc",
         ConfigurationError, "configuration"),
        ("NotAuthorizedException", "User is disabled.", AuthError, "user_disabled"),
        ("NotAuthorizedException", "Password attempts exceeded", AuthError, "too_many_attempts"),
        ("NotAuthorizedException", "Refresh Token has expired", NotSignedInError,
         "session_expired"),
        ("NotAuthorizedException", "Invalid session for the user, session is expired.",
         AuthError, "session_expired"),
        ("UserNotConfirmedException", "User is not confirmed.", AuthError, "user_not_confirmed"),
        ("PasswordResetRequiredException", "Password reset required for the user", AuthError,
         "password_reset_required"),
        ("InvalidPasswordException", "Password does not conform to policy", AuthError,
         "invalid_password"),
        ("TooManyRequestsException", "Rate exceeded", AuthError, "too_many_attempts"),
        ("InvalidParameterException", "USER_SRP_AUTH flow not enabled for this client",
         ConfigurationError, "configuration"),
        ("InternalErrorException", "oops", OfflineError, "service_unavailable"),
    ],
)
def test_cognito_error_mapping(code: str, message: str, kind: type[Exception],
                               our_code: str) -> None:
    from botocore.exceptions import ClientError

    from medispecs_desktop.core.auth import map_client_error

    response: Any = {"Error": {"Code": code, "Message": message},
                     "ResponseMetadata": {"HTTPStatusCode": 400}}  # only what Cognito's matter
    error = ClientError(response, "InitiateAuth")
    mapped = map_client_error(error, username="alice")
    assert type(mapped) is kind
    assert mapped.code == our_code
    assert len(str(mapped)) > 20


# --------------------------------------------------------------------------- refresh


def test_id_token_refreshes_within_five_minutes_of_expiry(pool: Pool) -> None:
    clock = FakeClock()
    auth = CognitoAuth(pool.settings(), MemoryTokenStore(), clock=clock)
    auth.sign_in("alice", PASSWORD)
    calls = _count_calls(auth, "InitiateAuth")
    first = auth.id_token()
    expires = auth.expires_at
    assert expires is not None and expires == pytest.approx(clock.now + 3600)

    clock.now = expires - REFRESH_MARGIN_SEC - 1  # still more than 5 minutes: no call
    assert auth.id_token() == first
    assert calls == []

    clock.now = expires - REFRESH_MARGIN_SEC + 1  # less than 5 minutes left: refresh
    second = auth.id_token()
    assert calls == ["InitiateAuth"]
    assert second != first
    assert decode_claims(second)["sub"] == decode_claims(first)["sub"]
    assert auth.expires_at == pytest.approx(clock.now + 3600)

    clock.now += 60 * 60 * 2  # long expired (laptop asleep): still refreshed, not failed
    assert auth.id_token() != second
    assert calls == ["InitiateAuth", "InitiateAuth"]


def test_concurrent_callers_share_one_refresh(pool: Pool) -> None:
    clock = FakeClock()
    auth = CognitoAuth(pool.settings(), MemoryTokenStore(), clock=clock)
    auth.sign_in("alice", PASSWORD)
    calls = _count_calls(auth, "InitiateAuth")
    clock.now += 3600  # expired
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(auth.id_token()))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 6 and len(set(results)) == 1
    assert calls == ["InitiateAuth"]


def test_force_refresh_gets_a_new_token(pool: Pool) -> None:
    auth = CognitoAuth(pool.settings(), MemoryTokenStore())
    auth.sign_in("alice", PASSWORD)
    old = auth.id_token()
    new = auth.force_refresh()
    assert new != old and auth.id_token() == new


def test_offline_refresh_keeps_a_still_valid_token(pool: Pool) -> None:
    clock = FakeClock()
    auth = CognitoAuth(pool.settings(), MemoryTokenStore(), clock=clock, max_attempts=1)
    auth.sign_in("alice", PASSWORD)
    token = auth.id_token()
    # the network goes away
    auth.settings = pool.settings(cognito_endpoint=f"http://127.0.0.1:{_closed_port()}")
    auth._client = auth._make_client(1)
    expires = auth.expires_at
    assert expires is not None
    clock.now = expires - 120  # 2 minutes left: refresh fails, token still usable
    assert auth.id_token() == token
    clock.now = expires + 1  # expired and offline: a clear offline error
    with pytest.raises(OfflineError):
        auth.id_token()
    assert auth.signed_in  # not signed out by a network failure


def test_revoked_refresh_token_signs_out(pool: Pool) -> None:
    store = MemoryTokenStore()
    clock = FakeClock()
    auth = CognitoAuth(pool.settings(), store, clock=clock)
    auth.sign_in("alice", PASSWORD)
    assert len(store) == 2
    assert auth._tokens is not None
    auth._tokens.refresh_token = "not-a-refresh-token"
    with pytest.raises(NotSignedInError) as info:
        auth.force_refresh()
    assert "sign in again" in str(info.value)
    assert not auth.signed_in and auth.user is None
    assert len(store) == 0


# --------------------------------------------------------------------------- restore / sign out


def test_restore_on_a_new_start_then_sign_out(pool: Pool, memory_keyring: MemoryKeyring) -> None:
    settings = pool.settings()
    first = CognitoAuth(settings, KeyringTokenStore.for_settings(settings))
    first.sign_in("alice", PASSWORD)
    assert len(memory_keyring.values) == 2

    # "a new start": a new process would build everything again from settings + keyring
    second = CognitoAuth(settings, KeyringTokenStore.for_settings(settings))
    assert second.last_username() == "alice"
    user = second.restore()
    assert user is not None and user.username == "alice"
    assert second.remembered
    assert decode_claims(second.id_token())["cognito:username"] == "alice"

    second.sign_out()
    assert memory_keyring.values == {}
    assert not second.signed_in and second.user is None and not second.remembered
    with pytest.raises(NotSignedInError):
        second.id_token()
    third = CognitoAuth(settings, KeyringTokenStore.for_settings(settings))
    assert third.restore() is None
    third.sign_out()  # nobody signed in: harmless


def test_sign_out_without_memory_clears_the_keyring(
    pool: Pool, memory_keyring: MemoryKeyring
) -> None:
    settings = pool.settings()
    CognitoAuth(settings, KeyringTokenStore.for_settings(settings)).sign_in("alice", PASSWORD)
    fresh = CognitoAuth(settings, KeyringTokenStore.for_settings(settings))
    fresh.sign_out()  # e.g. `medispecs-desktop logout` in a new process
    assert memory_keyring.values == {}


def test_restore_with_an_expired_refresh_token_forgets_it(pool: Pool) -> None:
    store = MemoryTokenStore()
    auth = CognitoAuth(pool.settings(), store)
    scope = f"{pool.pool_id}/{pool.client_id}"
    store.save(f"last-user:{scope}", "alice")
    store.save(f"refresh-token:{scope}:alice", "expired-or-revoked")
    assert auth.restore() is None
    assert len(store) == 0


def test_restore_offline_keeps_the_remembered_sign_in(pool: Pool) -> None:
    store = MemoryTokenStore()
    CognitoAuth(pool.settings(), store).sign_in("alice", PASSWORD)
    offline = pool.settings(cognito_endpoint=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(OfflineError):
        CognitoAuth(offline, store, max_attempts=1).restore()
    assert len(store) == 2
    assert CognitoAuth(pool.settings(), store).restore() is not None


def test_another_user_replaces_the_previous_refresh_token(pool: Pool) -> None:
    pool.add_user("bob")
    store = MemoryTokenStore()
    auth = CognitoAuth(pool.settings(), store)
    auth.sign_in("alice", PASSWORD)
    auth.sign_in("bob", PASSWORD)
    scope = f"{pool.pool_id}/{pool.client_id}"
    assert store.load(f"refresh-token:{scope}:alice") is None
    assert store.load(f"refresh-token:{scope}:bob")
    assert store.load(f"last-user:{scope}") == "bob"


# --------------------------------------------------------------------------- token stores


def test_plaintext_keyring_is_refused_unless_allowed(pool: Pool, use_keyring: Any,
                                                     tmp_path: Path) -> None:
    backend = use_keyring(PlaintextKeyring())
    settings = pool.settings()
    store = KeyringTokenStore.for_settings(settings)
    assert "plain text" in (store.check() or "")
    with pytest.raises(TokenStoreUnavailable):
        store.save("k", "v")

    auth = CognitoAuth(settings, store)
    user = auth.sign_in("alice", PASSWORD)  # the session still works...
    assert user.username == "alice" and auth.id_token()
    assert not auth.remembered  # ...but is not remembered, and says why
    assert auth.remember_error and "MEDISPECS_ALLOW_PLAINTEXT_KEYRING" in auth.remember_error
    assert backend.values == {}

    allowed = pool.settings(allow_plaintext_keyring=True)
    auth2 = CognitoAuth(allowed, KeyringTokenStore.for_settings(allowed))
    auth2.sign_in("alice", PASSWORD)
    assert auth2.remembered and len(backend.values) == 2


def test_no_keyring_at_all(pool: Pool, use_keyring: Any) -> None:
    use_keyring(keyring.backends.fail.Keyring())
    settings = pool.settings()
    store = KeyringTokenStore.for_settings(settings)
    assert "No secure keyring" in (store.check() or "")
    auth = CognitoAuth(settings, store)
    auth.sign_in("alice", PASSWORD)
    assert auth.signed_in and not auth.remembered
    assert "No secure keyring" in (auth.remember_error or "")
    assert CognitoAuth(settings, store).restore() is None
    auth.sign_out()  # must not raise either


def test_no_keyring_but_plaintext_allowed_uses_a_private_file(
    pool: Pool, use_keyring: Any, tmp_path: Path
) -> None:
    use_keyring(keyring.backends.fail.Keyring())
    settings = pool.settings(allow_plaintext_keyring=True)
    auth = CognitoAuth(settings, KeyringTokenStore.for_settings(settings))
    auth.sign_in("alice", PASSWORD)
    assert auth.remembered
    store = KeyringTokenStore.for_settings(settings)
    target = store.plaintext_file
    assert target is not None and target.exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert CognitoAuth(settings, KeyringTokenStore.for_settings(settings)).restore() is not None
    auth.sign_out()
    assert "refresh-token" not in target.read_text()


def test_keyring_errors_become_token_store_unavailable(pool: Pool, use_keyring: Any) -> None:
    use_keyring(LockedKeyring())
    store = KeyringTokenStore()
    for call in (lambda: store.load("k"), lambda: store.save("k", "v"),
                 lambda: store.delete("k")):
        with pytest.raises(TokenStoreUnavailable) as info:
            call()
        assert "locked" in str(info.value)
    auth = CognitoAuth(pool.settings(), store)
    auth.sign_in("alice", PASSWORD)
    assert auth.signed_in and not auth.remembered and "locked" in (auth.remember_error or "")
    assert auth.restore() is None


class WinVaultLikeKeyring(MemoryKeyring):
    """Refuses entries over Windows Credential Manager's 2560-byte (UTF-16) limit."""

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password.encode("utf-16-le")) > 2560:
            raise keyring.errors.PasswordSetError("The stub received bad data.")
        super().set_password(service, username, password)


def test_long_refresh_tokens_fit_windows_credential_manager(use_keyring: Any) -> None:
    backend: WinVaultLikeKeyring = use_keyring(WinVaultLikeKeyring())
    store = KeyringTokenStore()
    token = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ." + "x" * 1750
    store.save("refresh-token:p/c:alice", token)
    assert store.load("refresh-token:p/c:alice") == token
    assert len(backend.values) == 3  # a header and two parts
    assert all(len(v) <= 1280 for v in backend.values.values())

    store.save("refresh-token:p/c:alice", "short-token")  # shrinks: stale parts go
    assert store.load("refresh-token:p/c:alice") == "short-token"
    assert len(backend.values) == 1

    store.save("refresh-token:p/c:alice", token)
    del backend.values[(KEYRING_SERVICE, "refresh-token:p/c:alice#1")]
    assert store.load("refresh-token:p/c:alice") is None  # incomplete: never half a token
    store.delete("refresh-token:p/c:alice")
    assert backend.values == {}
    store.delete("refresh-token:p/c:alice")  # twice is fine


def test_stores_satisfy_the_protocol(tmp_path: Path) -> None:
    for store in (MemoryTokenStore(), KeyringTokenStore()):
        assert isinstance(store, TokenStore)


def test_user_info_from_claims_only_for_display() -> None:
    import jwt

    token = jwt.encode({"sub": "s-1", "cognito:username": "u1", "email": "u1@example.org",
                        "name": "Dr U", "cognito:groups": ["clinicians"]}, "k" * 32)
    info = UserInfo.from_id_token(token)
    assert info == UserInfo("u1", "s-1", "u1@example.org", "Dr U", ("clinicians",))
    assert info.display_name == "Dr U"
    with pytest.raises(AuthError):
        UserInfo.from_id_token("not a jwt")
