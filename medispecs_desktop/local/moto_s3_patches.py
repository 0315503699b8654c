"""One fix to moto's S3 so deleting a recording stays fast in a bucket that holds many.

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
is moto's, byte for byte, at the cost of copying only what is returned.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "SUPPORTED_MOTO_VERSIONS",
    "MotoS3PatchError",
    "apply",
    "is_applied",
    "list_object_versions",
    "remove",
    "stock",
]

log = logging.getLogger(__name__)

SUPPORTED_MOTO_VERSIONS = frozenset({"5.2.6"})
"""moto releases whose ``list_object_versions`` was checked against this patch. Re-check the
function before adding one."""

_PARAMS = ("self", "bucket_name", "delimiter", "key_marker", "max_keys", "prefix",
           "version_id_marker")

_lock = threading.Lock()
_originals: dict[str, Any] = {}


class MotoS3PatchError(RuntimeError):
    """The installed moto is not the one this patch was written for."""


class _PrefixKeys:
    """The part of a bucket's ``_VersionedKeyStore`` moto's function reads, limited to a prefix."""

    def __init__(self, keys: Any, prefix: str) -> None:
        self._keys = keys
        self._prefix = prefix

    def iterlists(self) -> Iterator[tuple[str, list[Any]]]:
        for name, versions in self._keys.iterlists():
            if name.startswith(self._prefix):
                yield name, versions


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
    target = _PrefixBackend(self, prefix) if prefix else self
    return original(target, bucket_name, delimiter=delimiter, key_marker=key_marker,
                    max_keys=max_keys, prefix=prefix, version_id_marker=version_id_marker)


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
        _originals["list_object_versions"] = backend_cls.__dict__["list_object_versions"]
        backend_cls.list_object_versions = list_object_versions
    log.debug("moto S3 patch applied (list_object_versions copies only the prefix)")


def remove() -> None:
    """Put moto's own method back."""
    with _lock:
        if not _originals:
            return
        from moto.s3.models import S3Backend

        S3Backend.list_object_versions = (  # type: ignore[method-assign]
            _originals.pop("list_object_versions")
        )


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
