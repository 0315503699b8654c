"""core.hashing: the fingerprint of contract §4 and incremental SHA-256."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from medispecs_desktop.core.hashing import (
    MIB,
    Sha256,
    fingerprint,
    fingerprint_size,
    hex_to_b64,
    sha256_file,
)


@pytest.mark.parametrize("size", [0, 1, MIB - 1, MIB, MIB + 7, 2 * MIB, 2 * MIB + 1, 5 * MIB + 3])
def test_fingerprint_matches_definition(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    head = data[: min(size, MIB)]
    tail = data[max(len(head), size - MIB):]
    expected = f"{size}:{hashlib.sha256(head + tail).hexdigest()}"
    assert fingerprint(path) == expected
    assert fingerprint_size(expected) == size
    if size > 2 * MIB:  # exactly first MiB + last MiB
        assert expected.endswith(hashlib.sha256(data[:MIB] + data[-MIB:]).hexdigest())


def test_fingerprint_ignores_the_middle_but_sha256_does_not(tmp_path: Path) -> None:
    data = bytearray(os.urandom(3 * MIB))
    a = tmp_path / "a"
    a.write_bytes(data)
    data[MIB + 10] ^= 0xFF
    b = tmp_path / "b"
    b.write_bytes(data)
    assert fingerprint(a) == fingerprint(b)
    assert sha256_file(a).hexdigest() != sha256_file(b).hexdigest()


def test_sha256_file_incremental_and_b64(tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 5)
    path = tmp_path / "x"
    path.write_bytes(data)
    seen: list[int] = []
    h = sha256_file(path, chunk_size=MIB, on_bytes=seen.append)
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    assert h.b64digest() == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert hex_to_b64(h.hexdigest()) == h.b64digest()
    assert sum(seen) == len(data) == h.length
    inc = Sha256()
    inc.update(data[:10])
    inc.update(memoryview(data)[10:])
    assert inc.hexdigest() == h.hexdigest()


def test_bad_fingerprint_rejected() -> None:
    with pytest.raises(ValueError):
        fingerprint_size("12:abc")
