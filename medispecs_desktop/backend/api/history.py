"""``GET /videos/{videoId}/history``: a recording's access history (audit.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..validation import parse_limit
from .http import Result, path_video_id
from .registry import Router

if TYPE_CHECKING:
    from ..events import Request
    from ..services import Services

__all__ = ["router"]

router = Router()


@router.get("/videos/{videoId}/history")
def history(s: Services, req: Request, user_id: str) -> Result:
    """The recording's events, newest first. ``limit`` 1..1000 (100), ``before`` an event's
    ``{at}#{requestId}`` (or a time) to page to older events."""
    video_id = path_video_id(req)
    limit = parse_limit(req.query.get("limit"), default=100, maximum=1000)
    before = s.audit.parse_before(req.query.get("before"))
    return Result(200, s.audit.history(req, user_id, video_id, limit=limit, before=before))
