"""Client for the videos API (docs/contract.md §1).

One ``requests.Session`` (connection pooling, OS trust store, proxies, timeouts and retries from
``core.http``), the bearer token from a :class:`~medispecs_desktop.core.auth.TokenProvider`,
exactly one refresh and retry on a 401, typed :class:`Video` results, and every failure mapped
to one of the core's error types:

* ``OfflineError`` — connection refused/reset, DNS failure, timeouts;
* ``NotSignedInError`` — 401 even after a token refresh;
* ``ForbiddenError`` 403, ``NotFoundError`` 404, ``ConflictError`` 409 (``.code`` is the
  server's, e.g. ``version_conflict``), ``ValidationError`` other 4xx, ``ServerError`` 5xx.

Both error shapes are understood: the gateway's ``{"message": ...}`` and the handler's
``{"error": {"code": ..., "message": ...}}``. Nothing logged here carries a token or a URL
signature.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import requests

from medispecs_desktop.core.auth import TokenProvider
from medispecs_desktop.core.config import Settings, require_secure_url
from medispecs_desktop.core.errors import (
    ApiError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
    ServerError,
    ValidationError,
)
from medispecs_desktop.core.http import make_session
from medispecs_desktop.core.logs import redact
from medispecs_desktop.core.markers import Marker, new_marker_id
from medispecs_desktop.core.models import Video, format_utc, parse_utc

log = logging.getLogger(__name__)

MAX_LIMIT = 100
HISTORY_MAX_LIMIT = 1000
SIGN_BATCH = 100  # parts per sign request (server limit)
DUPLICATES_BATCH = 100
PING_TIMEOUT = (3.0, 5.0)


@dataclass(frozen=True)
class Page:
    """One page of the listing, newest first; ``next_cursor`` is None on the last page."""

    items: list[Video]
    next_cursor: str | None


@dataclass(frozen=True)
class PlaybackUrl:
    """A pre-signed GET URL for streaming a recording, and when it stops working."""

    url: str
    expires_at: float

    def __repr__(self) -> str:  # the URL carries a signature: keep it out of reprs/logs
        return f"PlaybackUrl(url={redact(self.url)!r}, expires_at={self.expires_at})"


@dataclass(frozen=True)
class AccessEvent:
    """One entry of a recording's audit trail (``GET /videos/{id}/history``)."""

    at: str
    action: str
    user_id: str
    username: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AccessEvent:
        def text(name: str) -> str | None:
            value = data.get(name)
            return str(value) if value not in (None, "") else None

        return cls(at=text("at") or "", action=text("action") or "", user_id=text("userId") or "",
                   username=text("username"), source_ip=text("sourceIp"),
                   user_agent=text("userAgent"), request_id=text("requestId"))

    def to_json(self) -> dict[str, str | None]:
        """The stable JSON shape (``history --json``)."""
        return {"at": self.at, "action": self.action, "userId": self.user_id,
                "username": self.username, "sourceIp": self.source_ip,
                "userAgent": self.user_agent}


DateLike = date | datetime | str


def _date_param(value: DateLike | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _expires_at(data: dict[str, Any], now: float) -> float:
    """When a URL stops working, on the local clock: ``expiresIn`` from when it was asked for
    (immune to a skewed workstation clock, which matters for 10-minute playback URLs), else
    ``expiresAt``."""
    relative = data.get("expiresIn")
    if isinstance(relative, int | float) and not isinstance(relative, bool) and relative > 0:
        return now + float(relative)
    raw = data.get("expiresAt")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str) and raw:
        try:
            return parse_utc(raw).timestamp()
        except ValueError:
            pass
    try:
        return now + float(data.get("expiresIn") or 0)
    except (TypeError, ValueError):
        return now


