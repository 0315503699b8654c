"""Configuration of the ``videos-handler`` Lambda.

Required environment (as the guide defines it): ``TABLE_MAIN``, ``S3_BUCKET``, ``S3_REGION``,
``PRE_SIGNED_URL_EXPIRY`` (seconds). Optional extras:

============================  ===========  ==================================================
variable                      default      meaning
============================  ===========  ==================================================
``USER_ID_CLAIM``             ``sub``      JWT claim that names the user (items use its value)
``ALLOW_QUERY_USER_ID``       ``false``    only then may an event WITHOUT an authorizer name
                                           its user with a ``userId`` query/body parameter
                                           (the guide's console test events). Never on AWS.
``MAX_UPLOAD_BYTES``          50 GiB       largest video accepted (single PUT is also
                                           capped at S3's 5 GiB)
``VERIFY_SHA256_MAX_BYTES``   2 GiB        largest object whose whole-file SHA-256 the
                                           handler checks by reading it from S3 (objects
                                           S3 stored with a full-object SHA-256 checksum
                                           are checked without reading, at any size).
                                           Above it, or when the Lambda would run out of
                                           time, the record says ``sha256Verified: false``
                                           (``sha256VerifiedBy: "parts"`` when S3 verified
                                           every part's checksum). ``0`` = never read.
``PLAYBACK_URL_EXPIRY``       600 (10 min) lifetime of pre-signed GET URLs (playback,
                                           thumbnails), at most ``PRE_SIGNED_URL_EXPIRY``;
                                           the player renews them before they expire
``AUDIT_TABLE``               (unset)      the append-only audit table (``backend.audit``);
                                           unset: audit events go to the log only
``AUDIT_RETENTION_DAYS``      2192         days an audit event is kept (its TTL; 6 years,
                                           HIPAA §164.316(b)(2)); ``0`` = forever
``TRASH_RETENTION_DAYS``      ``30``       days a deleted recording stays in the Trash before
                                           the scheduled job purges it (and S3 keeps
                                           noncurrent object versions as long)
``CORS_ALLOW_ORIGIN``         ``*``        ``Access-Control-Allow-Origin``
``LOG_LEVEL``                 ``INFO``     level of the JSON request log
``AWS_ENDPOINT_URL``          (unset)      boto3 honours it itself (moto / local stack)
============================  ===========  ==================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_TRASH_RETENTION_DAYS",
    "DEFAULT_VERIFY_SHA256_MAX_BYTES",
    "BackendConfig",
    "ConfigError",
]

GIB = 1024**3
DEFAULT_MAX_UPLOAD_BYTES = 50 * GIB
DEFAULT_VERIFY_SHA256_MAX_BYTES = 2 * GIB
DEFAULT_EXPIRY_SECONDS = 3600
DEFAULT_PLAYBACK_EXPIRY_SECONDS = 600
DEFAULT_AUDIT_RETENTION_DAYS = 6 * 365 + 2  # six years, leap days included
DEFAULT_TRASH_RETENTION_DAYS = 30
MAX_TRASH_RETENTION_DAYS = 365
MAX_EXPIRY_SECONDS = 7 * 24 * 3600  # SigV4 pre-signed URLs live at most 7 days

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """The function is misconfigured (a deployment fault, never a client's)."""


@dataclass(frozen=True, slots=True)
class BackendConfig:
    table_name: str
    bucket: str
    region: str
    presign_expiry_seconds: int = DEFAULT_EXPIRY_SECONDS
    user_id_claim: str = "sub"
    allow_query_user_id: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    verify_sha256_max_bytes: int = DEFAULT_VERIFY_SHA256_MAX_BYTES
    """Largest object hashed by reading it back from S3 (``0``: never read)."""
    cors_allow_origin: str = "*"
    playback_expiry_limit: int = DEFAULT_PLAYBACK_EXPIRY_SECONDS
    """Lifetime of pre-signed GET URLs (playback, thumbnails), capped by the presign expiry."""
    audit_table_name: str | None = None
    """The append-only audit table; ``None``: audit events are logged only."""
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    trash_retention_days: int = DEFAULT_TRASH_RETENTION_DAYS
    """Days a recording stays restorable in the Trash before the scheduled purge."""
    endpoint_url: str | None = None
    """Explicit AWS endpoint (moto). ``None`` lets boto3 use ``AWS_ENDPOINT_URL`` or AWS."""
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    s3_addressing_style: str | None = None
    """``"path"`` or ``"virtual"``; ``None`` = path style with an endpoint URL, else auto."""

    def __post_init__(self) -> None:
        if not self.table_name:
            raise ConfigError("TABLE_MAIN is empty")
        if not self.bucket:
            raise ConfigError("S3_BUCKET is empty")
        if not self.region:
            raise ConfigError("S3_REGION is empty")
        if not 1 <= self.presign_expiry_seconds <= MAX_EXPIRY_SECONDS:
            raise ConfigError(
                f"PRE_SIGNED_URL_EXPIRY must be 1..{MAX_EXPIRY_SECONDS} seconds, "
                f"got {self.presign_expiry_seconds}"
            )
        if self.playback_expiry_limit < 1:
            raise ConfigError("PLAYBACK_URL_EXPIRY must be positive")
        if self.audit_retention_days < 0:
            raise ConfigError("AUDIT_RETENTION_DAYS must be 0 or more")
        if self.max_upload_bytes < 1:
            raise ConfigError("MAX_UPLOAD_BYTES must be positive")
        if self.verify_sha256_max_bytes < 0:
            raise ConfigError("VERIFY_SHA256_MAX_BYTES must be 0 or more")
        if not 1 <= self.trash_retention_days <= MAX_TRASH_RETENTION_DAYS:
            raise ConfigError(
                f"TRASH_RETENTION_DAYS must be 1..{MAX_TRASH_RETENTION_DAYS}, "
                f"got {self.trash_retention_days}"
            )
        if not self.user_id_claim:
            raise ConfigError("USER_ID_CLAIM is empty")
        if self.s3_addressing_style not in (None, "path", "virtual", "auto"):
            raise ConfigError(f"bad S3 addressing style {self.s3_addressing_style!r}")

    @property
    def playback_expiry_seconds(self) -> int:
        return min(self.playback_expiry_limit, self.presign_expiry_seconds)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BackendConfig:
        """Read the configuration from the Lambda environment (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        missing = [k for k in ("TABLE_MAIN", "S3_BUCKET") if not env.get(k)]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
        region = env.get("S3_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise ConfigError("missing environment variable: S3_REGION")
        return cls(
            table_name=env["TABLE_MAIN"],
            bucket=env["S3_BUCKET"],
            region=region,
            presign_expiry_seconds=_int(env, "PRE_SIGNED_URL_EXPIRY", DEFAULT_EXPIRY_SECONDS),
            user_id_claim=env.get("USER_ID_CLAIM", "").strip() or "sub",
            allow_query_user_id=_bool(env, "ALLOW_QUERY_USER_ID", False),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
            verify_sha256_max_bytes=_int(
                env, "VERIFY_SHA256_MAX_BYTES", DEFAULT_VERIFY_SHA256_MAX_BYTES
            ),
            cors_allow_origin=env.get("CORS_ALLOW_ORIGIN", "").strip() or "*",
            playback_expiry_limit=_int(env, "PLAYBACK_URL_EXPIRY",
                                       DEFAULT_PLAYBACK_EXPIRY_SECONDS),
            audit_table_name=env.get("AUDIT_TABLE", "").strip() or None,
            audit_retention_days=_int(env, "AUDIT_RETENTION_DAYS", DEFAULT_AUDIT_RETENTION_DAYS),
            trash_retention_days=_int(
                env, "TRASH_RETENTION_DAYS", DEFAULT_TRASH_RETENTION_DAYS
            ),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")
