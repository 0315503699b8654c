"""The route registry: each route declared once, by a decorator on its handler.

In the manner of Powertools' ``APIGatewayHttpResolver`` (``@app.get("/todos/<id>")``), every
module of ``backend/api`` has a :class:`Router` and declares its routes on the functions that
serve them::

    router = Router()

    @router.get("/videos/{videoId}")
    def get_video(s: Services, req: Request, user_id: str) -> Result: ...

``backend/api/__init__.py`` combines the modules' routers into ``ROUTER``; ``routes.ROUTE_KEYS``,
the local gateway's 404/405 answers, the OpenAPI check and the template check all read it, so a
route exists exactly when its handler does. Paths use API Gateway's ``{param}`` syntax, so route
keys are the HTTP API's own (``"GET /videos/{videoId}"``). Stdlib only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..events import Request
    from ..services import Services
    from .http import Result

__all__ = ["Route", "RouteHandler", "RouteMatch", "Router"]

RouteHandler = Callable[["Services", "Request", str], "Result"]
"""A route's handler: the domain services, the request, the caller's user id."""

HTTP_METHODS = ("GET", "POST", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A concrete request path matched to one route."""

    route_key: str
    path_parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: RouteHandler
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _pattern(path: str) -> re.Pattern[str]:
    parts: list[str] = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "/?$")


class Router:
    """An ordered set of routes (method + path template → handler)."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._routes: dict[str, Route] = {}
        for route in routes:
            self._add(route)

    def _add(self, route: Route) -> None:
        if route.key in self._routes:
            raise ValueError(f"route {route.key} is declared twice")
        self._routes[route.key] = route

    # ---------------------------------------------------------------- declaring

    def route(self, method: str, path: str) -> Callable[[RouteHandler], RouteHandler]:
        method = method.upper()
        if method not in HTTP_METHODS or not path.startswith("/"):
            raise ValueError(f"bad route {method} {path}")

        def register(handler: RouteHandler) -> RouteHandler:
            self._add(Route(method, path, handler, _pattern(path)))
            return handler

        return register

    def get(self, path: str) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("POST", path)

    def patch(self, path: str) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("PATCH", path)

    def delete(self, path: str) -> Callable[[RouteHandler], RouteHandler]:
        return self.route("DELETE", path)

    @classmethod
    def combine(cls, *routers: Router) -> Router:
        """One router serving every route of ``routers`` (a route declared twice fails)."""
        return cls(route for r in routers for route in r._routes.values())

    # ---------------------------------------------------------------- reading

    @property
    def route_keys(self) -> tuple[str, ...]:
        return tuple(self._routes)

    def handler(self, route_key: str) -> RouteHandler:
        return self._routes[route_key].handler

    def _literal(self, path: str) -> bool:
        """``path`` names a resource of its own (``/videos/duplicates``): never a parameter."""
        bare = path.rstrip("/")
        return any(r.path == bare for r in self._routes.values() if "{" not in r.path)

    def match(self, method: str, path: str) -> RouteMatch | None:
        """Match ``method`` + ``path`` (no stage prefix, no query) as API Gateway does:
        literal segments win over parameters (``PATCH /videos/duplicates`` is not a video
        named "duplicates": 405). ``None`` for an unknown route or method."""
        method = method.upper()
        literal = self._literal(path)
        for route in self._routes.values():
            if route.method != method or (literal and "{" in route.path):
                continue
            m = route.pattern.match(path)
            if m:
                return RouteMatch(route.key, dict(m.groupdict()))
        return None

    def path_exists(self, path: str) -> bool:
        """True when some method serves ``path`` (tells 405 from 404)."""
        return any(r.pattern.match(path) for r in self._routes.values())

    def allowed_methods(self, path: str) -> list[str]:
        """The methods served on ``path`` (plus OPTIONS) for a 405's ``Allow`` header; empty
        when no route has this path (a 404)."""
        literal = self._literal(path)
        methods = sorted({r.method for r in self._routes.values()
                          if r.pattern.match(path) and not (literal and "{" in r.path)})
        return [*methods, "OPTIONS"] if methods else []
