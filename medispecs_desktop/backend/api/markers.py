"""Routes of a recording's markers (``/videos/{videoId}/markers``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BadRequest
from ..markers import CREATE_FIELDS, UPDATE_FIELDS, validate_marker_id
from ..validation import validate_object
from .http import Result, body, path_video_id
from .registry import Router

if TYPE_CHECKING:
    from ..events import Request
    from ..services import Services

__all__ = ["router"]

router = Router()


def _author(req: Request, user_id: str) -> str:
    """Who wrote a marker, as the token names them."""
    claims = req.claims or {}
    for name in ("name", "email", "cognito:username", "username"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return user_id


@router.get("/videos/{videoId}/markers")
def list_markers(s: Services, req: Request, user_id: str) -> Result:
    items = s.markers.for_video(user_id, path_video_id(req))
    return Result(200, {"items": [s.markers.public(i) for i in items]})


@router.post("/videos/{videoId}/markers")
def create_marker(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    data = validate_object(body(req), CREATE_FIELDS)
    still = int(data["stillBytes"]) if data.get("stillBytes") else None
    item, created = s.markers.create(user_id, video_id, time_ms=int(data["timeMs"]),
                                     text=data["text"], marker_id=data.get("markerId"),
                                     author=_author(req, user_id), still=still is not None)
    return Result(201 if created else 200, s.markers.public(item, still_upload=still))


@router.patch("/videos/{videoId}/markers/{markerId}")
def update_marker(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    marker_id = validate_marker_id(req.path_parameters.get("markerId"))
    data = validate_object(body(req), UPDATE_FIELDS, null_is_absent=False)
    if "timeMs" not in data and "text" not in data and "stillBytes" not in data:
        raise BadRequest("nothing to update: give timeMs, text or stillBytes",
                         code="validation_error")
    still_bytes = int(data["stillBytes"]) if "stillBytes" in data else None
    item = s.markers.update(user_id, video_id, marker_id, version=int(data["version"]),
                            time_ms=int(data["timeMs"]) if "timeMs" in data else None,
                            text=data.get("text"),
                            still=None if still_bytes is None else still_bytes > 0)
    return Result(200, s.markers.public(item, still_upload=still_bytes or None))


@router.delete("/videos/{videoId}/markers/{markerId}")
def delete_marker(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    marker_id = validate_marker_id(req.path_parameters.get("markerId"))
    s.markers.delete(user_id, video_id, marker_id)
    return Result(200, {"deleted": marker_id})
