"""File hashing: the quick duplicate fingerprint and incremental SHA-256.

* :func:`fingerprint` — ``"{size}:{sha256_hex(first MiB + last MiB)}"`` (contract §4). It reads at
  most 2 MiB whatever the file size, so a whole card can be checked for duplicates quickly. For a
  file of 2 MiB or less the head and tail would overlap: the whole file is hashed once instead
  (``head = bytes[0 : min(size, 1 MiB)]``, ``tail = bytes[max(len(head), size - 1 MiB) : size]``).
* :class:`Sha256` — an incremental SHA-256 that gives both the hex (API ``sha256`` fields) and
  the base64 (S3 ``x-amz-checksum-sha256``) forms.
* :func:`sha256_file` — whole-file SHA-256 read in bounded chunks (constant memory).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

MIB = 1024 * 1024
FINGERPRINT_SPAN = MIB
READ_CHUNK = MIB


def b64_of_digest(digest: bytes) -> str:
    """Base64 (standard alphabet, padded) of a raw digest, as S3 checksum headers want it."""
    return base64.b64encode(digest).decode("ascii")


def hex_to_b64(hex_digest: str) -> str:
    return b64_of_digest(bytes.fromhex(hex_digest))


class Sha256:
    """Incremental SHA-256 with hex and base64 outputs."""

    __slots__ = ("_h", "length")

    def __init__(self, data: bytes = b"") -> None:
        self._h = hashlib.sha256()
        self.length = 0
        if data:
            self.update(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)
        self.length += len(data)

    def digest(self) -> bytes:
        return self._h.digest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def b64digest(self) -> str:
        return b64_of_digest(self._h.digest())


def _read_exact(fd: int, offset: int, length: int) -> bytes:
    out = bytearray()
    while len(out) < length:
        chunk = os.pread(fd, min(READ_CHUNK, length - len(out)), offset + len(out))
        if not chunk:
            raise OSError(f"file ended early (expected {length} bytes at offset {offset})")
        out += chunk
    return bytes(out)


def fingerprint(path: str | os.PathLike[str]) -> str:
    """Quick content fingerprint: size plus SHA-256 of the first and last MiB (see module doc)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        head_len = min(size, FINGERPRINT_SPAN)
        tail_start = max(head_len, size - FINGERPRINT_SPAN)
        h = hashlib.sha256()
        h.update(_read_exact(fd, 0, head_len))
        h.update(_read_exact(fd, tail_start, size - tail_start))
    finally:
        os.close(fd)
    return f"{size}:{h.hexdigest()}"


def fingerprint_size(fp: str) -> int:
    """The size part of a fingerprint (raises ValueError for a malformed one)."""
    size, _, digest = fp.partition(":")
    if len(digest) != 64:
        raise ValueError(f"not a fingerprint: {fp!r}")
    return int(size)


def sha256_file(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = READ_CHUNK,
    on_bytes: Callable[[int], None] | None = None,
) -> Sha256:
    """SHA-256 of a whole file in ``chunk_size`` reads; ``on_bytes(n)`` after each read."""
    h = Sha256()
    with Path(path).open("rb", buffering=0) as fh:
        while True:
            chunk = fh.read(chunk_size)
            if not chunk:
                break
            h.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return h
