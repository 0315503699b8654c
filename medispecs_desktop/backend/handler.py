"""The ``videos-handler`` Lambda entry point: a thin router over the route registry
(``api.ROUTER``) and the domain services (``services.Services``).

``lambda_handler(event, context)`` is what AWS calls (configured from the environment, see
``config``). ``build_app(config)`` returns the same callable for an explicit configuration: the
embedded local gateway uses it. Every response carries the CORS headers; every ``ApiError`` is
mapped here, once, to ``{"error": {"code", "message"}}``; anything else is logged with its
traceback and answered 500 without details.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .api import ROUTER, Result
from .aws import AwsClients
from .config import BackendConfig
from .errors import ApiError, BadRequest, Forbidden, Unauthorized
from .events import Request, parse_event
from .logs import configure_json_logging, logger
from .services import Services
from .validation import validate_user_id

__all__ = ["App", "LambdaApp", "build_app", "lambda_handler"]

LambdaApp = Callable[[dict[str, Any], Any], dict[str, Any]]

CORS_ALLOW_HEADERS = "Content-Type,Authorization"
CORS_ALLOW_METHODS = "GET,POST,PATCH,DELETE,OPTIONS"
DEADLINE_MARGIN_SECONDS = 5.0
"""Slow work (reading an object back for its SHA-256) stops this long before the Lambda's own
timeout, leaving time to write the record and answer."""


class App:
    """One configured handler: lazily-built AWS clients, the domain services, the routes and
    the error mapping."""

    def __init__(
        self,
        config: BackendConfig,
        *,
        clients: AwsClients | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clients = clients or AwsClients(config)
        self.service = Services.build(config, self.clients, clock=clock)
        self.audit = self.service.audit
        self.router = ROUTER

    # ---------------------------------------------------------------- responses

    def _cors(self) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": self.config.cors_allow_origin,
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
        }

    def _response(self, status: int, body: Any, headers: Mapping[str, str] | None = None
                  ) -> dict[str, Any]:
        out_headers = {**self._cors(), **(headers or {})}
        if status == 204:
            return {"statusCode": 204, "headers": out_headers, "body": "",
                    "isBase64Encoded": False}
        out_headers["Content-Type"] = "application/json"
        return {
            "statusCode": status,
            "headers": out_headers,
            "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            "isBase64Encoded": False,
        }

    def _deadline(self, context: Any) -> float | None:
        """Monotonic time by which slow work must stop, from the Lambda context's remaining
        time (``None`` without one: the local gateway and tests set no limit)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return None
        try:
            millis = float(remaining())
        except (TypeError, ValueError):
            return None
        return time.monotonic() + millis / 1000.0 - DEADLINE_MARGIN_SECONDS

    # ---------------------------------------------------------------- identity

    def resolve_user(self, req: Request) -> str:
        """The caller's user id: the configured JWT claim, or (console test events, only when
        ``allow_query_user_id``) the ``userId`` query/body parameter."""
        claim = self.config.user_id_claim
        if req.claims is not None:
            value = req.claims.get(claim)
            if not isinstance(value, str) or not value:
                raise Unauthorized(f"the token carries no '{claim}' claim", code="unauthorized")
            try:
                user = validate_user_id(value)
            except BadRequest:
                raise Forbidden(f"the token's '{claim}' claim is not a usable user id",
                                code="forbidden") from None
        elif self.config.allow_query_user_id:
            candidate: Any = req.query.get("userId")
            if candidate is None and req.method in ("POST", "PATCH"):
                body = req.json()
                if isinstance(body, dict):
                    candidate = body.get("userId")
            if candidate is None or candidate == "":
                raise Unauthorized("no authorizer and no userId parameter",
                                   code="unauthorized")
            user = validate_user_id(candidate)
        else:
            raise Unauthorized("missing or invalid token", code="unauthorized")
        named = req.query.get("userId")
        if named is not None and named != user:
            raise Forbidden("userId names another user", code="forbidden")
        if req.method in ("POST", "PATCH"):
            body = req.json()
            named_in_body = body.get("userId") if isinstance(body, dict) else None
            if named_in_body is not None and named_in_body != user:
                raise Forbidden("userId names another user", code="forbidden")
        return user

    # ---------------------------------------------------------------- entry point

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
        route: str | None = None
        user_id: str | None = None
        video_id: str | None = None
        status = 500
        error_code: str | None = None
        try:
            req = parse_event(event, request_id=request_id)
            req.deadline = self._deadline(context)
            request_id = req.request_id
            if req.method == "OPTIONS":
                route = "OPTIONS"
                status = 204
                return self._response(204, None, {"Access-Control-Max-Age": "600"})
            route = req.route_key
            assert route is not None
            video_id = req.path_parameters.get("videoId")
            user_id = self.resolve_user(req)
            result: Result = self.router.handler(route)(self.service, req, user_id)
            # who touched which recording (audit.py)
            self.audit.after(req, user_id, result.status, result.body)
            status = result.status
            return self._response(result.status, result.body, result.headers)
        except ApiError as exc:
            status = exc.status
            error_code = exc.code
            return self._response(exc.status, exc.body(), exc.headers)
        except Exception:  # noqa: BLE001 - the one catch-all: a server fault, never a client
            status = 500
            error_code = "internal_error"
            logger.exception(
                "unhandled error", extra={"route": route, "requestId": request_id,
                                          "userId": user_id}
            )
            return self._response(
                500,
                {"error": {"code": "internal_error",
                           "message": f"internal error (request {request_id})"}},
            )
        finally:
            extra: dict[str, Any] = {
                "route": route,
                "requestId": request_id,
                "userId": user_id,
                "videoId": video_id,
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            if error_code:
                extra["errorCode"] = error_code
            logger.info("request", extra=extra)


def build_app(config: BackendConfig, *, clock: Callable[[], float] = time.time,
              clients: AwsClients | None = None) -> LambdaApp:
    """A handler for an explicit configuration (the local gateway, tests, benchmarks)."""
    return App(config, clients=clients, clock=clock)


_default_app: App | None = None
_default_lock = threading.Lock()


def _app_from_env() -> App:
    global _default_app
    if _default_app is None:
        with _default_lock:
            if _default_app is None:
                configure_json_logging(os.environ.get("LOG_LEVEL", "INFO"))
                _default_app = App(BackendConfig.from_env())
    return _default_app


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AWS Lambda entry point; configuration and clients are built once per container."""
    return _app_from_env()(event, context)


def reset_for_tests() -> None:
    """Forget the env-configured app (tests change the environment between modules)."""
    global _default_app
    with _default_lock:
        _default_app = None
