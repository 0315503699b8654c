"""In-process keyring backends for tests: real :class:`keyring.backend.KeyringBackend`
subclasses set explicitly with :func:`active_keyring`, so a test never reads or writes the
developer's own keyring. (Subprocess tests use tests/cli/file_keyring.py instead.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

B = TypeVar("B", bound=KeyringBackend)


class MemoryKeyring(KeyringBackend):
    """Secrets in a dict, with the real backends' contract (deleting what is not there raises
    :class:`keyring.errors.PasswordDeleteError`). Its name has no "plaintext" in it on
    purpose: it stands for a secure OS keyring."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.values.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)

    def refresh_tokens(self) -> list[str]:
        """The keyring entries core.auth keeps refresh tokens under."""
        return [user for (_svc, user) in self.values if user.startswith("refresh-token:")]


@contextmanager
def active_keyring(backend: B) -> Iterator[B]:
    """Make ``backend`` the process's keyring for the block, then restore the previous one."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
