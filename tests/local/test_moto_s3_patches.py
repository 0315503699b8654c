"""The demo stack's moto S3 patch (``local/moto_s3_patches.py``): a version listing answers
exactly as stock moto does, and copies only the keys under its prefix."""

from __future__ import annotations

import base64
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


# -- completing a multipart upload ------------------------------------------------------------

MIB = 1024 * 1024
CHECKSUMS: list[dict[str, str]] = [
    {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "FULL_OBJECT"},  # what the app sends
    {"ChecksumAlgorithm": "CRC32", "ChecksumType": "FULL_OBJECT"},
    {"ChecksumAlgorithm": "SHA256", "ChecksumType": "COMPOSITE"},
    {},
]


def _multipart(client: Any, key: str, sizes: list[int], **create: str) -> tuple[str, list[Any]]:
    """An open multipart upload of random parts; its id and ``[(number, etag)]``."""
    import random

    rng = random.Random(str(sizes))  # the same bytes for the same sizes
    upload = client.create_multipart_upload(Bucket=BUCKET, Key=key, **create)["UploadId"]
    parts = []
    for number, size in enumerate(sizes, 1):
        body = rng.randbytes(size)
        extra = {}
        if create.get("ChecksumAlgorithm"):
            extra["ChecksumAlgorithm"] = create["ChecksumAlgorithm"]
        etag = client.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number,
                                  Body=body, **extra)["ETag"]
        parts.append((number, etag))
    return upload, parts


def _fake_multipart(upload: str) -> Any:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(BUCKET).multiparts[upload]


@pytest.mark.parametrize("create", CHECKSUMS, ids=[str(c) for c in CHECKSUMS])
def test_a_completed_multipart_upload_is_stock_motos_byte_for_byte(
    s3: Any, create: dict[str, str]
) -> None:
    """The same parts completed by moto's own code and by the patch: the same object, ETag
    (MD5 of the parts' MD5s), checksum type and value - through the whole S3 API."""
    sizes = [5 * MIB, 5 * MIB + 3, 1234]
    answers = []
    for key, patched in (("stock.mp4", False), ("patched.mp4", True)):
        upload, parts = _multipart(s3, key, sizes, **create)
        if patched:
            moto_s3_patches.apply()
        try:
            done = s3.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        finally:
            if patched:
                moto_s3_patches.remove()
        head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        fields = ("ETag", "ChecksumCRC64NVME", "ChecksumCRC32", "ChecksumSHA256",
                  "ChecksumType")
        answers.append(({k: done.get(k) for k in fields}, {k: head.get(k) for k in fields},
                        head["ContentLength"], body))
    stock, patched_answer = answers
    assert patched_answer == stock
    assert stock[0]["ETag"].endswith('-3"') and stock[2] == sum(sizes)
    if create:  # the object's checksum, as S3 would give it
        assert stock[1][f"Checksum{create['ChecksumAlgorithm']}"]
        assert stock[1]["ChecksumType"] == create["ChecksumType"]