class ApiClient:
    """The videos API for one signed-in user (thread-safe: share one per app)."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenProvider,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.api_url:
            raise ConfigurationError(
                "The videos API URL is not set: enter it in Settings (or MEDISPECS_API_URL)."
            )
        require_secure_url(settings.api_url, "videos API URL")
        self.settings = settings
        self.base_url = settings.api_url.rstrip("/")
        self.tokens = tokens
        self.session = session if session is not None else make_session()
        self._probe: requests.Session | None = None
        self._clock = clock

    def close(self) -> None:
        self.session.close()
        if self._probe is not None:
            self._probe.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _send(self, method: str, path: str, token: str, *, params: dict[str, Any] | None,
              body: Any) -> requests.Response:
        try:
            return self.session.request(
                method,
                self._url(path),
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except requests.exceptions.SSLError as exc:
            raise OfflineError(
                f"The secure connection to {self.base_url} failed: its certificate is not "
                "trusted. If your network inspects TLS, its certificate must be in the "
                "operating system's certificate store.",
                code="tls_error",
            ) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise OfflineError(
                f"Cannot reach the MediSpecs service at {self.base_url}: check the network "
                "connection or proxy.",
            ) from exc
        except requests.RequestException as exc:
            raise OfflineError(f"The request to the MediSpecs service failed: "
                               f"{redact(str(exc))}") from exc

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None) -> Any:
        """Call the API; returns the decoded JSON body (None for an empty body)."""
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        started = time.monotonic()
        response = self._send(method, path, self.tokens.id_token(), params=params, body=body)
        if response.status_code == 401:
            response.close()
            log.info("%s %s -> 401: refreshing the token once", method, path)
            token = self.tokens.force_refresh()
            response = self._send(method, path, token, params=params, body=body)
            if response.status_code == 401:
                response.close()
                raise NotSignedInError(
                    "The service no longer accepts this sign-in: sign in again.", status=401
                )
        log.debug("%s %s -> %s (%.0f ms)", method, path, response.status_code,
                  (time.monotonic() - started) * 1000)
        if response.status_code >= 400:
            raise _error_for(response, method, path)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ServerError(
                f"The service answered {method} {path} with something that is not JSON.",
                status=response.status_code,
            ) from exc

    def _object(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        data = self.request(method, path, **kw)
        if not isinstance(data, dict):
            raise ServerError(f"Unexpected answer to {method} {path}: expected an object.")
        return data

    @staticmethod
    def _vid(video_id: str) -> str:
        if not video_id or not isinstance(video_id, str):
            raise ValueError("video_id must be a non-empty string")
        return quote(video_id, safe="")

    # ------------------------------------------------------------------ videos

    def list_videos(
        self,
        *,
        date_from: DateLike | None = None,
        date_to: DateLike | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """One page of the user's recordings, newest first; dates are UTC."""
        if not 1 <= int(limit) <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        data = self._object(
            "GET",
            "/videos",
            params={
                "from": _date_param(date_from),
                "to": _date_param(date_to),
                "limit": int(limit),
                "cursor": cursor or None,
            },
        )
        items = data.get("items") or []
        if not isinstance(items, list):
            raise ServerError("Unexpected answer to GET /videos: items is not a list.")
        next_cursor = data.get("nextCursor")
        return Page(
            items=[Video.from_api(item) for item in items if isinstance(item, dict)],
            next_cursor=str(next_cursor) if next_cursor else None,
        )

    def iter_videos(self, *, prefetch: bool = False, **kw: Any) -> Generator[Video, None, None]:
        """Every recording in the range, page after page (``list_videos`` arguments).

        ``prefetch``: the next page is asked for on a worker thread as soon as its cursor is
        known, while the caller works through this one (one page ahead, never more; a
        consumer that stops early leaves at most that one request to finish)."""
        cursor = kw.pop("cursor", None)
        if not prefetch:
            while True:
                page = self.list_videos(cursor=cursor, **kw)
                yield from page.items
                if not page.next_cursor or page.next_cursor == cursor:
                    return
                cursor = page.next_cursor
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="list-prefetch") as pool:
            ahead = pool.submit(self.list_videos, cursor=cursor, **kw)
            try:
                while True:
                    page = ahead.result()
                    last = not page.next_cursor or page.next_cursor == cursor
                    if not last:
                        cursor = page.next_cursor
                        ahead = pool.submit(self.list_videos, cursor=cursor, **kw)
                    yield from page.items
                    if last:
                        return
            finally:
                ahead.cancel()

    def get_video(self, video_id: str) -> Video:
        return Video.from_api(self._object("GET", f"/videos/{self._vid(video_id)}"))

    def create_video(self, payload: dict[str, Any]) -> Video:
        return Video.from_api(self._object("POST", "/videos", body=payload))

    def update_video(
        self,
        video_id: str,
        *,
        version: int,
        title: str | None = None,
        notes: str | None = None,
        thumbnail: bool | None = None,
    ) -> Video:
        """Change title/notes or record the uploaded thumbnail; ``version`` is the one the
        caller last saw (409 ``version_conflict`` if someone changed it since)."""
        body: dict[str, Any] = {"version": int(version)}
        if title is not None:
            body["title"] = title
        if notes is not None:
            body["notes"] = notes
        if thumbnail is not None:
            body["thumbnail"] = bool(thumbnail)
        return Video.from_api(self._object("PATCH", f"/videos/{self._vid(video_id)}", body=body))

    def delete_video(self, video_id: str) -> None:
        """Move the recording to the Trash (restorable until its ``purgeAt``)."""
        self.request("DELETE", f"/videos/{self._vid(video_id)}")

    # ------------------------------------------------------------------ trash

    def list_trash(self, *, limit: int = 50, cursor: str | None = None) -> Page:
        """One page of the Trash, most recently deleted first; each video's ``extra`` holds
        ``trashedAt`` and ``purgeAt`` (UTC)."""
        if not 1 <= int(limit) <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        data = self._object("GET", "/trash", params={"limit": int(limit), "cursor": cursor})
        items = data.get("items") or []
        if not isinstance(items, list):
            raise ServerError("Unexpected answer to GET /trash: items is not a list.")
        next_cursor = data.get("nextCursor")
        return Page(
            items=[Video.from_api(item) for item in items if isinstance(item, dict)],
            next_cursor=str(next_cursor) if next_cursor else None,
        )

    def iter_trash(self) -> Iterator[Video]:
        """Everything in the Trash, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_trash(limit=MAX_LIMIT, cursor=cursor)
            yield from page.items
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    def restore_video(self, video_id: str) -> Video:
        """Put a trashed recording back in the library (ConflictError ``duplicate`` when the
        same file was stored again meanwhile)."""
        return Video.from_api(self._object("POST", f"/trash/{self._vid(video_id)}/restore"))

    def purge_video(self, video_id: str) -> None:
        """Delete a trashed recording forever (every stored version of its bytes)."""
        self.request("DELETE", f"/trash/{self._vid(video_id)}")

    def upload_url(self, video_id: str, *, content_type: str, size: int,
                   sha256_b64: str | None = None,
                   crc64nvme_b64: str | None = None) -> dict[str, Any]:
        return self._object(
            "GET",
            f"/videos/{self._vid(video_id)}/upload-url",
            params={"contentType": content_type, "size": int(size), "sha256": sha256_b64,
                    "crc64nvme": crc64nvme_b64},
        )

    def playback_url(self, video_id: str) -> PlaybackUrl:
        now = self._clock()
        data = self._object("GET", f"/videos/{self._vid(video_id)}/playback-url")
        url = data.get("playbackUrl")
        if not isinstance(url, str) or not url:
            raise ServerError("The service returned no playback URL.")
        return PlaybackUrl(url=url, expires_at=_expires_at(data, now))

    def history(self, video_id: str, *, limit: int = 100,
                before: AccessEvent | None = None) -> list[AccessEvent]:
        """Who accessed the recording, newest first (at most ``limit`` 1..1000 events; older
        than ``before`` when given). Asking is itself recorded, as the first event."""
        if not 1 <= int(limit) <= HISTORY_MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {HISTORY_MAX_LIMIT}")
        cursor = None
        if before is not None:
            cursor = f"{before.at}#{before.request_id}" if before.request_id else before.at
        data = self.request("GET", f"/videos/{self._vid(video_id)}/history",
                            params={"limit": int(limit), "before": cursor})
        return [AccessEvent.from_api(e) for e in _list_of_dicts(data, "history")]

    def iter_history(self, video_id: str, *, page: int = 1000) -> Iterator[AccessEvent]:
        """Every event of the recording's audit trail, newest first, page after page."""
        before: AccessEvent | None = None
        while True:
            events = self.history(video_id, limit=page, before=before)
            yield from events
            if len(events) < page or events[-1] == before:
                return
            before = events[-1]

    # ------------------------------------------------------------------ markers

    def list_markers(self, video_id: str) -> list[Marker]:
        """The recording's markers, earliest first."""
        data = self._object("GET", f"/videos/{self._vid(video_id)}/markers")
        return [Marker.from_api(m) for m in _list_of_dicts(data.get("items"), "items")]

    def create_marker(self, video_id: str, *, time_ms: int, text: str,
                      marker_id: str | None = None, still_png: bytes | None = None) -> Marker:
        """Mark ``time_ms`` with ``text``; the id is made here, so a retry is harmless.
        ``still_png``: the frame as a PNG, kept with the marker (sent straight to S3)."""
        body: dict[str, Any] = {"timeMs": max(0, int(time_ms)), "text": text,
                                "markerId": marker_id or new_marker_id()}
        if still_png:
            body["stillBytes"] = len(still_png)
        data = self._object("POST", f"/videos/{self._vid(video_id)}/markers", body=body)
        if still_png:
            self._put_still(data, still_png)
        return Marker.from_api(data)

    def _put_still(self, answer: dict[str, Any], png: bytes) -> None:
        """PUT the still through the pre-signed URL the marker's answer carries."""
        from medispecs_desktop.core.uploads.transfer import make_upload_session, put_object

        url = answer.get("stillUploadUrl")
        headers = answer.get("stillUploadHeaders")
        if not isinstance(url, str) or not isinstance(headers, dict):
            raise ServerError("The service gave no upload address for the still.", status=502)
        with make_upload_session(pool_maxsize=1) as session:
            put_object(session, url, {str(k): str(v) for k, v in headers.items()}, png)

    def fetch_still(self, marker: Marker) -> bytes:
        """The marker's still (PNG bytes) through its pre-signed URL."""
        if not marker.still_url:
            raise NotFoundError("This marker has no still.", status=404)
        import requests

        try:
            answer = requests.get(marker.still_url, timeout=(10, 30))
        except requests.RequestException as exc:
            raise OfflineError(f"The still could not be fetched: {redact(str(exc))}") from exc
        if answer.status_code != 200 or not answer.content.startswith(b"\x89PNG"):
            raise NotFoundError(f"The still could not be fetched (HTTP {answer.status_code}).",
                                status=answer.status_code)
        return bytes(answer.content)

    def update_marker(self, video_id: str, marker_id: str, *, version: int,
                      time_ms: int | None = None, text: str | None = None,
                      still_png: bytes | None = None, remove_still: bool = False) -> Marker:
        """Move a marker, change its text, give it a still of the frame (``still_png``) or
        take its still away (409 ``version_conflict`` when stale)."""
        body: dict[str, Any] = {"version": int(version)}
        if time_ms is not None:
            body["timeMs"] = max(0, int(time_ms))
        if text is not None:
            body["text"] = text
        if still_png:
            body["stillBytes"] = len(still_png)
        elif remove_still:
            body["stillBytes"] = 0
        path = f"/videos/{self._vid(video_id)}/markers/{quote(marker_id, safe='')}"
        data = self._object("PATCH", path, body=body)
        if still_png:
            self._put_still(data, still_png)
        return Marker.from_api(data)

    def delete_marker(self, video_id: str, marker_id: str) -> None:
        self.request("DELETE",
                     f"/videos/{self._vid(video_id)}/markers/{quote(marker_id, safe='')}")

    def thumbnail_upload_url(self, video_id: str) -> dict[str, Any]:
        return self._object("GET", f"/videos/{self._vid(video_id)}/thumbnail-upload-url")

    # ------------------------------------------------------------------ multipart

    def create_multipart(self, video_id: str, *, size: int, part_size: int,
                         content_type: str) -> dict[str, Any]:
        return self._object(
            "POST",
            f"/videos/{self._vid(video_id)}/multipart",
            body={"fileSizeBytes": int(size), "partSizeBytes": int(part_size),
                  "contentType": content_type},
        )

    def sign_parts(self, video_id: str, upload_id: str,
                   parts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Pre-signed part URLs; more than 100 parts are asked for in batches."""
        path = f"/videos/{self._vid(video_id)}/multipart/{self._vid(upload_id)}/sign"
        signed: list[dict[str, Any]] = []
        for start in range(0, len(parts), SIGN_BATCH):
            data = self._object("POST", path, body={"parts": list(parts[start:start + SIGN_BATCH])})
            signed.extend(_list_of_dicts(data.get("parts"), "parts"))
        return signed

    def list_parts(self, video_id: str, upload_id: str) -> list[dict[str, Any]]:
        data = self._object(
            "GET", f"/videos/{self._vid(video_id)}/multipart/{self._vid(upload_id)}/parts"
        )
        return _list_of_dicts(data.get("parts"), "parts")

    def complete_multipart(self, video_id: str, upload_id: str,
                           parts: Sequence[dict[str, Any]], *,
                           checksum_crc64nvme: str) -> dict[str, Any]:
        """Assemble the object; S3 checks the whole file's CRC64NVME (409
        ``checksum_mismatch`` when it differs: the upload is then aborted)."""
        return self._object(
            "POST",
            f"/videos/{self._vid(video_id)}/multipart/{self._vid(upload_id)}/complete",
            body={"parts": list(parts), "checksumCRC64NVME": checksum_crc64nvme},
        )

    def abort_multipart(self, video_id: str, upload_id: str) -> None:
        self.request("DELETE",
                     f"/videos/{self._vid(video_id)}/multipart/{self._vid(upload_id)}")

    def find_duplicates(self, *, sha256s: Iterable[str] = (),
                        fingerprints: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Recordings the user already has with one of these SHA-256s/fingerprints."""
        hashes, prints = list(sha256s), list(fingerprints)
        matches: list[dict[str, Any]] = []
        for start in range(0, max(len(hashes), len(prints)), DUPLICATES_BATCH):
            data = self._object(
                "POST",
                "/videos/duplicates",
                body={"sha256": hashes[start:start + DUPLICATES_BATCH],
                      "fingerprints": prints[start:start + DUPLICATES_BATCH]},
            )
            matches.extend(_list_of_dicts(data.get("matches"), "matches"))
        return matches

    # ------------------------------------------------------------------ reachability

    def ping(self) -> bool:
        """True if the API answers at all (any HTTP status); never raises, never retries."""
        try:
            if self._probe is None:
                self._probe = make_session(retries=0, timeout=PING_TIMEOUT, pool_maxsize=2)
            response = self._probe.options(self._url("/videos"))
            response.close()
        except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
            log.debug("ping %s failed: %s", self.base_url, type(exc).__name__)
            return False
        return True


def _list_of_dicts(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ServerError(f"Unexpected answer from the service: {name} is not a list.")
    return [item for item in value if isinstance(item, dict)]


def _error_for(response: requests.Response, method: str, path: str) -> ApiError:
    status = response.status_code
    code: str | None = None
    message: str | None = None
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            code = str(err.get("code")) if err.get("code") else None
            message = str(err.get("message")) if err.get("message") else None
        elif isinstance(err, str):
            message = err
        if message is None and isinstance(data.get("message"), str):
            message = data["message"]
    if not message:
        message = f"The service answered {method} {path} with HTTP {status} {response.reason}."
    message = redact(message)
    cls: type[ApiError]
    if status == 403:
        cls = ForbiddenError
    elif status == 404:
        cls = NotFoundError
    elif status == 409:
        cls = ConflictError
    elif status >= 500:
        cls = ServerError
    else:
        cls = ValidationError
    err_obj = cls(message, code=code, status=status)
    log.info("%s %s -> %s %s", method, path, status, err_obj.code)
    return err_obj
