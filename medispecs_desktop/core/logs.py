"""Application logging: a rotating file in the platform's log dir, with secrets redacted.

Nothing secret is ever written: bearer tokens, JWTs, refresh tokens, passwords and the
signature part of pre-signed URLs are replaced before a record reaches any handler.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
from pathlib import Path

LOG_FILE_NAME = "medispecs-desktop.log"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # pre-signed URL query parameters that authenticate the request
    (
        re.compile(
            r"(?i)((?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|"
            r"AWSAccessKeyId|x-amz-checksum-sha256)=)[^&\s\"']+"
        ),
        r"\1REDACTED",
    ),
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.=+/]+"), r"\1REDACTED"),
    # anything that looks like a JWT (3 parts) or a JWE such as a Cognito refresh token (5)
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*){2,4}"), "REDACTED-JWT"),
    # key/value pairs naming secrets
    (
        re.compile(
            r"(?i)([\"']?(?:password|refresh_?token|id_?token|access_?token|RefreshToken|"
            r"IdToken|AccessToken|secret|Session)[\"']?\s*[:=]\s*[\"']?)[^\"',\s}]+"
        ),
        r"\1REDACTED",
    ),
]


def redact(text: str) -> str:
    """Remove tokens, passwords and URL signatures from ``text``."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file (the first and each one after a rollover) is created
    readable only by the user (0600), with no window in which it is world-readable."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.chmod(self.baseFilename, 0o600)  # an older file made before this handler
        except OSError:  # pragma: no cover
            pass
        return io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(fd, "a")),
            encoding=self.encoding or "utf-8",
            errors=self.errors,
        )


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (after %-formatting) with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg = cleaned
        record.args = None
        return True


def setup_logging(log_dir: Path, *, level: int = logging.INFO, console: bool = False) -> Path:
    """Install the rotating file handler (5 files x 2 MB) on the root logger; returns its path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        log_dir.chmod(0o700)
    except OSError:  # pragma: no cover
        pass
    path = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_medispecs", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = PrivateRotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    file_handler.addFilter(RedactingFilter())
    file_handler._medispecs = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.addFilter(RedactingFilter())
        stream._medispecs = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        path.chmod(0o600)
    except OSError:  # pragma: no cover
        pass
    return path
