"""Markers: a moment of a recording with a short comment (``/videos/{videoId}/markers``).

Items live in the single table beside the caller's videos::

    PK = USER#{userId}     SK = MARKER#{videoId}#{markerId}
    attributes: entity="MARKER", markerId, videoId, userId, timeMs, text, author,
                createdAt, updatedAt, version, stillS3Key?

so a recording's markers are one ``Query`` (``begins_with``) in the caller's own partition: another
user's recording is simply not found (404), as for videos. Creating needs the recording to exist;
a client may send its own ``markerId`` (``m_`` + URL-safe characters) so a retried create is
answered with the marker it made, not a second one. Edits carry the expected ``version``
(optimistic locking: a stale one is 409 ``version_conflict``). Every access is audited by the
handler's hook (audit.py names these routes). The routes are ``api/markers.py``.

A marker can carry a **still**: the frame on screen as a PNG, kept with the recording under
``thumbnails/{userId}/{videoId}/stills/{markerId}.png`` (a key the server derives). A create or
an edit with ``stillBytes`` (the PNG's size, at most 8 MiB) answers with ``stillUploadUrl`` and
``stillUploadHeaders``: a pre-signed PUT for exactly that many bytes of ``image/png``; the
marker then lists a pre-signed ``stillUrl``. ``stillBytes: 0`` removes the still. Deleting the
marker deletes its still; purging the recording from the Trash deletes its markers and stills.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from . import schema
from .errors import BadRequest, Conflict, NotFound
from .storage import VideoStorage
from .store import Item, VideoStore
from .validation import Field, format_utc

__all__ = [
    "ENTITY_MARKER",
    "MARKER_FIELDS",
    "MARKER_ID_RE",
    "MAX_MARKERS_PER_VIDEO",
    "MAX_TEXT",
    "MarkerService",
    "marker_sk",
    "validate_marker_id",
]

ENTITY_MARKER = "MARKER"
MARKER_ID_RE = re.compile(r"^m_[A-Za-z0-9_-]{1,62}$")
MAX_TEXT = 500
MAX_MARKERS_PER_VIDEO = 500
MAX_TIME_MS = 7 * 24 * 3600 * 1000  # a week: longer than any recording
DURATION_SLACK_MS = 1_000  # a container's duration may be a frame or so short

MARKER_FIELDS = ("markerId", "videoId", "timeMs", "text", "author", "createdAt", "updatedAt",
                 "version")
MAX_STILL_BYTES = 8 * 1024 * 1024
STILL_TYPE = "image/png"
"""What a marker answer holds (nothing else of the item)."""

CREATE_FIELDS: dict[str, Field] = {
    "timeMs": Field("int", required=True, minimum=0, maximum=MAX_TIME_MS),
    "text": Field("str", required=True, max_len=MAX_TEXT),
    "markerId": Field("str", pattern=MARKER_ID_RE),
    "stillBytes": Field("int", minimum=1, maximum=MAX_STILL_BYTES),
}

UPDATE_FIELDS: dict[str, Field] = {
    "version": Field("int", required=True, minimum=1, maximum=2**53),
    "timeMs": Field("int", minimum=0, maximum=MAX_TIME_MS),
    "text": Field("str", max_len=MAX_TEXT),
    "stillBytes": Field("int", minimum=0, maximum=MAX_STILL_BYTES),
}


def still_key(user_id: str, video_id: str, marker_id: str) -> str:
    """Where a marker's still is kept: beside the recording's thumbnail."""
    return f"thumbnails/{user_id}/{video_id}/stills/{marker_id}.png"


def marker_sk(video_id: str, marker_id: str) -> str:
    return f"MARKER#{video_id}#{marker_id}"


def validate_marker_id(value: object) -> str:
    if not isinstance(value, str) or not MARKER_ID_RE.match(value):
        raise BadRequest("markerId must be 'm_' followed by 1-62 URL-safe characters",
                         code="invalid_marker_id")
    return value


def _clean_text(text: str) -> str:
    """One short line of comment: control characters (other than tab) become spaces."""
    return "".join(" " if (ord(c) < 32 and c != "\t") or ord(c) == 127 else c
                   for c in text).strip()


class MarkerService:
    """A recording's markers over the shared :class:`VideoStore` (typed calls, no HTTP)."""

    def __init__(self, store: VideoStore, *, clock: Callable[[], float],
                 storage: VideoStorage | None = None) -> None:
        self.store = store
        self.clock = clock
        self.storage = storage

    # ---------------------------------------------------------------- helpers

    def _now(self) -> str:
        return format_utc(datetime.fromtimestamp(self.clock(), UTC))

    def public(self, item: Mapping[str, Any], *, still_upload: int | None = None
               ) -> dict[str, Any]:
        """The answer for a marker; with ``still_upload`` (bytes) the PUT for its still."""
        out = {k: item.get(k) for k in MARKER_FIELDS}
        key = item.get("stillS3Key")
        if key and self.storage is not None:
            out["stillUrl"] = self.storage.presign_get(str(key), content_type=STILL_TYPE)
            if still_upload:
                url, headers = self.storage.presign_put(
                    str(key), content_type=STILL_TYPE, content_length=still_upload)
                out["stillUploadUrl"], out["stillUploadHeaders"] = url, headers
        return out

    def _drop_still(self, item: Mapping[str, Any]) -> None:
        key = item.get("stillS3Key")
        if key and self.storage is not None:
            self.storage.delete_all_versions([str(key)])

    def _video(self, user_id: str, video_id: str) -> Item:
        video = self.store.get_video(user_id, video_id)
        if video is None:
            raise NotFound(f"video {video_id} not found", code="not_found")
        return video

    def _markers(self, user_id: str, video_id: str) -> list[Item]:
        items = self.store.query_prefix(user_id, f"MARKER#{video_id}#")
        return sorted(items, key=lambda i: (int(i.get("timeMs", 0)), str(i.get("createdAt")),
                                            str(i.get("markerId"))))

    @staticmethod
    def _check_time(time_ms: int, video: Mapping[str, Any]) -> None:
        duration = video.get("durationSec")
        if duration is not None and time_ms > float(duration) * 1000 + DURATION_SLACK_MS:
            raise BadRequest(f"timeMs {time_ms} is after the end of the recording "
                             f"({float(duration):g} s)", code="time_out_of_range")

    # ---------------------------------------------------------------- operations

    def for_video(self, user_id: str, video_id: str) -> list[Item]:
        """The recording's markers in time order (404 for a recording that is not the
        caller's)."""
        self._video(user_id, video_id)
        return self._markers(user_id, video_id)

    def create(self, user_id: str, video_id: str, *, time_ms: int, text: str,
               marker_id: str | None, author: str, still: bool = False
               ) -> tuple[Item, bool]:
        """Create a marker (``True``), or answer the same create retried (``False``); 409
        ``marker_exists`` when ``marker_id`` names a different one."""
        video = self._video(user_id, video_id)
        text = _clean_text(text)
        self._check_time(time_ms, video)
        marker_id = marker_id or "m_" + uuid.uuid4().hex
        pk, sk = schema.user_pk(user_id), marker_sk(video_id, marker_id)
        existing = self.store.get(pk, sk)
        if existing is not None:
            return self._retried(existing, time_ms, text), False
        if len(self.store.query_prefix(user_id, f"MARKER#{video_id}#")) >= MAX_MARKERS_PER_VIDEO:
            raise Conflict(f"a recording has at most {MAX_MARKERS_PER_VIDEO} markers",
                           code="too_many_markers")
        now = self._now()
        item: dict[str, Any] = {
            "PK": pk, "SK": sk, "entity": ENTITY_MARKER, "markerId": marker_id,
            "videoId": video_id, "userId": user_id, "timeMs": time_ms,
            "text": text, "author": author, "createdAt": now,
            "updatedAt": now, "version": 1,
        }
        if still:
            item["stillS3Key"] = still_key(user_id, video_id, marker_id)
        if not self.store.put(item, if_absent=True):  # a concurrent retry won the race
            current = self.store.get(pk, sk)
            if current is None:  # pragma: no cover - created and deleted in between
                raise Conflict("the marker changed concurrently; retry", code="concurrent_update")
            return self._retried(current, time_ms, text), False
        return item, True

    @staticmethod
    def _retried(existing: Item, time_ms: int, text: str) -> Item:
        if int(existing.get("timeMs", -1)) == time_ms and existing.get("text") == text:
            return existing  # the same create again
        raise Conflict("a different marker with this markerId exists", code="marker_exists")

    def update(self, user_id: str, video_id: str, marker_id: str, *, version: int,
               time_ms: int | None, text: str | None, still: bool | None = None) -> Item:
        """Edit a marker still at ``version`` (409 ``version_conflict`` otherwise);
        ``still`` True gives it a still (to upload), False removes the one it has."""
        video = self._video(user_id, video_id)
        values: dict[str, Any] = {"updatedAt": self._now()}
        remove: list[str] = []
        if still:
            values["stillS3Key"] = still_key(user_id, video_id, marker_id)
        elif still is False:
            remove.append("stillS3Key")
        if time_ms is not None:
            self._check_time(time_ms, video)
            values["timeMs"] = time_ms
        if text is not None:
            values["text"] = _clean_text(text)
        pk, sk = schema.user_pk(user_id), marker_sk(video_id, marker_id)
        before = self.store.get(pk, sk) if still is False else None
        updated = self.store.update_video({"PK": pk, "SK": sk}, expected_version=version,
                                          set_values=values, remove=remove)
        if updated is None:
            current = self.store.get(pk, sk)
            if current is None:
                raise NotFound(f"marker {marker_id} not found", code="not_found")
            raise Conflict(f"version {version} is stale; the marker is at version "
                           f"{current.get('version')}", code="version_conflict")
        if before is not None:
            self._drop_still(before)
        return updated

    def delete(self, user_id: str, video_id: str, marker_id: str) -> None:
        self._video(user_id, video_id)
        pk, sk = schema.user_pk(user_id), marker_sk(video_id, marker_id)
        item = self.store.get(pk, sk)
        if item is None:
            raise NotFound(f"marker {marker_id} not found", code="not_found")
        self.store.delete(pk, sk)
        self._drop_still(item)
