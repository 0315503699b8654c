"""Four fixes to moto's S3: deleting a recording stays fast in a bucket that holds many,
completing a multipart upload copies no byte (the object is its parts' files; stock moto makes
seven copies of the object), a big object or part goes straight to its spool file and is
hashed from the bytes in hand, and a ranged GET reads its range, not the whole object.

Written for **moto 5.2.6** (:data:`SUPPORTED_MOTO_VERSIONS`); :func:`apply` checks the version
and the shape of what it relies on first and raises :class:`MotoS3PatchError` when moto changed.
Applied by the local stack next to :mod:`.moto_patches`, in the stack's process only.

``S3Backend.list_object_versions`` (moto 5.2.6 ``moto/s3/models.py``) starts with
``copy.deepcopy`` of *every version of every key in the bucket* - bytes included - and only then
skips the ones outside the requested prefix. The Trash's purge lists the versions of each of a
recording's five keys (``Prefix=<key>``), so deleting one recording copied the whole bucket five
times: in a test stack holding a few hundred clips a purge took over 15 s on a busy machine.

:func:`list_object_versions` runs moto's own function unchanged on a view of the bucket whose
``keys.iterlists()`` yields only the keys that start with the prefix. Every key it hides is one
moto's loop would ``continue`` past anyway (the prefix test comes before any pagination state is
touched by a key outside the prefix; a ``KeyMarker``/``VersionIdMarker`` pair names a key inside
it), so the answer - versions, delete markers, common prefixes, ``IsLatest``, the next markers -
is moto's, byte for byte, at the cost of copying only what is returned. Copying a version
copied its *bytes* too (``FakeKey.__getstate__`` reads the whole value, ``__setstate__`` writes
it into a new spool file) and moto keeps every model it makes in ``instances_tracked``: each
listing of a 105 MB recording's versions (every purge) read and wrote 105 MB per version and
left the copy's file open until the stack stopped - 200 MB of disk and page cache per upload
and purge in the upload benchmark, until the VM ran short of warm pages and a 105 MB PUT went
4x slower. The versions are now copied without their bytes and untracked (:func:`_listed_copy`),
which is all the listing reads of them.

``FakeMultipart.complete`` (moto 5.2.6) reads every part twice from its spooled file, appends
each copy to a ``bytearray`` (one for the object, one more for a FULL_OBJECT checksum), and turns
both into ``bytes`` again: seven copies of the object, ~4x its size in memory at once, and 390 ms
of the stack's one GIL for a 117 MB upload (about a third of the whole upload's time to the demo
stack; a single PUT of the same file pays none of it). :func:`complete_multipart` writes no
byte: the completed object *is* its parts' spool files, read in order (:class:`JoinedParts`,
adopted by :func:`set_value`; the parts hand their files over once nothing can fail any more, and
moto disposes of the emptied parts as before). Writing the object again into a new file cost the
stack ~4 CPU-s per GB on this project's machines - fresh page-cache pages, on a VM - as much as
receiving the parts. A FULL_OBJECT CRC64NVME is combined from the parts' CRCs, each taken from
the part's bytes as they were written (:func:`set_value`): no byte is read again at completion,
as S3 does not (reading 105 MB back cost ~25 ms of every completion). Other full-object CRCs are
computed part by part from each part's file, read in 1 MiB pieces into one buffer. The object,
ETag (MD5 of the parts' MD5s, ``-N``), checksum type and value, and the errors and their order
are moto's. The parts' own ETags (MD5 of each part, as S3 returns them) are untouched.

``FakeKey.value``'s setter writes the bytes into a ``SpooledTemporaryFile`` that rolls over to
a file on disk past ~5 MiB: every part (16 MiB) and every object was first copied into an
in-memory ``BytesIO`` and then copied again into the file. :func:`set_value` rolls the spool
over *before* writing a value that will not fit in memory - exactly where the write would have
rolled it - so the bytes are copied once. The same setter records the value's MD5 (its ETag)
from the bytes in hand when moto has none yet: ``FakeKey.etag`` would compute exactly that MD5
on first use by reading the whole value back from the spool file (every part's upload answer
asks for it at once). ``FakeKey`` sets its value only when made (``__init__``, ``__setstate__``),
so the ETag is the one moto would compute; it also takes the value's CRC64NVME, piece by piece
as it writes. A value on its way to a file is written
:data:`WRITE_PIECE` bytes at a time: the kernel of this project's VMs (``PREEMPT_NONE``) does
not take a CPU back from a ``write`` into fresh page-cache pages, so one 16 MiB write held a
core for ~25-60 ms while the app's GUI thread waited for it (a 2 ms sleeper beside two writers
at nice 10 woke late by 39-41 ms at the 99th percentile with 16 MiB writes, 5-6 ms with 256 KiB).

``S3Response.get_object`` (moto 5.2.6) answers a ranged GET by reading the *whole* value
(``FakeKey.value``) and then slicing the range out of it (``_handle_range_header``): the
player's every seek in a 1 GB recording read 1 GB, and the server-side processing, which reads
a recording in 8 MiB ranges, read a 105 MB object fourteen times over (1.5 GB of reads and as
many fresh pages, on the stack's one GIL, for one upload). :func:`get_object` runs moto's own
function with the key's value standing in as :class:`ValueRange` while a single byte range is
asked for: moto's range handling takes its length and the one slice it answers, read from the
value's file. Status, headers and bytes are moto's; a range moto answers whole reads the whole
value, as before.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import importlib
import inspect
import itertools
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "SUPPORTED_MOTO_VERSIONS",
    "WRITE_PIECE",
    "JoinedParts",
    "MotoS3PatchError",
    "ValueRange",
    "apply",
    "complete_multipart",
    "is_applied",
    "list_object_versions",
    "remove",
    "stock",
]

log = logging.getLogger(__name__)

SUPPORTED_MOTO_VERSIONS = frozenset({"5.2.6"})
"""moto releases whose ``list_object_versions`` and ``FakeMultipart.complete`` were checked
against these patches. Re-check both before adding one."""

_COMPLETE_SOURCES = {
    # SHA-256 (first 16 hex digits) of the source :func:`complete_multipart` stands in for
    "FakeMultipart.complete": "8e488cb21a290bca",
    "MultipartChecksumBuilder": "cc821d54f5647989",
    "FakeKey.value": "519ac4d9ad6adcd8",  # the setter
    "FakeKey.etag": "aa3062e82e089cb3",  # the getter: MD5 of the value when _etag is None
    # the object complete() answers goes only to put_object, and from there only to FakeKey
    "S3Backend.complete_multipart_upload": "f16c9a08e5db3f4f",
    "S3Backend.put_object": "db803f2da9d786ad",
}

_RANGE_SOURCES = {
    # SHA-256 (first 16 hex digits) of what :func:`get_object` relies on (moto/s3/responses.py
    # and the value getter in moto/s3/models.py)
    "S3Response.get_object": "a7494eeca899290c",
    "S3Response._handle_range_header": "d6480a54a4dff374",
    "FakeKey.value": "5e9a53c3d82cc883",  # the getter
}

_SINGLE_RANGE = re.compile(r"bytes=(\d+-\d*|-\d+)")
"""A Range header moto answers with one slice of the value (or an error)."""

_PARAMS = ("self", "bucket_name", "delimiter", "key_marker", "max_keys", "prefix",
           "version_id_marker")

_lock = threading.Lock()
_originals: dict[str, Any] = {}


class MotoS3PatchError(RuntimeError):
    """The installed moto is not the one this patch was written for."""


class _NoValue:
    """The value buffer of a listed version's copy: it has no bytes, and closing it (moto
    disposes of a key when it is collected) closes nothing of the version's."""

    closed = True

    def close(self) -> None:
        pass