def test_completing_refuses_what_stock_moto_refuses(s3: Any) -> None:
    """A part named with another ETag (InvalidPart), a part smaller than 5 MiB before the last
    (EntityTooSmall): the same S3 errors, and the upload stays open to be completed."""
    from botocore.exceptions import ClientError

    def refusal(parts: list[dict[str, Any]], upload: str, key: str) -> str:
        with pytest.raises(ClientError) as err:
            s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                         MultipartUpload={"Parts": parts})
        return str(err.value.response["Error"]["Code"])

    codes = []
    for key, patched in (("stock.mp4", False), ("patched.mp4", True)):
        small, small_parts = _multipart(s3, f"small-{key}", [1000, 5 * MIB])
        upload, parts = _multipart(s3, key, [5 * MIB, 1000])
        if patched:
            moto_s3_patches.apply()
        try:
            wrong = [{"PartNumber": 1, "ETag": parts[1][1]}, {"PartNumber": 2, "ETag": parts[1][1]}]
            codes.append((
                refusal(wrong, upload, key),
                refusal([{"PartNumber": n, "ETag": e} for n, e in small_parts], small, key),
            ))
            s3.complete_multipart_upload(  # still open after the refusals
                Bucket=BUCKET, Key=key, UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        finally:
            if patched:
                moto_s3_patches.remove()
    assert codes[1] == codes[0] == ("InvalidPart", "EntityTooSmall")


def test_completing_holds_one_part_at_a_time_not_four_objects(s3: Any) -> None:
    """moto's own ``complete`` reads every part twice and builds the object in two bytearrays
    and two more bytes copies (a 117 MB upload: 390 ms of the demo stack's GIL); patched, the
    parts read once and joined once are all it holds."""
    import tracemalloc

    size = 3 * 5 * MIB
    upload, parts = _multipart(
        s3, "clip.mp4", [5 * MIB] * 3, ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT")
    multipart = _fake_multipart(upload)

    def peak(complete: Any) -> tuple[int, Any]:
        tracemalloc.start()
        try:
            result = complete(multipart, iter(parts))
            return tracemalloc.get_traced_memory()[1], result
        finally:
            tracemalloc.stop()

    from moto.s3.models import FakeMultipart

    stock_peak, stock = peak(FakeMultipart.complete)
    patched_peak, patched = peak(moto_s3_patches.complete_multipart)
    assert (patched[0].read(), *patched[1:]) == stock and len(patched[0]) == size
    assert stock_peak > 3.5 * size
    assert patched_peak < 0.5 * size  # one part at a time, into the object's spool file


def test_a_big_value_goes_to_its_spool_file_in_one_copy(s3: Any) -> None:
    """moto spools an object's bytes in memory up to ~5 MiB, then in a file: a bigger value
    was first copied into memory and then into the file. Patched, it goes to the file at once;
    a small one still stays in memory; the bytes read back are the same."""
    import random
    import tracemalloc

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import FakeKey

    big = random.Random(7).randbytes(6 * MIB)

    def stored(value: bytes) -> tuple[int, Any]:
        tracemalloc.start()
        try:
            key = FakeKey("clip.mp4", value, account_id=DEFAULT_ACCOUNT_ID, region_name=REGION)
            return tracemalloc.get_traced_memory()[1], key
        finally:
            tracemalloc.stop()

    stock_peak, stock = stored(big)
    moto_s3_patches.apply()
    try:
        patched_peak, patched = stored(big)
        small: Any = FakeKey("note.txt", b"small", account_id=DEFAULT_ACCOUNT_ID,
                             region_name=REGION)
    finally:
        moto_s3_patches.remove()
    assert patched.value == stock.value == big
    assert patched.etag == stock.etag and patched.size == stock.size == len(big)
    assert patched._value_buffer._rolled and not small._value_buffer._rolled
    assert small.value == b"small"
    assert stock_peak > 0.9 * len(big)  # a copy in memory on the way to the file
    assert patched_peak < 0.1 * len(big)


def test_a_value_is_hashed_from_the_bytes_in_hand(s3: Any) -> None:
    """A part's or object's ETag (MD5) is taken from the bytes moto is given, not read back
    from its spool file when the upload's answer asks for it; the ETags of parts, completed
    uploads and single PUTs are stock moto's."""
    import random

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import FakeKey

    big = random.Random(11).randbytes(6 * MIB)

    def no_read(*_: Any) -> bytes:
        raise AssertionError("the value was read back from its spool to hash it")

    moto_s3_patches.apply()
    try:
        key: Any = FakeKey("clip.mp4", big, account_id=DEFAULT_ACCOUNT_ID, region_name=REGION)
        key._value_buffer.read = no_read
        in_hand = key.etag
    finally:
        moto_s3_patches.remove()
    stock_key: Any = FakeKey("clip.mp4", big, account_id=DEFAULT_ACCOUNT_ID, region_name=REGION)
    assert in_hand == stock_key.etag
    stock_key._value_buffer.read = no_read
    other: Any = FakeKey("c.mp4", big, account_id=DEFAULT_ACCOUNT_ID, region_name=REGION)
    other._value_buffer.read = no_read
    with pytest.raises(AssertionError, match="read back"):  # what stock moto does
        other.etag  # noqa: B018

    answers = []
    for name, patched in (("stock", False), ("patched", True)):
        if patched:
            moto_s3_patches.apply()
        try:
            upload, parts = _multipart(s3, f"{name}.mp4", [6 * MIB, 5 * MIB, 10],
                                       ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT")
            done = s3.complete_multipart_upload(
                Bucket=BUCKET, Key=f"{name}.mp4", UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
            single = s3.put_object(Bucket=BUCKET, Key=f"{name}-single.mp4", Body=big)
            small = s3.put_object(Bucket=BUCKET, Key=f"{name}.txt", Body=b"note")
            empty = s3.put_object(Bucket=BUCKET, Key=f"{name}-empty.txt", Body=b"")
            head = s3.head_object(Bucket=BUCKET, Key=f"{name}-single.mp4")
        finally:
            if patched:
                moto_s3_patches.remove()
        answers.append((parts, done["ETag"], done.get("ChecksumCRC64NVME"), single["ETag"],
                        head["ETag"], small["ETag"], empty["ETag"]))
    assert answers[1] == answers[0]



def _bytes_written() -> int:
    """Bytes this process has handed to write() so far (Linux's per-process I/O account)."""
    with open("/proc/self/io") as io:
        return int(next(line for line in io if line.startswith("wchar:")).split()[1])


def test_completing_copies_no_byte_the_object_is_its_parts_files(s3: Any) -> None:
    """Stock moto (and this patch until now) wrote the whole object again into a new file when
    an upload completed: on the demo stack ~4 CPU-s per GB, as much as receiving the parts.
    Patched, completing writes nothing: the object is read from its parts' own files, whole,
    by range and by part number, and the same as stock moto's after the upload is gone."""
    sizes = [6 * MIB, 6 * MIB, 10]
    written = {}
    for key, patched in (("stock.mp4", False), ("patched.mp4", True)):
        upload, parts = _multipart(s3, key, sizes, ChecksumAlgorithm="CRC64NVME",
                                   ChecksumType="FULL_OBJECT")
        if patched:
            moto_s3_patches.apply()
        try:
            before = _bytes_written()
            s3.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
            written[key] = _bytes_written() - before
        finally:
            if patched:
                moto_s3_patches.remove()
    assert written["stock.mp4"] >= sum(sizes)  # the object written again
    assert written["patched.mp4"] < MIB  # only the answer's few bytes, if any

    def read(key: str, **kw: Any) -> bytes:
        return bytes(s3.get_object(Bucket=BUCKET, Key=key, **kw)["Body"].read())

    for kw in ({}, {"Range": f"bytes={6 * MIB - 5}-{6 * MIB + 4}"},  # across parts 1 and 2
               {"Range": f"bytes={12 * MIB}-"}, {"Range": "bytes=-7"}, {"PartNumber": 2},
               {"PartNumber": 3}):
        assert read("patched.mp4", **kw) == read("stock.mp4", **kw), kw
    assert read("patched.mp4", Range="bytes=-7") == read("stock.mp4")[-7:]


def test_the_joined_parts_read_as_one_file() -> None:
    """What moto asks of a key's buffer - seek, tell, read of any size from anywhere - answers
    as one file holding the parts' bytes in order; closing it closes every part's file."""
    import io
    import random
    import tempfile

    rng = random.Random(5)
    sizes = [7, 0, 13, 1, 20]
    chunks = [rng.randbytes(n) for n in sizes]
    files = []
    for chunk in chunks:
        spool = tempfile.SpooledTemporaryFile(8)  # some in memory, some rolled to disk
        spool.write(chunk)
        spool.seek(rng.randrange(len(chunk) + 1))  # wherever the last writer left it
        files.append(spool)
    joined = moto_s3_patches.JoinedParts(files, sizes)
    plain = io.BytesIO(b"".join(chunks))
    assert len(joined) == 41 and joined.read() == plain.read()
    for _ in range(300):
        whence = rng.choice((0, 1, 2))
        offset = rng.randrange(-41, 45) if whence else rng.randrange(0, 45)
        if (0, joined.tell(), 41)[whence] + offset < 0:
            with pytest.raises(ValueError):
                joined.seek(offset, whence)
            continue
        assert joined.seek(offset, whence) == plain.seek(offset, whence)
        size = rng.choice((-1, None, 0, 1, 5, 13, 50))
        assert joined.read(size) == plain.read(size)
        assert joined.tell() == plain.tell()
    joined.close()
    assert joined.closed and all(f.closed for f in files)
    with pytest.raises(ValueError):
        joined.read()


def test_a_deleted_completed_object_closes_its_parts_files(s3: Any) -> None:
    """The object owns the files it took from its parts: deleting it closes them (no file left
    open in the stack for each upload), and the emptied parts moto disposes of hold nothing."""
    upload, parts = _multipart(s3, "gone.mp4", [6 * MIB, 5], ChecksumAlgorithm="CRC64NVME",
                               ChecksumType="FULL_OBJECT")
    multipart = _fake_multipart(upload)
    moto_s3_patches.apply()
    try:
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="gone.mp4", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
    finally:
        moto_s3_patches.remove()
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(BUCKET)
    key = bucket.keys.getlist("gone.mp4")[-1]
    files = list(key._value_buffer._files)
    assert len(files) == 2 and not any(f.closed for f in files)
    assert all(p.contentsize and p._value_buffer is not f
               for p, f in zip(multipart.parts.values(), files, strict=True))
    version = s3.head_object(Bucket=BUCKET, Key="gone.mp4")["VersionId"]
    s3.delete_object(Bucket=BUCKET, Key="gone.mp4", VersionId=version)
    assert all(f.closed for f in files)


def test_a_big_value_reaches_its_file_a_piece_at_a_time(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One ``write`` of a whole 16 MiB part held a CPU in the kernel for tens of ms (the app's
    GUI thread waited); patched, the spool file gets pieces of at most WRITE_PIECE bytes, and
    the bytes read back are the value's."""
    import random
    import tempfile

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import FakeKey

    writes: list[int] = []
    real = tempfile.TemporaryFile

    class Counted:
        def __init__(self, file: Any) -> None:
            self._file = file

        def write(self, data: Any) -> int:
            writes.append(len(data))
            return int(self._file.write(data))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._file, name)

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: Counted(real(*a, **k)))
    big = random.Random(3).randbytes(6 * MIB + 5)
    keys: dict[bool, Any] = {}
    pieces: dict[bool, list[int]] = {}
    for patched in (False, True):
        writes.clear()
        if patched:
            moto_s3_patches.apply()
        try:
            keys[patched] = FakeKey("clip.mp4", big, account_id=DEFAULT_ACCOUNT_ID,
                                    region_name=REGION)
        finally:
            if patched:
                moto_s3_patches.remove()
        pieces[patched] = list(writes)
    assert max(pieces[False]) >= len(big) - 5 * MIB  # stock: the value in one or two
    assert sum(pieces[True]) == len(big)
    assert max(pieces[True]) <= moto_s3_patches.WRITE_PIECE
    assert keys[True].value == keys[False].value == big


def test_a_full_object_crc64nvme_is_combined_from_the_parts_not_read_again(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 gives a FULL_OBJECT CRC64NVME for an object of any size without reading it again: it
    combines the CRCs of the parts, each taken as the part's bytes arrived. Patched, moto does
    the same (reading 105 MB back cost the demo stack ~25 ms of every completion): the value
    is stock moto's for the same bytes, and no part's file is read at completion. A part whose
    value the patch did not write (uploaded before it was applied) is still read."""
    from awscrt.checksums import crc64nvme

    sizes = [5 * MIB + 17, 5 * MIB, 4321]
    create = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "FULL_OBJECT"}
    stock_upload, stock_parts = _multipart(s3, "stock.mp4", sizes, **create)
    stock = s3.complete_multipart_upload(
        Bucket=BUCKET, Key="stock.mp4", UploadId=stock_upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in stock_parts]})
    whole = s3.get_object(Bucket=BUCKET, Key="stock.mp4")["Body"].read()
    expected = base64.b64encode(crc64nvme(whole).to_bytes(8, "big")).decode()
    stock_head = s3.head_object(Bucket=BUCKET, Key="stock.mp4", ChecksumMode="ENABLED")
    assert stock_head["ChecksumCRC64NVME"] == expected

    fed: list[int] = []
    real_feed = moto_s3_patches._feed

    def feed(part: Any, *args: Any) -> None:
        fed.append(part.size)
        real_feed(part, *args)

    monkeypatch.setattr(moto_s3_patches, "_feed", feed)
    moto_s3_patches.apply()
    try:
        upload, parts = _multipart(s3, "patched.mp4", sizes, **create)  # the same bytes
        done = s3.complete_multipart_upload(
            Bucket=BUCKET, Key="patched.mp4", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        assert fed == []  # combined, not read
        head = s3.head_object(Bucket=BUCKET, Key="patched.mp4", ChecksumMode="ENABLED")
        assert head["ChecksumCRC64NVME"] == expected and done["ETag"] == stock["ETag"]
        assert head["ChecksumType"] == stock_head["ChecksumType"] == "FULL_OBJECT"
        assert s3.get_object(Bucket=BUCKET, Key="patched.mp4")["Body"].read() == whole

        # a part written before the patch was applied has no CRC taken: it is read
        moto_s3_patches.remove()
        upload, parts = _multipart(s3, "mixed.mp4", sizes[:1], **create)
        moto_s3_patches.apply()
        number = 2
        for size in sizes[1:]:
            body = whole[sum(sizes[:number - 1]):sum(sizes[:number])]
            assert len(body) == size
            parts.append((number, s3.upload_part(
                Bucket=BUCKET, Key="mixed.mp4", UploadId=upload, PartNumber=number, Body=body,
                ChecksumAlgorithm="CRC64NVME")["ETag"]))
            number += 1
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="mixed.mp4", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        assert fed == sizes  # every part read: the running CRC needs them all, in order
        mixed = s3.head_object(Bucket=BUCKET, Key="mixed.mp4", ChecksumMode="ENABLED")
        mixed_bytes = s3.get_object(Bucket=BUCKET, Key="mixed.mp4")["Body"].read()
        assert mixed_bytes[sizes[0]:] == whole[sizes[0]:]  # part 1: other random bytes
        assert mixed["ChecksumCRC64NVME"] == base64.b64encode(
            crc64nvme(mixed_bytes).to_bytes(8, "big")).decode()
    finally:
        moto_s3_patches.remove()


# -- a ranged GET --------------------------------------------------------------------------

RANGES = ["bytes=0-0", "bytes=0-99", f"bytes={5 * MIB - 10}-{5 * MIB + 10}", "bytes=7000000-",
          "bytes=-1000", f"bytes=100-{20 * MIB}", "bytes=9-3", "bytes=0-", "bytes=-0",
          f"bytes={30 * MIB}-", "bytes=1-2,5-6", "bytes=abc"]


def _ranged(client: Any, key: str, spec: str) -> tuple[Any, ...]:
    from botocore.exceptions import ClientError

    try:
        got = client.get_object(Bucket=BUCKET, Key=key, Range=spec)
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"])
    return (got["ResponseMetadata"]["HTTPStatusCode"], got.get("ContentRange"),
            got["ContentLength"], got["Body"].read())


def test_a_ranged_get_answers_as_stock_moto_and_reads_only_its_range(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The player seeks and the server-side processing reads 8 MiB ranges: moto read the whole
    object for each range and sliced it. Now only the range is read from the object's files;
    the answer (status, Content-Range, length, bytes, errors) is stock moto's for every kind of
    range, for a completed multipart upload (its parts' files) and a single PUT."""
    import random

    single = random.Random(7).randbytes(6 * MIB + 5)
    s3.put_object(Bucket=BUCKET, Key="single.mp4", Body=single)
    upload, parts = _multipart(s3, "joined.mp4", [5 * MIB, 5 * MIB, 123_457])
    moto_s3_patches.apply()
    try:
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="joined.mp4", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        read: list[int] = []
        real_read = moto_s3_patches.JoinedParts.read

        def counting(self: Any, size: int | None = -1) -> bytes:
            data = real_read(self, size)
            read.append(len(data))
            return data

        monkeypatch.setattr(moto_s3_patches.JoinedParts, "read", counting)
        patched = {(key, spec): _ranged(s3, key, spec)
                   for key in ("single.mp4", "joined.mp4") for spec in RANGES}
        read.clear()
        middle = _ranged(s3, "joined.mp4", f"bytes={5 * MIB - 10}-{5 * MIB + 10}")
        assert read == [21] and middle[3] == patched["joined.mp4", RANGES[2]][3]
        monkeypatch.undo()
    finally:
        moto_s3_patches.remove()
    stock = {(key, spec): _ranged(s3, key, spec)
             for key in ("single.mp4", "joined.mp4") for spec in RANGES}
    assert patched == stock
    whole = s3.get_object(Bucket=BUCKET, Key="joined.mp4")["Body"].read()
    assert patched["joined.mp4", RANGES[2]][3] == whole[5 * MIB - 10:5 * MIB + 11]
    assert patched["single.mp4", "bytes=-1000"][3] == single[-1000:]
    assert {v[0] for v in stock.values()} >= {206, 200, "error"}  # every kind of answer


def test_listing_versions_copies_no_bytes_and_a_purge_leaves_no_file_open(s3: Any) -> None:
    """moto's listing deep-copied every version it looked at - bytes included, each copy into
    a new spool file that moto then kept (``instances_tracked``) until the stack stopped: every
    purge of a 105 MB recording left its bytes open in /tmp. Now the listing's copies have no
    bytes, and deleting every version (what the Trash's purge does) closes every file."""
    import os

    from moto.s3.models import FakeKey

    def open_values(key: str) -> int:
        tracked: list[Any] = FakeKey.instances_tracked  # type: ignore[attr-defined]
        return len([k for k in tracked
                    if getattr(k, "name", None) == key and not k._value_buffer.closed])

    moto_s3_patches.apply()
    try:
        for _ in range(2):
            s3.put_object(Bucket=BUCKET, Key="big/purged.mp4", Body=os.urandom(6 * MIB))
        s3.delete_object(Bucket=BUCKET, Key="big/purged.mp4")  # a delete marker too
        assert open_values("big/purged.mp4") == 2
        listed = s3.list_object_versions(Bucket=BUCKET, Prefix="big/purged.mp4")
        assert [v["Size"] for v in listed["Versions"]] == [6 * MIB, 6 * MIB]
        assert open_values("big/purged.mp4") == 2  # the listing opened no copy
        for entry in [*listed["Versions"], *listed["DeleteMarkers"]]:
            s3.delete_object(Bucket=BUCKET, Key="big/purged.mp4", VersionId=entry["VersionId"])
        assert open_values("big/purged.mp4") == 0
        assert "Versions" not in s3.list_object_versions(Bucket=BUCKET, Prefix="big/")
    finally:
        moto_s3_patches.remove()
