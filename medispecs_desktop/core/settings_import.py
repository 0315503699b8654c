"""Settings handed out by IT: the deployment's ``DesktopSettingsJson`` (a file, an https URL,
the ``aws cloudformation describe-stacks`` outputs, the local stack's JSON line) or a
``medispecs://configure?api_url=...&region=...`` link - so a clinician never types an id.

Only connection settings are taken (``IMPORTABLE``); every address must be https (http only to
this computer); values the policy file fixes are left as the policy says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from medispecs_desktop.core.config import (
    Paths,
    Settings,
    read_settings_file,
    require_secure_url,
    save_settings,
)
from medispecs_desktop.core.errors import ConfigurationError
from medispecs_desktop.core.policy import Policy, load_policy, normalise_keys

LINK_SCHEME = "medispecs"
IMPORTABLE = ("api_url", "region", "user_pool_id", "client_id", "cognito_endpoint",
              "auth_domain", "redirect_ports", "demo")
MAX_BYTES = 64 * 1024
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_POOL = re.compile(r"^[\w-]+_[0-9A-Za-z]+$")
_CLIENT = re.compile(r"^[\w+]+$")


@dataclass(frozen=True)
class ImportResult:
    settings: Settings  # what the settings file now holds (policy applied)
    imported: dict[str, Any]  # the values taken from the source
    kept_by_policy: tuple[str, ...]  # names the policy fixes (not changed)
    path: Path


def parse_text(text: str) -> dict[str, Any]:
    """The settings in a JSON document (or a medispecs:// link)."""
    text = text.strip().lstrip("\ufeff")
    if text.startswith(f"{LINK_SCHEME}:"):
        return parse_link(text)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(
            "These are not MediSpecs settings: expected the DesktopSettingsJson from IT "
            f"(JSON) or a medispecs://configure link ({exc}).") from exc
    if isinstance(data, list):  # describe-stacks: [{"OutputKey": ..., "OutputValue": ...}]
        outputs = {str(o.get("OutputKey")): o.get("OutputValue") for o in data
                   if isinstance(o, dict)}
        if isinstance(outputs.get("DesktopSettingsJson"), str):
            return parse_text(str(outputs["DesktopSettingsJson"]))
    if isinstance(data, dict) and isinstance(data.get("desktopSettings"), dict):
        data = data["desktopSettings"]  # the local stack's JSON line
    if not isinstance(data, dict):
        raise ConfigurationError("These are not MediSpecs settings (no JSON object).")
    return validate(data)


def parse_link(link: str) -> dict[str, Any]:
    parts = urlsplit(link.strip())
    if parts.scheme != LINK_SCHEME or (parts.netloc or parts.path.strip("/")) != "configure":
        raise ConfigurationError(f"Not a settings link: {link[:80]!r} "
                                 f"(expected {LINK_SCHEME}://configure?...).")
    return validate(dict(parse_qsl(parts.query)))


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    values, _unknown = normalise_keys(raw, set(IMPORTABLE))
    values = {k: v for k, v in values.items() if v not in (None, "")}
    for key in ("api_url", "cognito_endpoint", "auth_domain"):
        if key in values:
            values[key] = require_secure_url(str(values[key]).strip(), key.replace("_", " "))
    checks = (("region", _REGION, "a region like eu-west-2"),
              ("user_pool_id", _POOL, "a user pool id like eu-west-2_AbC123"),
              ("client_id", _CLIENT, "an app client id (letters and digits)"))
    for key, pattern, what in checks:
        if key in values and not pattern.match(str(values[key]).strip()):
            raise ConfigurationError(f"The imported {key} is not {what}: {values[key]!r}.")
    if "api_url" not in values and "client_id" not in values:
        raise ConfigurationError(
            "These settings name no API URL or app client: is this the DesktopSettingsJson?")
    coerced = Settings().with_overrides(**values)
    return {k: getattr(coerced, k) for k in values}


def read_source(source: str, *, timeout: float = 20.0) -> str:
    """The text at ``source``: a medispecs:// link itself, an https URL, or a file path."""
    source = source.strip()
    if source.startswith(f"{LINK_SCHEME}:"):
        return source
    if source.lower().startswith(("http://", "https://")):
        require_secure_url(source, "settings address")
        from medispecs_desktop.core.http import make_session

        with make_session(retries=2) as session:
            try:
                answer = session.get(source, timeout=timeout, stream=True)
                answer.raise_for_status()
                body = answer.raw.read(MAX_BYTES + 1, decode_content=True)
            except OSError as exc:
                raise ConfigurationError(f"Cannot download the settings from {source}: "
                                         f"{exc}") from exc
        if len(body) > MAX_BYTES:
            raise ConfigurationError(f"{source} is too large to be a settings file.")
        return bytes(body).decode("utf-8", errors="replace")
    path = Path(source).expanduser()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigurationError(f"{path} is too large to be a settings file.")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the settings file {path}: {exc}") from exc


def import_settings(source: str, paths: Paths | None = None, *,
                    policy: Policy | None = None) -> ImportResult:
    """Read ``source``, merge it into the settings file and return what it now holds."""
    paths = paths or Paths.default()
    policy = policy if policy is not None else load_policy()
    values = parse_text(read_source(source))
    kept = tuple(sorted(k for k in values if policy.fixes(k)))
    stored = read_settings_file(paths)
    stored.update({k: v for k, v in values.items() if k not in kept})
    if "demo" not in values:
        stored["demo"] = False  # a real deployment's settings end a previous demo
    settings = Settings().with_overrides(**stored)
    path = save_settings(settings, paths)
    return ImportResult(settings, values, kept, path)