def _listed_copy(version: Any) -> Any:
    """A version as moto's listing uses it (name, version id, size, ETag, dates, owner; the
    listing sets ``is_latest`` on it): its attributes, without its bytes. Made without moto's
    ``BaseModel.__new__``, which would keep it forever in ``instances_tracked``."""
    copied = object.__new__(type(version))
    copied.__dict__.update(version.__dict__)
    if "_value_buffer" in copied.__dict__:  # a FakeKey (a delete marker has no bytes)
        copied._value_buffer = _NoValue()
        copied.multipart = None
        copied.disposed = True
    return copied


class _ListedVersions(list[Any]):
    """A key's versions as moto's listing deep-copies them: copies without their bytes."""

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [_listed_copy(version) for version in self]


class _PrefixKeys:
    """The part of a bucket's ``_VersionedKeyStore`` moto's function reads, limited to a prefix
    (all of it for ``""``), each key's versions handed over as :class:`_ListedVersions`."""

    def __init__(self, keys: Any, prefix: str) -> None:
        self._keys = keys
        self._prefix = prefix

    def iterlists(self) -> Iterator[tuple[str, list[Any]]]:
        for name, versions in self._keys.iterlists():
            if name.startswith(self._prefix):
                yield name, _ListedVersions(versions)


class _PrefixBucket:
    def __init__(self, bucket: Any, prefix: str) -> None:
        self.keys = _PrefixKeys(bucket.keys, prefix)


