"""The videos API route table (docs/contract.md §1), read from the route registry.

Each route is declared once, by the decorator on its handler in ``backend/api/`` (see
``api/registry.py``); ``ROUTE_KEYS`` lists them as API Gateway HTTP API route keys
(``"METHOD /path/{param}"``). The local gateway uses the matcher to answer unknown routes 404
(405 with ``Allow`` for a known path) and to fill ``routeKey``/``pathParameters``; the packaging
template and the OpenAPI file are checked against ``ROUTE_KEYS``.
"""

from __future__ import annotations

from .api import ROUTER, RouteMatch

__all__ = [
    "CORS_ROUTE_KEY",
    "ROUTE_KEYS",
    "RouteMatch",
    "allowed_methods",
    "match_route",
    "path_exists",
]

ROUTE_KEYS: tuple[str, ...] = ROUTER.route_keys
"""Every route of the API."""

CORS_ROUTE_KEY = "OPTIONS /{proxy+}"
"""Preflight: any path answers OPTIONS with 204 + CORS headers, no token needed."""


def match_route(method: str, path: str) -> RouteMatch | None:
    """Match ``method`` + ``path`` (no stage prefix, no query) to a route, as API Gateway does
    (literal segments win over parameters); ``None`` for an unknown route or method."""
    return ROUTER.match(method, path)


def path_exists(path: str) -> bool:
    """True when some method serves ``path`` (used to tell 405 from 404)."""
    return ROUTER.path_exists(path)


def allowed_methods(path: str) -> list[str]:
    """The methods some route serves on ``path`` (plus OPTIONS), for a 405's ``Allow``
    header; empty when no route has this path (a 404)."""
    return ROUTER.allowed_methods(path)
