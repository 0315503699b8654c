"""The demo stack's own AWS calls answered by moto in this process, without loopback HTTP.

The videos handler and the processing handler run inside the stack's process, beside moto. Over
HTTP each of their calls (an upload makes about twenty: the GetItem behind every part-signing
request, the record's transaction, the completion's HeadObject...) costs a TCP connection, a new
server thread and an HTTP request written and parsed at both ends - 1.5 to 2 ms of the one
process's CPU each, about 40 ms per upload, taken from the bytes the stack is receiving at the
same time (measured in ``tests/benchmarks/bench_upload.py stack``).

:class:`InProcessTransport` is a botocore ``before-send`` handler (the hook botocore's own
``Stubber`` and moto's ``mock_aws`` use): a request for moto's endpoint is given to the same
WSGI application the HTTP server runs (moto behind the stack's middlewares), with the WSGI
environment werkzeug's server builds for it (``werkzeug.serving.WSGIRequestHandler.make_environ``
and moto's ``MotoRequestHandler``), and botocore gets moto's answer as it would over the wire.
What needs the wire goes over it (the handler returns None): another endpoint, a streamed answer
(GetObject: never a whole object in memory), a body not already in memory (a file, a generator,
chunked), a header with an underscore (moto's server keeps such names with its own code). The
backend's code is the same either way: only its clients carry the handler
(:class:`~medispecs_desktop.backend.aws.AwsClients`'s ``before_send``).
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from medispecs_desktop.local import wsgi
from medispecs_desktop.local.wsgi import WsgiApp

__all__ = ["InProcessTransport"]

log = logging.getLogger(__name__)


def _wsgi_str(value: str) -> str:
    """PEP 3333's "native string" of a URL part, as werkzeug's server passes it."""
    return value.encode().decode("latin1")


class InProcessTransport:
    """A botocore ``before-send`` handler that answers requests for ``endpoint`` (moto's
    ``http://host:port``) with ``app`` in this thread. ``calls`` counts those it answered."""

    def __init__(self, endpoint: str, app: WsgiApp) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"not an http://host:port endpoint: {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port
        self._app = app
        from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY

        self._preserved_key = PRESERVED_HEADER_NAMES_ENVIRON_KEY
        self._count = threading.Lock()
        self.calls = 0

    def __call__(self, request: Any, **_kwargs: Any) -> Any:
        environ = self.environ(request)
        if environ is None:
            return None  # over HTTP, as without this handler
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse  # (a body as botocore reads it)

        status, headers, body = self._run(environ)
        with self._count:
            self.calls += 1
        mapping: Any = headers  # (botocore reads any mapping: HeadersDict(headers))
        return AWSResponse(request.url, status, mapping, MockRawResponse(body))

    def environ(self, request: Any) -> dict[str, Any] | None:
        """The WSGI environment werkzeug's server would build for ``request`` (a botocore
        ``AWSPreparedRequest``), or None when it must go over HTTP."""
        url: str = request.url
        if not (url.startswith(self.endpoint + "/") or url == self.endpoint):
            return None
        if getattr(request, "stream_output", False):
            return None
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode()
        elif isinstance(body, bytearray | memoryview):
            body = bytes(body)
        elif type(body) is io.BytesIO:  # what botocore makes of an S3 PUT's bytes
            body = bytes(body.getbuffer()[body.tell():])
        if not isinstance(body, bytes):
            return None  # a file or a generator: sent as it is, over HTTP
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _wsgi_str(unquote(parts.path or "/")),
            "QUERY_STRING": _wsgi_str(parts.query),
            "REQUEST_URI": _wsgi_str(target),
            "RAW_URI": _wsgi_str(target),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0,
            "SERVER_NAME": self._host,
            "SERVER_PORT": str(self._port),
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        environ[self._preserved_key] = {}  # (as moto's server sets it: no underscored names)
        sent_host = sent_length = False
        for name, raw in request.headers.items():
            value = raw.decode("latin1") if isinstance(raw, bytes) else str(raw)
            if "_" in name:
                return None
            key = name.upper().replace("-", "_")
            value = value.replace("\r\n", "")
            if key == "TRANSFER_ENCODING":
                return None
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                sent_length = sent_length or key == "CONTENT_LENGTH"
            else:
                key = f"HTTP_{key}"
                sent_host = sent_host or key == "HTTP_HOST"
                if key in environ:
                    value = f"{environ[key]},{value}"
            environ[key] = value
        if not sent_host:  # http.client adds it
            environ["HTTP_HOST"] = parts.netloc
        if not sent_length and (body or request.method in ("POST", "PUT", "PATCH")):
            environ["CONTENT_LENGTH"] = str(len(body))  # (http.client adds it)
        return environ

    def _run(self, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        try:
            status, pairs, body = wsgi.call(self._app, environ)
        except Exception:  # what werkzeug's server answers when the application raises
            log.exception("moto failed on %s %s", environ["REQUEST_METHOD"],
                          environ["PATH_INFO"])
            return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
        headers: dict[str, str] = {}
        for name, value in pairs:  # repeated headers joined, as urllib3's answer joins them
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        code = int(status.split(None, 1)[0])
        if environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in (204, 304):
            body = b""  # what werkzeug's server does not send
        return code, headers, body