class _PrefixBackend:
    """What moto's ``list_object_versions`` asks of ``self``: ``get_bucket`` only."""

    def __init__(self, backend: Any, prefix: str) -> None:
        self._backend = backend
        self._prefix = prefix

    def get_bucket(self, bucket_name: str) -> _PrefixBucket:
        return _PrefixBucket(self._backend.get_bucket(bucket_name), self._prefix)


def list_object_versions(
    self: Any,
    bucket_name: str,
    delimiter: str | None = None,
    key_marker: str | None = None,
    max_keys: int | None = 1000,
    prefix: str = "",
    version_id_marker: str | None = None,
) -> Any:
    original = _originals["list_object_versions"]
    return original(_PrefixBackend(self, prefix or ""), bucket_name, delimiter=delimiter,
                    key_marker=key_marker, max_keys=max_keys, prefix=prefix,
                    version_id_marker=version_id_marker)


class JoinedParts:
    """A completed upload's object: its parts' spool files, read in order as one file. What
    :func:`complete_multipart` hands moto's ``put_object`` in place of the joined bytes;
    :func:`set_value` adopts it as the key's ``_value_buffer``. It answers what moto asks of a
    key's buffer (``seek``, ``tell``, ``read``, ``close``) and owns the files: closing it closes
    them."""

    def __init__(self, files: list[Any], sizes: list[int]) -> None:
        self._files = files
        self._sizes = sizes
        self._starts = list(itertools.accumulate(sizes, initial=0))[:-1]
        self.size = sum(sizes)
        self._pos = 0
        self._closed = False

    def __len__(self) -> int:
        return self.size

    @property
    def closed(self) -> bool:
        return self._closed

    def _check(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file.")  # as a closed spool says

    def seek(self, offset: int, whence: int = 0) -> int:
        self._check()
        base = (0, self._pos, self.size)[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        self._check()
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that are left when ``size`` is negative or None)."""
        self._check()
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        chunks: list[bytes] = []
        index = bisect.bisect_right(self._starts, self._pos) - 1
        while self._pos < end:
            offset = self._pos - self._starts[index]
            want = min(self._sizes[index] - offset, end - self._pos)
            if want > 0:
                part = self._files[index]
                part.seek(offset)
                data = part.read(want)
                if len(data) != want:
                    raise OSError(f"part {index + 1} of the object is {offset + len(data)} "
                                  f"bytes long, not {self._sizes[index]}")
                chunks.append(data)
                self._pos += want
            index += 1
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def close(self) -> None:
        for part in self._files:
            part.close()  # closing a file twice (a part named twice) is allowed
        self._closed = True


_READ_PIECE = 1024 * 1024  # what the full-object checksum reads of a part at a time

WRITE_PIECE = 256 * 1024
"""The most one ``write`` hands the kernel of a value going to its spool file."""


def _take_files(parts: list[Any]) -> list[Any]:
    """The parts' spool files, each part left with an empty one (moto disposes of the parts
    when it deletes the finished upload; the object keeps the files)."""
    import tempfile

    taken: dict[int, Any] = {}  # a part named twice is read twice, from its one file
    for part in parts:
        if id(part) not in taken:
            with part.lock:
                taken[id(part)] = part._value_buffer
                part._value_buffer = tempfile.SpooledTemporaryFile(part._max_buffer_size)
    return [taken[id(part)] for part in parts]


def _feed(part: Any, update: Any, piece: memoryview) -> None:
    """``update`` every byte of ``part``'s value, a piece at a time, from its spool file."""
    with part.lock:
        spool = part._value_buffer
        spool.seek(0)
        while n := spool.readinto(piece):
            update(piece[:n])


_CRC_ATTR = "_medispecs_crc64nvme"
"""A key's ``(crc64nvme, length)`` of the value :func:`set_value` wrote (as S3 computes each
part's CRC as it arrives)."""


def _crc64nvme_function() -> Any:
    """awscrt's ``crc64nvme`` when moto would use it too (``HAS_CRT``), else None."""
    if not importlib.import_module("moto.core.compat").HAS_CRT:
        return None
    from awscrt import checksums

    return checksums.crc64nvme


