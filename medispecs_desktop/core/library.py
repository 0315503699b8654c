"""The library's rules without Qt: the server query, paging, how a fresh page merges into
the rows shown, recordings still in the upload queue, and the library's sentences.

The Qt models in ``ui/library`` only apply what these decide (begin/end rows, signals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from medispecs_desktop.core.api import MAX_LIMIT
from medispecs_desktop.core.formatting import format_local_time
from medispecs_desktop.core.models import INTEGRITY_VERIFIED, Video, format_utc

PAGE_SIZE = MAX_LIMIT  # rows fetched per request: the API's largest page (fewer round trips)

STATUS_TEXT = {
    "pending": "Upload pending",
    "uploaded": "Uploaded",
    "processing": "Processing",
    "ready": "Ready",
    "error": "Error",
}
LOCAL_STATUS_SORT = "0-local"  # queue rows sort before every server status


def status_text(video: Video) -> str:
    """A recording's status in words; one kept as damaged says so wherever it shows."""
    text = STATUS_TEXT.get(video.status, video.status)
    return f"Damaged · {text}" if video.damaged else text


def damaged_tip(video: Video) -> str:
    reason = f" ({video.damaged_reason})" if video.damaged_reason else ""
    return (f"Kept as a damaged recording{reason}. Its bytes are the file's, verified in the "
            "cloud; playback goes as far as the file allows.")


@dataclass(frozen=True)
class LibraryQuery:
    """Server-side filter: UTC bounds (``YYYY-MM-DDTHH:MM:SSZ``) or None, and the page size."""

    date_from: str | None = None
    date_to: str | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class LocalQueueItem:
    """A recording still in the local upload queue (the upload engine supplies these)."""

    video_id: str
    title: str
    state: str  # e.g. "queued", "uploading", "paused", "failed"
    recorded_at: str | None = None
    file_size_bytes: int | None = None
    device_id: str | None = None
    duration_sec: float | None = None
    progress: float | None = None  # 0..1
    error: str | None = None

    def status_text(self) -> str:
        text = f"On this computer: {self.state.replace('-', ' ')}"
        if self.progress is not None and self.state == "uploading":
            text += f" {round(self.progress * 100)}%"
        if self.error:
            text += f" ({self.error})"
        return text


class Paging:
    """Where the listing stands: the cursor of the next page, whether one is being asked
    for, and a generation that makes answers to superseded requests drop."""

    def __init__(self) -> None:
        self.next_cursor: str | None = None
        self.loading = False
        self.generation = 0
        self.stale = False  # an offline copy is shown: no paging until a fresh first page

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def can_fetch_more(self) -> bool:
        return self.has_more and not self.loading and not self.stale

    def begin(self, *, replace: bool) -> int:
        """A request starts; returns the generation its answer must carry."""
        if replace:
            self.generation += 1
        return self.generation

    def current(self, generation: int) -> bool:
        return generation == self.generation

    def drop_answers(self) -> None:
        self.generation += 1

    def page_arrived(self, next_cursor: str | None) -> None:
        self.next_cursor = next_cursor


def merge_plan(known: Sequence[str], page: Sequence[Video]) -> list[tuple[int, Video, bool]]:
    """How a fresh first page joins the rows shown (``known``: their ids, in order) without
    a reset: ``(index, video, is_update)`` steps, each index as it is once the steps before it
    are applied. A known recording is updated in place; a new one is inserted after the known
    one the server lists before it."""
    ids = list(known)
    where = {video_id: i for i, video_id in enumerate(ids)}
    steps: list[tuple[int, Video, bool]] = []
    at = 0
    for video in page:
        index = where.get(video.video_id)
        if index is not None:
            steps.append((index, video, True))
            at = index + 1
            continue
        steps.append((at, video, False))
        ids.insert(at, video.video_id)
        for i in range(at, len(ids)):
            where[ids[i]] = i
        at += 1
    return steps


