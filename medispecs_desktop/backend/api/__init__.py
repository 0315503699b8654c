"""The HTTP layer of the ``videos-handler`` Lambda: one module of routes per resource, each a
:class:`~.registry.Router` whose handlers turn a request into typed calls on the domain services
(``backend/services.py``) and their results into JSON. ``ROUTER`` serves them all; the route
table (``routes.ROUTE_KEYS``) is read from it."""

from __future__ import annotations

from . import history, markers, trash, uploads, videos
from .http import Result
from .registry import RouteMatch, Router

__all__ = ["ROUTER", "Result", "RouteMatch", "Router"]

ROUTER = Router.combine(videos.router, markers.router, uploads.router, history.router,
                        trash.router)
"""Every route of the API."""