def _combined_crc64nvme(parts: list[Any]) -> int | None:
    """The whole object's CRC64NVME combined from its parts' CRCs (taken by :func:`set_value`
    from the bytes written; CRCs combine without the bytes, which is how S3 offers a
    FULL_OBJECT CRC for any size); None when a part has none for its current value."""
    if _crc64nvme_function() is None:
        return None
    from awscrt.checksums import combine_crc64nvme

    whole = 0
    for index, part in enumerate(parts):
        taken = getattr(part, _CRC_ATTR, None)
        if taken is None or taken[1] != part.size:
            return None
        whole = taken[0] if index == 0 else combine_crc64nvme(whole, taken[0], taken[1])
    return whole


def _running_checksum(algorithm: str) -> tuple[Any, Any] | None:
    """(update, digest) computing ``compute_checksum(whole, algorithm)`` (unencoded) part by
    part, for the full-object algorithms that allow it; None for the others."""
    if algorithm == "CRC32":
        import binascii

        crc = [0]

        def update32(data: bytes) -> None:
            crc[0] = binascii.crc32(data, crc[0])

        return update32, lambda: crc[0].to_bytes(4, "big")
    crc64nvme = _crc64nvme_function() if algorithm == "CRC64NVME" else None
    if crc64nvme is not None:
        crc64 = [0]

        def update64(data: bytes) -> None:
            crc64[0] = crc64nvme(data, crc64[0])

        return update64, lambda: crc64[0].to_bytes(8, "big")
    return None


def complete_multipart(
    self: Any, body: Any
) -> tuple[JoinedParts, str, tuple[str, str, int] | None]:
    """``FakeMultipart.complete`` of moto 5.2.6, the completed object made of the parts' own
    spool files (see the module docstring); its checks, errors and answers are moto's."""
    import base64

    models: Any = importlib.import_module("moto.s3.models")
    checksum_algo: str | None = self.metadata.get("x-amz-checksum-algorithm")
    checksum_type: str | None = self.metadata.get("x-amz-checksum-type")
    decode_hex: Any = codecs.getdecoder("hex_codec")
    parts: list[Any] = []
    md5s = bytearray()
    checksum_builder = models.MultipartChecksumBuilder(checksum_algo, checksum_type)
    composite = checksum_builder.checksum_type == "COMPOSITE"
    last = None
    for pn, etag in body:
        part = self.parts.get(pn)
        part_etag = None
        if part is not None:
            part_etag = part.etag.replace('"', "")
            etag = etag.replace('"', "")
        if part is None or part_etag != etag:
            raise models.InvalidPart()
        if last is not None and last.contentsize < models.S3_UPLOAD_PART_MIN_SIZE:
            raise models.EntityTooSmall()
        md5s.extend(decode_hex(part_etag)[0])
        parts.append(part)
        last = part
    if not parts:
        raise models.MalformedXML
    part_sizes = [part.size for part in parts]
    self.completed_part_sizes = part_sizes
    algorithm = checksum_builder.checksum_algorithm
    combined = None if composite or algorithm != "CRC64NVME" else _combined_crc64nvme(parts)
    running = None if composite or combined is not None else _running_checksum(algorithm)
    piece = memoryview(bytearray(_READ_PIECE))
    for part in parts:
        if composite:
            checksum_builder.addPart(part.value)  # a checksum per part
        elif running is not None:
            _feed(part, running[0], piece)
    if composite:
        checksum = checksum_builder.build()
    elif combined is not None:  # the same value, from the CRCs taken as the parts came in
        checksum = (checksum_builder.checksum_type,
                    base64.b64encode(combined.to_bytes(8, "big")).decode(), 1)
    elif running is not None:  # what build() computes over its own copy of the object
        checksum = (checksum_builder.checksum_type, base64.b64encode(running[1]()).decode(), 1)
    else:
        whole = JoinedParts([part._value_buffer for part in parts], part_sizes)
        checksum = (checksum_builder.checksum_type, models.compute_checksum(
            whole.read(), checksum_builder.checksum_algorithm).decode(), 1)
    full_etag = models.md5_hash()
    full_etag.update(bytes(md5s))
    etag = f"{full_etag.hexdigest()}-{len(part_sizes)}"
    return JoinedParts(_take_files(parts), part_sizes), etag, checksum  # nothing fails after


