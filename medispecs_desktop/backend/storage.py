"""S3 adapter: HeadObject, pre-signed URLs (single PUT, GET, multipart parts), multipart
lifecycle and deletes. Keys are always built by the service, never taken from a client.

Pre-signed URLs sign the headers the client must send: ``Content-Type``, ``Content-Length`` and
``x-amz-checksum-sha256`` become part of ``X-Amz-SignedHeaders``, so S3 refuses a body of another
length or content. URLs are never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import ClientError

from .aws import error_code, raise_if_throttled
from .errors import BadRequest, NotFound

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["ObjectInfo", "PartInfo", "VideoStorage"]


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    content_type: str | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class PartInfo:
    part_number: int
    etag: str
    size: int
    checksum_sha256: str | None


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
    def __init__(self, client: Callable[[], S3Client], bucket: str, expiry_seconds: int) -> None:
        self._client = client
        self.bucket = bucket
        self.expiry = expiry_seconds

    @property
    def s3(self) -> S3Client:
        return self._client()

    # ---------------------------------------------------------------- objects

    def head(self, key: str) -> ObjectInfo | None:
        try:
            resp = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise_if_throttled(exc)
            raise
        return ObjectInfo(
            size=int(resp.get("ContentLength", 0)),
            content_type=resp.get("ContentType"),
            etag=resp.get("ETag"),
        )

    def delete_objects(self, keys: Iterable[str]) -> None:
        objects: list[Any] = [{"Key": k} for k in dict.fromkeys(keys)]
        if not objects:
            return
        try:
            resp = self.s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        errors = [e for e in resp.get("Errors", []) if e.get("Code") != "NoSuchKey"]
        if errors:
            raise RuntimeError(f"S3 could not delete {len(errors)} object(s): {errors[0]}")

    # ---------------------------------------------------------------- pre-signed URLs

    def presign_put(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int | None = None,
        checksum_sha256: str | None = None,
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
        url = self.s3.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=self.expiry, HttpMethod="PUT"
        )
        return _require_signed(url, headers), headers

    def presign_get(self, key: str, *, content_type: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        return self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=self.expiry)

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
                "ChecksumSHA256": checksum,
            },
            ExpiresIn=self.expiry,
            HttpMethod="PUT",
        )
        return _require_signed(url, ("Content-Length", "x-amz-checksum-sha256"))

    # ---------------------------------------------------------------- multipart

    def create_multipart(self, key: str, *, content_type: str) -> str:
        try:
            resp = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256"
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

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[PartInfo]) -> None:
        body: list[Any] = []
        for p in sorted(parts, key=lambda p: p.part_number):
            entry: dict[str, Any] = {"PartNumber": p.part_number, "ETag": p.etag}
            if p.checksum_sha256:
                entry["ChecksumSHA256"] = p.checksum_sha256
            body.append(entry)
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": body}
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
            if code in ("BadDigest", "InvalidRequest"):
                raise BadRequest(
                    f"S3 refused the upload: {exc.response.get('Error', {}).get('Message', code)}",
                    code="invalid_part",
                ) from None
            raise_if_throttled(exc)
            raise

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Abort; an upload that no longer exists counts as aborted (idempotent)."""
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchUpload", "404"):
                return
            raise_if_throttled(exc)
            raise
