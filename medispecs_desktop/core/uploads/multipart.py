"""The bytes of one job into S3: a multipart upload created, resumed from the parts journal
and S3's own list, its parts read once and sent (re-signed on expiry, retried with backoff),
completed with the whole file's CRC64NVME (S3 checks it), or aborted.

Every file goes as a multipart upload (one part below the part size) with a FULL_OBJECT
CRC64NVME, so S3 verifies the whole file at completion at any size.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from medispecs_desktop.core.errors import ConflictError, NotFoundError, OfflineError, ServerError
from medispecs_desktop.core.uploads.base import (
    MIB,
    CloudCopyRejected,
    Control,
    EngineCore,
    Interrupted,
)
from medispecs_desktop.core.uploads.jobs import Job, Part, Phase
from medispecs_desktop.core.uploads.parts import QUEUED_READS, PartFlow
from medispecs_desktop.core.uploads.parts import SIGN_BATCH_MAX as SIGN_BATCH_MAX
from medispecs_desktop.core.uploads.reader import FileReader, PreparedPart, SourceChangedError
from medispecs_desktop.core.uploads.transfer import (
    BufferSlice,
    ConnectionLostError,
    RejectedError,
    SlowConnectionError,
    SourceError,
    StalledError,
    TransientError,
    UrlExpiredError,
    put_object,
    slow_connection_message,
)

log = logging.getLogger(__name__)

S3_MIN_PART = 5 * MIB
S3_MAX_PARTS = 10_000
S3_MAX_PART = 5 * 1024 * MIB
READ_AHEAD = 2
"""Parts read and hashed ahead of those being sent: the upload holds at most
``max_parts_in_flight + READ_AHEAD`` parts in memory."""


def choose_part_size(size: int, minimum: int = 8 * MIB) -> int:
    """Smallest whole-MiB part size >= ``minimum`` that fits ``size`` in 10,000 parts."""
    minimum = max(minimum, S3_MIN_PART)
    needed = -(-size // S3_MAX_PARTS)
    part = max(minimum, -(-needed // MIB) * MIB)
    if part > S3_MAX_PART:
        raise RejectedError(
            "The file is larger than S3 allows for one object (5 TiB).", code="too_large"
        )
    return part


class Multipart:
    """Creates, resumes, completes and aborts the multipart upload of one job at a time
    (one instance serves every worker: all its state is in the job, the journal and S3)."""

    def __init__(self, core: EngineCore) -> None:
        self.core = core

    def abort_remote(self, job: Job) -> Job:
        if not job.upload_id or job.phase not in (Phase.PARTS, Phase.COMPLETING):
            return job
        try:
            self.core.api.abort_multipart(job.video_id, job.upload_id)
        except (OfflineError, ServerError) as exc:
            log.warning("job %s: abort of its multipart upload deferred: %s", job.id, exc)
            return job
        except NotFoundError:
            pass
        return self.core.store.reset_upload(job.id, self.core.user_id)

    def _send(
        self,
        job: Job,
        control: Control,
        sign: Callable[[], tuple[str, dict[str, str]]],
        data: memoryview,
        *,
        first: tuple[str, dict[str, str]] | None = None,
        label: str,
        abort_siblings: threading.Event | None = None,
    ) -> str:
        """PUT one part (its bytes in memory) with re-signing on expiry and backoff on
        transient failures."""
        backoff = self.core._backoff()
        transient = 0
        expired = 0
        signed = first
        started = self.core._clock()
        while True:
            control.check()
            if abort_siblings is not None and abort_siblings.is_set():
                raise Interrupted("sibling-failed")
            if signed is None:
                signed = self.core._call(sign, control)
            url, headers = signed

            def abort_check() -> None:
                control.check()
                if abort_siblings is not None and abort_siblings.is_set():
                    raise Interrupted("sibling-failed")

            body = BufferSlice(
                data,
                on_read=lambda block: self.core.progress.add(job.id, len(block)),
                bucket=self.core.bucket,  # a cap set in Settings applies to parts in flight
                abort_check=abort_check,
                name=job.name,
                link=self.core.link,
            )
            try:
                etag = put_object(
                    self.core._session, url, headers, body,
                    timeout=self.core.options.put_timeout, url_rewriter=self.core.url_rewriter,
                    link=self.core.link,
                )
                self.core.reachability.report(True)
                return etag
            except UrlExpiredError:
                self.core.progress.add(job.id, -body.sent)
                expired += 1
                if expired > self.core.options.max_expired_resigns:
                    raise RejectedError(
                        f"The upload links for {label} kept expiring ({expired} times in a "
                        "row); check this computer's clock and retry.",
                        code="url_expired",
                    ) from None
                log.info("job %s %s: URL expired, re-signing", job.id, label)
                signed = None
            except TransientError as exc:
                self.core.progress.add(job.id, -body.sent)
                expired = 0
                if transient + 1 >= backoff.attempts:
                    if isinstance(exc, StalledError) and self._api_answers():
                        raise self._slow_connection(job, label, started, exc) from None
                    if isinstance(exc, ConnectionLostError):
                        raise
                    raise RejectedError(
                        f"S3 kept failing for {label} after {transient + 1} tries: {exc}. "
                        "Retry later.",
                        code=exc.code,
                    ) from None
                log.info("job %s %s: %s; retry %d", job.id, label, exc, transient + 1)
                if not backoff.wait(transient):
                    control.check()
                transient += 1
            except BaseException:
                self.core.progress.add(job.id, -body.sent)
                raise

    def _api_answers(self) -> bool:
        try:
            return bool(self.core.api.ping())
        except Exception:  # noqa: BLE001 - unreachable is the answer
            return False

    def _slow_connection(self, job: Job, label: str, started: float,
                         exc: StalledError) -> SlowConnectionError:
        """A part that kept stalling while the API answers: say so in the row, not loop."""
        seen = self.core.progress.snapshot().jobs.get(job.id)
        fraction = seen.fraction if seen is not None else 0.0
        log.warning("job %s %s: slow connection, giving up for now: %s", job.id, label, exc)
        return SlowConnectionError(slow_connection_message(
            fraction, self.core._clock() - started,
            f"{label} stalled {self.core.options.backoff_attempts} times: nothing accepted for "
            f"{self.core.options.put_timeout[1]:g} s"))

    def _open_source(self, job: Job) -> int:
        try:
            fd = os.open(job.path, os.O_RDONLY)
        except FileNotFoundError:
            raise SourceError(f"{job.path} is gone", vanished=True) from None
        except OSError as exc:
            raise SourceError(f"Cannot read {job.path}: {exc.strerror or exc}",
                              vanished=True) from None
        st = os.fstat(fd)
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
            os.close(fd)
            raise SourceChangedError(f"{job.name} changed since it was queued; not uploaded.")
        return fd

    def _part_size(self, job: Job) -> int:
        # smaller parts on a slow link: a stalled part costs less, the journal moves often
        return choose_part_size(job.size, self.core.link.part_size(self.core.options.min_part_size))

    def _start_reading(self, job: Job, part_size: int) -> EarlyRead:
        """Open the file and start reading its first parts, for an upload about to be made."""
        fd = self._open_source(job)
        reader = FileReader(fd, job.size, part_size, job.name, self.core.hash_pool)
        return EarlyRead(fd, reader, [reader.submit(n) for n in
                                      range(1, min(QUEUED_READS, reader.count) + 1)])

    def _create_upload(self, job: Job, control: Control, part_size: int) -> Job:
        created = self.core._call(
            lambda: self.core.api.create_multipart(
                job.video_id, size=job.size, part_size=part_size,
                content_type=job.content_type,
            ),
            control,
        )
        job = self.core._set(
            job, upload_id=str(created["uploadId"]),
            part_size=int(created.get("partSizeBytes") or part_size), phase=Phase.PARTS,
        )
        log.info("job %s: multipart upload created (%d parts)", job.id, job.part_count)
        return job

    def upload(self, job: Job, control: Control,
               started: Callable[[Job], None] | None = None) -> Job:
        """Every file goes as a multipart upload (one part below the part size) with a
        FULL_OBJECT CRC64NVME: S3 (and the local stack, which computes it from the bytes it
        stores) checks the whole file at completion, at any size. ``started`` is told once the
        upload exists in S3 (made now or resumed), before its bytes go."""
        created = job.phase is Phase.NEW
        early: EarlyRead | None = None
        if created:
            # the first parts are read (and hashed) while the upload is being made: their
            # URLs are asked for the moment it exists
            part_size = self._part_size(job)
            early = self._start_reading(job, part_size)
            try:
                job = self._create_upload(job, control, part_size)
            except BaseException as exc:
                early.close()
                if isinstance(exc, ConflictError) and exc.code == "already_uploaded":
                    return self.core._set(job, phase=Phase.COMPLETED, bytes_done=job.size)
                raise
            if job.part_size != part_size:  # the server chose other parts: read them anew
                early.close()
                early = None
        try:
            return self._upload(job, control, started, created=created, early=early)
        finally:
            if early is not None:
                early.close()  # (nothing when the parts took it)

    def _upload(self, job: Job, control: Control, started: Callable[[Job], None] | None, *,
                created: bool, early: EarlyRead | None) -> Job:
        if started is not None:
            started(job)
        if job.phase is Phase.COMPLETING and job.crc64nvme and job.sha256:
            return self._complete(job, control)
        assert job.upload_id is not None and job.part_size is not None
        journal = self.core.store.parts(job.id)
        if any(len(p.checksum_b64) != 12 for p in journal.values()):
            # a multipart upload begun by an older version (SHA-256 parts, no full-object
            # checksum): S3 would refuse to complete it with a CRC64NVME; start it again
            log.info("job %s: restarting an upload begun by an older version", job.id)
            job = self.abort_remote(job)
            if job.upload_id is not None:
                job = self.core.store.reset_upload(job.id, self.core.user_id)
            return self.upload(job, control, started)
        upload_id = job.upload_id
        assert upload_id is not None
        try:
            # an upload created just now has no parts in S3 yet: no round trip to ask
            remote_list = [] if created else self.core._call(
                lambda: self.core.api.list_parts(job.video_id, upload_id), control)
        except NotFoundError:
            log.warning("job %s: multipart upload vanished in S3; starting it again", job.id)
            job = self.core.store.reset_upload(job.id, self.core.user_id)
            return self.upload(job, control, started)
        remote = {int(p["partNumber"]): p for p in remote_list}
        psize: int = job.part_size or 0
        count = job.part_count

        def expected_len(n: int) -> int:
            return min(psize, job.size - (n - 1) * psize)

        confirmed: dict[int, Part] = {}
        for n, part in journal.items():
            r = remote.get(n)
            if (r is not None and int(r.get("size", -1)) == part.size == expected_len(n)
                    and _etag(r.get("etag")) == _etag(part.etag)):
                confirmed[n] = part
            else:
                self.core.store.forget_part(job.id, n)
        done_bytes = sum(p.size for p in confirmed.values())
        if remote or journal:
            log.info(
                "job %s: resuming, %d of %d parts already in S3", job.id, len(confirmed), count
            )
        self.core.progress.track(job.id, done_bytes, job.size)
        if job.bytes_done != done_bytes:
            job = self.core._set(job, bytes_done=done_bytes)

        if early is not None:
            fd, reader, first_reads = early.take()
        else:
            fd = self._open_source(job)
            reader = FileReader(fd, job.size, psize, job.name, self.core.hash_pool)
            first_reads = []
        abort_siblings = threading.Event()
        max_flight = max(1, self.core.settings.max_parts_in_flight)
        done_lock = threading.Lock()
        bytes_done = [done_bytes]
        def settle(prep: PreparedPart) -> bool:
            """True when part ``prep`` is in S3 already (resumed): nothing to send."""
            n = prep.number
            if n in confirmed:
                if confirmed[n].checksum_b64 != prep.checksum_b64:
                    raise SourceChangedError(
                        f"{job.name} changed since part {n} was uploaded; the upload was "
                        "stopped so old and new content never mix. Retry to upload the new "
                        "content."
                    )
                return True
            r = remote.get(n)
            remote_crc = None if r is None else r.get("checksumCRC64NVME")
            if (r is not None and int(r.get("size", -1)) == prep.size
                    and r.get("etag") and remote_crc in (None, prep.checksum_b64)):
                # in S3 but not journalled (cut before the journal commit): trust its size
                # and ETag as S3 does; the full-object CRC64NVME checked at completion proves
                # the bytes are the file's
                part = Part(n, prep.size, prep.checksum_b64, str(r["etag"]))
                with done_lock:
                    bytes_done[0] += prep.size
                    self.core.store.record_part(job.id, part, bytes_done=bytes_done[0])
                self.core.progress.add(job.id, prep.size)
                return True
            return False

        def sign_batch(parts: Sequence[PreparedPart]) -> list[tuple[str, dict[str, str]]]:
            control.check_row()
            signed = self.core._call(lambda: self.core.api.sign_parts(
                job.video_id, upload_id,
                [{"partNumber": p.number, "contentLength": p.size,
                  "checksumCRC64NVME": p.checksum_b64} for p in parts],
            ), control)
            by_number = {int(s["partNumber"]): s for s in signed}
            return [_signed(by_number[p.number]) for p in parts]

        def send_part(prep: PreparedPart, first: tuple[str, dict[str, str]]) -> Part:
            n = prep.number
            checksum = prep.checksum_b64

            def sign() -> tuple[str, dict[str, str]]:
                return _signed(self.core.api.sign_parts(
                    job.video_id, upload_id,
                    [{"partNumber": n, "contentLength": prep.size,
                      "checksumCRC64NVME": checksum}],
                )[0])

            etag = self._send(
                job, control, sign, prep.data, first=first,
                label=f"part {n}/{count}", abort_siblings=abort_siblings,
            )
            part = Part(n, prep.size, checksum, etag)
            with done_lock:
                bytes_done[0] += prep.size
                total = bytes_done[0]
            # the journal commit (an fsync) runs on its own thread: this connection and the
            # part's buffer go on to the next part at once. A part in S3 but not journalled
            # (a crash in between) is found by list_parts on resume.
            journaled.append(journal_pool.submit(self.core.store.record_part, job.id, part,
                                                 bytes_done=total))
            return part

        journaled: list[Future[None]] = []
        try:
            with (ThreadPoolExecutor(1, thread_name_prefix=f"journal-{job.id}") as journal_pool,
                  ThreadPoolExecutor(max_flight, thread_name_prefix=f"part-{job.id}") as pool):
                flow = PartFlow(
                    reader, count, pool=pool, max_flight=max_flight, read_ahead=READ_AHEAD,
                    settle=settle, sign=sign_batch, send=send_part, check=control.check,
                    reading=first_reads,
                )
                try:
                    flow.run()
                except BaseException:
                    abort_siblings.set()
                    reader.stop()
                    for fut in flow.sending:
                        fut.cancel()
                    raise
            for entry in journaled:
                entry.result()  # every part sent is in the journal before completing
            sha = reader.sha256()
            crc = reader.crc64nvme_b64()
            self._check_unchanged(job, fd)
        except RejectedError as exc:
            if exc.code != "BadDigest":
                raise
            # S3 refused a part whose bytes were not those hashed (damaged on the way): this
            # upload is dropped and the file read and sent again from its first byte
            self.abort_remote(self.core.job(job.id))
            self.core.store.reset_upload(job.id, self.core.user_id, sha256=None)
            raise CloudCopyRejected(
                f"S3 refused a part of {job.name}: its bytes arrived damaged",
                code="checksum_mismatch",
            ) from None
        finally:
            reader.drain()
            os.close(fd)
        job = self.core._set(job, sha256=sha.hexdigest(), crc64nvme=crc, phase=Phase.COMPLETING)
        return self._complete(job, control)

    def _check_unchanged(self, job: Job, fd: int) -> None:
        """After the read: the file still has the size and modification time it was queued
        with, so the bytes hashed and sent are the file as it is (not a growing copy)."""
        st = os.fstat(fd)
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
            raise SourceChangedError(
                f"{job.name} changed while it was uploaded (size {job.size:,} -> "
                f"{st.st_size:,} bytes or modified time differs); not marked done. "
                "Retry to upload the new content.")

    def _complete(self, job: Job, control: Control) -> Job:
        assert job.upload_id is not None
        upload_id = job.upload_id
        parts = self.core.store.parts(job.id)
        if len(parts) != job.part_count or not job.crc64nvme:
            log.warning("job %s: journal has %d/%d parts at complete; resuming parts",
                        job.id, len(parts), job.part_count)
            return self.upload(self.core._set(job, phase=Phase.PARTS), control)
        payload = [
            {"partNumber": p.part_number, "etag": p.etag, "checksumCRC64NVME": p.checksum_b64}
            for p in sorted(parts.values(), key=lambda p: p.part_number)
        ]
        whole = job.crc64nvme
        try:
            self.core._call(lambda: self.core.api.complete_multipart(
                job.video_id, upload_id, payload, checksum_crc64nvme=whole), control)
        except NotFoundError:
            # completed before a crash (S3 forgets finished uploads); the record step checks
            # that the object is really there (status "uploaded", size and checksum equal).
            log.info("job %s: upload already completed earlier", job.id)
        except ConflictError as exc:
            if exc.code != "checksum_mismatch":
                raise
            # S3 refused the whole-object checksum (the server aborted the upload): send the
            # file again from its first byte
            self.core.store.reset_upload(job.id, self.core.user_id, sha256=None)
            raise CloudCopyRejected(
                f"S3 refused the whole-file checksum of {job.name}", code=exc.code
            ) from None
        return self.core._set(job, phase=Phase.COMPLETED, bytes_done=job.size)


class EarlyRead:
    """A file opened and its first parts submitted to its reader before the upload was made:
    :meth:`take` hands them to the parts' flow, :meth:`close` (idempotent) drops them."""

    def __init__(self, fd: int, reader: FileReader, reads: list[Future[PreparedPart]]) -> None:
        self._fd: int | None = fd
        self.reader = reader
        self.reads = reads

    def take(self) -> tuple[int, FileReader, list[Future[PreparedPart]]]:
        fd, self._fd = self._fd, None
        assert fd is not None, "taken twice"
        return fd, self.reader, self.reads

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            self.reader.drain()
            os.close(fd)


def _etag(value: Any) -> str:
    return str(value or "").strip().strip('"')


def _signed(entry: dict[str, Any]) -> tuple[str, dict[str, str]]:
    return str(entry["url"]), {str(k): str(v) for k, v in dict(entry.get("headers") or {}).items()}
