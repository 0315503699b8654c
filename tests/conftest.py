"""Shared fixtures: an isolated per-user environment, one local stack per test session,
real video files made with PyAV."""

from __future__ import annotations

import gc
import logging
import os
import random
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")  # only moto ever sees these
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def pytest_configure(config: pytest.Config) -> None:
    # Cyclic garbage is collected on the main (GUI) thread only, as the app does
    # (medispecs_desktop/ui/gui_gc.py): a cycle holding a Qt object freed on a worker thread
    # crashes the event loop later (segfaults in pytest-qt's processEvents). Reference counting
    # still frees everything else at once; the hooks below collect between tests.
    gc.disable()


_GC_THRESHOLD = gc.get_threshold()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield
    # what automatic collection would have done by now, on the main thread: each generation
    # whose count passed its threshold (everything allocated since the last collection is still
    # in generation 0, so the test's own cycles go now; a full collection every ~100 tests)
    counts = gc.get_count()
    due = [n for n, (count, limit) in enumerate(zip(counts, _GC_THRESHOLD, strict=True))
           if limit and count > limit]
    if due:
        gc.collect(max(due))


@pytest.fixture(autouse=True)
def _no_gui_collector_left() -> Iterator[None]:
    """A test that made the app's own QApplication (``make_application``) installed the app's
    GUI-thread garbage collector on the session's one QApplication; left there it would freeze
    the session's heap and run its (deep) collections in the middle of later tests, whose GUI
    timings then depend on the order. Each test ends with it gone, collection as above."""
    yield
    module = sys.modules.get("medispecs_desktop.ui.gui_gc")
    if module is None:
        return
    from PySide6.QtCore import QCoreApplication
    from shiboken6 import Shiboken

    app = QCoreApplication.instance()
    if app is None:
        return
    for collector in app.findChildren(module.GuiThreadGarbageCollector):
        Shiboken.delete(collector)  # turns automatic collection on again (and unfreezes)
    gc.unfreeze()
    gc.disable()


@pytest.fixture(autouse=True)
def _own_keyring() -> Iterator[None]:
    """Every test starts with an empty in-memory keyring of its own (a test that needs another
    sets it with ``active_keyring``). Left to itself, keyring picks its default once per
    process: a chainer over every backend class imported so far, ordered by a set of classes
    - so on a machine without an OS keyring the tests' own backends (the subprocess
    ``FileKeyring`` among them) became the default in some runs and not in others, and the
    developer's real keyring would be used where there is one."""
    from tests.support.keyrings import MemoryKeyring, active_keyring

    with active_keyring(MemoryKeyring()):
        yield


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own settings/data/cache/log dirs; never the developer's."""
    home = tmp_path_factory.mktemp("medispecs-home")
    monkeypatch.setenv("MEDISPECS_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    for var in ("MEDISPECS_API_URL", "MEDISPECS_USER_POOL_ID", "MEDISPECS_CLIENT_ID",
                "MEDISPECS_COGNITO_ENDPOINT", "MEDISPECS_REGION"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def local_stack() -> Iterator[dict[str, Any]]:
    """One embedded local stack (moto + local API gateway + real handler) per test session.

    It runs as a child process (``medispecs-desktop local-stack``), as the app runs it: moto's
    state is process-global, so in this process any ``mock_aws`` would wipe it, and its work
    would compete with the tests for this process's GIL.
    """
    from medispecs_desktop.local.child import start_stack_process, stop_stack_process

    # without the server-side processing pipeline: its asynchronous updates (status, version)
    # would race the many tests that check a record right after they wrote it;
    # tests/local/test_processing_pipeline.py starts a stack with it
    env = {**os.environ, "MEDISPECS_STACK_PROCESSING": "off"}
    proc, info = start_stack_process(env=env)
    try:
        yield info
        # every object has an owner (issue 17): checked on the live stack before it goes
        from tests.support.orphans import find_orphans, stack_config, user_names

        left = find_orphans(stack_config(info))
        names = user_names(info, left.user_ids()) if left else {}
    finally:
        stop_stack_process(proc)
    if left:
        pytest.fail("tests left bytes without an owner on the shared local stack:\n"
                    + left.describe(names), pytrace=False)


@pytest.fixture
def clip_seed(request: pytest.FixtureRequest) -> Callable[[], int]:
    """``clip_seed()`` -> a seed for ``make_video``: the same on every run of this test (its
    node id seeds it, not ``hash()`` or a clock), different from other tests' and from the
    previous call, so clips uploaded to the shared stack are new to it."""
    rng = random.Random(zlib.crc32(request.node.nodeid.encode("utf-8")))
    return lambda: rng.randrange(1 << 16, 1 << 31)


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """``make_video(name, **kw)`` writes a real clip under tmp_path (see local.samples)."""
    from medispecs_desktop.local.samples import make_video as _make

    def factory(name: str = "clip.mp4", **kwargs: Any) -> Path:
        return _make(tmp_path / name, **kwargs)

    return factory
