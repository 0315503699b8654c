"""Sign-in with the Cognito user pool, and where the tokens live.

* ``CognitoAuth`` signs in with ``USER_PASSWORD_AUTH`` through boto3's ``cognito-idp`` client
  with **no AWS credentials** (unsigned requests, as a public app client allows), handles the
  ``NEW_PASSWORD_REQUIRED`` challenge, refreshes the ID/access tokens before they expire, and
  signs in silently from the refresh token kept in the OS keyring.
* The refresh token lives **only** in the token store (the OS keyring), keyed by the user pool,
  the app client and the user; ID/access tokens only in memory. Nothing secret is logged.
* ``KeyringTokenStore`` refuses plain-text keyring backends (``keyrings.alt`` and the like) and
  the "no keyring" backends unless ``Settings.allow_plaintext_keyring`` is set — the documented
  escape hatch for headless/CI machines. Without a usable store the session still works, but
  ``CognitoAuth.remembered`` is False and ``remember_error`` says why.

Claims are read from the ID token without verifying its signature: that is fine for showing who
is signed in; the API gateway verifies every token and nothing here trusts the claims.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import boto3
import botocore
import botocore.exceptions
import jwt
import keyring
import keyring.errors
from botocore.config import Config

from medispecs_desktop.core.config import Paths, Settings, private_dir, require_secure_url
from medispecs_desktop.core.errors import (
    AuthError,
    ConfigurationError,
    MediSpecsError,
    NotSignedInError,
    OfflineError,
)
from medispecs_desktop.core.http import USER_AGENT, make_session, send_botocore_through

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

log = logging.getLogger(__name__)

KEYRING_SERVICE = "medispecs-desktop"
REFRESH_MARGIN_SEC = 300.0
"""ID/access tokens are refreshed when fewer than this many seconds are left."""

PLAINTEXT_HINT = (
    "set MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1 to accept a plain-text token file (headless/CI "
    "machines only)"
)


# --------------------------------------------------------------------------- data


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


# --------------------------------------------------------------------------- errors


class NewPasswordRequired(AuthError):
    """The account has a temporary password: ask for a new one and call
    ``CognitoAuth.complete_new_password(challenge, new_password)``."""

    code = "new_password_required"

    def __init__(self, *, session: str, username: str,
                 required_attributes: tuple[str, ...] = ()) -> None:
        super().__init__(
            f"The account {username!r} has a temporary password: choose a new password."
        )
        self.session = session
        self.username = username
        self.required_attributes = required_attributes

    def __repr__(self) -> str:  # never show the challenge session
        return f"NewPasswordRequired(username={self.username!r})"


class SignInCancelled(AuthError):
    """The sign-in was cancelled while its request ran; the session it got was discarded."""

    def __init__(self) -> None:
        super().__init__("The sign-in was cancelled.", code="cancelled")


class TokenStoreUnavailable(MediSpecsError):
    """No secure place to keep the refresh token (no keyring, or a plain-text one refused)."""

    code = "token_store_unavailable"


# --------------------------------------------------------------------------- token stores


@runtime_checkable
class TokenStore(Protocol):
    """Where the refresh token (and the last user's name) is kept between runs."""

    def load(self, key: str) -> str | None: ...

    def save(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryTokenStore:
    """A process-local store: for tests, and for "do not remember me"."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def save(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)


class PlaintextFileTokenStore:
    """A JSON file readable only by the user. Used ONLY when ``allow_plaintext_keyring`` is
    set and the machine has no keyring at all (headless servers, CI)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise TokenStoreUnavailable(f"Cannot read the token file {self.path}: {exc}") from exc
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def _write(self, values: dict[str, str]) -> None:
        try:
            private_dir(self.path.parent)
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(values, fh)
            tmp.replace(self.path)
        except OSError as exc:
            raise TokenStoreUnavailable(f"Cannot write the token file {self.path}: {exc}") from exc

    def load(self, key: str) -> str | None:
        with self._lock:
            return self._read().get(key)

    def save(self, key: str, value: str) -> None:
        with self._lock:
            values = self._read()
            values[key] = value
            self._write(values)

    def delete(self, key: str) -> None:
        with self._lock:
            values = self._read()
            if values.pop(key, None) is not None:
                self._write(values)


def _backend_kind(backend: KeyringBackend) -> str:
    """"none" (cannot store), "plaintext" (stores in clear) or "secure"."""
    cls = type(backend)
    module, name = cls.__module__, cls.__name__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return "none"
    if "keyrings.alt" in module or "plaintext" in name.lower():
        return "plaintext"
    return "secure"


class KeyringTokenStore:
    """The OS keyring (Keychain, Windows Credential Manager, Secret Service/KWallet).

    Plain-text backends are refused with :class:`TokenStoreUnavailable` unless
    ``allow_plaintext`` is True; with it, a machine without any keyring falls back to a private
    JSON file (``plaintext_file``). Every keyring failure becomes ``TokenStoreUnavailable``.
    """

    def __init__(
        self,
        *,
        service: str = KEYRING_SERVICE,
        allow_plaintext: bool = False,
        plaintext_file: Path | None = None,
    ) -> None:
        self.service = service
        self.allow_plaintext = allow_plaintext
        self.plaintext_file = plaintext_file

    @classmethod
    def for_settings(cls, settings: Settings, paths: Paths | None = None) -> KeyringTokenStore:
        paths = paths or Paths.default()
        return cls(
            allow_plaintext=settings.allow_plaintext_keyring,
            plaintext_file=paths.data_dir / "tokens-plaintext.json",
        )

    def _target(self) -> KeyringBackend | PlaintextFileTokenStore:
        backend = keyring.get_keyring()
        kind = _backend_kind(backend)
        chained = getattr(backend, "backends", None)
        if kind == "secure" and isinstance(chained, list):
            # a ChainerBackend falls through to the next backend on failure: never let it fall
            # through to a plain-text one; use the best secure member directly
            members = [(b, _backend_kind(b)) for b in chained]
            secure: list[KeyringBackend] = [b for b, k in members if k == "secure"]
            if secure:
                return secure[0]
            kind = "plaintext" if any(k == "plaintext" for _, k in members) else "none"
            backend = next((b for b, k in members if k == "plaintext"), backend)
        name = f"{type(backend).__module__}.{type(backend).__name__}"
        if kind == "none":
            if self.allow_plaintext and self.plaintext_file is not None:
                return PlaintextFileTokenStore(self.plaintext_file)
            raise TokenStoreUnavailable(
                "No secure keyring is available on this computer (no Keychain, Credential "
                "Manager or Secret Service), so the sign-in cannot be remembered; "
                + PLAINTEXT_HINT + "."
            )
        if kind == "plaintext" and not self.allow_plaintext:
            raise TokenStoreUnavailable(
                f"The active keyring ({name}) stores secrets in plain text and is refused, so "
                "the sign-in cannot be remembered; use a secure keyring or " + PLAINTEXT_HINT + "."
            )
        return backend

    def check(self) -> str | None:
        """None if tokens can be stored, else the reason (for the UI)."""
        try:
            self._target()
        except TokenStoreUnavailable as exc:
            return str(exc)
        return None

    def _call(self, op: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (keyring.errors.KeyringError, RuntimeError, OSError) as exc:
            raise TokenStoreUnavailable(
                f"The keyring could not {op} the sign-in ({type(exc).__name__}: {exc}); "
                "the sign-in will not be remembered."
            ) from exc

    def load(self, key: str) -> str | None:
        target = self._target()
        if isinstance(target, PlaintextFileTokenStore):
            return target.load(key)
        value = self._get(target, key)
        parts = _chunk_count(value)
        if parts is None:
            return value
        chunks = [self._get(target, f"{key}#{i}") for i in range(parts)]
        if any(c is None for c in chunks):
            log.warning("A remembered sign-in is incomplete in the keyring; ignoring it")
            return None
        return "".join(c for c in chunks if c is not None)

    def save(self, key: str, value: str) -> None:
        target = self._target()
        if isinstance(target, PlaintextFileTokenStore):
            target.save(key, value)
            return
        old_parts = _chunk_count(self._get(target, key)) or 0
        if len(value) <= CHUNK_CHARS and not value.startswith(_CHUNK_HEADER):
            self._set(target, key, value)
            new_parts = 0
        else:
            # Windows Credential Manager holds at most 2560 bytes (1280 UTF-16 characters)
            # per entry; a Cognito refresh token is ~1.8 KB: store it in numbered parts
            chunks = [value[i:i + CHUNK_CHARS] for i in range(0, len(value), CHUNK_CHARS)]
            for i, chunk in enumerate(chunks):
                self._set(target, f"{key}#{i}", chunk)
            self._set(target, key, f"{_CHUNK_HEADER}{len(chunks)}")
            new_parts = len(chunks)
        for i in range(new_parts, old_parts):  # parts of a longer previous value
            self._del(target, f"{key}#{i}")

    def delete(self, key: str) -> None:
        target = self._target()
        if isinstance(target, PlaintextFileTokenStore):
            target.delete(key)
            return
        parts = _chunk_count(self._get(target, key)) or 0
        self._del(target, key)
        for i in range(parts):
            self._del(target, f"{key}#{i}")

    def _get(self, target: KeyringBackend, key: str) -> str | None:
        value = self._call("read", lambda: target.get_password(self.service, key))
        return value if isinstance(value, str) else None

    def _set(self, target: KeyringBackend, key: str, value: str) -> None:
        self._call("save", lambda: target.set_password(self.service, key, value))

    def _del(self, target: KeyringBackend, key: str) -> None:
        def _delete() -> None:
            try:
                target.delete_password(self.service, key)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored: already deleted

        self._call("delete", _delete)


CHUNK_CHARS = 1000
_CHUNK_HEADER = "medispecs:chunked:v1:"


def _chunk_count(value: str | None) -> int | None:
    """The number of parts when ``value`` is a chunk header, else None."""
    if value is None or not value.startswith(_CHUNK_HEADER):
        return None
    try:
        count = int(value[len(_CHUNK_HEADER):])
    except ValueError:
        return None
    return count if 0 < count <= 1000 else None


# --------------------------------------------------------------------------- auth


@runtime_checkable
class TokenProvider(Protocol):
    """Supplies the bearer token for the API (``ApiClient`` depends only on this)."""

    def id_token(self) -> str: ...

    def force_refresh(self) -> str: ...


_session_lock = threading.Lock()
_shared_session: boto3.session.Session | None = None


def _new_cognito_client(**kwargs: Any) -> CognitoIdentityProviderClient:
    """A client from one boto3 session for the process: the session caches the service
    model, so a client costs ~10 ms instead of ~400 ms. Sessions are not thread-safe (clients
    are), hence the lock around creating one."""
    global _shared_session
    with _session_lock:
        if _shared_session is None:
            _shared_session = boto3.session.Session()
        return _shared_session.client("cognito-idp", **kwargs)


_OFFLINE_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


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

    # ---- boto3 client

    def _require_settings(self) -> None:
        gaps = [n for n in ("region", "user_pool_id", "client_id") if not getattr(self.settings, n)]
        if gaps:
            raise ConfigurationError(
                "Sign-in is not configured: set " + ", ".join(gaps)
                + " in Settings (or MEDISPECS_REGION, MEDISPECS_USER_POOL_ID, MEDISPECS_CLIENT_ID)."
            )

    def _make_client(self, max_attempts: int) -> CognitoIdentityProviderClient:
        if self.settings.cognito_endpoint:  # passwords and refresh tokens travel here
            require_secure_url(self.settings.cognito_endpoint, "Cognito endpoint")
        config = Config(
            signature_version=botocore.UNSIGNED,  # a public app client: no AWS credentials
            region_name=self.settings.region,
            connect_timeout=5,
            read_timeout=20,
            retries={"total_max_attempts": max(1, max_attempts), "mode": "standard"},
            user_agent_extra=USER_AGENT,
        )
        client = _new_cognito_client(
            region_name=self.settings.region,
            endpoint_url=self.settings.cognito_endpoint or None,
            config=config,
        )
        # OS trust store + system proxies, like every other call (botocore retries on top)
        send_botocore_through(client, make_session(retries=0, timeout=(5.0, 20.0)))
        return client

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
        try:
            result: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        except botocore.exceptions.ClientError as exc:
            raise _map_client_error(exc, username=username) from exc
        except botocore.exceptions.SSLError as exc:
            raise OfflineError(
                "The secure connection to the sign-in service failed: its certificate is not "
                "trusted. If your network inspects TLS, its certificate must be in the "
                f"operating system's certificate store ({_reason(exc)}).",
                code="tls_error",
            ) from exc
        except _OFFLINE_ERRORS as exc:
            raise OfflineError(
                "Cannot reach the sign-in service "
                f"({self.settings.cognito_endpoint or 'Amazon Cognito'}): check the network "
                "connection or proxy.",
                code="offline",
            ) from exc
        except botocore.exceptions.ParamValidationError as exc:
            raise AuthError(f"Invalid sign-in request: {exc}", code="invalid_request") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise ConfigurationError(f"Sign-in is misconfigured: {exc}") from exc
        return result

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
        """Sign in with a username and password; may raise :class:`NewPasswordRequired`.

        ``cancel``: set it (from any thread) to abandon the sign-in; if Cognito answers
        afterwards, the session is revoked rather than kept, and :class:`SignInCancelled`
        is raised."""
        username = username.strip()
        if not username or not password:
            raise AuthError("Enter a username and a password.", code="missing_credentials")
        self._require_settings()
        result = self._call(
            "initiate_auth",
            username=username,
            ClientId=self.settings.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        challenge = result.get("ChallengeName")
        if challenge == "NEW_PASSWORD_REQUIRED":
            params = result.get("ChallengeParameters") or {}
            required = _required_attributes(params.get("requiredAttributes"))
            raise NewPasswordRequired(
                session=str(result.get("Session") or ""),
                username=str(params.get("USER_ID_FOR_SRP") or username),
                required_attributes=required,
            )
        if challenge:
            raise AuthError(
                f"The sign-in needs a step this app does not support yet ({challenge}); "
                "ask your administrator.",
                code="unsupported_challenge",
            )
        return self._accept(result, username=username, cancel=cancel)

    def complete_new_password(self, challenge: NewPasswordRequired, new_password: str, *,
                              cancel: threading.Event | None = None) -> UserInfo:
        """Answer the NEW_PASSWORD_REQUIRED challenge and finish signing in (``cancel`` as
        for :meth:`sign_in`)."""
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
        if result.get("ChallengeName"):
            raise AuthError(
                f"The sign-in needs a further step this app does not support yet "
                f"({result['ChallengeName']}); ask your administrator.",
                code="unsupported_challenge",
            )
        return self._accept(result, username=challenge.username, cancel=cancel)

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
                result = self._call(
                    "initiate_auth",
                    username=username,
                    ClientId=self.settings.client_id,
                    AuthFlow="REFRESH_TOKEN_AUTH",
                    AuthParameters={"REFRESH_TOKEN": refresh},
                )
            except NotSignedInError:
                self._forget(username)
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
                ValueError) as exc:
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

    def _refresh_locked(self, tokens: Tokens) -> Tokens:
        username = self.user.username if self.user else ""
        try:
            result = self._call(
                "initiate_auth",
                username=username,
                ClientId=self.settings.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": tokens.refresh_token},
            )
        except NotSignedInError:
            self._forget(username)
            raise
        self._accept(result, username=username, previous_refresh=tokens.refresh_token)
        assert self._tokens is not None
        return self._tokens


def _reason(exc: BaseException) -> str:
    """The innermost cause's message (e.g. the certificate verification failure)."""
    for _ in range(20):  # chains are short; never loop on a cyclic one
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return str(exc) or type(exc).__name__


def _required_attributes(raw: Any) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ()
    if not isinstance(values, list):
        return ()
    return tuple(str(v).removeprefix("userAttributes.") for v in values)


def _map_client_error(exc: botocore.exceptions.ClientError, *, username: str) -> MediSpecsError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    lowered = message.lower()
    who = f" {username!r}" if username else ""
    if code == "NotAuthorizedException":
        if "refresh token" in lowered:
            return NotSignedInError(
                "Your sign-in has expired or was revoked: sign in again.", code="session_expired"
            )
        if "secret hash" in lowered:
            return ConfigurationError(
                "The Cognito app client has a client secret; the desktop app needs a public app "
                "client (no secret) with USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH enabled."
            )
        if "disabled" in lowered:
            return AuthError(f"The account{who} is disabled: ask your administrator.",
                             code="user_disabled")
        if "attempts exceeded" in lowered:
            return AuthError("Too many failed sign-in attempts: wait a while, then try again.",
                             code="too_many_attempts")
        if ("session" in lowered and "expired" in lowered) or "invalid session" in lowered:
            return AuthError("The sign-in took too long: start again.", code="session_expired")
        if "incorrect username or password" in lowered or not message:
            return AuthError("Wrong username or password.", code="wrong_password")
        return AuthError(f"Sign-in refused: {message}", code="not_authorized")
    if code == "UserNotFoundException":
        return AuthError(f"There is no account{who} in this user pool: check the username.",
                         code="unknown_user")
    if code == "UserNotConfirmedException":
        return AuthError(f"The account{who} is not confirmed yet: ask your administrator.",
                         code="user_not_confirmed")
    if code == "PasswordResetRequiredException":
        return AuthError(f"The password of{who or ' this account'} must be reset: ask your "
                         "administrator.", code="password_reset_required")
    if code == "InvalidPasswordException":
        return AuthError(f"The new password does not meet the pool's rules: {message}",
                         code="invalid_password")
    if code in ("TooManyRequestsException", "LimitExceededException",
                "TooManyFailedAttemptsException"):
        return AuthError("Too many sign-in attempts: wait a while, then try again.",
                         code="too_many_attempts")
    if code in ("ResourceNotFoundException", "InvalidParameterException",
                "InvalidUserPoolConfigurationException", "UnrecognizedClientException"):
        return ConfigurationError(
            "The sign-in settings do not match a Cognito user pool and app client that allows "
            f"password sign-in ({code}: {message}). Check the region, user pool id and app "
            "client id in Settings."
        )
    if code in ("InternalErrorException", "ServiceUnavailable", "InternalFailure") or (
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    ):
        return OfflineError("The sign-in service is unavailable right now: try again later.",
                            code="service_unavailable")
    return AuthError(f"Sign-in failed ({code or 'unknown error'}): {message}", code="auth")
