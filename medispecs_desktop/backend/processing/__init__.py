"""Server-side processing of uploaded recordings (the ``videos-processor`` function).

S3 ``ObjectCreated`` on ``videos/`` → SQS → :func:`handler.lambda_handler`: probe the media,
make the poster thumbnail and the preview sheet, move the record ``uploaded → processing →
ready`` (or ``error`` with its reason). PyAV is imported lazily (``media``): importing this
package needs no PyAV.
"""

from __future__ import annotations

__all__ = ["preview_keys"]


def preview_keys(user_id: str, video_id: str) -> tuple[str, str]:
    """(sprite JPEG, JSON index) of a recording's preview sheet (the Trash's purge deletes
    them with the recording)."""
    prefix = f"previews/{user_id}/{video_id}/"
    return prefix + "sheet.jpg", prefix + "index.json"
