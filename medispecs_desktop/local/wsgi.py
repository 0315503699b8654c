"""Calling a WSGI application from Python: the stack's middlewares (which ask moto before they
answer) and its in-process transport (which answers the handlers' AWS calls) both do."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["StartResponse", "WsgiApp", "call"]

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def call(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """``app``'s status line, headers and whole body for ``environ`` (its result closed, as a
    server closes it)."""
    box: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        box["status"], box["headers"] = status, list(headers)
        return lambda _data: None  # (the legacy write() callable: nothing here uses it)

    result = app(environ, start_response)
    try:
        raw = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return str(box.get("status", "500 Internal Server Error")), box.get("headers", []), raw
