"""Routes of the Trash: list, restore, delete forever."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..validation import parse_limit
from .http import Result, path_video_id
from .registry import Router
from .views import trash_view, video_view

if TYPE_CHECKING:
    from ..events import Request
    from ..services import Services

__all__ = ["router"]

router = Router()


@router.get("/trash")
def list_trash(s: Services, req: Request, user_id: str) -> Result:
    limit = parse_limit(req.query.get("limit"))
    items, cursor = s.trash.page(user_id, limit=limit, cursor=req.query.get("cursor") or None)
    return Result(200, {"items": [trash_view(s.storage, i) for i in items],
                        "nextCursor": cursor, "retentionDays": s.trash.retention_days})


@router.post("/trash/{videoId}/restore")
def restore_video(s: Services, req: Request, user_id: str) -> Result:
    return Result(200, video_view(s.storage, s.trash.restore(user_id, path_video_id(req))))


@router.delete("/trash/{videoId}")
def purge_video(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    s.trash.delete_forever(user_id, video_id)
    return Result(200, {"purged": video_id})
