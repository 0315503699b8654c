"""A job's poster thumbnail: made from the file and sent to S3 *while the file's bytes go*
(:class:`EarlyThumbnail`), so the record, when it is made, already has it.

The record step (``POST /videos``) attaches a thumbnail already uploaded for the video (the
server looks for its object), so an upload's last steps are two requests - complete, record -
instead of five (complete, record, thumbnail URL, thumbnail PUT, attach): on hospital Wi-Fi,
where a request costs 50-200 ms, that is what an upload waits for after its last byte. When
the early thumbnail did not make it (no frame, a refused PUT, a pass interrupted) the record
comes back without one and the pipeline attaches it the old way, after the record; a thumbnail
is never worth failing an upload that is safe.

A thumbnail sent for an upload that never gets its record (cancelled, removed) is deleted by
the server with the upload (``DELETE .../multipart/{uploadId}``), and one left by a crash is
removed by the backend's sweep a day later: no frame of a recording stays in the cloud without
its record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.uploads.base import Control, EngineCore, Interrupted
from medispecs_desktop.core.uploads.transfer import (
    BufferSlice,
    TransientError,
    UrlExpiredError,
    put_object,
)

if TYPE_CHECKING:
    from medispecs_desktop.core.uploads.jobs import Job

__all__ = ["EarlyThumbnail", "ThumbnailSender"]

log = logging.getLogger(__name__)


class ThumbnailSender:
    """Makes a job's JPEG and PUTs it through a pre-signed URL (re-signed on expiry, retried
    with the engine's backoff)."""

    def __init__(self, core: EngineCore) -> None:
        self.core = core

    def make(self, job: Job) -> bytes | None:
        """The JPEG of the file's poster frame; None (logged) when there is none."""
        try:
            maker = self.core._thumbnail
            if maker is None:
                from medispecs_desktop.core.media import thumbnail_jpeg

                maker = thumbnail_jpeg
            return maker(job.path)
        except (MediSpecsError, OSError) as exc:
            log.warning("job %s: no thumbnail: %s", job.id, exc)
            return None

    def send(self, job: Job, jpeg: bytes, control: Control) -> None:
        """PUT ``jpeg`` as the video's thumbnail object (errors propagate), re-signed on
        expiry and retried with the engine's backoff."""
        core = self.core
        info = core._call(lambda: core.api.thumbnail_upload_url(job.video_id), control)
        backoff = core._backoff()
        for attempt in range(backoff.attempts):
            control.check()
            try:
                put_object(core._session, str(info["uploadUrl"]), _headers(info), jpeg,
                           timeout=core.options.put_timeout, url_rewriter=core.url_rewriter)
                return
            except UrlExpiredError:
                info = core._call(lambda: core.api.thumbnail_upload_url(job.video_id), control)
            except TransientError:
                if attempt + 1 >= backoff.attempts:
                    raise
                backoff.wait(attempt)

    def start(self, job: Job, control: Control) -> EarlyThumbnail:
        """Make and send ``job``'s thumbnail on a thread of its own, now."""
        early = EarlyThumbnail(self, job, control)
        early.thread.start()
        return early


def _headers(info: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(info.get("headers") or {}).items()}


class EarlyThumbnail:
    """One job's thumbnail on its way while the job's bytes go: one try (no backoff: the
    record step attaches it the old way if this one fails), stopped with the job.
    :meth:`wait` before the record is made (so the record finds it), and before the job's
    worker ends (so a cancel's abort, which deletes it, comes after it)."""

    def __init__(self, sender: ThumbnailSender, job: Job, control: Control) -> None:
        self._sender = sender
        self._job = job
        self._control = control
        self.no_frame = False
        """The file gave no thumbnail (a damaged recording, no video stream): not tried again."""
        self.thread = threading.Thread(target=self._run, name=f"thumbnail-{job.id}",
                                       daemon=True)

    def _run(self) -> None:
        job = self._job
        try:
            self._control.check()
            jpeg = self._sender.make(job)
            if jpeg is None:
                self.no_frame = True
                return
            core = self._sender.core  # one try, stopped with the job (no backoff sleeps)
            info = core.api.thumbnail_upload_url(job.video_id)
            put_object(core._session, str(info["uploadUrl"]), _headers(info),
                       BufferSlice(memoryview(jpeg), abort_check=self._control.check),
                       timeout=core.options.put_timeout, url_rewriter=core.url_rewriter)
        except Interrupted:
            pass
        except (MediSpecsError, OSError) as exc:  # offline, signed out, refused, expired...
            log.info("job %s: thumbnail not sent with the bytes (%s); it follows the record",
                     job.id, exc)
        except Exception:  # never fails the upload: the record step attaches it the old way
            log.exception("job %s: thumbnail not sent with the bytes", job.id)

    def wait(self, timeout: float) -> None:
        """Until the thumbnail is in S3 or given up, ``timeout`` seconds at most."""
        self.thread.join(timeout)
