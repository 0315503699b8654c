"""Server-side processing of uploaded recordings (the ``videos-processor`` function).

S3 ``ObjectCreated`` on ``videos/`` → SQS → :func:`handler.lambda_handler`: probe the media,
make the poster thumbnail, the preview sheet and (when needed) a review copy, move the record
``uploaded → processing → ready`` (or ``error`` with its reason). PyAV is imported lazily
(``media``): importing this package needs no PyAV.
"""

from __future__ import annotations

__all__ = ["preview_keys", "review_key"]


def preview_keys(user_id: str, video_id: str) -> tuple[str, str]:
    """(sprite JPEG, JSON index) of a recording's preview sheet (the Trash's purge deletes
    them with the recording)."""
    prefix = f"previews/{user_id}/{video_id}/"
    return prefix + "sheet.jpg", prefix + "index.json"


def review_key(user_id: str, video_id: str) -> str:
    """The H.264/AAC review copy of a recording the desktop player cannot play smoothly
    (``review.py``); beside its preview sheet, purged with it."""
    return f"previews/{user_id}/{video_id}/review.mp4"
