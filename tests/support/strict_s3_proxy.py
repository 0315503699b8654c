"""A strict S3 stand-in for the fault tests: a threaded HTTP proxy on 127.0.0.1 in front of moto.

moto accepts what real S3 refuses (chunked bodies, wrong checksums, expired URLs), so the tests
put this proxy between the client and moto's S3. It enforces what S3 enforces and injects the
faults the upload engine must survive:

* ``Transfer-Encoding: chunked``            -> 501 NotImplemented (as S3 does)
* ``Content-Length`` missing on a PUT        -> 411 MissingContentLength
* body shorter than ``Content-Length``       -> 400 IncompleteBody
* ``x-amz-checksum-sha256`` / ``x-amz-checksum-crc64nvme`` != the body's -> 400 BadDigest; a
  checksum listed in ``X-Amz-SignedHeaders`` but not sent -> 403 SignatureDoesNotMatch
* CompleteMultipartUpload of an upload created with a CRC64NVME checksum, as S3 checks it: a
  listed part whose ``ChecksumCRC64NVME`` is not the one S3 stored -> 400 InvalidPart; a
  whole-object ``x-amz-checksum-crc64nvme`` that is not the combination of the listed parts'
  CRC64NVMEs (in order) -> 400 BadDigest. (moto checks none of this; the backend is pointed
  at the proxy for these tests so that its S3 calls pass here too.)
* :meth:`StrictS3Proxy.sink`: objects under a key prefix are kept by the proxy itself as S3
  would describe them (size, ETag, full-object CRC64NVME) but their bytes are checked and
  dropped, never held: multipart create/part/list/complete/abort and HeadObject answer here, so
  a multi-GiB upload can run end to end without moto holding it in memory.
* scripted faults for the next matching PUTs (:meth:`StrictS3Proxy.inject`):
  ``expire`` (403 AccessDenied "Request has expired"), ``status`` (e.g. 503 SlowDown, 500),
  ``cut`` (close the connection after N body bytes), ``reset`` (TCP RST after N bytes),
  ``tamper`` (one byte of the body flipped on the way, as a damaged link would: S3 refuses
  it against its signed checksum),
  ``hold`` (accept the body, then wait on an Event before forwarding it: the test pauses,
  cancels or kills the uploading process meanwhile), ``stall`` (read N body bytes, then read
  nothing more until the Event is set: a link that stopped accepting bytes).
* a slow uplink (:meth:`StrictS3Proxy.throttle`): request bodies are read at most at a rate per
  connection and at a rate shared by all connections, through a small receive buffer, so the
  client's socket writes wait as they do on a real slow link.

How requests reach it: pre-signed URLs point at moto's endpoint, so the engine is given a
``url_rewriter`` (a test hook on the transfer layer) that swaps scheme/host/port for the
proxy's; path and query (the signature) are unchanged and the proxy forwards them to moto, which
does not check signatures. That needs no change to the local stack or the Lambda.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import socket
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from awscrt.checksums import combine_crc64nvme, crc64nvme

SINK_BLOCK = 1024 * 1024


def s3_error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>strict-proxy</RequestId></Error>"
    ).encode()


@dataclass
class Fault:
    kind: str  # expire | status | cut | reset | hold | tamper
    status: int = 0
    code: str = ""
    message: str = ""
    after_bytes: int = 0
    event: threading.Event | None = None
    match: Callable[[str, str, dict[str, list[str]]], bool] | None = None


@dataclass
class Seen:
    method: str
    path: str
    part_number: int | None
    upload_id: str | None
    status: int
    body_bytes: int
    fault: str | None = None


@dataclass
class ProxyStats:
    requests: list[Seen] = field(default_factory=list)

    def puts(self, *, ok: bool | None = None) -> list[Seen]:
        out = [r for r in self.requests if r.method == "PUT"]
        if ok is not None:
            out = [r for r in out if (200 <= r.status < 300) == ok]
        return out

    def ok_parts(self) -> list[int]:
        return [r.part_number for r in self.puts(ok=True) if r.part_number is not None]


class Pacer:
    """Bytes/s as a virtual clock: :meth:`reserve` books ``n`` bytes and says when they are due."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self, n: int) -> float:
        with self._lock:
            self._next = max(time.monotonic(), self._next) + n / self.rate
            return self._next


