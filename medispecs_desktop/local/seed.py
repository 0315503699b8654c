"""Demo recordings for the embedded stack, uploaded through the real API flow.

A new user of the local stack should open a populated library: a few short real MP4s (made
with PyAV), each uploaded exactly as the desktop does it -
``GET upload-url`` -> ``PUT`` the bytes to the pre-signed URL (SHA-256 signed in) ->
``POST /videos`` -> ``GET thumbnail-upload-url`` -> ``PUT`` the JPEG -> ``PATCH thumbnail:true`` -
so the records end ``ready`` with a thumbnail, and the seed doubles as a smoke test of the stack.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from medispecs_desktop.core.hashing import fingerprint, sha256_file
from medispecs_desktop.core.media import probe, thumbnail_jpeg
from medispecs_desktop.core.uploads.reader import crc64nvme_of
from medispecs_desktop.local.samples import make_video

__all__ = ["DEMO_CLIPS", "DemoClip", "SeedError", "SeededVideo", "make_demo_clips", "seed_library"]

log = logging.getLogger(__name__)


class SeedError(RuntimeError):
    """A step of the demo upload failed (the message names the step and the HTTP status)."""


@dataclass(frozen=True)
class DemoClip:
    title: str
    age: timedelta  # how long ago it was recorded
    seconds: float
    codec: str
    notes: str = ""


DEMO_CLIPS: tuple[DemoClip, ...] = (
    DemoClip("Ward round - bed 12", timedelta(hours=2), 3.0, "libx264",
             "Post-op day 2; wound dry, patient mobilising."),
    DemoClip("Wound dressing review", timedelta(days=1, hours=3), 2.0, "libx264"),
    DemoClip("Physiotherapy session", timedelta(days=3, hours=5), 4.0, "mpeg4"),
)


@dataclass(frozen=True)
class SeededVideo:
    video_id: str
    title: str
    path: Path
    size: int
    sha256: str
    thumbnail_size: int


def make_demo_clips(
    folder: Path, clips: Sequence[DemoClip] = DEMO_CLIPS, *, now: datetime | None = None
) -> list[tuple[DemoClip, Path, datetime]]:
    """Write each demo clip under ``folder`` (recorded ``clip.age`` before ``now``)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    out = []
    for index, clip in enumerate(clips):
        recorded = (now - clip.age).replace(second=0)
        path = make_video(
            folder / f"demo_{index + 1}.mp4",
            seconds=clip.seconds,
            codec=clip.codec,
            creation_time=recorded,
            device_id="d_demo_glasses",
            seed=index,
        )
        out.append((clip, path, recorded))
    return out


def _check(response: requests.Response, step: str, *expected: int) -> Any:
    if response.status_code not in expected:
        raise SeedError(f"demo seed: {step} answered HTTP {response.status_code}")
    return response.json() if response.content else None


def _put(session: requests.Session, grant: dict[str, Any], data: bytes, step: str,
         timeout: float) -> str:
    headers = {str(k): str(v) for k, v in (grant.get("headers") or {}).items()}
    method = str(grant.get("method", "PUT")).upper()
    response = session.request(method, grant["uploadUrl"], data=data, headers=headers,
                               timeout=timeout)
    if response.status_code not in (200, 201, 204):
        raise SeedError(f"demo seed: {step} answered HTTP {response.status_code}")
    return str(response.headers.get("ETag", ""))


def upload_recording(
    session: requests.Session,
    api_url: str,
    id_token: str,
    path: Path,
    *,
    title: str,
    recorded_at: datetime | None = None,
    notes: str = "",
    timeout: float = 30.0,
) -> SeededVideo:
    """Upload one recording and its thumbnail the way the desktop does; returns what was sent."""
    api = api_url.rstrip("/")
    auth = {"Authorization": f"Bearer {id_token}"}
    info = probe(path)
    jpeg = thumbnail_jpeg(path)
    digest = sha256_file(path)
    data = path.read_bytes()
    crc = crc64nvme_of(data)
    video_id = "v_" + uuid.uuid4().hex
    # as the desktop does: a multipart upload (one part) whose whole-object CRC64NVME S3
    # checks at completion, so the record is verified in the cloud
    base = f"{api}/videos/{video_id}/multipart"
    created = _check(session.post(base, json={
        "fileSizeBytes": len(data), "partSizeBytes": max(len(data), 5 * 1024 * 1024),
        "contentType": info.mime_type}, headers=auth, timeout=timeout), "multipart", 201)
    upload = f"{base}/{created['uploadId']}"
    signed = _check(session.post(f"{upload}/sign", json={"parts": [
        {"partNumber": 1, "contentLength": len(data), "checksumCRC64NVME": crc}]},
        headers=auth, timeout=timeout), "sign", 200)["parts"][0]
    etag = _put(session, {"uploadUrl": signed["url"], "headers": signed["headers"]}, data,
                "PUT video", timeout)
    _check(session.post(f"{upload}/complete", json={
        "parts": [{"partNumber": 1, "etag": etag, "checksumCRC64NVME": crc}],
        "checksumCRC64NVME": crc}, headers=auth, timeout=timeout), "complete", 200)
    body: dict[str, Any] = {**info.api_fields(), "videoId": video_id, "title": title,
                            "sha256": digest.hexdigest(), "crc64nvme": crc,
                            "fingerprint": fingerprint(path), "uploadKind": "multipart"}
    if recorded_at is not None:
        body["recordedAt"] = recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if notes:
        body["notes"] = notes
    video = _check(
        session.post(f"{api}/videos", json=body, headers=auth, timeout=timeout),
        "POST /videos", 200, 201,
    )
    thumb = _check(
        session.get(f"{api}/videos/{video_id}/thumbnail-upload-url", headers=auth,
                    timeout=timeout),
        "thumbnail-upload-url",
        200,
    )
    _put(session, thumb, jpeg, "PUT thumbnail", timeout)
    # attaching a thumbnail compares no version: the stack's processing may have updated the
    # record meanwhile (its updates never bump the version anyway)
    _check(session.patch(f"{api}/videos/{video_id}",
                         json={"version": video["version"], "thumbnail": True},
                         headers=auth, timeout=timeout), "PATCH thumbnail", 200)
    return SeededVideo(video_id, title, path, len(data), digest.hexdigest(), len(jpeg))


def seed_library(
    api_url: str,
    id_token: str,
    clips: Sequence[tuple[DemoClip, Path, datetime]],
    *,
    timeout: float = 30.0,
    workers: int = 3,
) -> list[SeededVideo]:
    """Upload ``clips`` (from :func:`make_demo_clips`) for the token's user, ``workers`` at a
    time; returns them in ``clips`` order. The first failure is raised (as :class:`SeedError`
    for an HTTP step)."""

    def one(item: tuple[DemoClip, Path, datetime]) -> SeededVideo:
        clip, path, recorded = item
        with requests.Session() as session:
            session.trust_env = False  # loopback: never through a proxy
            return upload_recording(session, api_url, id_token, path, title=clip.title,
                                    recorded_at=recorded, notes=clip.notes, timeout=timeout)

    if not clips:
        return []
    # The first upload alone: it runs every code path once (lazy imports, client creation in
    # the handler and in moto), so the parallel ones never race on a first import.
    seeded = [one(clips[0])]
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="demo-seed") as pool:
        seeded.extend(pool.map(one, clips[1:]))
    log.info("demo library seeded with %d recordings", len(seeded))
    return seeded
