"""S3 adapter: HeadObject, pre-signed URLs (single PUT, GET, multipart parts), multipart
lifecycle and deletes. Keys are always built by the service, never taken from a client.

Pre-signed URLs sign the headers the client must send: ``Content-Type``, ``Content-Length`` and
``x-amz-checksum-crc64nvme`` become part of ``X-Amz-SignedHeaders``, so S3 refuses a body of
another length or content. Multipart uploads are created with a FULL_OBJECT CRC64NVME checksum:
S3 checks the whole object's CRC64NVME the client gives at completion and reports it afterwards
(HeadObject with ``ChecksumMode=ENABLED``). The API never reads an object back (only the
scheduled ``verify-sha256`` job streams older records' objects once, :meth:`sha256_of`). URLs
are never logged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import ClientError

from .aws import error_code, raise_if_throttled
from .errors import BadRequest, Conflict, NotFound
from .presign import Credentials, GetSigner

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["ChecksumRefused", "ObjectChanged", "ObjectInfo", "OpenUpload", "PartInfo",
           "VideoStorage"]

_MULTIPART_ETAG = re.compile(r'-(\d+)"?$')
_COMPOSITE_SUFFIX = re.compile(r"-(\d+)$")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    content_type: str | None
    etag: str | None
    checksum_sha256: str | None = None
    """``ChecksumSHA256`` of HeadObject with ``ChecksumMode=ENABLED`` (base64; a multipart
    object's composite checksum may end in ``-N``)."""
    checksum_type: str | None = None
    """``FULL_OBJECT`` or ``COMPOSITE`` when S3 says which."""
    checksum_crc64nvme: str | None = None
    """``ChecksumCRC64NVME`` of HeadObject with ``ChecksumMode=ENABLED`` (base64, 8 bytes):
    always a whole-object checksum, computed by S3 from the bytes it stores."""

    @property
    def full_object_crc64nvme(self) -> str | None:
        """The object's CRC64NVME when S3 holds one for the whole object."""
        value = self.checksum_crc64nvme
        if not value:
            return None
        if self.checksum_type is not None and self.checksum_type.upper() != "FULL_OBJECT":
            return None
        return value

    @property
    def part_count(self) -> int | None:
        """Parts of a multipart object (from its ``...-N`` ETag); ``None`` for a single PUT."""
        m = _MULTIPART_ETAG.search(self.etag or "")
        return int(m.group(1)) if m else None

    @property
    def full_object_sha256(self) -> str | None:
        """The base64 SHA-256 of the whole object when S3 stored one: a single PUT sent with a
        (signed) ``x-amz-checksum-sha256``, which S3 verified against the bytes it received.
        A multipart object's SHA-256 is a checksum of the parts' checksums, not of the bytes."""
        value = self.checksum_sha256
        if not value:
            return None
        if self.checksum_type is not None:
            return value if self.checksum_type.upper() == "FULL_OBJECT" else None
        if self.part_count is not None or _COMPOSITE_SUFFIX.search(value):
            return None
        return value

    @property
    def all_parts_checksummed(self) -> bool:
        """A multipart object whose composite SHA-256 exists: S3 then verified every part's
        SHA-256 on upload (a composite is only computed when every part carried one)."""
        value = self.checksum_sha256
        parts = self.part_count
        if not value or parts is None or self.full_object_sha256 is not None:
            return False
        m = _COMPOSITE_SUFFIX.search(value)
        return m is None or int(m.group(1)) == parts


class ObjectChanged(Conflict):
    """The object changed (or vanished) while it was checked: a retry re-checks."""

    default_code = "concurrent_update"


class ChecksumRefused(Conflict):
    """S3 refused to complete the upload: the whole-object checksum the client computed is not
    the checksum of the parts S3 holds (409 ``checksum_mismatch``)."""

    default_code = "checksum_mismatch"


@dataclass(frozen=True, slots=True)
class PartInfo:
    part_number: int
    etag: str
    size: int
    checksum_sha256: str | None = None
    checksum_crc64nvme: str | None = None


@dataclass(frozen=True, slots=True)
class OpenUpload:
    key: str
    upload_id: str
    initiated: float
    """When S3 began it (seconds since the epoch)."""


def _require_signed(url: str, headers: Iterable[str]) -> str:
    """Fail loudly (a server fault) if botocore ever stops signing a header we rely on: an
    unsigned Content-Length or checksum would let a client store other bytes than declared."""
    query = parse_qs(urlsplit(url).query)
    signed = set((query.get("X-Amz-SignedHeaders") or [""])[0].split(";"))
    missing = [h for h in headers if h.lower() not in signed]
    if missing:
        raise RuntimeError(f"pre-signed URL does not sign {', '.join(missing)}")
    return url


def _no_such_upload() -> NotFound:
    return NotFound(
        "the multipart upload does not exist (aborted, completed or never started)",
        code="no_such_upload",
    )


class VideoStorage:
    def __init__(self, client: Callable[[], S3Client], bucket: str, expiry_seconds: int,
                 get_expiry_seconds: int | None = None, *,
                 credentials: Callable[[], Credentials | None] | None = None) -> None:
        self._client = client
        self.bucket = bucket
        self.expiry = expiry_seconds
        self.get_expiry = get_expiry_seconds or expiry_seconds
        """Lifetime of GET URLs (playback, thumbnails): shorter than uploads'."""
        # GET URLs without botocore's per-call pipeline when the client's credentials can be
        # read (presign.py: the same URLs); else every URL through generate_presigned_url
        self._gets = GetSigner(self._presign_get, credentials, self.get_expiry) \
            if credentials is not None else None

    @property
    def s3(self) -> S3Client:
        return self._client()

    # ---------------------------------------------------------------- objects

    def head(self, key: str, *, checksums: bool = False) -> ObjectInfo | None:
        """HeadObject; ``checksums=True`` also asks for the stored checksums (the same single
        request, same ``s3:GetObject`` permission)."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if checksums:
            kwargs["ChecksumMode"] = "ENABLED"
        try:
            resp = self.s3.head_object(**kwargs)
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise_if_throttled(exc)
            raise
        return ObjectInfo(
            size=int(resp.get("ContentLength", 0)),
            content_type=resp.get("ContentType"),
            etag=resp.get("ETag"),
            checksum_sha256=resp.get("ChecksumSHA256"),
            checksum_type=resp.get("ChecksumType"),
            checksum_crc64nvme=resp.get("ChecksumCRC64NVME"),
        )

    def sha256_of(self, key: str, *, etag: str | None,
                  out_of_time: Callable[[], bool] = lambda: False,
                  chunk_bytes: int = 8 * 1024 * 1024) -> str | None:
        """The SHA-256 (hex) of the object's bytes, read once in one streaming GET of the
        version with ``etag`` (``IfMatch``: :class:`ObjectChanged` if it was replaced), in
        constant memory. ``None`` when ``out_of_time()`` says to stop first."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if etag:
            kwargs["IfMatch"] = etag
        try:
            resp = self.s3.get_object(**kwargs)
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                raise ObjectChanged(f"{key} changed while it was read") from None
            raise_if_throttled(exc)
            raise
        body = resp["Body"]
        digest = hashlib.sha256()
        try:
            for chunk in iter(lambda: body.read(chunk_bytes), b""):
                digest.update(chunk)
                if out_of_time():
                    return None
        finally:
            body.close()
        return digest.hexdigest()

    def delete_objects(self, keys: Iterable[str]) -> None:
        self._delete_batches([{"Key": k} for k in dict.fromkeys(keys)])

    def _delete_batches(self, objects: list[Any]) -> None:
        """DeleteObjects in batches of 1000 (S3's limit); an already missing key or version
        counts as deleted."""
        for start in range(0, len(objects), 1000):
            try:
                resp = self.s3.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": objects[start : start + 1000], "Quiet": True},
                )
            except ClientError as exc:
                raise_if_throttled(exc)
                raise
            errors = [e for e in resp.get("Errors", [])
                      if e.get("Code") not in ("NoSuchKey", "NoSuchVersion")]
            if errors:
                raise RuntimeError(f"S3 could not delete {len(errors)} object(s): {errors[0]}")

    def delete_all_versions(self, keys: Iterable[str]) -> int:
        """Delete ``keys`` for good: every version and delete marker (a versioned bucket keeps
        overwritten or deleted bytes as noncurrent versions; an unversioned one answers the
        single ``null`` version). Returns how many versions were deleted."""
        wanted = set(keys)
        doomed: list[Any] = []
        for key in sorted(wanted):
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": key}
            while True:
                try:
                    resp = self.s3.list_object_versions(**kwargs)
                except ClientError as exc:
                    raise_if_throttled(exc)
                    raise
                entries: list[Any] = [*resp.get("Versions", []), *resp.get("DeleteMarkers", [])]
                for v in entries:
                    if v.get("Key") == key:
                        doomed.append({"Key": key, "VersionId": v.get("VersionId") or "null"})
                if not resp.get("IsTruncated"):
                    break
                kwargs["KeyMarker"] = resp.get("NextKeyMarker")
                kwargs["VersionIdMarker"] = resp.get("NextVersionIdMarker")
        self._delete_batches(doomed)
        return len(doomed)

    # ---------------------------------------------------------------- pre-signed URLs

    def presign_put(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int | None = None,
        checksum_sha256: str | None = None,
        checksum_crc64nvme: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        """URL + the headers the client must send exactly as given."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        headers = {"Content-Type": content_type}
        if content_length is not None:
            params["ContentLength"] = content_length
            headers["Content-Length"] = str(content_length)
        if checksum_sha256 is not None:
            params["ChecksumSHA256"] = checksum_sha256
            headers["x-amz-checksum-sha256"] = checksum_sha256
        if checksum_crc64nvme is not None:
            params["ChecksumCRC64NVME"] = checksum_crc64nvme
            headers["x-amz-checksum-crc64nvme"] = checksum_crc64nvme
        url = self.s3.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=self.expiry, HttpMethod="PUT"
        )
        return _require_signed(url, headers), headers

    def presign_get(self, key: str, *, content_type: str | None = None) -> str:
        if self._gets is not None:
            return self._gets.url(key, content_type)
        return self._presign_get(key, content_type)

    def _presign_get(self, key: str, content_type: str | None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        return self.s3.generate_presigned_url("get_object", Params=params,
                                             ExpiresIn=self.get_expiry)

    def presign_part(
        self, key: str, upload_id: str, part_number: int, content_length: int, checksum: str
    ) -> str:
        url = self.s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": part_number,
                "ContentLength": content_length,
                "ChecksumCRC64NVME": checksum,
            },
            ExpiresIn=self.expiry,
            HttpMethod="PUT",
        )
        return _require_signed(url, ("Content-Length", "x-amz-checksum-crc64nvme"))

    # ---------------------------------------------------------------- multipart

    def create_multipart(self, key: str, *, content_type: str) -> str:
        """A multipart upload whose parts carry CRC64NVME checksums and whose whole object is
        checked by S3 against the client's full-object CRC64NVME at completion."""
        try:
            resp = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type,
                ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT",
            )
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        return str(resp["UploadId"])

    def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """Every uploaded part (all ListParts pages), ascending."""
        parts: list[PartInfo] = []
        marker: int | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
            if marker is not None:
                kwargs["PartNumberMarker"] = marker
            try:
                resp = self.s3.list_parts(**kwargs)
            except ClientError as exc:
                if error_code(exc) in ("NoSuchUpload", "404"):
                    raise _no_such_upload() from None
                raise_if_throttled(exc)
                raise
            for p in resp.get("Parts", []):
                parts.append(
                    PartInfo(
                        part_number=int(p["PartNumber"]),
                        etag=str(p["ETag"]),
                        size=int(p["Size"]),
                        checksum_sha256=p.get("ChecksumSHA256"),
                        checksum_crc64nvme=p.get("ChecksumCRC64NVME"),
                    )
                )
            if not resp.get("IsTruncated"):
                break
            next_marker = resp.get("NextPartNumberMarker")
            if next_marker is None or (marker is not None and int(next_marker) <= marker):
                break  # defensive: never loop on a server that does not advance
            marker = int(next_marker)
        parts.sort(key=lambda p: p.part_number)
        return parts

    def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[PartInfo], *, checksum_crc64nvme: str
    ) -> None:
        """Complete with the whole file's CRC64NVME: S3 combines the parts' CRCs and refuses
        (``BadDigest``, raised as :class:`ChecksumRefused`) when they differ."""
        body: list[Any] = []
        for p in sorted(parts, key=lambda p: p.part_number):
            entry: dict[str, Any] = {"PartNumber": p.part_number, "ETag": p.etag}
            if p.checksum_crc64nvme:
                entry["ChecksumCRC64NVME"] = p.checksum_crc64nvme
            body.append(entry)
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": body},
                ChecksumCRC64NVME=checksum_crc64nvme, ChecksumType="FULL_OBJECT",
            )
        except ClientError as exc:
            code = error_code(exc)
            if code in ("NoSuchUpload", "404"):
                raise _no_such_upload() from None
            if code == "InvalidPart":
                raise BadRequest(
                    "a part is missing or its ETag/checksum does not match what S3 stored",
                    code="invalid_part",
                ) from None
            if code == "InvalidPartOrder":
                raise BadRequest("parts must be listed in ascending order",
                                 code="invalid_part_order") from None
            if code == "EntityTooSmall":
                raise BadRequest(
                    "every part except the last must be at least 5 MiB", code="entity_too_small"
                ) from None
            if code == "BadDigest":
                raise ChecksumRefused(
                    "S3 refused the upload: the whole file's CRC64NVME is not the checksum of "
                    "the parts it holds"
                ) from None
            if code == "InvalidRequest":
                raise BadRequest(
                    f"S3 refused the upload: {exc.response.get('Error', {}).get('Message', code)}",
                    code="invalid_part",
                ) from None
            raise_if_throttled(exc)
            raise

    def open_uploads(self, prefix: str) -> Iterator[OpenUpload]:
        """The multipart uploads S3 holds open under ``prefix`` (every page; the marker
        pair advances, so a server that repeats itself cannot make this loop)."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            try:
                resp = self.s3.list_multipart_uploads(**kwargs)
            except ClientError as exc:
                raise_if_throttled(exc)
                raise
            for upload in resp.get("Uploads", []):
                yield OpenUpload(str(upload["Key"]), str(upload["UploadId"]),
                                 upload["Initiated"].timestamp())
            key_marker = resp.get("NextKeyMarker")
            if not resp.get("IsTruncated") or not key_marker:
                return
            marker = (key_marker, resp.get("NextUploadIdMarker") or "")
            if marker == (kwargs.get("KeyMarker"), kwargs.get("UploadIdMarker", "")):
                return
            kwargs["KeyMarker"] = key_marker
            if marker[1]:
                kwargs["UploadIdMarker"] = marker[1]
            else:
                kwargs.pop("UploadIdMarker", None)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Abort; an upload that no longer exists counts as aborted (idempotent)."""
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchUpload", "404"):
                return
            raise_if_throttled(exc)
            raise
