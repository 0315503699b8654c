"""Normalise API Gateway HTTP API (payload 2.0) events into one ``Request``.

Real events carry ``rawPath``, ``routeKey`` and ``pathParameters``; the guide's console test
events carry only ``requestContext.http.{method,path}`` (and maybe ``pathParameters``). Both, and
payload 1.0-style ``httpMethod``/``path`` events, become the same ``Request`` before routing. The
route is always re-derived from the path with ``routes.match_route`` so a test event cannot
smuggle a path parameter that disagrees with its path.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .errors import BadRequest, MethodNotAllowed, NotFound, PayloadTooLarge
from .routes import allowed_methods, match_route, path_exists

__all__ = ["MAX_BODY_BYTES", "Request", "parse_event"]

MAX_BODY_BYTES = 1024 * 1024
"""Bodies over 1 MB are refused with 413 (the API only ever takes small JSON documents)."""


@dataclass(slots=True)
class Request:
    method: str
    path: str
    route_key: str | None
    path_parameters: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes
    request_id: str
    claims: dict[str, Any] | None
    """JWT claims from the authorizer, or ``None`` for an event without an authorizer."""
    source_ip: str | None = None
    deadline: float | None = None
    """``time.monotonic()`` value by which slow work (reading an object back to check its
    SHA-256) must stop so the answer still beats the Lambda/API Gateway timeout; ``None``
    when the runtime sets no limit (local gateway, tests)."""
    _json: Any = field(default=None, repr=False)
    _json_parsed: bool = field(default=False, repr=False)

    def json(self) -> Any:
        """The body as JSON (``None`` for an empty body). 400 for malformed JSON."""
        if not self._json_parsed:
            self._json = _parse_json(self.raw_body)
            self._json_parsed = True
        return self._json

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body counts as ``{}`` (a JSON ``null`` is no
        object: 400)."""
        value = self.json()
        if value is None and not self.raw_body.strip():
            return {}
        if not isinstance(value, dict):
            raise BadRequest("request body must be a JSON object", code="invalid_body")
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8", code="invalid_json") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from None
    return value


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _strip_stage(path: str, stage: Any) -> str:
    if isinstance(stage, str) and stage and stage != "$default":
        prefix = "/" + stage
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def parse_event(event: Any, *, request_id: str) -> Request:
    """Turn a Lambda event into a ``Request``; raise ``ApiError`` for what cannot be routed."""
    if not isinstance(event, Mapping):
        raise BadRequest("event is not a JSON object", code="invalid_event")
    ctx = event.get("requestContext")
    ctx = ctx if isinstance(ctx, Mapping) else {}
    http = ctx.get("http")
    http = http if isinstance(http, Mapping) else {}

    method = http.get("method") or event.get("httpMethod")
    if not isinstance(method, str) or not method:
        raise BadRequest("event has no HTTP method", code="invalid_event")
    method = method.upper()

    raw_path = event.get("rawPath") or http.get("path") or event.get("path")
    if not isinstance(raw_path, str) or not raw_path.startswith("/"):
        raise BadRequest("event has no request path", code="invalid_event")
    raw_path = raw_path.split("?", 1)[0]
    path = _strip_stage(raw_path, ctx.get("stage"))
    if len(path) > 2048:
        raise NotFound("no such route", code="route_not_found")

    headers = {k.lower(): v for k, v in _str_map(event.get("headers")).items()}
    query = _str_map(event.get("queryStringParameters"))
    empty = sorted(k for k, v in query.items() if v == "")
    if empty and method != "OPTIONS":  # "?sha256=" is no checksum: never read it as absent
        raise BadRequest(f"query parameter(s) {', '.join(empty)} must not be empty",
                         code="invalid_query")

    authorizer = ctx.get("authorizer")
    claims: dict[str, Any] | None = None
    if isinstance(authorizer, Mapping):
        jwt = authorizer.get("jwt")
        if isinstance(jwt, Mapping) and isinstance(jwt.get("claims"), Mapping):
            claims = dict(jwt["claims"])

    raw_body = _body_bytes(event)

    identity = http.get("sourceIp")
    event_request_id = ctx.get("requestId")
    rid = event_request_id if isinstance(event_request_id, str) and event_request_id else request_id

    route_key: str | None = None
    params: dict[str, str] = {}
    if method != "OPTIONS":
        match = match_route(method, path)
        if match is None:
            if path_exists(path):
                raise MethodNotAllowed(f"{method} is not allowed on {path}",
                                       headers={"Allow": ", ".join(allowed_methods(path))})
            raise NotFound("no such route", code="route_not_found")
        route_key = match.route_key
        params = {k: unquote(v) for k, v in match.path_parameters.items()}

    return Request(
        method=method,
        path=path,
        route_key=route_key,
        path_parameters=params,
        query=query,
        headers=headers,
        raw_body=raw_body,
        request_id=rid,
        claims=claims,
        source_ip=identity if isinstance(identity, str) else None,
    )


def _body_bytes(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadRequest("event body must be a string", code="invalid_event")
    # Cheap upper bound before decoding: base64 inflates by 4/3, UTF-8 by at most 4x.
    if len(body) > 4 * MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body exceeds {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("body is not valid base64", code="invalid_body") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body exceeds {MAX_BODY_BYTES} bytes")
    return raw
