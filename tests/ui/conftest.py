"""Fixtures for the GUI tests that need the real app shell."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from medispecs_desktop.core.auth import MemoryTokenStore
from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.ui.app import AppContext, AppController, AppHooks, install_views
from medispecs_desktop.ui.library import LibraryView, LibraryWidget
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.uploads import UploadsPanel
from tests.support.keyrings import MemoryKeyring, active_keyring
from tests.support.stack import stack_settings as settings_for_stack

Start = Callable[[], tuple[AppContext, UploadsPanel]]
Shell = tuple[AppContext, MainWindow, AppController]


@pytest.fixture
def test_keyring() -> Iterator[MemoryKeyring]:
    with active_keyring(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture
def no_keyring() -> Iterator[None]:
    from keyring.backends import fail

    with active_keyring(fail.Keyring()):
        yield


@pytest.fixture
def stack_settings(local_stack: dict[str, Any]) -> Settings:
    return settings_for_stack(local_stack)


@pytest.fixture
def make_shell(qtbot: Any) -> Iterator[Callable[..., Shell]]:
    """``make_shell(settings)`` -> (ctx, window, controller): the app shell with its views,
    shown, not started (the test drives it); shut down after the test."""
    made: list[Shell] = []

    def factory(settings: Settings, *, hooks: AppHooks | None = None,
                clock: Callable[[], float] = time.time) -> Shell:
        paths = Paths.default().ensure()
        ctx = AppContext(settings, paths, clock=clock)
        window = MainWindow(ctx.qsettings)
        qtbot.addWidget(window)
        install_views(window, ctx)
        controller = AppController(ctx, window, hooks=hooks)
        made.append((ctx, window, controller))
        controller.show_window()
        return ctx, window, controller

    yield factory
    for _ctx, _window, controller in made:
        controller.shutdown()


@pytest.fixture
def start_app(qtbot: Any, local_stack: dict[str, Any]) -> Iterator[Start]:
    """Opens the real app shell and signs in the demo user (the queue opens then)."""
    controllers: list[AppController] = []

    def start() -> tuple[AppContext, UploadsPanel]:
        settings = Settings(
            api_url=local_stack["apiUrl"], region=local_stack["region"],
            user_pool_id=local_stack["userPoolId"], client_id=local_stack["clientId"],
            cognito_endpoint=local_stack["awsEndpoint"], demo=True)
        ctx = AppContext(settings, Paths.default().ensure())
        window = MainWindow(ctx.qsettings)
        qtbot.addWidget(window, before_close_func=lambda w: setattr(w, "ask_before_closing",
                                                                    False))
        install_views(window, ctx)
        controller = AppController(ctx, window)
        controllers.append(controller)
        controller.show_window()
        assert ctx.auth is not None
        controller._signed_in(ctx.auth.sign_in(local_stack["username"],
                                               local_stack["password"]))
        panel = window.uploads_view
        assert isinstance(panel, UploadsPanel)
        return ctx, panel

    yield start
    for controller in controllers:
        controller.shutdown()


# ----------------------------------------------------------------------------- player


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[Any]:
    """A TaskRunner for player tests (its controllers are shut down with it); modules with
    other needs define their own ``tasks``."""
    from tests.support.player_s3 import player_tasks

    yield from player_tasks()


@pytest.fixture(scope="module")
def numbered_s3(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[Any, str]]:
    """A moto S3 holding one numbered 30 fps clip at the test module's ``BUCKET``/``KEY``
    (``FRAMES`` frames, 300 unless the module says otherwise; a keyframe every ``GOP``, 12)."""
    from tests.support.player_s3 import moto_s3_with_clip

    module = request.module
    yield from moto_s3_with_clip(module.BUCKET, module.KEY,
                                 tmp_path_factory.mktemp(module.BUCKET),
                                 frames=getattr(module, "FRAMES", 300),
                                 gop=getattr(module, "GOP", 12))


@pytest.fixture
def numbered_player(qtbot: Any, request: pytest.FixtureRequest,
                    numbered_s3: tuple[Any, str], tasks: Any) -> tuple[Any, Any, list[int]]:
    """``(controller, widget, shown)``: a focused PlayerWidget paused on the module's
    numbered clip, its frame times and length known (see ``open_numbered``)."""
    from tests.support.player_s3 import open_numbered

    module = request.module
    controller, widget, shown = open_numbered(qtbot, tasks, numbered_s3[0], module.BUCKET,
                                              module.KEY)
    frames = getattr(module, "FRAMES", 300)
    qtbot.waitUntil(lambda: widget.slider.maximum() >= frames * 1000 // 30 - 100,
                    timeout=10_000)
    widget.activateWindow()
    widget.setFocus()
    return controller, widget, shown


# open_app(size, **settings) -> the real window signed in to the stack, its library loaded
Open = Callable[..., tuple[AppContext, MainWindow, AppController, LibraryWidget]]


@pytest.fixture
def open_app(qtbot: Any, local_stack: dict[str, Any]) -> Iterator[Open]:
    controllers: list[AppController] = []

    def start(size: tuple[int, int] = (1280, 720), **settings_kw: Any
              ) -> tuple[AppContext, MainWindow, AppController, LibraryWidget]:
        settings = Settings(api_url=local_stack["apiUrl"], region=local_stack["region"],
                            user_pool_id=local_stack["userPoolId"],
                            client_id=local_stack["clientId"],
                            cognito_endpoint=local_stack["awsEndpoint"], **settings_kw)
        ctx = AppContext(settings, Paths.default().ensure(), token_store=MemoryTokenStore())
        window = MainWindow(ctx.qsettings)
        qtbot.addWidget(window, before_close_func=lambda w: setattr(
            w, "ask_before_closing", False))
        controller = AppController(ctx, window)
        controllers.append(controller)
        install_views(window, ctx)
        window.resize(*size)
        controller.show_window()
        qtbot.waitExposed(window)
        assert ctx.auth is not None
        controller._signed_in(ctx.auth.sign_in(local_stack["username"],
                                               local_stack["password"]))
        view = window.library_view
        assert isinstance(view, LibraryView) and view.library is not None
        library = view.library
        qtbot.waitUntil(lambda: library.model.rowCount() >= 1 and not library.model.loading,
                        timeout=15_000)
        return ctx, window, controller, library

    yield start
    for controller in controllers:
        controller.shutdown()


def demo_clip_row(qtbot: Any, library: Any) -> int:
    """The view row of one of the demo account's seeded clips (real, playable recordings) in
    ``library`` (a LibraryWidget). The demo account is shared with other tests, whose newer
    uploads come first; later pages are asked for until a seeded clip is in."""
    from medispecs_desktop.local.seed import DEMO_CLIPS

    seeded = {clip.title for clip in DEMO_CLIPS}
    model, proxy = library.model, library.proxy

    def row() -> int | None:
        return next((r for r in range(proxy.rowCount())
                     if (v := proxy.video_at(r)) is not None and v.has_bytes
                     and v.title in seeded), None)

    def found() -> bool:
        if row() is None and not model.loading and model.canFetchMore():
            model.fetchMore()
        return row() is not None

    qtbot.waitUntil(found, timeout=30_000)
    at = row()
    assert at is not None
    return at
