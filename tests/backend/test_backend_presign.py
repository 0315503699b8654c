"""GET URLs signed without botocore's per-call pipeline (backend/presign.py): the same URLs as
``generate_presigned_url`` at the same instant - endpoint, parameters and signature - for both
addressing styles, with and without a session token, and botocore's own way for whatever the
fast path does not reproduce. A listing page of 100 asks botocore once, not 100 times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.config import Config

from medispecs_desktop.backend.api.views import video_view
from medispecs_desktop.backend.presign import Credentials, GetSigner
from medispecs_desktop.backend.storage import VideoStorage

NOW = datetime(2026, 12, 6, 7, 41, 5, tzinfo=UTC)
KEYS = ["thumbnails/u_1/v_0123456789abcdef.jpg", "videos/8f1c-22/v_x.mp4",
        "markers/u/v/m_1~2-3_4.png", "a"]


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's signers (its Python one and the CRT one) see NOW."""
    import botocore.auth
    import botocore.crt.auth

    def now(remove_tzinfo: bool = True) -> datetime:
        return NOW.replace(tzinfo=None) if remove_tzinfo else NOW

    monkeypatch.setattr(botocore.auth, "get_current_datetime", now)
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", now)


def _client(endpoint: str | None, token: str | None, region: str = "eu-west-2") -> Any:
    """An S3 client configured as backend/aws.py configures it."""
    style = "path" if endpoint else "auto"
    session = boto3.session.Session(aws_access_key_id="AKIAEXAMPLE1234",
                                    aws_secret_access_key="s3cr3t/key+example",
                                    aws_session_token=token, region_name=region)
    s3_options: Any = {"addressing_style": style}
    return session.client("s3", region_name=region, endpoint_url=endpoint, config=Config(
        signature_version="s3v4", s3=s3_options,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required"))


def _botocore(client: Any, key: str, content_type: str | None, expires: int = 900) -> str:
    params: dict[str, Any] = {"Bucket": "medispecs-videos", "Key": key}
    if content_type:
        params["ResponseContentType"] = content_type
    return str(client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))


def _parts(url: str) -> tuple[str, str, str, dict[str, str]]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    assert len(query) == len(parse_qsl(parts.query, keep_blank_values=True))
    return parts.scheme, parts.netloc, parts.path, query


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:40123", None])
@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEHYaCWV1/LXdlc3QtMiJHMEUCIQ=="])
def test_urls_are_botocores_at_the_same_instant(frozen: None, endpoint: str | None,
                                                token: str | None) -> None:
    client = _client(endpoint, token)
    calls: list[str] = []

    def presign(key: str, content_type: str | None) -> str:
        calls.append(key)
        return _botocore(client, key, content_type)

    signer = GetSigner(presign, lambda: Credentials("AKIAEXAMPLE1234", "s3cr3t/key+example",
                                                    token), 900, clock=lambda: NOW)
    for content_type in (None, "image/jpeg", "video/mp4"):
        for key in KEYS:
            fast = signer.url(key, content_type)
            assert _parts(fast) == _parts(_botocore(client, key, content_type)), key
            assert _parts(fast)[3]["X-Amz-Signature"]  # signed, not just shaped alike
    # one probe per response type: botocore was asked 3 times for 12 URLs
    assert len(calls) == 3 and all(c.startswith("medispecs-probe/") for c in calls)


def test_what_it_cannot_reproduce_goes_through_botocore(frozen: None) -> None:
    client = _client("http://127.0.0.1:40123", None)
    calls: list[str] = []

    def presign(key: str, content_type: str | None) -> str:
        calls.append(key)
        return _botocore(client, key, content_type)

    creds: list[Credentials | None] = [Credentials("AKIAEXAMPLE1234", "s3cr3t/key+example")]
    signer = GetSigner(presign, lambda: creds[0], 900, clock=lambda: NOW)
    odd = "thumbnails/ü x/v 1?.jpg"  # needs percent-encoding: botocore's
    assert signer.url(odd) == _botocore(client, odd, None)
    assert calls == [odd]
    creds[0] = None  # no credentials to read
    assert signer.url(KEYS[0]) == _botocore(client, KEYS[0], None) and calls[-1] == KEYS[0]
    # credentials that are not the client's (the probe disagrees): botocore's, every time
    creds[0] = Credentials("AKIAOTHER", "other")
    assert signer.url(KEYS[0]) == _botocore(client, KEYS[0], None) and calls[-1] == KEYS[0]


def test_rotated_credentials_sign_with_the_new_ones(frozen: None) -> None:
    clients = {"T1": _client(None, "T1"), "T2": _client(None, "T2")}
    current = ["T1"]

    def presign(key: str, content_type: str | None) -> str:
        return _botocore(clients[current[0]], key, content_type)

    signer = GetSigner(presign, lambda: Credentials("AKIAEXAMPLE1234", "s3cr3t/key+example",
                                                    current[0]), 900, clock=lambda: NOW)
    first = signer.url(KEYS[0])
    current[0] = "T2"
    second = signer.url(KEYS[0])
    assert _parts(first)[3]["X-Amz-Security-Token"] == "T1"
    assert _parts(second) == _parts(_botocore(clients["T2"], KEYS[0], None))


def test_a_listing_page_asks_botocore_once(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client("http://127.0.0.1:40123", None)
    asked: list[Any] = []
    real = client.generate_presigned_url

    def counted(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["Params"]["Key"])
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "generate_presigned_url", counted)
    storage = VideoStorage(lambda: client, "medispecs-videos", 3600, 900,
                           credentials=lambda: Credentials("AKIAEXAMPLE1234",
                                                           "s3cr3t/key+example"))
    items = [{"videoId": f"v_{i:04d}", "title": "t", "recordedAt": "2026-01-01T00:00:00Z",
              "thumbnailS3Key": f"thumbnails/u/v_{i:04d}.jpg"} for i in range(100)]
    views = [video_view(storage, item) for item in items]
    assert len({v["thumbnailUrl"] for v in views}) == 100
    assert all(urlsplit(v["thumbnailUrl"]).path == f"/medispecs-videos/thumbnails/u/v_{i:04d}.jpg"
               for i, v in enumerate(views))
    assert len(asked) == 1  # the probe (stock: one generate_presigned_url per recording)
