"""moto's server finds a request's service without listing its own package folder each time.

Written for **moto 5.2.6** (:data:`SUPPORTED_MOTO_VERSIONS`); :func:`apply` checks the version
and the shape of what it relies on and raises :class:`MotoServerPatchError` when moto changed.
Applied by the local stack next to :mod:`.moto_patches`, in the stack's process only.

``DomainDispatcherApplication.get_backend_for_host`` (``moto/moto_server/werkzeug_app.py``)
asks ``moto.backends.list_of_moto_modules()`` whether the host names a moto module - for every
request of an SDK, whose host is inferred (``dynamodb.us-east-1.amazonaws.com`` is not a module
name, so the whole list is walked). That function lists moto's package folder and stats each of
its ~200 entries (``os.listdir`` + ``os.path.isdir``): ~0.3 ms per request, under the
dispatcher's one lock, so concurrent requests queue behind the stat calls. The folder does not
change while moto runs: :func:`list_of_moto_modules` answers the same names, in the same order,
from one listing made when the patch is applied.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["SUPPORTED_MOTO_VERSIONS", "MotoServerPatchError", "apply", "is_applied", "remove"]

SUPPORTED_MOTO_VERSIONS = frozenset({"5.2.6"})

_originals: dict[str, Any] = {}
_lock = threading.Lock()


class MotoServerPatchError(RuntimeError):
    """The installed moto is not the one this patch was written for."""


def _backends_module() -> Any:
    try:
        import moto
        from moto import backends
        from moto.moto_server import werkzeug_app
    except ImportError as err:  # pragma: no cover - moto is a dependency of the stack
        raise MotoServerPatchError(f"moto's server cannot be imported: {err}") from err
    version = getattr(moto, "__version__", "?")
    problems: list[str] = []
    if version not in SUPPORTED_MOTO_VERSIONS:
        problems.append(f"version {version} is not one of {sorted(SUPPORTED_MOTO_VERSIONS)}")
    listing = getattr(backends, "list_of_moto_modules", None)
    if listing is None or not inspect.isgeneratorfunction(listing) or inspect.signature(
        listing
    ).parameters or not {"listdir", "isdir"} <= set(listing.__code__.co_names):
        problems.append("backends.list_of_moto_modules no longer lists moto's folder")
    dispatcher = getattr(werkzeug_app, "DomainDispatcherApplication", None)
    lookup = getattr(dispatcher, "get_backend_for_host", None)
    if lookup is None or not {"backends", "list_of_moto_modules"} <= set(
        lookup.__code__.co_names
    ):
        problems.append("DomainDispatcherApplication.get_backend_for_host changed")
    if problems:
        raise MotoServerPatchError(
            f"moto {version} is not shaped as medispecs_desktop/local/moto_server_patches.py "
            f"expects: {'; '.join(problems)}. Re-check backends.list_of_moto_modules, then "
            "add the version to SUPPORTED_MOTO_VERSIONS."
        )
    return backends


def apply() -> None:
    """Install the patch (idempotent, thread-safe)."""
    with _lock:
        if _originals:
            return
        backends = _backends_module()
        original = backends.list_of_moto_modules
        names = tuple(original())

        def list_of_moto_modules() -> Iterable[str]:
            """moto's module folders (listed once: they do not change while moto runs)."""
            return names

        list_of_moto_modules.__wrapped__ = original  # type: ignore[attr-defined]
        _originals["list_of_moto_modules"] = original
        backends.list_of_moto_modules = list_of_moto_modules


def remove() -> None:
    with _lock:
        if not _originals:
            return
        from moto import backends

        backends.list_of_moto_modules = _originals.pop("list_of_moto_modules")


def is_applied() -> bool:
    return bool(_originals)
