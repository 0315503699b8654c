"""The demo stack's moto S3 patch (``local/moto_s3_patches.py``): a version listing answers
exactly as stock moto does, and copies only the keys under its prefix."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from medispecs_desktop.local import moto_s3_patches

REGION = "eu-central-1"
BUCKET = "versions-bucket"


@pytest.fixture
def s3() -> Iterator[Any]:
    # stock moto for the test (the session's local stack may have patched this process); the
    # process's previous state afterwards
    with moto_s3_patches.stock(), mock_aws():
        client: Any = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET,
                             CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=BUCKET,
                                     VersioningConfiguration={"Status": "Enabled"})
        # a bucket with versions, delete markers, nested "folders" and look-alike prefixes
        for user in ("u1", "u2"):
            for n in range(4):
                for rev in range(3):
                    client.put_object(Bucket=BUCKET, Key=f"videos/{user}/v{n}.mp4",
                                      Body=f"{user}{n}{rev}".encode())
                client.put_object(Bucket=BUCKET, Key=f"thumbnails/{user}/v{n}.jpg", Body=b"j")
            client.delete_object(Bucket=BUCKET, Key=f"videos/{user}/v1.mp4")
        client.put_object(Bucket=BUCKET, Key="videos/u1/v1.mp4.bak", Body=b"b")
        yield client


def _pages(client: Any, **kwargs: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    while True:
        resp = client.list_object_versions(Bucket=BUCKET, **kwargs)
        pages.append({k: resp.get(k) for k in (
            "Versions", "DeleteMarkers", "CommonPrefixes", "IsTruncated", "NextKeyMarker",
            "NextVersionIdMarker")})
        if not resp.get("IsTruncated"):
            return pages
        kwargs["KeyMarker"] = resp["NextKeyMarker"]
        if resp.get("NextVersionIdMarker"):
            kwargs["VersionIdMarker"] = resp["NextVersionIdMarker"]
        else:
            kwargs.pop("VersionIdMarker", None)


QUERIES: list[dict[str, Any]] = [
    {},
    {"Prefix": "videos/u1/v1.mp4"},
    {"Prefix": "videos/u1/"},
    {"Prefix": "videos/", "Delimiter": "/"},
    {"Prefix": "videos/u2/", "MaxKeys": 2},
    {"Prefix": "videos/", "MaxKeys": 3},
    {"Prefix": "videos/u1/v1", "MaxKeys": 1},
    {"Prefix": "nothing/"},
]


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_answers_exactly_as_stock_moto(s3: Any, query: dict[str, Any]) -> None:
    stock = _pages(s3, **query)
    moto_s3_patches.apply()
    try:
        patched = _pages(s3, **query)
    finally:
        moto_s3_patches.remove()
    assert patched == stock
    assert any(p["Versions"] or p["DeleteMarkers"] or p["CommonPrefixes"] for p in stock) \
        or query.get("Prefix") == "nothing/"


def test_copies_only_the_keys_under_the_prefix(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stock moto deep-copies every version in the bucket for each listing (bytes and all);
    patched, a listing of one key copies that key's versions only."""

    copied: list[str] = []
    real_deepcopy = copy.deepcopy

    def counting_deepcopy(obj: Any, memo: Any = None) -> Any:
        if isinstance(obj, list):
            copied.extend(getattr(v, "name", "?") for v in obj)
        return real_deepcopy(obj, memo)

    monkeypatch.setattr(copy, "deepcopy", counting_deepcopy)  # the module moto.s3.models uses
    s3.list_object_versions(Bucket=BUCKET, Prefix="videos/u1/v1.mp4")
    stock_copied = set(copied)
    copied.clear()
    moto_s3_patches.apply()
    try:
        resp = s3.list_object_versions(Bucket=BUCKET, Prefix="videos/u1/v1.mp4")
    finally:
        moto_s3_patches.remove()
    assert len(resp["Versions"]) == 4 and len(resp["DeleteMarkers"]) == 1
    assert "thumbnails/u2/v3.jpg" in stock_copied  # the whole bucket, stock
    assert set(copied) == {"videos/u1/v1.mp4", "videos/u1/v1.mp4.bak"}


def test_refuses_a_moto_it_was_not_written_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    with moto_s3_patches.stock():
        monkeypatch.setattr(moto, "__version__", "9.9.9")
        with pytest.raises(moto_s3_patches.MotoS3PatchError, match=r"9\.9\.9"):
            moto_s3_patches.apply()
        assert not moto_s3_patches.is_applied()
        monkeypatch.undo()