def sort_key(
    column: str,
    title: str,
    recorded_at: str,
    duration: float | None,
    size: int | None,
    device: str | None,
    status: str,
) -> Any:
    """The value a column sorts by (``column``: title/duration/size/device/status/recorded)."""
    if column == "title":
        return title.casefold()
    if column == "duration":
        return duration if duration is not None else -1.0
    if column == "size":
        return size if size is not None else -1
    if column == "device":
        return (device or "").casefold()
    if column == "status":
        return status
    return recorded_at  # thumbnail and recorded-at columns sort by time (ISO sorts)


def local_date_range_to_utc(
    start: date | None, end: date | None, *, tz: tzinfo | None = None
) -> tuple[str | None, str | None]:
    """The user's local calendar days ``start``..``end`` (inclusive) as API UTC bounds."""

    def to_utc(day: date, *, end_of_day: bool) -> str:
        moment = datetime(day.year, day.month, day.day)
        if end_of_day:
            moment += timedelta(days=1) - timedelta(seconds=1)
        aware = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
        return format_utc(aware.astimezone(UTC))

    return (
        to_utc(start, end_of_day=False) if start else None,
        to_utc(end, end_of_day=True) if end else None,
    )


# -- sentences ---------------------------------------------------------------------------


def integrity_tip(video: Video) -> str:
    """How the cloud checked the recording's bytes (DESIGN §8), for the Integrity tooltip."""
    when = f" on {format_local_time(video.verified_at)}" if video.verified_at else ""
    if video.integrity == INTEGRITY_VERIFIED:
        if video.sha256_verified_by == "crc64nvme":
            return (f"S3 checked the whole file's checksum against the uploaded bytes{when}: "
                    "the stored copy is the file (its SHA-256 is recorded beside it).")
        how = {"checksum": "S3's stored checksum of the upload",
               "read": "the file read back from storage"}.get(video.sha256_verified_by or "",
                                                           "the stored file")
        return f"The server compared the file's SHA-256 with {how}{when}: they match."
    if video.sha256_verified_by == "parts":
        return ("S3 verified each uploaded part's checksum, but the file was too large for the "
                "server to compare its whole SHA-256. Keep the original until it is verified.")
    return "The cloud has not compared this file's SHA-256 with the stored bytes."


def delete_confirmation_text(video: Video) -> str:
    when = format_local_time(video.recorded_at)
    return (
        f"Move “{video.title or '(untitled)'}” recorded {when} to the Trash?\n\n"
        "It leaves your library. You can restore it from View ▸ Trash until it is deleted "
        "forever (30 days after the move, unless your organisation chose otherwise)."
    )


def banner_text(*, online: bool, stale: bool, saved_at: float | None,
                problem: str | None = None) -> str:
    """The line above the list when it is not the server's fresh listing."""
    saved = datetime.fromtimestamp(saved_at).strftime("%H:%M") if saved_at is not None else ""
    if not online:
        if stale and saved:
            return (f"Offline — showing the list saved at {saved}. It may be out of date; "
                    "reconnecting automatically…")
        return "Offline — nothing saved on this computer yet. Reconnecting automatically…"
    if stale and saved:
        lead = problem or "The cloud did not answer"
        return f"{lead} — showing the list saved at {saved}; it may be out of date."
    return problem or ""


def play_refusal(video: Video | None, *, online: bool, uploading: bool = False) -> str:
    """Why a double-click (or Enter) on a row does not play, or "" when it can play."""
    if uploading:
        return ("This recording is still being uploaded from this computer: it can be played "
                "once its upload has finished (see Uploads).")
    if video is None:
        return ""
    if not video.has_bytes:
        return ("This recording is not in the cloud yet: it can be played once its upload has "
                "finished.")
    if not online:
        return ("Offline: recordings play from the cloud, and the connection is down. It will "
                "play again as soon as the connection is back.")
    return ""
