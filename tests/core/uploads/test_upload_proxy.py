"""The strict S3 proxy really is strict: what moto accepts and real S3 refuses is refused here."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from medispecs_desktop.core.uploads.pipeline import crc64nvme_of


@pytest.fixture
def stray_object(s3: Any, local_stack: dict[str, Any], demo_api: Any
                 ) -> Iterator[Callable[[str], str]]:
    """``stray_object(video_id)`` -> the id: bytes these tests PUT with no record are deleted
    when the test ends (every object has an owner; the suite checks at its end)."""
    _api, sub = demo_api
    made: list[str] = []

    def name(video_id: str) -> str:
        made.append(video_id)
        return video_id

    yield name
    for video_id in made:
        s3.delete_object(Bucket=local_stack["bucket"], Key=f"videos/{sub}/{video_id}.mp4")


def test_proxy_refuses_what_real_s3_refuses(proxy, demo_api, stray_object) -> None:
    api, _ = demo_api
    body = b"x" * 1000
    good = base64.b64encode(hashlib.sha256(body).digest()).decode()
    signed = api.upload_url(stray_object("v_proxycheck0001"), content_type="video/mp4",
                            size=len(body),
                            sha256_b64=good)
    url = proxy.rewrite(signed["uploadUrl"])
    headers = dict(signed["headers"])

    chunked = requests.put(url, data=iter([body]), headers=headers, timeout=10)
    assert chunked.status_code == 501 and "NotImplemented" in chunked.text

    wrong = dict(headers, **{"x-amz-checksum-sha256": base64.b64encode(b"0" * 32).decode()})
    digest = requests.put(url, data=body, headers=wrong, timeout=10)
    assert digest.status_code == 400 and "BadDigest" in digest.text

    missing = {k: v for k, v in headers.items() if k.lower() != "x-amz-checksum-sha256"}
    unsigned = requests.put(url, data=body, headers=missing, timeout=10)
    assert unsigned.status_code == 403 and "SignatureDoesNotMatch" in unsigned.text

    proxy.inject("expire")
    expired = requests.put(url, data=body, headers=headers, timeout=10)
    assert expired.status_code == 403 and "Request has expired" in expired.text

    ok = requests.put(url, data=body, headers=headers, timeout=10)
    assert ok.status_code == 200 and ok.headers["ETag"]


def test_proxy_checks_crc64nvme_like_s3(proxy, demo_api, stray_object) -> None:
    """A part's signed x-amz-checksum-crc64nvme is checked against its bytes; a body damaged
    on the way (the ``tamper`` fault) is refused with S3's BadDigest."""
    api, _ = demo_api
    body = b"y" * 5000
    crc = crc64nvme_of(body)
    signed = api.upload_url(stray_object("v_proxycheck0002"), content_type="video/mp4",
                            size=len(body),
                            crc64nvme_b64=crc)
    url = proxy.rewrite(signed["uploadUrl"])
    headers = dict(signed["headers"])
    assert headers["x-amz-checksum-crc64nvme"] == crc
    wrong = dict(headers, **{"x-amz-checksum-crc64nvme": crc64nvme_of(b"z")})
    refused = requests.put(url, data=body, headers=wrong, timeout=10)
    assert refused.status_code == 400 and "BadDigest" in refused.text
    assert "CRC64NVME" in refused.text
    missing = {k: v for k, v in headers.items() if k.lower() != "x-amz-checksum-crc64nvme"}
    unsigned = requests.put(url, data=body, headers=missing, timeout=10)
    assert unsigned.status_code == 403 and "SignatureDoesNotMatch" in unsigned.text
    proxy.inject("tamper")
    damaged = requests.put(url, data=body, headers=headers, timeout=10)
    assert damaged.status_code == 400 and "BadDigest" in damaged.text
    ok = requests.put(url, data=body, headers=headers, timeout=10)
    assert ok.status_code == 200
