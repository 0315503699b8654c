"""A marker: a moment of a recording with a short comment (``/videos/{id}/markers``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 500  # as the service allows


def new_marker_id() -> str:
    """A client-made id: a retried create then answers the marker it made, not a second one."""
    return "m_" + uuid.uuid4().hex


@dataclass(frozen=True)
class Marker:
    marker_id: str
    video_id: str
    time_ms: int
    text: str
    author: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    version: int = 1
    still_url: str | None = None  # pre-signed GET of the frame kept with the marker (PNG)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Marker:
        def text(name: str) -> str | None:
            value = data.get(name)
            return str(value) if value not in (None, "") else None

        return cls(marker_id=str(data.get("markerId") or ""),
                   video_id=str(data.get("videoId") or ""),
                   time_ms=max(0, int(data.get("timeMs") or 0)),
                   text=str(data.get("text") or ""), author=text("author"),
                   created_at=text("createdAt"), updated_at=text("updatedAt"),
                   version=int(data.get("version") or 1), still_url=text("stillUrl"))

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape (``markers --json``), as the API spells it."""
        return {"markerId": self.marker_id, "videoId": self.video_id, "timeMs": self.time_ms,
                "text": self.text, "author": self.author, "createdAt": self.created_at,
                "updatedAt": self.updated_at, "version": self.version,
                "hasStill": self.still_url is not None}
