"""Local first: a recording whose file is still on this computer or on the card plays from
that file at once, without a playback URL (offline too, and before its upload finished).

The upload queue knows each job's file (path, size, modification time) and the videoId of
its record. :func:`find_candidate` picks the job for a videoId from the queue's jobs (a quick
look in memory, on the GUI thread); :func:`local_file_uri` then checks on a worker thread
that the file is still there and unchanged (same size and time) and gives its ``file://``
URI, or None (moved, changed, card pulled): the player streams from the cloud then.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from medispecs_desktop.core.library import LocalQueueItem
from medispecs_desktop.core.models import Video

NEVER_EXPIRES = float("inf")


class JobLike(Protocol):
    @property
    def path(self) -> Path: ...

    @property
    def size(self) -> int: ...

    @property
    def mtime_ns(self) -> int: ...

    @property
    def video_id(self) -> str: ...


@dataclass(frozen=True)
class LocalCandidate:
    """A file the queue read for ``video_id``, as it was then."""

    video_id: str
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class LocalUrl:
    """A playback "URL" for a local file (the player's ``PlaybackUrlLike``)."""

    url: str
    expires_at: float = NEVER_EXPIRES
    local: bool = True


def find_candidate(jobs: Iterable[JobLike], video_id: str) -> LocalCandidate | None:
    """The newest queue job for ``video_id`` (queued, uploading, paused, done: the file is
    what counts), or None."""
    found: LocalCandidate | None = None
    for job in jobs:
        if job.video_id == video_id:
            found = LocalCandidate(video_id, Path(job.path), int(job.size), int(job.mtime_ns))
    return found


def local_file_uri(candidate: LocalCandidate) -> str | None:
    """``file://`` URI of the candidate's file if it is still there and unchanged (size and
    modification time as the queue recorded them), else None. Touches the disk (a card may be
    slow or gone): call it off the GUI thread."""
    try:
        stat = os.stat(candidate.path)
    except OSError:
        return None
    if stat.st_size != candidate.size or (candidate.mtime_ns
                                          and stat.st_mtime_ns != candidate.mtime_ns):
        return None
    return candidate.path.resolve().as_uri()


def video_for_local_item(item: LocalQueueItem) -> Video:
    """A library row still in the upload queue, as the :class:`Video` the player opens
    (no bytes in the cloud yet: it can only play from its file)."""
    data: dict[str, Any] = {"videoId": item.video_id, "title": item.title,
                            "status": "pending"}
    if item.recorded_at:
        data["recordedAt"] = item.recorded_at
    if item.duration_sec is not None:
        data["durationSec"] = item.duration_sec
    if item.file_size_bytes is not None:
        data["fileSizeBytes"] = item.file_size_bytes
    return Video.from_api(data)


__all__ = ["LocalCandidate", "LocalUrl", "find_candidate", "local_file_uri",
           "video_for_local_item"]