def crc_b64(value: int) -> str:
    return base64.b64encode(value.to_bytes(8, "big")).decode()


def crc_int(value: str) -> int | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return int.from_bytes(raw, "big") if len(raw) == 8 else None


@dataclass
class StoredPart:
    size: int
    crc: int
    etag: str


@dataclass
class Upload:
    path: str
    algorithm: str
    checksum_type: str
    sunk: bool
    parts: dict[int, StoredPart] = field(default_factory=dict)


@dataclass
class SunkObject:
    size: int
    crc: int
    etag: str
    content_type: str


def _strip_ns(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_complete(body: bytes) -> list[tuple[int, str, str | None]]:
    """``[(PartNumber, ETag, ChecksumCRC64NVME)]`` of a CompleteMultipartUpload body."""
    out: list[tuple[int, str, str | None]] = []
    for part in ET.fromstring(body):
        fields = {_strip_ns(child.tag): (child.text or "") for child in part}
        out.append((int(fields.get("PartNumber", "0")), fields.get("ETag", "").strip('"'),
                    fields.get("ChecksumCRC64NVME")))
    return out


class StrictS3Proxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.stats = ProxyStats()
        self.put_received = threading.Condition()
        self.per_connection_rate = 0.0  # bytes/s of one request body (0: no cap)
        self.shared: Pacer | None = None  # bytes/s of all bodies together
        self._uploads: dict[str, Upload] = {}
        self._sunk: dict[str, SunkObject] = {}
        self._sink_prefixes: list[str] = []
        self.refused_completions: list[str] = []  # error codes of refused completions
        self.body_bytes = 0  # request body bytes read so far (all requests; as they arrive)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                proxy._handle(self)

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_HEAD(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_DELETE(self) -> None:
                proxy._handle(self)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ control
    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StrictS3Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.event is not None:
                    fault.event.set()
            self._faults.clear()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StrictS3Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def rewrite(self, url: str) -> str:
        """The engine's ``url_rewriter``: same path and query, the proxy's scheme/host/port."""
        parts = urlsplit(url)
        target = urlsplit(self.endpoint)
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))

    def inject(self, kind: str, times: int = 1, **kw: Any) -> None:
        """Queue ``times`` faults of ``kind`` for the next PUTs (optionally only those that
        ``match(method, path, query)``)."""
        with self._lock:
            for _ in range(times):
                self._faults.append(Fault(kind, **kw))

    def throttle(self, *, per_connection: float = 0, shared: float = 0,
                 rcvbuf: int = 32 * 1024) -> None:
        """A slow uplink: bodies read at most ``per_connection`` bytes/s each and ``shared``
        bytes/s together (0: no cap), through a ``rcvbuf``-byte socket receive buffer (so the
        client's writes block as they do on a real slow link, instead of filling megabytes
        of loopback buffers at once)."""
        self.per_connection_rate = float(per_connection)
        self.shared = Pacer(shared) if shared > 0 else None
        self._server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)

    def _read_body(self, h: BaseHTTPRequestHandler, length: int) -> bytes:
        if not length:
            return b""
        if self.per_connection_rate <= 0 and self.shared is None:
            data = h.rfile.read(length)
            self._count(len(data))
            return data
        own = Pacer(self.per_connection_rate) if self.per_connection_rate > 0 else None
        out = bytearray()
        while len(out) < length:
            n = min(4096, length - len(out))
            due = max(p.reserve(n) for p in (own, self.shared) if p is not None)
            time.sleep(max(0.0, due - time.monotonic()))
            chunk = h.rfile.read(n)
            if not chunk:
                break
            self._count(len(chunk))
            out += chunk
        return bytes(out)

    def _count(self, n: int) -> None:
        with self._lock:
            self.body_bytes += n

    def sink(self, key_prefix: str) -> None:
        """Keep objects whose key starts with ``key_prefix`` here (checked, bytes dropped)."""
        with self._lock:
            self._sink_prefixes.append(key_prefix)

    def sunk_object(self, key: str) -> SunkObject | None:
        with self._lock:
            return next((o for p, o in self._sunk.items() if p.split("/", 2)[-1] == key), None)

    def open_uploads(self, key_prefix: str) -> list[str]:
        """Multipart uploads under ``key_prefix`` that the proxy saw created and not finished."""
        with self._lock:
            return [u for u, up in self._uploads.items()
                    if up.path.split("/", 2)[-1].startswith(key_prefix)]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def wait_for_puts(self, count: int, timeout: float = 30.0, *, ok: bool = True) -> bool:
        with self.put_received:
            return self.put_received.wait_for(
                lambda: len(self.stats.puts(ok=ok)) >= count, timeout=timeout
            )

    # ------------------------------------------------------------------ request handling
    def _take_fault(self, method: str, path: str, query: dict[str, list[str]]) -> Fault | None:
        if method != "PUT":
            return None
        with self._lock:
            for fault in list(self._faults):
                if fault.match is None or fault.match(method, path, query):
                    self._faults.remove(fault)
                    return fault
        return None

    def _record(self, seen: Seen) -> None:
        with self.put_received:
            self.stats.requests.append(seen)
            self.put_received.notify_all()

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes,
               headers: dict[str, str] | None = None, *, close: bool = False) -> None:
        h.send_response(status)
        for k, v in (headers or {"Content-Type": "application/xml"}).items():
            h.send_header(k, v)
        if not (h.command == "HEAD" and "Content-Length" in (headers or {})):
            h.send_header("Content-Length", str(len(body)))  # a HEAD keeps the object's
        if close:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = parse_qs(url.query, keep_blank_values=True)  # "?uploads" has no value
        part = int(query["partNumber"][0]) if "partNumber" in query else None
        upload_id = query.get("uploadId", [None])[0]
        method = h.command
        seen = Seen(method, url.path, part, upload_id, 0, 0)

        def reject(status: int, code: str, message: str, *, close: bool = False) -> None:
            seen.status = status
            self._reply(h, status, s3_error_xml(code, message), close=close)
            self._record(seen)

        if self._sinks(url.path):
            self._handle_sunk(h, url, query, seen, reject)
            return

        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            # S3 does not support chunked uploads to pre-signed URLs
            reject(501, "NotImplemented",
                   "A header you provided implies functionality that is not implemented",
                   close=True)
            return
        length_header = h.headers.get("Content-Length")
        if method == "PUT" and length_header is None:
            reject(411, "MissingContentLength", "You must provide the Content-Length HTTP header.",
                   close=True)
            return
        length = int(length_header or 0)
        fault = self._take_fault(method, url.path, query)
        if fault is not None:
            seen.fault = fault.kind
        if fault is not None and fault.kind in ("cut", "reset"):
            h.rfile.read(min(length, fault.after_bytes))
            seen.body_bytes = min(length, fault.after_bytes)
            seen.status = -1
            self._record(seen)
            sock = h.connection
            if fault.kind == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            sock.close()
            h.close_connection = True
            return
        if fault is not None and fault.kind == "stall":
            h.rfile.read(min(length, fault.after_bytes))
            seen.status = -3
            self._record(seen)
            if fault.event is not None:
                fault.event.wait(120)
            h.connection.close()
            h.close_connection = True
            return
        body = self._read_body(h, length)
        seen.body_bytes = len(body)
        if fault is not None and fault.kind == "tamper" and body:
            flipped = bytearray(body)
            flipped[len(flipped) // 2] ^= 0xFF
            body = bytes(flipped)
        if len(body) != length:
            reject(400, "IncompleteBody",
                   "You did not provide the number of bytes specified by the Content-Length "
                   "HTTP header", close=True)
            return
        if fault is not None and fault.kind == "expire":
            reject(403, "AccessDenied", "Request has expired")
            return
        if fault is not None and fault.kind == "status":
            reject(fault.status, fault.code or "InternalError",
                   fault.message or "We encountered an internal error. Please try again.")
            return
        signed = ",".join(query.get("X-Amz-SignedHeaders", [])).lower().split(";")
        for name in ("x-amz-checksum-sha256", "x-amz-checksum-crc64nvme"):
            if method == "PUT" and name in signed and h.headers.get(name) is None:
                reject(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you "
                       "provided.")
                return
        checksum = h.headers.get("x-amz-checksum-sha256")
        if method == "PUT" and checksum is not None:
            actual = base64.b64encode(hashlib.sha256(body).digest()).decode()
            if actual != checksum:
                reject(400, "BadDigest",
                       "The SHA256 you specified did not match the calculated checksum.")
                return
        crc_header = h.headers.get("x-amz-checksum-crc64nvme")
        body_crc = crc64nvme(body) if method == "PUT" else 0
        if method == "PUT" and crc_header is not None and crc_b64(body_crc) != crc_header:
            reject(400, "BadDigest",
                   "The CRC64NVME you specified did not match the calculated checksum.")
            return
        if method == "POST" and upload_id is not None:
            refusal = self._check_complete(upload_id, body, h.headers)
            if refusal is not None:
                self.refused_completions.append(refusal[0])
                reject(400, *refusal)
                return
        if fault is not None and fault.kind == "hold" and fault.event is not None:
            seen.status = -2
            self._record(seen)  # the test sees the body arrived (and may kill the client)
            fault.event.wait()
            seen = Seen(method, url.path, part, upload_id, 0, len(body), "held")
        status, data = self._forward(h, url, body, seen)
        self._learn(method, url.path, query, h.headers, status, data, body_crc, len(body))

    # ------------------------------------------------------------------ what S3 remembers
    def _learn(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
               status: int, data: bytes, body_crc: int, size: int) -> None:
        """Remember uploads and their parts' checksums as S3 stores them."""
        if not 200 <= status < 300:
            return
        upload_id = query.get("uploadId", [None])[0]
        with self._lock:
            if method == "POST" and "uploads" in query:
                m = re.search(rb"<UploadId>([^<]+)</UploadId>", data)
                if m:
                    self._uploads[m.group(1).decode()] = Upload(
                        path, (headers.get("x-amz-checksum-algorithm") or "").upper(),
                        (headers.get("x-amz-checksum-type") or "").upper(), sunk=False)
            elif method == "PUT" and upload_id in self._uploads and "partNumber" in query:
                self._uploads[upload_id].parts[int(query["partNumber"][0])] = StoredPart(
                    size, body_crc, "")
            elif method in ("POST", "DELETE") and upload_id is not None:
                self._uploads.pop(upload_id, None)

    def _check_complete(self, upload_id: str, body: bytes,
                        headers: Any) -> tuple[str, str] | None:
        """S3's checks of a CompleteMultipartUpload (see module doc); None when it passes."""
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None or upload.algorithm != "CRC64NVME":
                return None
            stored = dict(upload.parts)
        try:
            listed = parse_complete(body)
        except ET.ParseError:
            return ("MalformedXML", "The XML you provided was not well-formed.")
        combined: int | None = 0
        for n, _etag, part_crc in listed:
            part = stored.get(n)
            if part is None:
                combined = None  # sent around the proxy: moto judges the part itself
                continue
            if part_crc is not None and crc_int(part_crc) != part.crc:
                return ("InvalidPart", "One or more of the specified parts could not be found. "
                        "The part may not have been uploaded, or the specified entity tag may "
                        "not match the part's entity tag.")
            if combined is not None:
                combined = combine_crc64nvme(combined, part.crc, part.size) if n != listed[0][0] \
                    else part.crc
        claimed = headers.get("x-amz-checksum-crc64nvme")
        if claimed is not None and combined is not None and crc_int(claimed) != combined:
            return ("BadDigest",
                    "The CRC64NVME you specified did not match the calculated checksum.")
        return None

    # ------------------------------------------------------------------ sunk objects
    def _sinks(self, path: str) -> bool:
        key = unquote(path).lstrip("/").split("/", 1)[-1]
        with self._lock:
            return any(key.startswith(p) for p in self._sink_prefixes)

    def _handle_sunk(self, h: BaseHTTPRequestHandler, url: Any, query: dict[str, list[str]],
                     seen: Seen, reject: Callable[..., None]) -> None:
        method, path = h.command, unquote(url.path)
        upload_id = query.get("uploadId", [None])[0]
        length = int(h.headers.get("Content-Length") or 0)
        xml = {"Content-Type": "application/xml"}

        def ok(body: bytes = b"", headers: dict[str, str] | None = None,
               status: int = 200) -> None:
            seen.status = status
            self._reply(h, status, body, headers or xml)
            self._record(seen)

        if method == "POST" and "uploads" in query:
            h.rfile.read(length)
            new_id = "sink-" + uuid.uuid4().hex
            with self._lock:
                self._uploads[new_id] = Upload(
                    path, (h.headers.get("x-amz-checksum-algorithm") or "").upper(),
                    (h.headers.get("x-amz-checksum-type") or "").upper(), sunk=True)
            ok(f"<InitiateMultipartUploadResult><UploadId>{new_id}</UploadId>"
               "</InitiateMultipartUploadResult>".encode())
            return
        with self._lock:
            upload = self._uploads.get(upload_id) if upload_id else None
        if upload_id is not None and upload is None:
            if length:
                h.rfile.read(length)
            reject(404, "NoSuchUpload", "The specified upload does not exist.")
            return
        if method == "PUT" and upload is not None and "partNumber" in query:
            self._sink_part(h, query, upload, seen, reject)
            return
        if method == "GET" and upload is not None:
            with self._lock:
                parts = sorted(upload.parts.items())
            items = "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>\"{p.etag}\"</ETag>"
                f"<Size>{p.size}</Size><ChecksumCRC64NVME>{crc_b64(p.crc)}</ChecksumCRC64NVME>"
                "</Part>" for n, p in parts)
            ok(f"<ListPartsResult><UploadId>{upload_id}</UploadId><IsTruncated>false"
               f"</IsTruncated>{items}</ListPartsResult>".encode())
            return
        if method == "POST" and upload is not None:
            body = h.rfile.read(length)
            refusal = self._check_complete(str(upload_id), body, h.headers)
            if refusal is not None:
                self.refused_completions.append(refusal[0])
                reject(400, *refusal)
                return
            listed = parse_complete(body)
            with self._lock:
                stored = dict(upload.parts)
            if any(n not in stored or stored[n].etag != etag for n, etag, _c in listed):
                reject(400, "InvalidPart", "One or more of the specified parts could not be "
                       "found.")
                return
            crc, size = 0, 0
            for i, (n, _etag, _c) in enumerate(listed):
                crc = stored[n].crc if i == 0 else combine_crc64nvme(crc, stored[n].crc,
                                                                      stored[n].size)
                size += stored[n].size
            digest = hashlib.md5(
                b"".join(bytes.fromhex(stored[n].etag) for n, _e, _c in listed)).hexdigest()
            etag = f"{digest}-{len(listed)}"
            with self._lock:
                self._uploads.pop(str(upload_id), None)
                self._sunk[path] = SunkObject(size, crc, etag, "video/mp4")
            ok(f"<CompleteMultipartUploadResult><ETag>\"{etag}\"</ETag>"
               f"<ChecksumCRC64NVME>{crc_b64(crc)}</ChecksumCRC64NVME>"
               "<ChecksumType>FULL_OBJECT</ChecksumType></CompleteMultipartUploadResult>"
               .encode())
            return
        if method == "DELETE" and upload is not None:
            with self._lock:
                self._uploads.pop(str(upload_id), None)
            ok(status=204)
            return
        with self._lock:
            obj = self._sunk.get(path)
        if method == "HEAD":
            if obj is None:
                reject(404, "NoSuchKey", "The specified key does not exist.")
                return
            headers = {"Content-Length": str(obj.size), "ETag": f'"{obj.etag}"',
                       "Content-Type": obj.content_type}
            if (h.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED":
                headers["x-amz-checksum-crc64nvme"] = crc_b64(obj.crc)
                headers["x-amz-checksum-type"] = "FULL_OBJECT"
            seen.status = 200
            h.send_response(200)
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            self._record(seen)
            return
        if method == "DELETE":
            with self._lock:
                self._sunk.pop(path, None)
            ok(status=204)
            return
        if length:
            h.rfile.read(length)
        reject(501, "NotImplemented", "The sink keeps no bytes to read back.")

    def _sink_part(self, h: BaseHTTPRequestHandler, query: dict[str, list[str]], upload: Upload,
                   seen: Seen, reject: Callable[..., None]) -> None:
        """Stream a part's body through CRC64NVME and MD5 (its ETag), one block at a time."""
        length = int(h.headers.get("Content-Length") or 0)
        fault = self._take_fault("PUT", h.path, query)
        crc, md5, got = 0, hashlib.md5(), 0
        while got < length:
            block = h.rfile.read(min(SINK_BLOCK, length - got))
            if not block:
                break
            if fault is not None and fault.kind == "tamper" and got == 0:
                flipped = bytearray(block)
                flipped[len(flipped) // 2] ^= 0xFF
                block = bytes(flipped)
            crc = crc64nvme(block, crc)
            md5.update(block)
            got += len(block)
        seen.body_bytes = got
        if got != length:
            reject(400, "IncompleteBody", "You did not provide the number of bytes specified "
                   "by the Content-Length HTTP header", close=True)
            return
        claimed = h.headers.get("x-amz-checksum-crc64nvme")
        signed = ",".join(query.get("X-Amz-SignedHeaders", [])).lower().split(";")
        if "x-amz-checksum-crc64nvme" in signed and claimed is None:
            reject(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                   "not match the signature you provided.")
            return
        if claimed is not None and crc_int(claimed) != crc:
            reject(400, "BadDigest",
                   "The CRC64NVME you specified did not match the calculated checksum.")
            return
        etag = md5.hexdigest()
        with self._lock:
            upload.parts[int(query["partNumber"][0])] = StoredPart(length, crc, etag)
        seen.status = 200
        self._reply(h, 200, b"", {"ETag": f'"{etag}"', "x-amz-checksum-crc64nvme": crc_b64(crc)})
        self._record(seen)

    def _forward(self, h: BaseHTTPRequestHandler, url: Any, body: bytes,
                 seen: Seen) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in h.headers.items()
                       if k.lower() not in ("host", "connection", "transfer-encoding")}
            headers["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            target = url.path + (f"?{url.query}" if url.query else "")
            conn.request(h.command, target, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders()
                   if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                        "server", "date")}
            if h.command == "HEAD" and resp.getheader("Content-Length") is not None:
                out["Content-Length"] = str(resp.getheader("Content-Length"))
        finally:
            conn.close()
        seen.status = resp.status
        self._reply(h, resp.status, data, out)
        self._record(seen)
        return resp.status, data