def set_value(self: Any, new_value: bytes) -> None:
    """``FakeKey.value``'s setter of moto 5.2.6; a value bigger than the spool's memory goes
    to its file at once (see the module docstring)."""
    from moto.s3.models import DEFAULT_TEXT_ENCODING

    if isinstance(new_value, JoinedParts):  # a completed upload: its parts' spool files
        self._value_buffer.close()
        self._value_buffer = new_value
        self.contentsize = new_value.size
        setattr(self, _CRC_ATTR, None)
        return
    self._value_buffer.seek(0)
    self._value_buffer.truncate()
    if isinstance(new_value, str):
        new_value = new_value.encode(DEFAULT_TEXT_ENCODING)
    if self._max_buffer_size and len(new_value) > self._max_buffer_size:
        # SpooledTemporaryFile.write rolls over once tell() > max_size: after this write
        self._value_buffer.rollover()
    if self._etag is None:  # what the etag getter computes, from the spool, on first use
        self._etag = _md5(new_value).hexdigest()
    view = memoryview(new_value)  # a piece at a time (see the module docstring)
    crc64 = _crc64nvme_function()
    crc = 0
    for start in range(0, len(view), WRITE_PIECE):
        piece = view[start:start + WRITE_PIECE]
        if crc64 is not None:
            crc = crc64(piece, crc)  # while the piece is in the CPU's cache
        self._value_buffer.write(piece)
    self.contentsize = len(new_value)
    setattr(self, _CRC_ATTR, None if crc64 is None else (crc, len(new_value)))


_ranged = threading.local()  # .key_value: the value getter answers a ValueRange


