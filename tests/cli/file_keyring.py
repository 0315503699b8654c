"""A keyring backend for CLI tests in subprocesses: secrets in a JSON file named by
``MEDISPECS_TEST_KEYRING_FILE`` (under the test's tmp dir), never the developer's keyring.

Select it with ``PYTHON_KEYRING_BACKEND=file_keyring.FileKeyring`` and this directory on
``PYTHONPATH``. Its class name has no "plaintext" in it on purpose: it stands for a real,
secure OS keyring in the tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1

    @property
    def path(self) -> Path:
        return Path(os.environ["MEDISPECS_TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _save(self, values: dict[str, str]) -> None:
        self.path.write_text(json.dumps(values, indent=1, sort_keys=True), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}|{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        values = self._load()
        values[f"{service}|{username}"] = password
        self._save(values)

    def delete_password(self, service: str, username: str) -> None:
        values = self._load()
        if values.pop(f"{service}|{username}", None) is None:
            raise PasswordDeleteError(username)
        self._save(values)
