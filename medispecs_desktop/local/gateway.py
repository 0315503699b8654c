"""A local stand-in for API Gateway's HTTP API in front of the ``videos-handler`` Lambda.

Each HTTP request on loopback becomes an API Gateway HTTP API **payload format 2.0** event and is
passed to the real ``lambda_handler``; its result is turned back into the HTTP response the way
API Gateway does it. Like a deployment with a Cognito JWT authorizer and CORS configured:

- ``OPTIONS`` on any path is a CORS preflight: 204 with the CORS headers, no token needed;
- a request whose method + path match none of the route keys -> 404 ``{"message":"Not Found"}``
  (before any authorisation, as API Gateway matches routes first);
- every route needs ``Authorization: Bearer <JWT>`` verified against the user pool (signature,
  issuer, audience / client id, expiry) -> otherwise 401 ``{"message":"Unauthorized"}``;
- a body over 10 MB -> 413 ``{"message":"Request Entity Too Large"}``;
- a handler that raises or returns garbage -> 500 ``{"message":"Internal Server Error"}``.

The event carries ``version``, ``routeKey``, ``rawPath``, ``rawQueryString``, ``cookies``,
lower-cased ``headers`` (repeated headers joined with commas), ``queryStringParameters``
(repeated keys joined with commas), ``pathParameters``, ``requestContext`` (``http``
method/path/protocol/sourceIp/userAgent, ``requestId``, ``routeKey``, ``stage="$default"``, time,
``authorizer.jwt.claims`` + ``scopes``), ``body`` and ``isBase64Encoded``.

Nothing secret is logged: the access log has method, path (redacted), status and time only.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from medispecs_desktop.backend.routes import RouteMatch, allowed_methods, match_route
from medispecs_desktop.core.logs import redact
from medispecs_desktop.local.jwt_verify import InvalidTokenError, gateway_claims, scopes_of
from medispecs_desktop.local.servers import ConnectionTrackingMixin, ServerThread, is_loopback_host

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "CorsConfig",
    "LambdaContext",
    "LocalGateway",
    "TokenVerifier",
    "build_event",
    "lambda_result_to_http",
]

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
"""API Gateway's request payload limit (10 MB)."""

LambdaHandler = Callable[[dict[str, Any], Any], Any]

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded", "+json", "+xml")


_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
     "upgrade"}
)


