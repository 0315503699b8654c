"""Fixtures for the GUI tests that need the real app shell."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.ui.app import AppContext, AppController, install_views
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.uploads import UploadsPanel

Start = Callable[[], tuple[AppContext, UploadsPanel]]


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
