"""Upload jobs: the explicit state machine and the record each file's job keeps.

A job is one file. Its ``state`` says what the user sees (queued, uploading, waiting…); its
``phase`` says how far the bytes got, which is what a restart resumes from:

``new`` → (multipart) ``parts`` → ``completing`` → ``completed`` → ``recorded`` → ``finished``.
A single PUT goes ``new`` → ``completed`` directly.
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medispecs_desktop.core.titles import title_from_file_name


class JobState(enum.StrEnum):
    QUEUED = "queued"
    HASHING = "hashing"  # fingerprint + duplicate check + media probe before any byte moves
    UPLOADING = "uploading"
    FINALIZING = "finalizing"  # object complete: creating the record, thumbnail
    PAUSED = "paused"
    WAITING_NETWORK = "waiting-for-network"
    WAITING_SOURCE = "waiting-for-source"
    WAITING_SIGN_IN = "waiting-for-sign-in"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def is_active(self) -> bool:
        """A worker is (or should be) running this job right now."""
        return self in ACTIVE_STATES

    @property
    def is_waiting(self) -> bool:
        return self in WAITING_STATES


_LABELS = {
    JobState.QUEUED: "Queued",
    JobState.HASHING: "Checking",
    JobState.UPLOADING: "Uploading",
    JobState.FINALIZING: "Finishing",
    JobState.PAUSED: "Paused",
    JobState.WAITING_NETWORK: "Waiting for network",
    JobState.WAITING_SOURCE: "Waiting for the file (card removed?)",
    JobState.WAITING_SIGN_IN: "Waiting for sign-in",
    JobState.DONE: "Done",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
}

TERMINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = frozenset({JobState.HASHING, JobState.UPLOADING, JobState.FINALIZING})
WAITING_STATES = frozenset(
    {JobState.WAITING_NETWORK, JobState.WAITING_SOURCE, JobState.WAITING_SIGN_IN}
)
# states the scheduler may pick up (a job found "active" at start-up was interrupted by a crash)
RUNNABLE_STATES = frozenset({JobState.QUEUED}) | ACTIVE_STATES


# error_code of a job refused because its file is a damaged recording; "upload as damaged"
# (the user's explicit word) keeps it anyway, marked damaged
DAMAGED_CODE = "damaged"
DAMAGED_REASON_MAX = 500  # characters of the reason kept in the record


class Phase(enum.StrEnum):
    NEW = "new"
    PARTS = "parts"  # multipart upload created, parts being sent
    COMPLETING = "completing"  # complete_multipart sent; its answer not yet recorded
    COMPLETED = "completed"  # the whole object is in S3
    RECORDED = "recorded"  # the video record exists
    FINISHED = "finished"  # thumbnail attempted; nothing left to do


def new_video_id() -> str:
    """``v_`` + 26 URL-safe characters: made by the client, stored before the first request."""
    stamp = int(time.time() * 1000).to_bytes(6, "big").hex()  # sortable by creation time
    return f"v_{stamp}{secrets.token_hex(7)}"


@dataclass(frozen=True)
class Part:
    """One finished part of a multipart upload, as journaled after S3 accepted it."""

    part_number: int
    size: int
    checksum_b64: str
    etag: str


@dataclass(frozen=True)
class Job:
    id: int
    user_id: str
    path: Path
    size: int
    mtime_ns: int
    video_id: str
    state: JobState
    phase: Phase = Phase.NEW
    position: float = 0.0
    fingerprint: str | None = None
    sha256: str | None = None
    crc64nvme: str | None = None  # base64 whole-file CRC64NVME, from the same read as sha256
    content_type: str = "video/mp4"
    upload_id: str | None = None
    part_size: int | None = None
    bytes_done: int = 0
    attempts: int = 0
    error: str | None = None
    error_code: str | None = None
    duplicate_of: str | None = None
    media: dict[str, Any] = field(default_factory=dict)
    video_version: int | None = None
    # the user said to upload it even if it turns out damaged (kept, marked damaged)
    allow_damaged: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def title(self) -> str:
        """The file name's stem as the service will store it (cleaned, at most 200
        characters: a longer name is shortened, never refused)."""
        return title_from_file_name(self.path.stem)

    @property
    def part_count(self) -> int:
        if not self.part_size:
            return 1
        return max(1, -(-self.size // self.part_size))

    def with_(self, **changes: Any) -> Job:
        return replace(self, **changes)


MIME_BY_EXT = {
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".mts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".3gp": "video/3gpp",
    ".webm": "video/webm",
}


def guess_content_type(path: Path) -> str:
    return MIME_BY_EXT.get(path.suffix.lower(), "video/mp4")
