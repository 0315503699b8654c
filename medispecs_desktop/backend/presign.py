"""Pre-signed GET URLs for a page of recordings at the cost of one HMAC each.

A listing page signs up to 100 thumbnail URLs. ``generate_presigned_url`` runs botocore's whole
request pipeline for each (parameter validation, the endpoint ruleset, event hooks, the signer):
~0.25 ms of CPU per URL, a quarter of the handler's time on a page. :class:`GetSigner` asks
botocore once - a *probe* URL for the same bucket, response type and lifetime - and reads from it
everything that does not depend on the key: the endpoint and addressing style as botocore
resolved them, the credential scope, the extra query parameters. Each further URL is that one
with another key path, signed with AWS Signature Version 4 for query strings (the
``UNSIGNED-PAYLOAD`` form S3 documents for pre-signed URLs, only ``host`` signed) and a signing
key derived once per day and region.

It gives way to botocore whenever it could differ from it: a key that needs percent-encoding, a
probe it does not recognise (another algorithm, signed headers other than ``host``), credentials
that are not the probe's (rotated: a new probe is made), or no credentials to read. Given the
same clock, the URL is botocore's, byte for byte in its parameters and signature
(tests/backend/test_backend_presign.py checks that against botocore for both addressing styles,
with and without a session token).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

__all__ = ["Credentials", "GetSigner", "frozen_credentials"]

ALGORITHM = "AWS4-HMAC-SHA256"
_PROBE_KEY = "medispecs-probe/p"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-/~]+")  # keys that need no percent-encoding


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


@dataclass(frozen=True)
class _Probe:
    prefix: str  # scheme://host/path-up-to-the-key
    path_prefix: str
    host: str
    region: str
    access_key: str
    token: str | None
    extra: tuple[tuple[str, str], ...]  # query parameters that are not X-Amz-* (x-id, ...)


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


class GetSigner:
    """Signs GET URLs like ``client.generate_presigned_url("get_object", ...)`` does.

    ``presign``: botocore's own call ``(key, content_type) -> url`` (the probe, and the way for
    anything unusual); ``credentials``: the current credentials of that client, or None."""

    def __init__(self, presign: Callable[[str, str | None], str],
                 credentials: Callable[[], Credentials | None], expires: int,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._presign = presign
        self._credentials = credentials
        self._expires = int(expires)
        self._clock = clock
        self._lock = threading.Lock()
        self._probes: dict[tuple[str | None, str, str | None], _Probe | None] = {}
        self._keys: dict[tuple[str, str, str], bytes] = {}
        self._templates: dict[tuple[_Probe, str, str | None, str], tuple[str, str]] = {}

    def url(self, key: str, content_type: str | None = None) -> str:
        creds = self._credentials() if _PLAIN_KEY.fullmatch(key) else None
        probe = self._probe(content_type, creds) if creds is not None else None
        if creds is None or probe is None:
            return self._presign(key, content_type)
        now = self._clock().astimezone(UTC)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        scope = f"{day}/{probe.region}/s3/aws4_request"
        head, tail = self._query_template(probe, creds, scope)
        query = head + amz_date + tail  # (the date needs no percent-encoding)
        path = probe.path_prefix + key
        canonical = f"GET\n{path}\n{query}\nhost:{probe.host}\n\nhost\nUNSIGNED-PAYLOAD"
        to_sign = (f"{ALGORITHM}\n{amz_date}\n{scope}\n"
                   f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        signature = hmac.new(self._signing_key(creds.secret_key, day, probe.region),
                             to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{probe.prefix}{key}?{query}&X-Amz-Signature={signature}"

    def _query_template(self, probe: _Probe, creds: Credentials,
                        scope: str) -> tuple[str, str]:
        """The canonical (sorted, encoded) query string around the X-Amz-Date value: the same
        for every URL of a day, response type and credentials."""
        cache_key = (probe, creds.access_key, creds.token, scope)
        found = self._templates.get(cache_key)
        if found is None:
            marker = "\x00"
            params = [*probe.extra, ("X-Amz-Algorithm", ALGORITHM),
                      ("X-Amz-Credential", f"{creds.access_key}/{scope}"),
                      ("X-Amz-Date", marker), ("X-Amz-Expires", str(self._expires)),
                      ("X-Amz-SignedHeaders", "host")]
            if creds.token:
                params.append(("X-Amz-Security-Token", creds.token))
            encoded = "&".join(f"{_quote(k)}={marker if v == marker else _quote(v)}"
                               for k, v in sorted(params))
            head, _, tail = encoded.partition(marker)
            found = (head, tail)
            with self._lock:
                if len(self._templates) > 16:
                    self._templates.clear()
                self._templates[cache_key] = found
        return found

    def _signing_key(self, secret: str, day: str, region: str) -> bytes:
        cache_key = (secret, day, region)
        found = self._keys.get(cache_key)
        if found is None:
            found = ("AWS4" + secret).encode()
            for part in (day, region, "s3", "aws4_request"):
                found = hmac.new(found, part.encode(), hashlib.sha256).digest()
            with self._lock:
                if len(self._keys) > 8:
                    self._keys.clear()
                self._keys[cache_key] = found
        return found

    def _probe(self, content_type: str | None, creds: Credentials) -> _Probe | None:
        cache_key = (content_type, creds.access_key, creds.token)
        with self._lock:
            if cache_key in self._probes:
                return self._probes[cache_key]
        probe = _read_probe(self._presign(_PROBE_KEY, content_type), creds)
        with self._lock:
            if len(self._probes) > 16:  # credentials rotated many times: start afresh
                self._probes.clear()
            self._probes[cache_key] = probe
        return probe


def _read_probe(url: str, creds: Credentials) -> _Probe | None:
    """What a botocore URL for the probe key says about every other key (None: not a URL this
    module can reproduce)."""
    parts = urlsplit(url)
    params: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in params:
            return None
        params[name] = value
    scope = params.get("X-Amz-Credential", "").split("/")
    if (params.get("X-Amz-Algorithm") != ALGORITHM or params.get("X-Amz-SignedHeaders") != "host"
            or len(scope) != 5 or scope[3:] != ["s3", "aws4_request"]
            or scope[0] != creds.access_key
            or params.get("X-Amz-Security-Token") != (creds.token or None)
            or not parts.path.endswith("/" + _PROBE_KEY)):
        return None
    extra = tuple(sorted((k, v) for k, v in params.items() if not k.startswith("X-Amz-")))
    path_prefix = parts.path[: -len(_PROBE_KEY)]
    return _Probe(prefix=f"{parts.scheme}://{parts.netloc}{path_prefix}",
                  path_prefix=path_prefix, host=parts.netloc, region=scope[2],
                  access_key=creds.access_key, token=creds.token, extra=extra)


def frozen_credentials(source: Any) -> Credentials | None:
    """Current credentials of a boto3/botocore credentials object (refreshed if due)."""
    if source is None:
        return None
    frozen = source.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return None
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)
