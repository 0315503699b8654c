"""The videos API route table (docs/contract.md §1).

``ROUTE_KEYS`` is the single source of truth for the routes the ``videos-handler`` Lambda serves,
spelled as API Gateway HTTP API route keys (``"METHOD /path/{param}"``). The local gateway uses it
to answer unknown routes 404 and to fill ``routeKey``/``pathParameters``; the packaging template is
checked against it; the OpenAPI file is tested against it.

Stdlib only: importable from the Lambda, the local gateway and the packaging checks alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CORS_ROUTE_KEY",
    "ROUTE_KEYS",
    "RouteMatch",
    "allowed_methods",
    "match_route",
    "path_exists",
]

ROUTE_KEYS: tuple[str, ...] = (
    "GET /videos",
    "POST /videos",
    "POST /videos/duplicates",
    "GET /videos/{videoId}/markers",
    "POST /videos/{videoId}/markers",
    "PATCH /videos/{videoId}/markers/{markerId}",
    "DELETE /videos/{videoId}/markers/{markerId}",
    "GET /videos/{videoId}",
    "PATCH /videos/{videoId}",
    "DELETE /videos/{videoId}",
    "GET /videos/{videoId}/upload-url",
    "GET /videos/{videoId}/playback-url",
    "GET /videos/{videoId}/history",
    "GET /videos/{videoId}/thumbnail-upload-url",
    "POST /videos/{videoId}/multipart",
    "POST /videos/{videoId}/multipart/{uploadId}/sign",
    "GET /videos/{videoId}/multipart/{uploadId}/parts",
    "POST /videos/{videoId}/multipart/{uploadId}/complete",
    "DELETE /videos/{videoId}/multipart/{uploadId}",
    "GET /trash",
    "POST /trash/{videoId}/restore",
    "DELETE /trash/{videoId}",
)
"""Every route of the API, in the order the OpenAPI file lists them."""

CORS_ROUTE_KEY = "OPTIONS /{proxy+}"
"""Preflight: any path answers OPTIONS with 204 + CORS headers, no token needed."""


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A concrete request path matched to one of ``ROUTE_KEYS``."""

    route_key: str
    path_parameters: dict[str, str]


def _compile(route_key: str) -> tuple[str, str, re.Pattern[str]]:
    method, template = route_key.split(" ", 1)
    parts: list[str] = []
    for segment in template.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return method, route_key, re.compile("^/" + "/".join(parts) + "/?$")


_COMPILED: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(_compile(k) for k in ROUTE_KEYS)
_LITERAL_PATHS = frozenset(k.split(" ", 1)[1] for k in ROUTE_KEYS if "{" not in k)
"""Paths that name a resource of their own (``/videos/duplicates``): never a ``{videoId}``."""


def match_route(method: str, path: str) -> RouteMatch | None:
    """Match ``method`` + ``path`` (no stage prefix, no query) to a route, as API Gateway does.

    Literal segments win over parameters (``/videos/duplicates`` is not a videoId, with any
    method). Returns ``None`` for an unknown route or method.
    """
    method = method.upper()
    literal = path.rstrip("/") in _LITERAL_PATHS
    for route_method, route_key, pattern in _COMPILED:
        if route_method != method:
            continue
        if literal and "{" in route_key:
            continue  # PATCH /videos/duplicates is not a video named "duplicates": 405
        m = pattern.match(path)
        if m:
            return RouteMatch(route_key, dict(m.groupdict()))
    return None


def path_exists(path: str) -> bool:
    """True when some method serves ``path`` (used to tell 405 from 404)."""
    return any(pattern.match(path) for _, _, pattern in _COMPILED)



def allowed_methods(path: str) -> list[str]:
    """The methods some route serves on ``path`` (plus OPTIONS), for a 405's ``Allow``
    header; empty when no route has this path (a 404)."""
    literal = path.rstrip("/") in _LITERAL_PATHS
    methods = sorted({method for method, key, pattern in _COMPILED
                      if pattern.match(path) and not (literal and "{" in key)})
    return [*methods, "OPTIONS"] if methods else []
