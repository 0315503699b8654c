"""Poster thumbnails: where a recording's thumbnail lives, the URL to upload one, and whether
one was uploaded (the client's own, or the processing function's)."""

from __future__ import annotations

from .storage import VideoStorage

__all__ = ["ThumbnailService", "thumbnail_key"]


def thumbnail_key(user_id: str, video_id: str) -> str:
    return f"thumbnails/{user_id}/{video_id}.jpg"


class ThumbnailService:
    def __init__(self, storage: VideoStorage) -> None:
        self.storage = storage

    def upload_url(self, user_id: str, video_id: str) -> tuple[str, str, dict[str, str]]:
        """``(key, url, headers)`` of a pre-signed JPEG PUT for the recording's thumbnail."""
        key = thumbnail_key(user_id, video_id)
        url, headers = self.storage.presign_put(key, content_type="image/jpeg")
        return key, url, headers

    def uploaded(self, user_id: str, video_id: str) -> str | None:
        """The thumbnail's key when its object exists."""
        key = thumbnail_key(user_id, video_id)
        return key if self.storage.head(key) is not None else None
