"""Moved: multipart uploads are ``uploads.UploadService`` (the domain) and ``api/uploads.py``
(the routes). These names stay importable from here for older imports."""

from __future__ import annotations

from .api.uploads import COMPLETE_PART_FIELDS, MULTIPART_FIELDS, SIGN_PART_FIELDS
from .uploads import UPLOAD_SESSION_TTL_SECONDS

__all__ = ["COMPLETE_PART_FIELDS", "MULTIPART_FIELDS", "SIGN_PART_FIELDS",
           "UPLOAD_SESSION_TTL_SECONDS"]
