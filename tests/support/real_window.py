"""What the real-window tests (xcb under Xvfb) and their drivers share: a new signed-in user
of the local stack, running a driver script in the X server, and in the driver the main
window over the stack with a ``wait`` that keeps the event loop turning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def new_signed_in_user(stack: dict[str, Any], prefix: str) -> tuple[str, str, Any]:
    """(username, password, CognitoAuth signed in as them) of a new user of ``stack``."""
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from medispecs_desktop.core.config import Settings
    from tests.support.users import new_user

    username, password = new_user(stack, prefix)
    settings = Settings(api_url=stack["apiUrl"], region=stack["region"],
                        user_pool_id=stack["userPoolId"], client_id=stack["clientId"],
                        cognito_endpoint=stack["awsEndpoint"])
    auth = CognitoAuth(settings, MemoryTokenStore())
    auth.sign_in(username, password)
    return username, password, auth


def run_driver(driver: str, config: dict[str, Any], tmp_path: Path, display: str
               ) -> dict[str, Any]:
    """Run ``tests/e2e/<driver>`` with ``config`` in the X server; its ``result.json``."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "QT_LOGGING_RULES": "qt.*=false", "MEDISPECS_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(ROOT / "tests/e2e" / driver),
                          str(tmp_path / "config.json")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    result: dict[str, Any] = json.loads((Path(config["out"]) / "result.json").read_text())
    print(json.dumps(result, indent=1))
    return result


def waiter(app: Any, result: dict[str, Any]) -> Callable[..., None]:
    """``wait(condition, what, timeout=60)``: turns ``app``'s event loop until
    ``condition()`` and notes ``what`` in ``result["steps"]``."""

    def wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.02)
        result.setdefault("steps", []).append(what)

    return wait


def stack_window(config: dict[str, Any], result: dict[str, Any], **settings: Any
                 ) -> tuple[Any, Callable[..., None], Any, Any, Any]:
    """In a driver: (app, wait, ctx, window, controller) - the main window over the stack
    of ``config``, shown, its views installed, nobody signed in yet. ``wait(condition, what,
    timeout=60)`` turns the event loop until ``condition()`` and notes ``what`` in
    ``result["steps"]``."""
    from PySide6.QtWidgets import QApplication

    from medispecs_desktop.core.auth import MemoryTokenStore
    from medispecs_desktop.core.config import Paths, Settings
    from medispecs_desktop.ui.app import AppContext, AppController, install_views
    from medispecs_desktop.ui.main_window import MainWindow

    app = QApplication([])
    result.setdefault("steps", [])

    wait = waiter(app, result)

    stack = config["stack"]
    ctx = AppContext(Settings(api_url=stack["apiUrl"], region=stack["region"],
                              user_pool_id=stack["userPoolId"], client_id=stack["clientId"],
                              cognito_endpoint=stack["awsEndpoint"], **settings),
                     Paths.default().ensure(), token_store=MemoryTokenStore())
    window = MainWindow(ctx.qsettings)
    controller = AppController(ctx, window)
    window.resize(1200, 760)
    window.show()
    install_views(window, ctx)
    return app, wait, ctx, window, controller
