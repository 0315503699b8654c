"""The one place that turns failures into the words a clinician reads (Qt-free).

Every view shows errors through these: an exception from the core (:func:`describe_error`)
or an upload job's stored error (:func:`describe_job_error`). Raw transport text ("Connection
to http://127.0.0.1:4566 timed out", a pre-signed URL) never reaches the screen.
"""

from __future__ import annotations

import re

from medispecs_desktop.core.errors import (
    ConflictError,
    MediSpecsError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
    ServerError,
)
from medispecs_desktop.core.logs import redact

NO_NETWORK = "No network connection: the server cannot be reached."
SESSION_ENDED = "Your session has ended: please sign in again."

# what raw transport errors look like (requests/urllib3/botocore wording)
_TRANSPORT = re.compile(
    r"connection (to|refused|reset|aborted|error)|max retries|timed out|"
    r"name or service not known|temporary failure in name resolution|"
    r"network is unreachable|remote end closed|https?://",
    re.IGNORECASE,
)


def describe_error(exc: BaseException) -> str:
    """A sentence for a failed request (library, details, trash, access history)."""
    if isinstance(exc, OfflineError):
        return NO_NETWORK
    if isinstance(exc, NotSignedInError):
        return SESSION_ENDED
    if isinstance(exc, NotFoundError):
        return "This recording no longer exists in the cloud (it may have been deleted)."
    if isinstance(exc, ConflictError) and exc.code == "version_conflict":
        return "It was changed somewhere else after you opened it."
    if isinstance(exc, ServerError):
        return "The cloud had a problem answering; try again in a moment."
    if isinstance(exc, MediSpecsError):
        text = str(exc)
        return NO_NETWORK if _TRANSPORT.search(text) else redact(text)
    return f"Unexpected error: {redact(str(exc)) or type(exc).__name__}"


_JOB_WORDS = {
    "offline": "No connection to the cloud: the upload goes on by itself when it is back.",
    "not_signed_in": "Signed out: sign in again and the upload goes on.",
    "auth": "Signed out: sign in again and the upload goes on.",
    "source_vanished": "The file is not available (card removed?): put it back and the "
                       "upload goes on.",
    "internal": "Something went wrong on this computer: retry, or see the log folder "
                "(Help › Open log folder).",
    "server": "The cloud had a problem: retry in a moment.",
}


def describe_job_error(error: str | None, code: str | None) -> str:
    """An upload job's stored error (``job.error``/``job.error_code``) in words."""
    if not error and not code:
        return ""
    if code == "duplicate":
        return ""
    words = _JOB_WORDS.get(code or "")
    if words is not None:
        return words
    text = redact(error or "")
    if _TRANSPORT.search(text):
        return _JOB_WORDS["offline"]
    return text
