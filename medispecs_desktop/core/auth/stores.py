"""Where the refresh token lives between runs: the OS keyring, never settings, logs or files.

``KeyringTokenStore`` refuses plain-text keyring backends (``keyrings.alt`` and the like) and the
"no keyring" backends unless ``Settings.allow_plaintext_keyring`` is set - the documented escape
hatch for headless/CI machines (then a private 0600 JSON file is used when there is no keyring
at all). ``MemoryTokenStore`` is for tests and "do not remember me".
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import keyring
import keyring.errors

from medispecs_desktop.core.config import Paths, Settings, private_dir
from medispecs_desktop.core.errors import MediSpecsError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

KEYRING_SERVICE = "medispecs-desktop"

PLAINTEXT_HINT = (
    "set MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1 to accept a plain-text token file (headless/CI "
    "machines only)"
)


class TokenStoreUnavailable(MediSpecsError):
    """No secure place to keep the refresh token (no keyring, or a plain-text one refused)."""

    code = "token_store_unavailable"




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
