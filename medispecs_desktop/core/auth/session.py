"""One user's session with the Cognito user pool: sign-in, silent restore, refresh, sign-out.

* Password sign-in is ``USER_SRP_AUTH`` (``core.auth.srp``): the password itself never travels.
  Every challenge Cognito can answer with becomes a step the UI/CLI can show: a new password
  (``NewPasswordRequired``), an authenticator or SMS code (``MfaRequired``), authenticator
  enrolment (``MfaSetupRequired``, ``core.auth.mfa``).
* Sign-in through the organisation runs in the system browser (``core.auth.pkce``).
* The refresh token lives **only** in the token store (the OS keyring, ``core.auth.stores``),
  keyed by the user pool, the app client and the user; ID/access tokens only in memory.
  Nothing secret is logged. Without a usable store the session still works, but
  ``CognitoAuth.remembered`` is False and ``remember_error`` says why.
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import botocore.exceptions

# boto3 (cognito), authlib (pkce) and pycognito (srp) load when a call needs them: a command
# that only reads the library with a token still valid signs in from the store without them
from medispecs_desktop.core.auth import mfa, recovery
from medispecs_desktop.core.auth.errors import (
    MfaRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInCancelled,
    required_attributes,
)
from medispecs_desktop.core.auth.srp import AUTH_FLOW, VERIFIER_CHALLENGE, RememberedDevice
from medispecs_desktop.core.auth.stores import TokenStore, TokenStoreUnavailable
from medispecs_desktop.core.auth.tokens import Tokens, UserInfo, decode_claims
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.errors import (
    AuthError,
    ConfigurationError,
    MediSpecsError,
    NotSignedInError,
    OfflineError,
)

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

    from medispecs_desktop.core.auth.srp import SrpProof

log = logging.getLogger(__name__)

REFRESH_MARGIN_SEC = 300.0
"""ID/access tokens are refreshed when fewer than this many seconds are left."""

MFA_KINDS = ("SOFTWARE_TOKEN_MFA", "SMS_MFA")


@runtime_checkable
class TokenProvider(Protocol):
    """Supplies the bearer token for the API (``ApiClient`` depends only on this)."""

    def id_token(self) -> str: ...

    def force_refresh(self) -> str: ...


class CognitoAuth:
    """One user's session with the Cognito user pool (see the module docstring).

    Thread-safe: API and upload workers call :meth:`id_token` concurrently; a refresh happens
    once under a lock while the others wait for its result.
    """

    def __init__(
        self,
        settings: Settings,
        store: TokenStore,
        *,
        clock: Callable[[], float] = time.time,
        client: CognitoIdentityProviderClient | None = None,
        max_attempts: int = 3,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.max_attempts = max_attempts
        self._client = client
        self._lock = threading.RLock()
        self._tokens: Tokens | None = None
        self.user: UserInfo | None = None
        self.remembered = False
        self.remember_error: str | None = None
        self.device_remembered = False

    # ---- boto3 client

    def _require_settings(self) -> None:
        gaps = [n for n in ("region", "user_pool_id", "client_id") if not getattr(self.settings, n)]
        if gaps:
            raise ConfigurationError(
                "Sign-in is not configured: set " + ", ".join(gaps)
                + " in Settings (or MEDISPECS_REGION, MEDISPECS_USER_POOL_ID, MEDISPECS_CLIENT_ID)."
            )

    def _make_client(self, max_attempts: int) -> CognitoIdentityProviderClient:
        from medispecs_desktop.core.auth.cognito import make_client

        return make_client(self.settings, max_attempts)

    @property
    def client(self) -> CognitoIdentityProviderClient:
        with self._lock:
            if self._client is None:
                self._require_settings()
                try:
                    self._client = self._make_client(self.max_attempts)
                except ValueError as exc:  # e.g. a malformed endpoint URL or region
                    raise ConfigurationError(f"Invalid sign-in settings: {exc}") from exc
            return self._client

    # ---- store keys

    def _scope(self) -> str:
        return f"{self.settings.user_pool_id}/{self.settings.client_id}"

    def _refresh_key(self, username: str) -> str:
        return f"refresh-token:{self._scope()}:{username}"

    def _last_user_key(self) -> str:
        return f"last-user:{self._scope()}"

    def last_username(self) -> str | None:
        """The user who last signed in on this machine (to pre-fill the sign-in form)."""
        try:
            return self.store.load(self._last_user_key())
        except TokenStoreUnavailable:
            return None

    # ---- calls

    def _call(self, operation: str, *, username: str = "", **kwargs: Any) -> dict[str, Any]:
        from medispecs_desktop.core.auth.cognito import call

        return call(self.client, operation, username=username,
                    where=self.settings.cognito_endpoint or "Amazon Cognito", **kwargs)

    def _accept(self, result: dict[str, Any], *, username: str,
                previous_refresh: str | None = None,
                cancel: threading.Event | None = None) -> UserInfo:
        """Take an AuthenticationResult: keep tokens in memory, the refresh token in the store.
        If ``cancel`` is set by now, the tokens are revoked instead and SignInCancelled raised."""
        auth = result.get("AuthenticationResult") or {}
        id_token, access = auth.get("IdToken"), auth.get("AccessToken")
        refresh = auth.get("RefreshToken") or previous_refresh
        if not (id_token and access and refresh):
            raise AuthError("The sign-in service returned no tokens.", code="no_tokens")
        expires_in = float(auth.get("ExpiresIn") or 3600)
        self._check_issuer(id_token)
        user = UserInfo.from_id_token(id_token, fallback_username=username)
        with self._lock:
            cancelled = cancel is not None and cancel.is_set()
            if not cancelled:
                self._store_session(user, id_token, access, refresh, expires_in,
                                    previous_refresh)
        if cancelled:
            log.info("A sign-in finished after it was cancelled: its session was discarded")
            if refresh != previous_refresh:
                self._revoke(refresh)
            raise SignInCancelled()
        log.info("Signed in as %s (remembered: %s)", user.username, self.remembered)
        return user

    def _store_session(self, user: UserInfo, id_token: str, access: str, refresh: str,
                       expires_in: float, previous_refresh: str | None) -> None:
        with self._lock:
            old_user = self.user.username if self.user else self.last_username()
            self._tokens = Tokens(id_token, access, refresh, self.clock() + expires_in)
            self.user = user
            if refresh != previous_refresh or not self.remembered:
                self._remember(user.username, refresh, old_user)

    def _check_issuer(self, id_token: str) -> None:
        """The app client must belong to the configured pool (else the keyring scope and the
        API's authorizer would disagree with the tokens)."""
        issuer = str(decode_claims(id_token).get("iss") or "")
        actual = issuer.rstrip("/").rsplit("/", 1)[-1]
        if issuer and actual != self.settings.user_pool_id:
            raise ConfigurationError(
                f"The app client {self.settings.client_id} belongs to the user pool {actual}, "
                f"not {self.settings.user_pool_id}: correct the user pool id in Settings."
            )

    def _remember(self, username: str, refresh: str, old_user: str | None) -> None:
        try:
            if old_user and old_user != username:
                # a shared workstation: the previous user's refresh token must not linger
                self.store.delete(self._refresh_key(old_user))
            self.store.save(self._refresh_key(username), refresh)
            self.store.save(self._last_user_key(), username)
        except TokenStoreUnavailable as exc:
            self.remembered = False
            self.remember_error = str(exc)
            log.warning("Sign-in not remembered: %s", exc)
        else:
            self.remembered = True
            self.remember_error = None

    # ---- public API

    def sign_in(self, username: str, password: str, *,
                cancel: threading.Event | None = None) -> UserInfo:
        """Sign in with a username and password through ``USER_SRP_AUTH``.

        May raise a step to take: :class:`NewPasswordRequired`, :class:`MfaRequired`,
        :class:`MfaSetupRequired`. ``cancel``: set it (from any thread) to abandon the sign-in;
        if Cognito answers afterwards, the session is revoked rather than kept, and
        :class:`SignInCancelled` is raised."""
        username = username.strip()
        if not username or not password:
            raise AuthError("Enter a username and a password.", code="missing_credentials")
        self._require_settings()
        from medispecs_desktop.core.auth.srp import SrpProof

        proof = SrpProof(username, password, pool_id=self.settings.user_pool_id,
                         client_id=self.settings.client_id, device=self._device(username))
        result = self._call("initiate_auth", username=username,
                            ClientId=self.settings.client_id, AuthFlow=AUTH_FLOW,
                            AuthParameters=proof.auth_parameters())
        if result.get("ChallengeName") == VERIFIER_CHALLENGE:
            params = result.get("ChallengeParameters") or {}
            extra = {"Session": result["Session"]} if result.get("Session") else {}
            result = self._call("respond_to_auth_challenge", username=username,
                                ClientId=self.settings.client_id,
                                ChallengeName=VERIFIER_CHALLENGE,
                                ChallengeResponses=proof.answer(params), **extra)
        if result.get("ChallengeName") == "DEVICE_SRP_AUTH" and proof.device is not None:
            try:
                result = self._device_sign_in(proof, result, username)
            except AuthError as exc:  # the pool forgot this computer: sign in without it
                log.info("The remembered device was refused (%s): forgetting it", exc.code)
                self._forget_device(username)
                return self.sign_in(username, password, cancel=cancel)
        return self._next_step(result, username=username, cancel=cancel)

    # ---- remembered devices (the pool's device tracking: no MFA step on this computer)

    def _device_key(self, username: str) -> str:
        return f"device:{self._scope()}:{username}"

    def _device(self, username: str) -> RememberedDevice | None:
        try:
            return RememberedDevice.from_json(self.store.load(self._device_key(username)))
        except TokenStoreUnavailable:
            return None

    def _forget_device(self, username: str) -> None:
        try:
            self.store.delete(self._device_key(username))
        except TokenStoreUnavailable:
            pass

    def _device_sign_in(self, proof: SrpProof, result: dict[str, Any],
                        username: str) -> dict[str, Any]:
        """DEVICE_SRP_AUTH then DEVICE_PASSWORD_VERIFIER: this computer proves its secret."""
        name = str((result.get("ChallengeParameters") or {}).get("USERNAME") or username)
        step = self._call("respond_to_auth_challenge", username=name,
                          ClientId=self.settings.client_id, ChallengeName="DEVICE_SRP_AUTH",
                          Session=str(result.get("Session") or ""),
                          ChallengeResponses=proof.device_start(name))
        return self._call("respond_to_auth_challenge", username=name,
                          ClientId=self.settings.client_id,
                          ChallengeName="DEVICE_PASSWORD_VERIFIER",
                          Session=str(step.get("Session") or ""),
                          ChallengeResponses=proof.device_answer(
                              step.get("ChallengeParameters") or {}))

    def _remember_device(self, result: dict[str, Any], username: str) -> bool:
        """Confirm and remember the device Cognito offered (best effort: a failure only
        means the code is asked again next time)."""
        auth = result.get("AuthenticationResult") or {}
        meta = auth.get("NewDeviceMetadata") or {}
        if not (meta.get("DeviceKey") and meta.get("DeviceGroupKey") and auth.get("AccessToken")):
            log.info("This user pool does not remember devices")
            return False
        device, config = RememberedDevice.confirm_config(str(meta["DeviceKey"]),
                                                         str(meta["DeviceGroupKey"]))
        try:
            answer = self._call("confirm_device", username=username,
                                AccessToken=auth["AccessToken"], DeviceKey=device.key,
                                DeviceSecretVerifierConfig=config,
                                DeviceName=f"{mfa.DEFAULT_DEVICE_NAME} ({platform.node()})")
            if answer.get("UserConfirmationNecessary", True):
                self._call("update_device_status", username=username,
                           AccessToken=auth["AccessToken"], DeviceKey=device.key,
                           DeviceRememberedStatus="remembered")
            self.store.save(self._device_key(username), device.to_json())
        except (MediSpecsError, TokenStoreUnavailable) as exc:
            log.warning("This computer could not be remembered: %s", exc)
            return False
        log.info("This computer is remembered for %s", username)
        return True

    def _next_step(self, result: dict[str, Any], *, username: str,
                   cancel: threading.Event | None, remember_device: bool = False) -> UserInfo:
        """Tokens -> signed in; a challenge -> the exception that asks for the next step."""
        challenge = str(result.get("ChallengeName") or "")
        params = result.get("ChallengeParameters") or {}
        session = str(result.get("Session") or "")
        name = str(params.get("USERNAME") or params.get("USER_ID_FOR_SRP") or username)
        if not challenge:
            user = self._accept(result, username=username, cancel=cancel)
            if remember_device:
                self.device_remembered = self._remember_device(result, username)
            return user
        if challenge == "NEW_PASSWORD_REQUIRED":
            raise NewPasswordRequired(
                session=session, username=name,
                required_attributes=required_attributes(params.get("requiredAttributes")))
        if challenge in MFA_KINDS:
            raise MfaRequired(kind=challenge, session=session, username=name,
                              destination=str(params.get("CODE_DELIVERY_DESTINATION") or ""))
        if challenge == "SELECT_MFA_TYPE":  # both set up: the authenticator app, else SMS
            choices = str(params.get("MFAS_CAN_CHOOSE") or "")
            answer = "SOFTWARE_TOKEN_MFA" if "SOFTWARE_TOKEN_MFA" in choices else "SMS_MFA"
            chosen = self._call("respond_to_auth_challenge", username=name,
                                ClientId=self.settings.client_id, Session=session,
                                ChallengeName=challenge,
                                ChallengeResponses={"USERNAME": name, "ANSWER": answer})
            return self._next_step(chosen, username=name, cancel=cancel)
        if challenge == "MFA_SETUP" and "SOFTWARE_TOKEN_MFA" in str(
                params.get("MFAS_CAN_SETUP") or "SOFTWARE_TOKEN_MFA"):
            raise MfaSetupRequired(session=session, username=name)
        raise AuthError(
            f"The sign-in needs a step this app does not support ({challenge}); ask your "
            "administrator.", code="unsupported_challenge")

    def complete_new_password(self, challenge: NewPasswordRequired, new_password: str, *,
                              cancel: threading.Event | None = None) -> UserInfo:
        """Answer the NEW_PASSWORD_REQUIRED challenge and finish signing in (``cancel`` as
        for :meth:`sign_in`; MFA steps may follow)."""
        if not new_password:
            raise AuthError("Enter a new password.", code="missing_credentials")
        result = self._call(
            "respond_to_auth_challenge",
            username=challenge.username,
            ClientId=self.settings.client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=challenge.session,
            ChallengeResponses={"USERNAME": challenge.username, "NEW_PASSWORD": new_password},
        )
        return self._next_step(result, username=challenge.username, cancel=cancel)

    def answer_mfa(self, challenge: MfaRequired, code: str, *,
                   cancel: threading.Event | None = None,
                   remember_device: bool = False) -> UserInfo:
        """Answer an authenticator (TOTP) or SMS code challenge; ``remember_device``: ask the
        pool to remember this computer, so later sign-ins here skip the code (if the pool's
        device tracking allows it; :attr:`device_remembered` says whether it did)."""
        digits = mfa.clean_code(code)
        result = self._call(
            "respond_to_auth_challenge", username=challenge.username,
            ClientId=self.settings.client_id, ChallengeName=challenge.kind,
            Session=challenge.session,
            ChallengeResponses={"USERNAME": challenge.username,
                                f"{challenge.kind}_CODE": digits})
        return self._next_step(result, username=challenge.username, cancel=cancel,
                               remember_device=remember_device)

    def begin_mfa_setup(self, challenge: MfaSetupRequired) -> mfa.TotpSetup:
        """The authenticator secret for an account that must enrol while signing in."""
        result = self._call("associate_software_token", username=challenge.username,
                            Session=challenge.session)
        return mfa.TotpSetup(secret=str(result["SecretCode"]), username=challenge.username,
                             session=str(result.get("Session") or challenge.session))

    def finish_mfa_setup(self, setup: mfa.TotpSetup, code: str, *,
                         device_name: str = mfa.DEFAULT_DEVICE_NAME,
                         cancel: threading.Event | None = None) -> UserInfo:
        """Check the first code from the app, then finish the sign-in."""
        verified = self._call("verify_software_token", username=setup.username,
                              Session=setup.session, UserCode=mfa.clean_code(code),
                              FriendlyDeviceName=device_name)
        result = self._call(
            "respond_to_auth_challenge", username=setup.username,
            ClientId=self.settings.client_id, ChallengeName="MFA_SETUP",
            Session=str(verified.get("Session") or setup.session),
            ChallengeResponses={"USERNAME": setup.username})
        return self._next_step(result, username=setup.username, cancel=cancel)

    def start_totp_enrolment(self) -> mfa.TotpSetup:
        """For the signed-in user: a new authenticator secret (shown as a QR code)."""
        user = self.user
        result = self._call("associate_software_token", username=user.username if user else "",
                            AccessToken=self.access_token())
        return mfa.TotpSetup(secret=str(result["SecretCode"]),
                             username=user.username if user else "")

    def confirm_totp_enrolment(self, setup: mfa.TotpSetup, code: str, *,
                               device_name: str = mfa.DEFAULT_DEVICE_NAME) -> None:
        """Check the first code and make the authenticator app this account's second step."""
        access = self.access_token()
        self._call("verify_software_token", username=setup.username, AccessToken=access,
                   UserCode=mfa.clean_code(code), FriendlyDeviceName=device_name)
        self._call("set_user_mfa_preference", username=setup.username, AccessToken=access,
                   SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
        log.info("Authenticator app set up for %s", setup.username)

    def forgot_password(self, username: str) -> recovery.CodeDelivery:
        """Send a password reset code (by e-mail, as the pool is set up)."""
        self._require_settings()
        return recovery.send_code(self._call, self.settings.client_id, username)

    def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None:
        """Set a new password with the code that was sent (then sign in as usual)."""
        self._require_settings()
        recovery.confirm(self._call, self.settings.client_id, username, code, new_password)

    def sign_in_with_browser(self, open_browser: Callable[[str], object], *,
                             timeout: float | None = None,
                             cancel: threading.Event | None = None) -> UserInfo:
        """Sign in through the organisation's login page in the system browser (PKCE);
        ``timeout`` defaults to ``pkce.DEFAULT_TIMEOUT_SEC``."""
        from medispecs_desktop.core.auth import pkce

        self._require_settings()
        auth = pkce.browser_sign_in(self.settings, open_browser,
                                    timeout=pkce.DEFAULT_TIMEOUT_SEC if timeout is None
                                    else timeout,
                                    cancel=cancel)
        return self._accept({"AuthenticationResult": auth}, username="", cancel=cancel)

    @property
    def browser_sign_in_available(self) -> bool:
        return bool(self.settings.auth_domain)

    def restore(self) -> UserInfo | None:
        """Sign in silently with the remembered refresh token; None if there is none (or it
        expired). Raises OfflineError when the service cannot be reached (the remembered
        sign-in is kept: call again when the network is back)."""
        self._require_settings()
        try:
            username = self.store.load(self._last_user_key())
            refresh = self.store.load(self._refresh_key(username)) if username else None
        except TokenStoreUnavailable as exc:
            self.remember_error = str(exc)
            return None
        if not username or not refresh:
            return None
        with self._lock:
            try:
                result = self._refresh_call(username, refresh)
            except NotSignedInError:
                return None
            self.remembered = True
            return self._accept(result, username=username, previous_refresh=refresh)

    def sign_out(self) -> None:
        """Forget the tokens (memory and keyring) and revoke the refresh token, best effort."""
        with self._lock:
            tokens, user = self._tokens, self.user
            username = user.username if user else self.last_username()
            refresh = tokens.refresh_token if tokens else None
            if refresh is None and username:
                try:
                    refresh = self.store.load(self._refresh_key(username))
                except TokenStoreUnavailable:
                    refresh = None
            self._forget(username)
        if refresh and self.settings.client_id:
            self._revoke(refresh)
        log.info("Signed out")

    def discard(self, user: UserInfo) -> bool:
        """Sign out only if ``user`` (the object a sign-in returned) is still the current
        session: for a sign-in whose answer came after the user cancelled it. A session made
        since by another sign-in is left alone. True if something was discarded."""
        with self._lock:
            if self.user is not user or self._tokens is None:
                return False
            refresh = self._tokens.refresh_token
            self._forget(user.username)
        if self.settings.client_id:
            self._revoke(refresh)
        log.info("Discarded a sign-in that finished after it was cancelled")
        return True

    def _forget(self, username: str | None) -> None:
        with self._lock:
            self._tokens = None
            self.user = None
            self.remembered = False
            try:
                if username:
                    self.store.delete(self._refresh_key(username))
                self.store.delete(self._last_user_key())
            except TokenStoreUnavailable as exc:
                self.remember_error = str(exc)

    def _revoke(self, refresh: str) -> None:
        try:
            quick = self._make_client(max_attempts=1)
            quick.revoke_token(Token=refresh, ClientId=self.settings.client_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                ValueError, MediSpecsError) as exc:
            log.info("Refresh token not revoked server-side (%s); forgotten locally",
                     type(exc).__name__)

    @property
    def signed_in(self) -> bool:
        return self._tokens is not None

    @property
    def expires_at(self) -> float | None:
        tokens = self._tokens
        return tokens.expires_at if tokens else None

    def id_token(self) -> str:
        """A valid ID token, refreshed first when fewer than 5 minutes are left."""
        return self._valid_tokens().id_token

    def access_token(self) -> str:
        return self._valid_tokens().access_token

    def _valid_tokens(self) -> Tokens:
        with self._lock:
            tokens = self._tokens
            if tokens is None:
                raise NotSignedInError("Not signed in: sign in first.")
            left = tokens.expires_at - self.clock()
            if left >= REFRESH_MARGIN_SEC:
                return tokens
            try:
                return self._refresh_locked(tokens)
            except OfflineError:
                if left > 30:  # still usable for a little while: let the call try
                    return tokens
                raise

    def force_refresh(self) -> str:
        """Refresh now (after the API answered 401) and return the new ID token."""
        with self._lock:
            tokens = self._tokens
            if tokens is None:
                raise NotSignedInError("Not signed in: sign in first.")
            return self._refresh_locked(tokens).id_token

    def _refresh_call(self, username: str, refresh: str) -> dict[str, Any]:
        """REFRESH_TOKEN_AUTH; a refused refresh token is forgotten (NotSignedInError)."""
        try:
            return self._call("initiate_auth", username=username,
                              ClientId=self.settings.client_id,
                              AuthFlow="REFRESH_TOKEN_AUTH",
                              AuthParameters={"REFRESH_TOKEN": refresh})
        except NotSignedInError:
            self._forget(username)
            raise

    def _refresh_locked(self, tokens: Tokens) -> Tokens:
        username = self.user.username if self.user else ""
        result = self._refresh_call(username, tokens.refresh_token)
        self._accept(result, username=username, previous_refresh=tokens.refresh_token)
        assert self._tokens is not None
        return self._tokens
