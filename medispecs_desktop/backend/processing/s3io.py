"""A seekable, read-only file over one S3 object version, read with ranged GETs.

PyAV (FFmpeg) opens a Python file object and seeks in it (an MP4's index may sit at the end):
:class:`S3RangeFile` answers those reads from a few fixed-size blocks it fetched with
``GetObject Range=...``, so memory stays constant at any object size. Every GET carries
``IfMatch`` with the ETag the reader was opened for: an object overwritten mid-read fails
(:class:`ObjectChangedError`) instead of mixing two uploads' bytes.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["DEFAULT_BLOCK_BYTES", "ObjectChangedError", "S3RangeFile"]

DEFAULT_BLOCK_BYTES = 1024 * 1024
DEFAULT_CACHED_BLOCKS = 8


class ObjectChangedError(RuntimeError):
    """The object no longer has the ETag it was opened with (overwritten or deleted)."""


class S3RangeFile(io.RawIOBase):
    """``read``/``seek``/``tell`` over ``s3://bucket/key`` (ETag ``etag``, ``size`` bytes).

    Holds at most ``cached_blocks`` blocks of ``block_bytes`` (LRU): 8 MiB by default."""

    def __init__(
        self,
        s3: Callable[[], S3Client],
        bucket: str,
        key: str,
        *,
        size: int,
        etag: str | None,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        cached_blocks: int = DEFAULT_CACHED_BLOCKS,
    ) -> None:
        super().__init__()
        self._s3 = s3
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.block_bytes = block_bytes
        self.cached_blocks = max(1, cached_blocks)
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self.requests = 0
        """GetObject calls made (for tests and logs)."""
        self.bytes_read = 0

    @property
    def client(self) -> S3Client:
        return self._s3()

    # io.RawIOBase -------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), max(0, self.size - self._pos))
        done = 0
        while done < want:
            index, within = divmod(self._pos, self.block_bytes)
            block = self._block(index)
            chunk = block[within : within + (want - done)]
            if not chunk:
                break
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
            self._pos += len(chunk)
        return done

    # blocks -------------------------------------------------------------------------------
    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is not None:
            self._blocks.move_to_end(index)
            return block
        start = index * self.block_bytes
        end = min(self.size, start + self.block_bytes) - 1
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket, "Key": self.key, "Range": f"bytes={start}-{end}"}
        if self.etag:
            kwargs["IfMatch"] = self.etag
        try:
            resp = self.client.get_object(**kwargs)
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                raise ObjectChangedError(f"{self.key} changed while it was read") from exc
            raise
        body = resp["Body"]
        try:
            block = body.read()
        finally:
            body.close()
        self.requests += 1
        self.bytes_read += len(block)
        self._blocks[index] = block
        while len(self._blocks) > self.cached_blocks:
            self._blocks.popitem(last=False)
        return block