class TokenVerifier(Protocol):
    def verify(self, token: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CorsConfig:
    """The API's CORS configuration (answered on preflight, added to responses with Origin)."""

    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("GET", "POST", "PATCH", "DELETE", "OPTIONS")
    allow_headers: tuple[str, ...] = ("Authorization", "Content-Type")
    expose_headers: tuple[str, ...] = ()
    max_age: int = 300

    def origin_for(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        if origin:
            allowed = self.origin_for(origin)
        else:
            allowed = "*" if "*" in self.allow_origins else None
        if allowed is None:
            return {}
        headers = {
            "Access-Control-Allow-Origin": allowed,
            "Access-Control-Allow-Methods": ",".join(self.allow_methods),
            "Access-Control-Allow-Headers": ",".join(self.allow_headers),
            "Access-Control-Max-Age": str(self.max_age),
        }
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        return headers

    def response_headers(self, origin: str | None) -> dict[str, str]:
        allowed = self.origin_for(origin)
        if allowed is None:
            return {}
        headers = {"Access-Control-Allow-Origin": allowed}
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        return headers


@dataclass
class LambdaContext:
    """The parts of the Lambda context object handlers commonly read."""

    aws_request_id: str
    function_name: str = "videos-handler"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    timeout_sec: float = 30.0
    invoked_function_arn: str = (
        "arn:aws:lambda:local:000000000000:function:videos-handler"
    )
    log_group_name: str = "/aws/lambda/videos-handler"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_sec

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _is_text(content_type: str) -> bool:
    ct = content_type.split(";", 1)[0].strip().lower()
    return any(ct.startswith(t) or ct.endswith(t) for t in _TEXT_TYPES)


def _join_multi(pairs: Sequence[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower else name
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def build_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route: RouteMatch,
    claims: Mapping[str, Any] | None,
    request_id: str,
    now: float,
    domain: str = "localhost",
) -> dict[str, Any]:
    """The payload-2.0 event API Gateway would send for this request."""
    cookies: list[str] = []
    plain: list[tuple[str, str]] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        elif lower not in _HOP_BY_HOP:
            plain.append((name, value))
    header_map = _join_multi(plain, lower=True)
    header_map.setdefault("x-forwarded-for", source_ip)
    header_map.setdefault("x-forwarded-proto", "http")
    path = unquote(raw_path)
    authorizer: dict[str, Any] | None = None
    if claims is not None:
        authorizer = {
            "jwt": {"claims": gateway_claims(dict(claims)), "scopes": scopes_of(dict(claims))}
        }
    when = datetime.fromtimestamp(now, UTC)
    request_context: dict[str, Any] = {
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": header_map.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": header_map,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        query = parse_qsl(raw_query, keep_blank_values=True)
        if query:
            event["queryStringParameters"] = _join_multi(query, lower=False)
    if route.path_parameters:
        event["pathParameters"] = {k: unquote(v) for k, v in route.path_parameters.items()}
    if body:
        content_type = header_map.get("content-type", "")
        text: str | None = None
        if _is_text(content_type) or not content_type:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


@dataclass
class HttpResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _message(status: int, message: str) -> HttpResult:
    body = json.dumps({"message": message}).encode()
    return HttpResult(status, [("Content-Type", "application/json")], body)


def lambda_result_to_http(result: Any) -> HttpResult:
    """Map a handler's return value to HTTP as API Gateway does for payload format 2.0."""
    if isinstance(result, dict) and "statusCode" in result:
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return _message(500, "Internal Server Error")
        if not 100 <= status <= 599:
            return _message(500, "Internal Server Error")
        headers: list[tuple[str, str]] = []
        raw_headers = result.get("headers") or {}
        if not isinstance(raw_headers, dict):
            return _message(500, "Internal Server Error")
        for name, value in raw_headers.items():
            headers.append((str(name), str(value)))
        multi = result.get("multiValueHeaders") or {}
        if isinstance(multi, dict):
            for name, values in multi.items():
                for value in values if isinstance(values, list) else [values]:
                    headers.append((str(name), str(value)))
        for cookie in result.get("cookies") or []:
            headers.append(("Set-Cookie", str(cookie)))
        body = result.get("body")
        if body is None:
            data = b""
        elif result.get("isBase64Encoded"):
            try:
                data = base64.b64decode(str(body), validate=True)
            except ValueError:
                return _message(500, "Internal Server Error")
        else:
            data = str(body).encode("utf-8")
        return HttpResult(status, headers, data)
    # Any other JSON value: 200 with the value as a JSON body.
    try:
        data = json.dumps(result).encode()
    except (TypeError, ValueError):
        return _message(500, "Internal Server Error")
    return HttpResult(200, [("Content-Type", "application/json")], data)


class _BodyTooLarge(Exception):
    def __init__(self, *, drained: bool) -> None:
        super().__init__("request body too large")
        self.drained = drained


_DRAIN_LIMIT = 64 * 1024 * 1024


class _BadRequest(Exception):
    pass


class _GatewayServer(ConnectionTrackingMixin, ThreadingHTTPServer):
    # Non-daemon request threads are the ones server_close() joins (daemon ones are not
    # tracked); close_connections() first ends idle keep-alive ones so the join is prompt.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    gateway: LocalGateway


class _GatewayServer6(_GatewayServer):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MediSpecsLocalGateway/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # else small responses stall ~40 ms (Nagle + delayed ACK)
    server: _GatewayServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("gateway: " + format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the gateway logs one line per request itself

    def _dispatch(self) -> None:
        self.server.gateway._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method token (TRACE, QUERY, FOO...) is routed too, so it is answered as
        # API Gateway does (404 Not Found) instead of http.server's 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def read_body(self, limit: int) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _BadRequest from None
        if length < 0:
            raise _BadRequest
        if length > limit:
            # Read and drop a moderately oversized body, so the client (still sending) gets
            # the 413 instead of a connection reset; beyond that, just close.
            if length <= _DRAIN_LIMIT and self._discard(length):
                raise _BodyTooLarge(drained=True)
            raise _BodyTooLarge(drained=False)
        data = self.rfile.read(length)
        if len(data) != length:
            raise _BadRequest
        return data

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest from None
            if size < 0:
                raise _BadRequest
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                if total > limit:
                    raise _BodyTooLarge(drained=True)
                return b"".join(chunks)
            total += size
            if total > _DRAIN_LIMIT:
                raise _BodyTooLarge(drained=False)
            if total > limit:
                chunks.clear()  # too large: keep reading (and dropping) to the end
                if not self._discard(size):
                    raise _BodyTooLarge(drained=False)
            else:
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise _BadRequest
                chunks.append(chunk)
            self.rfile.readline(8)  # CRLF after the chunk

    def _discard(self, length: int) -> bool:
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                return False
            left -= len(chunk)
        return True

    def send_result(self, result: HttpResult, extra: Mapping[str, str]) -> None:
        self.send_response(result.status)
        sent = {name.lower() for name, _ in result.headers}
        for name, value in result.headers:
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            self.send_header(name, value)
        for name, value in extra.items():
            if name.lower() not in sent:
                self.send_header(name, value)
        body = b"" if self.command == "HEAD" else result.body
        self.send_header("Content-Length", str(len(result.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # headers and body in one write (one TCP segment for small answers)
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()


class LocalGateway:
    """The local HTTP API: loopback HTTP server -> JWT check -> payload-2.0 event -> handler.

    ``handler`` is the Lambda entry point (``lambda_handler(event, context)``); ``verifier``
    checks bearer tokens (:class:`~medispecs_desktop.local.jwt_verify.JwtVerifier`).
    """

    def __init__(
        self,
        handler: LambdaHandler,
        verifier: TokenVerifier,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cors: CorsConfig | None = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        route_matcher: Callable[[str, str], RouteMatch | None] = match_route,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the local gateway listens on loopback only, not {host!r}")
        self.handler = handler
        self.verifier = verifier
        self.host = host
        self.port = port
        self.cors = cors or CorsConfig()
        self.max_payload_bytes = max_payload_bytes
        self.route_matcher = route_matcher
        self.clock = clock
        self._server_thread: ServerThread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server_thread is None:
            raise RuntimeError("the gateway is not running")
        return self._server_thread.url

    def start(self) -> str:
        """Bind and serve in a background thread; returns the base URL."""
        with self._lock:
            if self._server_thread is not None:
                return self.url
            server_class = _GatewayServer6 if ":" in self.host else _GatewayServer
            server = server_class((self.host.strip("[]"), self.port), _RequestHandler)
            server.gateway = self
            thread = ServerThread(server, "local-gateway")
            thread.start()
            self._server_thread = thread
        log.info("local API gateway listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        with self._lock:
            thread, self._server_thread = self._server_thread, None
        if thread is not None:
            thread.stop()

    # -- request handling ------------------------------------------------------------------

    def _handle(self, req: _RequestHandler) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        method = req.command.upper()
        split = urlsplit(req.path)
        raw_path = split.path or "/"
        raw_query = split.query
        origin = req.headers.get("Origin")
        extra = {"apigw-requestid": request_id}
        try:
            result = self._respond(req, method, raw_path, raw_query, request_id)
        except Exception:
            log.exception("gateway failure for %s %s", method, redact(raw_path))
            result = _message(500, "Internal Server Error")
        if method != "OPTIONS":
            extra.update(self.cors.response_headers(origin))
        try:
            req.send_result(result, extra)
        except OSError:
            req.close_connection = True
        log.info(
            "%s %s -> %d (%.1f ms)",
            method,
            redact(raw_path),
            result.status,
            (time.perf_counter() - started) * 1000,
        )

    def _respond(
        self, req: _RequestHandler, method: str, raw_path: str, raw_query: str, request_id: str
    ) -> HttpResult:
        try:
            body = req.read_body(self.max_payload_bytes)
        except _BodyTooLarge as exc:
            if not exc.drained:
                req.close_connection = True  # the unread body must not be parsed as a request
            return _message(413, "Request Entity Too Large")
        except _BadRequest:
            req.close_connection = True
            return _message(400, "Bad Request")
        if method == "OPTIONS":
            origin = req.headers.get("Origin")
            return HttpResult(204, list(self.cors.preflight_headers(origin).items()), b"")
        # Matched on the raw path: an encoded '/' (%2F) stays inside its segment.
        route = self.route_matcher(method, raw_path)
        if route is None:
            allowed = allowed_methods(raw_path)
            if allowed:  # a known path, another method (TRACE, PUT...): 405 + Allow, as the
                # handler itself answers (API Gateway proper says 404 unless a route matches)
                result = _message(405, "Method Not Allowed")
                result.headers.append(("Allow", ", ".join(allowed)))
                return result
            return _message(404, "Not Found")
        token = _bearer(req.headers.get_all("Authorization") or [])
        if token is None:
            return _message(401, "Unauthorized")
        try:
            claims = self.verifier.verify(token)
        except InvalidTokenError as exc:
            log.info("401 for %s %s: %s", method, redact(raw_path), exc)
            return _message(401, "Unauthorized")
        host_header = req.headers.get("Host", "") or "localhost"
        if host_header.startswith("["):  # [::1]:port
            host = host_header[1:].split("]", 1)[0]
        else:
            host = host_header.split(":", 1)[0]
        event = build_event(
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(req.headers.items()),
            body=body,
            source_ip=str(req.client_address[0]),
            route=route,
            claims=claims,
            request_id=request_id,
            now=self.clock(),
            domain=host or "localhost",
        )
        context = LambdaContext(aws_request_id=request_id)
        try:
            outcome = self.handler(event, context)
        except Exception:
            log.exception("the handler raised for %s %s", method, redact(raw_path))
            return _message(500, "Internal Server Error")
        return lambda_result_to_http(outcome)


def _bearer(values: Sequence[str]) -> str | None:
    """The token of the Authorization header (``Bearer <t>``, or the bare token as API Gateway
    also accepts). More than one Authorization header -> no token."""
    if len(values) != 1:
        return None
    value = values[0].strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value or " " in value:
        return None
    return value

