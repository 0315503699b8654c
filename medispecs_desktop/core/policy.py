"""The organisation's policy file: settings IT fixes for everyone on a computer.

A JSON object in the system-wide config folder (platformdirs' ``site_config_dir``:
``/etc/xdg/medispecs-desktop/policy.json`` on Linux - or the first of ``$XDG_CONFIG_DIRS`` -,
``C:\\ProgramData\\medispecs-desktop\\policy.json`` on Windows,
``/Library/Application Support/medispecs-desktop/policy.json`` on macOS), writable only by
administrators. Its keys are those of the deployment's ``DesktopSettingsJson`` (``api_url``,
``region``, ``user_pool_id``, ``client_id``, ``auth_domain``, ...) plus ``idleTimeoutMinutes``
(the automatic lock) and the upload limits; every key it names wins over the settings file,
the environment and the command line, and the Settings dialog shows it read-only ("Set by your
organisation"). A policy file that exists but cannot be read stops the app with a clear
message rather than silently dropping what IT fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from medispecs_desktop import APP_ID
from medispecs_desktop.core.errors import ConfigurationError

POLICY_FILE_NAME = "policy.json"

# the camelCase spellings (the stack's JSON line, the idleTimeoutMinutes)
ALIASES = {
    "apiUrl": "api_url", "userPoolId": "user_pool_id", "clientId": "client_id",
    "cognitoEndpoint": "cognito_endpoint", "awsEndpoint": "cognito_endpoint",
    "authDomain": "auth_domain", "redirectPorts": "redirect_ports",
    "idleTimeoutMinutes": "idle_timeout_minutes", "maxConcurrentFiles": "max_concurrent_files",
    "maxPartsInFlight": "max_parts_in_flight", "bandwidthLimitKbps": "bandwidth_limit_kbps",
    "allowPlaintextKeyring": "allow_plaintext_keyring",
}


def policy_file() -> Path:
    return Path(platformdirs.site_config_dir(APP_ID, appauthor=False)) / POLICY_FILE_NAME


def normalise_keys(raw: dict[str, Any], known: set[str]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with camelCase aliases resolved; (known values, unknown key names)."""
    values: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in raw.items():
        name = ALIASES.get(key, key)
        if name in known:
            values[name] = value
        else:
            unknown.append(key)
    return values, unknown


@dataclass(frozen=True)
class Policy:
    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def locked(self) -> frozenset[str]:
        return frozenset(self.values)

    def fixes(self, name: str) -> bool:
        return name in self.values


def load_policy(path: Path | None = None) -> Policy:
    """The policy (empty when there is no file). ConfigurationError if it is unreadable."""
    from medispecs_desktop.core.config import Settings

    target = path or policy_file()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Policy(path=target)
    except OSError as exc:
        raise ConfigurationError(
            f"Your organisation's policy file {target} cannot be read ({exc}): ask IT.") from exc
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"Your organisation's policy file {target} is not valid JSON ({exc}): ask IT."
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"Your organisation's policy file {target} must hold a JSON object: ask IT.")
    values, _unknown = normalise_keys(raw, set(Settings.__dataclass_fields__))
    values.pop("demo", None)  # the demo is never forced
    # validate by applying once: a wrong type is IT's mistake, said plainly
    try:
        Settings().with_overrides(**values)
    except ConfigurationError as exc:
        raise ConfigurationError(f"Your organisation's policy file {target}: {exc}") from exc
    return Policy(values=values, path=target)
