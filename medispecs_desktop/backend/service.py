"""Moved: the routes are ``backend/api/``, the domain services ``videos``, ``uploads``,
``thumbnails``, ``integrity``. These names stay importable from here for older imports."""

from __future__ import annotations

from .api.http import Result
from .api.videos import CREATE_FIELDS, PATCH_FIELDS
from .api.views import PUBLIC_FIELDS

__all__ = ["CREATE_FIELDS", "PATCH_FIELDS", "PUBLIC_FIELDS", "Result"]
