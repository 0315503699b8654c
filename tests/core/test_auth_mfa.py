"""Password sign-in with SRP and its steps against moto's Cognito (over HTTP, with the local
stack's real SRP check): wrong passwords, authenticator codes (TOTP, pyotp), SMS codes,
enrolment at sign-in and from a signed-in session, and forgot password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from medispecs_desktop.core.auth import (
    CognitoAuth,
    MemoryTokenStore,
    MfaRequired,
    MfaSetupRequired,
)
from medispecs_desktop.core.errors import AuthError
from tests.support.cognito import (
    PASSWORD,
    SignInPool,
    mailbox_code,
    make_pool,
    totp_code,
    wrong_code,
)


@pytest.fixture(scope="module")
def optional_pool(local_stack: dict[str, Any]) -> Iterator[SignInPool]:
    pool = make_pool(local_stack["awsEndpoint"], mfa="OPTIONAL")
    yield pool
    pool.delete()


@pytest.fixture(scope="module")
def required_pool(local_stack: dict[str, Any]) -> Iterator[SignInPool]:
    pool = make_pool(local_stack["awsEndpoint"], mfa="ON")
    yield pool
    pool.delete()


def _srp_calls(auth: CognitoAuth) -> tuple[list[dict[str, Any]], list[bytes]]:
    """What the sign-in asks Cognito (API parameters) and the bytes it sends."""
    calls: list[dict[str, Any]] = []
    bodies: list[bytes] = []
    events = auth.client.meta.events
    events.register("provide-client-params.cognito-idp.*",
                    lambda params, **kw: calls.append(dict(params)))
    events.register("before-send.cognito-idp.*",
                    lambda request, **kw: bodies.append(bytes(request.body or b"")))
    return calls, bodies


def test_password_sign_in_uses_srp_and_never_sends_the_password(
        optional_pool: SignInPool) -> None:
    user = optional_pool.add_user()
    auth = CognitoAuth(optional_pool.settings(), MemoryTokenStore())
    calls, bodies = _srp_calls(auth)
    assert auth.sign_in(user, PASSWORD).username == user
    assert [c.get("AuthFlow") or c.get("ChallengeName") for c in calls] == [
        "USER_SRP_AUTH", "PASSWORD_VERIFIER"]
    assert len(bodies) == 2 and not any(PASSWORD.encode() in b for b in bodies)


def test_wrong_password_is_refused_by_the_srp_proof(optional_pool: SignInPool) -> None:
    user = optional_pool.add_user()
    auth = CognitoAuth(optional_pool.settings(), MemoryTokenStore())
    with pytest.raises(AuthError) as info:
        auth.sign_in(user, PASSWORD + "x")
    assert info.value.code == "wrong_password"
    assert not auth.signed_in


def test_authenticator_enrolment_from_a_session_then_the_code_challenge(
        optional_pool: SignInPool) -> None:
    user = optional_pool.add_user()
    auth = CognitoAuth(optional_pool.settings(), MemoryTokenStore())
    auth.sign_in(user, PASSWORD)
    setup = auth.start_totp_enrolment()
    assert setup.uri.startswith(f"otpauth://totp/MediSpecs:{user}?secret=")
    assert setup.qr_png()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(AuthError) as info:
        auth.confirm_totp_enrolment(setup, wrong_code(setup.secret))
    assert info.value.code == "wrong_code"
    auth.confirm_totp_enrolment(setup, totp_code(setup.secret))

    fresh = CognitoAuth(optional_pool.settings(), MemoryTokenStore())
    with pytest.raises(MfaRequired) as step:
        fresh.sign_in(user, PASSWORD)
    assert step.value.kind == "SOFTWARE_TOKEN_MFA" and not fresh.signed_in
    assert step.value.session not in repr(step.value)
    with pytest.raises(AuthError) as wrong:
        fresh.answer_mfa(step.value, wrong_code(setup.secret))
    assert wrong.value.code == "wrong_code" and not fresh.signed_in
    with pytest.raises(MfaRequired) as again:
        fresh.sign_in(user, PASSWORD)
    assert fresh.answer_mfa(again.value, totp_code(setup.secret)).username == user
    assert fresh.signed_in


def test_required_mfa_enrols_during_the_first_sign_in(required_pool: SignInPool) -> None:
    user = required_pool.add_user()
    auth = CognitoAuth(required_pool.settings(), MemoryTokenStore())
    with pytest.raises(MfaSetupRequired) as step:
        auth.sign_in(user, PASSWORD)
    setup = auth.begin_mfa_setup(step.value)
    assert setup.secret and setup.grouped_secret.replace(" ", "") == setup.secret
    with pytest.raises(AuthError) as wrong:
        auth.finish_mfa_setup(setup, wrong_code(setup.secret))
    assert wrong.value.code == "wrong_code" and not auth.signed_in
    assert auth.finish_mfa_setup(setup, totp_code(setup.secret)).username == user
    assert auth.signed_in


def test_sms_code_challenge(optional_pool: SignInPool) -> None:
    user = optional_pool.add_user()
    optional_pool.admin.admin_set_user_mfa_preference(
        UserPoolId=optional_pool.pool_id, Username=user,
        SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
    auth = CognitoAuth(optional_pool.settings(), MemoryTokenStore())
    with pytest.raises(MfaRequired) as step:
        auth.sign_in(user, PASSWORD)
    assert step.value.by_sms and "text message" in str(step.value)
    with pytest.raises(AuthError) as info:
        auth.answer_mfa(step.value, "12x")
    assert info.value.code == "missing_code"
    # moto accepts any SMS code (it sends no text message): the answer path is what is tested
    assert auth.answer_mfa(step.value, "123 456").username == user


def test_demo_stack_mfa_user_needs_its_authenticator(local_stack: dict[str, Any]) -> None:
    from tests.support.stack import stack_settings

    account = local_stack["mfaUser"]
    auth = CognitoAuth(stack_settings(local_stack), MemoryTokenStore())
    with pytest.raises(MfaRequired) as step:
        auth.sign_in(account["username"], account["password"])
    user = auth.answer_mfa(step.value, totp_code(account["totpSecret"]))
    assert user.username == account["username"]


def test_forgot_password_with_the_mailed_code(optional_pool: SignInPool) -> None:
    user = optional_pool.add_user()
    auth = CognitoAuth(optional_pool.settings(), MemoryTokenStore())
    delivery = auth.forgot_password(user)
    assert delivery.medium == "EMAIL" and "@" in delivery.destination
    assert delivery.describe().startswith("A code was sent by e-mail to ")
    code = mailbox_code(optional_pool.endpoint, optional_pool.client_id, user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(AuthError) as info:
        auth.confirm_forgot_password(user, wrong, "Brand-New-Pass-9!")
    assert info.value.code == "wrong_code"
    auth.confirm_forgot_password(user, code, "Brand-New-Pass-9!")
    with pytest.raises(AuthError) as replay:
        auth.confirm_forgot_password(user, code, "Another-New-Pass-9!")
    assert replay.value.code == "expired_code"
    with pytest.raises(AuthError):
        CognitoAuth(optional_pool.settings(), MemoryTokenStore()).sign_in(user, PASSWORD)
    fresh = CognitoAuth(optional_pool.settings(), MemoryTokenStore())
    assert fresh.sign_in(user, "Brand-New-Pass-9!").username == user


def _enrolled_user(pool: SignInPool) -> tuple[str, str]:
    user = pool.add_user()
    auth = CognitoAuth(pool.settings(), MemoryTokenStore())
    auth.sign_in(user, PASSWORD)
    setup = auth.start_totp_enrolment()
    auth.confirm_totp_enrolment(setup, totp_code(setup.secret))
    return user, setup.secret


def test_remember_this_device_skips_the_code_on_this_computer_only(
        local_stack: dict[str, Any]) -> None:
    pool = make_pool(local_stack["awsEndpoint"], mfa="OPTIONAL", devices=True)
    try:
        user, secret = _enrolled_user(pool)
        here = MemoryTokenStore()
        first = CognitoAuth(pool.settings(), here)
        with pytest.raises(MfaRequired) as step:
            first.sign_in(user, PASSWORD)
        first.answer_mfa(step.value, totp_code(secret), remember_device=True)
        assert first.device_remembered
        stored = [k for k in here._values if k.startswith("device:")]
        assert len(stored) == 1 and "password" in here._values[stored[0]]

        again = CognitoAuth(pool.settings(), here)  # this computer, later: no code asked
        assert again.sign_in(user, PASSWORD).username == user and again.signed_in
        with pytest.raises(AuthError):  # the device does not replace the password
            CognitoAuth(pool.settings(), here).sign_in(user, PASSWORD + "x")
        with pytest.raises(MfaRequired):  # another computer still needs the code
            CognitoAuth(pool.settings(), MemoryTokenStore()).sign_in(user, PASSWORD)

        # a device secret that no longer matches: forgotten, and the code is asked again
        here._values[stored[0]] = here._values[stored[0]].replace('"password": "',
                                                                  '"password": "x')
        with pytest.raises(MfaRequired):
            CognitoAuth(pool.settings(), here).sign_in(user, PASSWORD)
        assert not [k for k in here._values if k.startswith("device:")]
    finally:
        pool.delete()


def test_a_pool_without_device_tracking_remembers_nothing(
        optional_pool: SignInPool) -> None:
    user, secret = _enrolled_user(optional_pool)
    store = MemoryTokenStore()
    auth = CognitoAuth(optional_pool.settings(), store)
    with pytest.raises(MfaRequired) as step:
        auth.sign_in(user, PASSWORD)
    auth.answer_mfa(step.value, totp_code(secret), remember_device=True)
    assert auth.signed_in and not auth.device_remembered
    assert not [k for k in store._values if k.startswith("device:")]
