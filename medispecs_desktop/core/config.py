"""Settings and per-user paths.

Settings come, in increasing priority, from the settings file (``settings.json`` in the
platform's config dir), environment variables (``MEDISPECS_*``) and command-line options.
Secrets never live here: the refresh token is in the OS keyring (see ``core.auth``).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import platformdirs

from medispecs_desktop import APP_ID
from medispecs_desktop.core.errors import ConfigurationError

if TYPE_CHECKING:
    from medispecs_desktop.core.policy import Policy

ENV_PREFIX = "MEDISPECS_"

# field name -> environment variable
ENV_NAMES: dict[str, str] = {
    "api_url": "MEDISPECS_API_URL",
    "region": "MEDISPECS_REGION",
    "user_pool_id": "MEDISPECS_USER_POOL_ID",
    "client_id": "MEDISPECS_CLIENT_ID",
    "cognito_endpoint": "MEDISPECS_COGNITO_ENDPOINT",
    "auth_domain": "MEDISPECS_AUTH_DOMAIN",
    "redirect_ports": "MEDISPECS_REDIRECT_PORTS",
    "demo": "MEDISPECS_DEMO",
    "max_concurrent_files": "MEDISPECS_MAX_CONCURRENT_FILES",
    "max_parts_in_flight": "MEDISPECS_MAX_PARTS_IN_FLIGHT",
    "bandwidth_limit_kbps": "MEDISPECS_BANDWIDTH_LIMIT_KBPS",
    "allow_plaintext_keyring": "MEDISPECS_ALLOW_PLAINTEXT_KEYRING",
    "idle_timeout_minutes": "MEDISPECS_IDLE_TIMEOUT_MINUTES",
}


@dataclass(frozen=True)
class Settings:
    """Everything the client needs to reach one deployment of the cloud side."""

    api_url: str = ""
    region: str = "ap-southeast-1"
    user_pool_id: str = ""
    client_id: str = ""
    cognito_endpoint: str = ""
    auth_domain: str = ""
    """The user pool's domain (managed login): ``https://<prefix>.auth.<region>.amazoncognito.com``
    or the organisation's custom domain. Set -> "Sign in with your organisation" (browser, PKCE)."""
    redirect_ports: str = ""
    """Loopback ports registered as callback URLs ("47251,47252"); empty: any free port."""
    demo: bool = False
    max_concurrent_files: int = 2
    max_parts_in_flight: int = 4
    bandwidth_limit_kbps: int = 0
    allow_plaintext_keyring: bool = False
    idle_timeout_minutes: int = 15
    """Lock the app after this many idle minutes (0: never); IT can fix it in the policy."""

    @property
    def is_configured(self) -> bool:
        return bool(self.api_url and self.user_pool_id and self.client_id and self.region)

    def missing(self) -> list[str]:
        """Names of required settings that are empty, for a clear first-run message."""
        return [
            name
            for name in ("api_url", "region", "user_pool_id", "client_id")
            if not getattr(self, name)
        ]

    def require(self) -> Settings:
        gaps = self.missing()
        if gaps:
            envs = ", ".join(ENV_NAMES[g] for g in gaps)
            raise ConfigurationError(
                "MediSpecs is not configured yet: set " + ", ".join(gaps)
                + f" in Settings (or the environment variables {envs}), "
                "or start the demo with `medispecs-desktop --local`."
            )
        return self

    def with_overrides(self, **values: Any) -> Settings:
        clean = {k: v for k, v in values.items() if v is not None and k in _FIELD_TYPES}
        return replace(self, **{k: _coerce(k, v) for k, v in clean.items()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELD_TYPES: dict[str, Any] = {f.name: f.type for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELD_TYPES[name]
    if kind in ("bool", bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if kind in ("int", int):
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"Setting {name} must be a whole number, not {value!r}"
            ) from exc
    return str(value).strip()


@dataclass(frozen=True)
class Paths:
    """Per-user directories (platformdirs); created private (0700) on first use."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @classmethod
    def default(cls) -> Paths:
        base = os.environ.get("MEDISPECS_HOME")
        if base:
            root = Path(base)
            return cls(root / "config", root / "data", root / "cache", root / "logs")
        return cls(
            Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
            Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_ID, appauthor=False)),
            Path(platformdirs.user_log_dir(APP_ID, appauthor=False)),
        )

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def queue_db(self) -> Path:
        return self.data_dir / "uploads.sqlite3"

    def ensure(self) -> Paths:
        for d in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            private_dir(d)
        return self


def private_dir(path: Path) -> Path:
    """Create ``path`` readable only by the current user; every missing parent it creates on
    the way is private too (existing parents are left as they are)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(mode=stat.S_IRWXU, exist_ok=True)
    for folder in (*missing, path):
        try:
            folder.chmod(stat.S_IRWXU)
        except OSError:  # pragma: no cover - e.g. a filesystem without permissions
            pass
    return path


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def require_secure_url(url: str, what: str) -> str:
    """``url`` if it is https (or plain http to this machine, e.g. the local demo stack).

    Tokens and passwords travel on these connections: plain http to any other host is a
    configuration error, never silently accepted."""
    parsed = urlsplit(url.strip())
    host = (parsed.hostname or "").lower()
    if parsed.scheme == "https" and host:
        return url
    if parsed.scheme == "http" and (host in _LOOPBACK_HOSTS or host.startswith("127.")):
        return url
    if parsed.scheme == "http":
        raise ConfigurationError(
            f"The {what} must use https:// (sign-in tokens would travel unencrypted to {host}); "
            "plain http:// is only accepted for this computer (127.0.0.1 / localhost)."
        )
    raise ConfigurationError(f"The {what} must be an https:// address, not {url!r}.")


def read_settings_file(paths: Paths | None = None) -> dict[str, Any]:
    """The values the settings file holds (known names only; {} when there is none)."""
    paths = paths or Paths.default()
    try:
        raw = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read settings file {paths.settings_file}: {exc}") from exc
    return {k: v for k, v in raw.items() if k in _FIELD_TYPES} if isinstance(raw, dict) else {}


def load_settings(paths: Paths | None = None, env: dict[str, str] | None = None,
                  policy: Policy | None = None) -> Settings:
    """Settings file, then environment variables, then the organisation's policy on top."""
    env = dict(os.environ) if env is None else env
    values = read_settings_file(paths)
    for name, var in ENV_NAMES.items():
        if env.get(var):
            values[name] = env[var]
    return apply_policy(Settings().with_overrides(**values), policy)


def apply_policy(settings: Settings, policy: Policy | None = None) -> Settings:
    """``settings`` with every value the policy file fixes (read now when not given)."""
    from medispecs_desktop.core.policy import load_policy

    policy = policy if policy is not None else load_policy()
    return settings.with_overrides(**policy.values) if policy.values else settings


def save_settings(settings: Settings, paths: Paths | None = None) -> Path:
    """Write the settings file atomically (never any secret in it)."""
    paths = (paths or Paths.default())
    private_dir(paths.config_dir)
    target = paths.settings_file
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings.to_dict(), indent=2, sort_keys=True), encoding="utf-8")
    tmp.chmod(stat.S_IRUSR | stat.S_IWUSR)
    tmp.replace(target)
    return target