class ValueRange:
    """A key's value as moto's ranged GET sees it under :func:`get_object`: its length, and
    the bytes of a slice, read from the value's file when asked for (moto asks for one)."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def __len__(self) -> int:
        return int(self._key.size)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, span: slice) -> bytes:
        start, stop, step = span.indices(len(self))
        if step != 1:
            return bytes(self)[span]
        with self._key.lock:
            buffer = self._key._value_buffer
            buffer.seek(start)
            return bytes(buffer.read(max(0, stop - start)))

    def __bytes__(self) -> bytes:
        return bytes(_originals["value"].fget(self._key))


def get_value(self: Any) -> Any:
    """``FakeKey.value``'s getter: moto's, or a :class:`ValueRange` inside :func:`get_object`
    for a single range."""
    if getattr(_ranged, "key_value", False):
        return ValueRange(self)
    return _originals["value"].fget(self)


def get_object(self: Any) -> Any:
    """``S3Response.get_object`` of moto 5.2.6, the key's value read only where the one byte
    range asked for lies (see the module docstring)."""
    original = _originals["get_object"]
    asked = str(self.headers.get("range") or "").strip()
    if not _SINGLE_RANGE.fullmatch(asked) or "partNumber" in self.querystring:
        return original(self)
    _ranged.key_value = True
    try:
        return original(self)
    finally:
        _ranged.key_value = False


def handle_range_header(self: Any, request: Any, response_headers: dict[str, Any],
                        response_content: Any) -> Any:
    """``S3Response._handle_range_header``: moto's; a :class:`ValueRange` it answers whole (a
    range S3 ignores, such as ``bytes=9-3``) is read whole."""
    status, headers, content = _originals["_handle_range_header"](
        self, request, response_headers, response_content)
    if isinstance(content, ValueRange):
        content = bytes(content)
    return status, headers, content


def _md5(data: bytes) -> Any:
    return hashlib.md5(data, usedforsecurity=False)  # as moto.utilities.utils.md5_hash


def _fingerprint(obj: Any) -> str:
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


def _check_sources(found: dict[str, Any], want: dict[str, str], table: str) -> None:
    """Raise :class:`MotoS3PatchError` unless every function in ``found`` is there and its
    source is the one fingerprinted in ``want`` (the dict named ``table``)."""
    import moto

    problems = [f"{name} is missing" if obj is None else f"{name} changed"
                for name, obj in found.items() if obj is None or _fingerprint(obj) != want[name]]
    if problems:
        raise MotoS3PatchError(
            f"moto {getattr(moto, '__version__', '?')} is not shaped as "
            f"medispecs_desktop/local/moto_s3_patches.py expects: {'; '.join(problems)}. "
            f"Re-check {', '.join(found)}, then update {table}.")


def _multipart_class() -> Any:
    from moto.s3 import models

    found: dict[str, Any] = {}
    for name in _COMPLETE_SOURCES:
        owner, _, attr = name.partition(".")
        obj = getattr(models, owner, None)
        if obj is not None and attr:
            obj = obj.__dict__.get(attr)
            if isinstance(obj, property):
                obj = obj.fset or obj.fget
        found[name] = obj
    _check_sources(found, _COMPLETE_SOURCES, "_COMPLETE_SOURCES")
    return models.FakeMultipart


def _response_class() -> Any:
    from moto.s3 import models, responses

    _check_sources({
        "S3Response.get_object": responses.S3Response.__dict__.get("get_object"),
        "S3Response._handle_range_header":
            responses.S3Response.__dict__.get("_handle_range_header"),
        "FakeKey.value": getattr(models.FakeKey.__dict__.get("value"), "fget", None),
    }, _RANGE_SOURCES, "_RANGE_SOURCES")
    return responses.S3Response


def _backend_class() -> Any:
    try:
        import moto
        from moto.s3.models import S3Backend
    except ImportError as err:  # pragma: no cover - moto is a dependency of the stack
        raise MotoS3PatchError(f"moto's S3 models cannot be imported: {err}") from err
    version = getattr(moto, "__version__", "?")
    problems: list[str] = []
    if version not in SUPPORTED_MOTO_VERSIONS:
        problems.append(f"version {version} is not one of {sorted(SUPPORTED_MOTO_VERSIONS)}")
    fn = S3Backend.__dict__.get("list_object_versions")
    if fn is None:
        problems.append("S3Backend.list_object_versions is missing")
    else:
        if tuple(inspect.signature(fn).parameters) != _PARAMS:
            problems.append("S3Backend.list_object_versions takes other parameters")
        source = inspect.getsource(fn)
        # the only use of the backend and the bucket the view stands in for
        if (source.count("self.") != 1 or "self.get_bucket(bucket_name)" not in source
                or source.count("bucket.") != 1 or "bucket.keys.iterlists()" not in source):
            problems.append("S3Backend.list_object_versions reads more of the bucket than keys")
    if problems:
        raise MotoS3PatchError(
            f"moto {version} is not shaped as medispecs_desktop/local/moto_s3_patches.py "
            f"expects: {'; '.join(problems)}. Re-check list_object_versions, then add the "
            "version to SUPPORTED_MOTO_VERSIONS."
        )
    return S3Backend


def apply() -> None:
    """Install the patch (idempotent, thread-safe)."""
    with _lock:
        if _originals:
            return
        backend_cls = _backend_class()
        multipart_cls = _multipart_class()
        response_cls = _response_class()
        _originals["list_object_versions"] = backend_cls.__dict__["list_object_versions"]
        _originals["complete"] = multipart_cls.__dict__["complete"]
        key_cls = importlib.import_module("moto.s3.models").FakeKey
        _originals["value"] = key_cls.__dict__["value"]
        _originals["get_object"] = response_cls.__dict__["get_object"]
        _originals["_handle_range_header"] = response_cls.__dict__["_handle_range_header"]
        backend_cls.list_object_versions = list_object_versions
        multipart_cls.complete = complete_multipart
        key_cls.value = property(get_value, set_value)
        response_cls.get_object = get_object
        response_cls._handle_range_header = handle_range_header
    log.debug("moto S3 patches applied (list_object_versions copies only the prefix; "
              "a completed multipart upload is its parts' files; big values go "
              "straight to their spool file, hashed in hand; a ranged GET reads its range)")


def remove() -> None:
    """Put moto's own method back."""
    with _lock:
        if not _originals:
            return
        from moto.s3.models import FakeKey, FakeMultipart, S3Backend
        from moto.s3.responses import S3Response

        S3Backend.list_object_versions = (  # type: ignore[method-assign]
            _originals.pop("list_object_versions")
        )
        FakeMultipart.complete = _originals.pop("complete")  # type: ignore[method-assign]
        FakeKey.value = _originals.pop("value")  # type: ignore[method-assign]
        S3Response.get_object = _originals.pop("get_object")  # type: ignore[method-assign]
        S3Response._handle_range_header = (  # type: ignore[method-assign]
            _originals.pop("_handle_range_header"))


def is_applied() -> bool:
    return bool(_originals)


@contextmanager
def stock() -> Iterator[None]:
    """Run a block on moto's own code (for comparisons in tests), then restore the patch if it
    was applied before."""
    was = is_applied()
    remove()
    try:
        yield
    finally:
        if was:
            apply()
