"""Structured JSON logging for the Lambda: one JSON object per line.

Request lines carry ``level, message, route, requestId, userId, status, latency_ms``. Nothing
logged here ever holds a token or a pre-signed URL (the handler logs neither bodies nor headers).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["LOGGER_NAME", "JsonFormatter", "configure_json_logging", "logger"]

LOGGER_NAME = "medispecs_desktop.backend"
logger = logging.getLogger(LOGGER_NAME)

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ).replace("+00:00", "Z"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


_HANDLER_MARK = "_medispecs_json_handler"


def configure_json_logging(level: str | int = "INFO") -> None:
    """Send the backend's records to stdout as JSON lines (idempotent; used in Lambda)."""
    if any(getattr(h, _HANDLER_MARK, False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
    logger.setLevel(level if isinstance(level, int) else level.upper())
    logger.propagate = False
