"""core.api.ApiClient against the running local stack (real gateway + handler + moto over
HTTP), real bytes through real pre-signed URLs, real PyAV files."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
import requests
from botocore.config import Config

from medispecs_desktop.core.api import ApiClient, Page, PlaybackUrl
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.errors import (
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
    ServerError,
    ValidationError,
)
from medispecs_desktop.core.http import make_session
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.uploads.pipeline import crc64nvme_of

PASSWORD = "Api-Tests-Pass-1!"


def quick_session() -> requests.Session:
    return make_session(backoff_factor=0, backoff_jitter=0)


def stack_settings(stack: dict[str, Any], **kw: Any) -> Settings:
    return Settings(
        api_url=stack["apiUrl"], region=stack["region"], user_pool_id=stack["userPoolId"],
        client_id=stack["clientId"], cognito_endpoint=stack["awsEndpoint"],
    ).with_overrides(**kw)


@dataclass
class User:
    settings: Settings
    auth: CognitoAuth
    api: ApiClient


def new_user(stack: dict[str, Any]) -> User:
    """A fresh user in the stack's pool: an empty library, isolated from other tests."""
    admin = boto3.session.Session().client(
        "cognito-idp", region_name=stack["region"], endpoint_url=stack["awsEndpoint"],
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    username = f"api-{uuid.uuid4().hex[:10]}"
    admin.admin_create_user(UserPoolId=stack["userPoolId"], Username=username,
                            MessageAction="SUPPRESS")
    admin.admin_set_user_password(UserPoolId=stack["userPoolId"], Username=username,
                                  Password=PASSWORD, Permanent=True)
    settings = stack_settings(stack)
    auth = CognitoAuth(settings, MemoryTokenStore())
    auth.sign_in(username, PASSWORD)
    return User(settings, auth, ApiClient(settings, auth, session=quick_session()))


@pytest.fixture(scope="module")
def user(local_stack: dict[str, Any]) -> Iterator[User]:
    u = new_user(local_stack)
    yield u
    u.api.close()


@pytest.fixture
def clip(make_video: Any) -> Path:
    """A real clip, different for every test (the service refuses a second copy of a file)."""
    path: Path = make_video("ward.mp4", seconds=1.0, width=160, height=120,
                            device_id=f"d_{uuid.uuid4().hex[:12]}")
    return path


def vid() -> str:
    return f"v_{uuid.uuid4().hex}"


def put(grant: dict[str, Any], data: bytes) -> requests.Response:
    response = make_session().put(grant["uploadUrl"], data=data, headers=grant["headers"])
    assert response.status_code == 200, response.text
    return response


def upload_single(api: ApiClient, path: Path, *, title: str = "Ward round",
                  recorded_at: str = "2025-11-03T14:30:00Z") -> Video:
    data = path.read_bytes()
    digest = hashlib.sha256(data)
    video_id = vid()
    grant = api.upload_url(video_id, content_type="video/mp4", size=len(data),
                           sha256_b64=base64.b64encode(digest.digest()).decode())
    assert grant["method"] == "PUT" and grant["videoId"] == video_id
    put(grant, data)
    return api.create_video({
        "videoId": video_id, "title": title, "recordedAt": recorded_at,
        "fileSizeBytes": len(data), "mimeType": "video/mp4", "sha256": digest.hexdigest(),
        "durationSec": 1.0, "width": 160, "height": 120, "codec": "h264",
    })


# --------------------------------------------------------------------------- the videos


def test_single_upload_get_list_and_playback(user: User, clip: Path) -> None:
    api = user.api
    video = upload_single(api, clip, title="Ward round - bed 3")
    assert isinstance(video, Video)
    assert video.status == "uploaded" and video.has_bytes
    assert video.file_size_bytes == clip.stat().st_size
    assert video.user_id == user.auth.user.sub  # type: ignore[union-attr]
    assert video.version == 1

    got = api.get_video(video.video_id)
    assert got == video

    page = api.list_videos(date_from="2025-11-03", date_to="2025-11-03")
    assert isinstance(page, Page)
    assert video.video_id in [v.video_id for v in page.items]

    grant = api.playback_url(video.video_id)
    assert isinstance(grant, PlaybackUrl)
    assert grant.expires_at > 0
    signature = grant.url.split("X-Amz-Signature=")[1].split("&")[0]
    assert len(signature) >= 32 and signature not in repr(grant)
    body = make_session().get(grant.url).content
    assert body == clip.read_bytes()  # the very bytes we sent

    # a plain single PUT: S3 (moto) keeps no whole-object checksum, so the record is not
    # verified and its SHA-256 is no proof of a duplicate (DESIGN §8, revised)
    assert video.sha256_verified is False
    assert api.find_duplicates(sha256s=[hashlib.sha256(body).hexdigest()]) == []


def test_update_with_version_and_conflict(user: User, clip: Path) -> None:
    api = user.api
    video = upload_single(api, clip, recorded_at="2025-11-04T08:00:00Z")
    updated = api.update_video(video.video_id, version=video.version, title="Renamed",
                               notes="Post-op day 1")
    assert (updated.title, updated.notes) == ("Renamed", "Post-op day 1")
    assert updated.version == video.version + 1

    with pytest.raises(ConflictError) as info:
        api.update_video(video.video_id, version=video.version, title="Stale edit")
    assert info.value.code == "version_conflict" and info.value.status == 409
    assert api.get_video(video.video_id).title == "Renamed"


def test_thumbnail_upload_then_ready(user: User, clip: Path) -> None:
    from medispecs_desktop.core.media import thumbnail_jpeg

    api = user.api
    video = upload_single(api, clip, recorded_at="2025-11-05T08:00:00Z")
    grant = api.thumbnail_upload_url(video.video_id)
    put(grant, thumbnail_jpeg(clip))
    ready = api.update_video(video.video_id, version=video.version, thumbnail=True)
    assert ready.thumbnail_s3_key and ready.status == "ready"
    assert ready.thumbnail_url
    assert make_session().get(ready.thumbnail_url).content[:2] == b"\xff\xd8"


def test_delete_then_not_found(user: User, clip: Path) -> None:
    api = user.api
    video = upload_single(api, clip, recorded_at="2025-11-06T08:00:00Z")
    api.delete_video(video.video_id)
    for call in (lambda: api.get_video(video.video_id),
                 lambda: api.delete_video(video.video_id),
                 lambda: api.playback_url(video.video_id)):
        with pytest.raises(NotFoundError) as info:
            call()
        assert info.value.code == "not_found" and info.value.status == 404
        assert video.video_id in str(info.value)


def test_metadata_only_record_is_pending_and_cannot_play(user: User) -> None:
    api = user.api
    video = api.create_video({"videoId": vid(), "title": "Console flow",
                              "recordedAt": "2025-11-07T08:00:00Z"})
    assert video.status == "pending" and not video.has_bytes
    with pytest.raises(ConflictError) as info:
        api.playback_url(video.video_id)
    assert info.value.code == "not_uploaded"


def test_paging_newest_first_and_date_range(local_stack: dict[str, Any]) -> None:
    api = new_user(local_stack).api
    assert api.list_videos() == Page(items=[], next_cursor=None)
    days = ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05"]
    for day in days:
        api.create_video({"videoId": vid(), "title": day, "recordedAt": f"{day}T10:00:00Z"})

    first = api.list_videos(limit=2)
    assert [v.title for v in first.items] == ["2025-01-05", "2025-01-04"]
    assert first.next_cursor
    second = api.list_videos(limit=2, cursor=first.next_cursor)
    assert [v.title for v in second.items] == ["2025-01-03", "2025-01-02"]

    assert [v.title for v in api.iter_videos(limit=2)] == sorted(days, reverse=True)
    ranged = api.list_videos(date_from="2025-01-02", date_to="2025-01-03")
    assert [v.title for v in ranged.items] == ["2025-01-03", "2025-01-02"]
    with pytest.raises(ValueError):
        api.list_videos(limit=0)
    with pytest.raises(ValidationError) as info:
        api.list_videos(date_from="2025-02-01", date_to="2025-01-01")
    assert info.value.status == 400 and info.value.code == "invalid_range"
    with pytest.raises(ValidationError):
        api.list_videos(cursor="not-a-cursor")
    api.close()


def test_multipart_upload_round_trip(user: User, tmp_path: Path) -> None:
    api = user.api
    part_size = 5 * 1024 * 1024
    data = uuid.uuid4().bytes * (part_size // 16) + b"tail-of-the-file" * 64
    video_id = vid()
    created = api.create_multipart(video_id, size=len(data), part_size=part_size,
                                   content_type="video/mp4")
    upload_id = created["uploadId"]
    assert created["partCount"] == 2
    chunks = [data[:part_size], data[part_size:]]
    wanted = [{"partNumber": n, "contentLength": len(c), "checksumCRC64NVME": crc64nvme_of(c)}
              for n, c in enumerate(chunks, start=1)]
    signed = api.sign_parts(video_id, upload_id, wanted)
    assert [p["partNumber"] for p in signed] == [1, 2]
    etags = []
    for part, chunk in zip(signed, chunks, strict=True):
        response = make_session().put(part["url"], data=chunk, headers=part["headers"])
        assert response.status_code == 200, response.text
        etags.append(response.headers["ETag"])
    listed = api.list_parts(video_id, upload_id)
    assert [(p["partNumber"], p["size"]) for p in listed] == [(1, part_size),
                                                              (2, len(chunks[1]))]
    done = api.complete_multipart(
        video_id, upload_id,
        [{"partNumber": n, "etag": e, "checksumCRC64NVME": w["checksumCRC64NVME"]}
         for n, e, w in zip((1, 2), etags, wanted, strict=True)],
        checksum_crc64nvme=crc64nvme_of(data),
    )
    assert done["fileSizeBytes"] == len(data)
    sha = hashlib.sha256(data).hexdigest()
    video = api.create_video({"videoId": video_id, "title": "Big one",
                              "recordedAt": "2025-11-08T08:00:00Z", "fileSizeBytes": len(data),
                              "sha256": sha, "crc64nvme": crc64nvme_of(data),
                              "uploadKind": "multipart"})
    assert video.status == "uploaded" and video.file_size_bytes == len(data)
    assert video.sha256_verified is True and video.sha256_verified_by == "crc64nvme"
    assert {"sha256": sha, "videoId": video_id} in api.find_duplicates(sha256s=[sha])


def test_abort_multipart_then_no_such_upload(user: User) -> None:
    api = user.api
    video_id = vid()
    created = api.create_multipart(video_id, size=6 * 1024 * 1024, part_size=5 * 1024 * 1024,
                                   content_type="video/mp4")
    api.abort_multipart(video_id, created["uploadId"])
    api.abort_multipart(video_id, created["uploadId"])  # idempotent
    with pytest.raises(NotFoundError) as info:
        api.list_parts(video_id, created["uploadId"])
    assert info.value.code == "no_such_upload"


# --------------------------------------------------------------------------- auth and errors


class CountingProvider:
    """A TokenProvider that hands out ``tokens`` in turn and counts refreshes."""

    def __init__(self, first: str, *, after_refresh: str) -> None:
        self.current, self.after_refresh, self.refreshes = first, after_refresh, 0

    def id_token(self) -> str:
        return self.current

    def force_refresh(self) -> str:
        self.refreshes += 1
        self.current = self.after_refresh
        return self.current


def test_401_refreshes_once_then_retries(user: User) -> None:
    good = user.auth.id_token()
    provider = CountingProvider("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", after_refresh=good)
    api = ApiClient(user.settings, provider, session=quick_session())
    assert isinstance(api.list_videos(), Page)
    assert provider.refreshes == 1


def test_401_after_a_refresh_is_not_signed_in(user: User) -> None:
    provider = CountingProvider("bad-token", after_refresh="still-bad")
    api = ApiClient(user.settings, provider, session=quick_session())
    with pytest.raises(NotSignedInError) as info:
        api.list_videos()
    assert info.value.status == 401
    assert provider.refreshes == 1  # exactly one refresh, no loop


def test_cognito_session_refreshes_a_rejected_token(local_stack: dict[str, Any]) -> None:
    u = new_user(local_stack)
    assert u.auth._tokens is not None
    u.auth._tokens.id_token = "revoked-or-mangled"  # the gateway will answer 401
    assert u.api.list_videos().items == []
    assert u.auth.id_token() != "revoked-or-mangled"


def test_another_users_id_is_forbidden(user: User) -> None:
    with pytest.raises(ForbiddenError) as info:
        user.api.request("GET", "/videos", params={"userId": "somebody-else"})
    assert info.value.status == 403


def test_gateway_not_found_shape(user: User) -> None:
    with pytest.raises(NotFoundError) as info:
        user.api.request("GET", "/no-such-route")
    assert str(info.value) == "Not Found" and info.value.status == 404


def test_offline_and_ping(user: User, local_stack: dict[str, Any]) -> None:
    import socket

    assert user.api.ping() is True
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    offline = ApiClient(stack_settings(local_stack, api_url=f"http://127.0.0.1:{port}"),
                        user.auth, session=quick_session())
    assert offline.ping() is False
    with pytest.raises(OfflineError) as info:
        offline.list_videos()
    assert f"127.0.0.1:{port}" in str(info.value)
    with pytest.raises(OfflineError):
        offline.create_video({"title": "x", "recordedAt": "2025-01-01T00:00:00Z"})


def test_missing_api_url_is_a_configuration_error(user: User) -> None:
    with pytest.raises(ConfigurationError):
        ApiClient(Settings(), user.auth)


# --------------------------------------------------------------------------- error shapes


class _Scripted(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, bytes]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        status, body = self.answers.pop(0) if self.answers else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "message"),
    [
        (500, b'{"error": {"code": "internal", "message": "Something broke"}}', ServerError,
         "internal", "Something broke"),
        (502, b'{"message": "Internal Server Error"}', ServerError, "server",
         "Internal Server Error"),
        (400, b'{"error": {"code": "invalid_size", "message": "size must be"}}',
         ValidationError, "invalid_size", "size must be"),
        (413, b"<html>too big</html>", ValidationError, "validation", "HTTP 413"),
        (200, b"not json", ServerError, "server", "not JSON"),
    ],
)
def test_error_shapes(status: int, body: bytes, kind: type[Exception], code: str,
                      message: str) -> None:
    # 5xx answers are retried by the session: script the same answer for every attempt
    _Scripted.answers = [(status, body)] * 4
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        api = ApiClient(Settings(api_url=f"http://127.0.0.1:{server.server_address[1]}"),
                        CountingProvider("t", after_refresh="t"), session=quick_session())
        with pytest.raises(kind) as info:
            api.get_video("v_1")
        assert info.value.code == code  # type: ignore[attr-defined]
        assert message in str(info.value)
        if status >= 400:
            assert info.value.status == status  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
