"""Runs the real main window (xcb, under the test's Xvfb) against the local stack and goes
through the automatic logoff: a recording open in the player and playing, an upload running,
a card window open, then no input until the lock engages; what is visible while locked; a
wrong and the right password. Writes ``result.json`` and ``locked.png`` to the out folder.

Usage: python tests/e2e/idle_lock_driver.py CONFIG.json (see test_idle_lock_window.py).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def visible_texts(app: Any) -> list[str]:
    """Every text a person could read in a visible widget: labels, buttons, line edits,
    window titles, tool tips are not (they need hovering) - and every row of a visible list."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QLabel,
        QLineEdit,
        QPlainTextEdit,
        QTextEdit,
    )

    out: list[str] = []
    for w in app.allWidgets():
        if not w.isVisible():
            continue
        if w.isWindow():
            out.append(w.windowTitle())
        if isinstance(w, QLabel | QAbstractButton | QLineEdit):
            out.append(w.text())
        elif isinstance(w, QPlainTextEdit | QTextEdit):
            out.append(w.toPlainText())
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            model = w.model()
            for r in range(model.rowCount()):
                for c in range(model.columnCount()):
                    value = model.index(r, c).data(Qt.ItemDataRole.DisplayRole)
                    if value is not None:
                        out.append(str(value))
    return out


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    out = Path(config["out"])
    from PySide6.QtCore import QObject
    from PySide6.QtMultimedia import QMediaPlayer

    from medispecs_desktop.core.cards import Card
    from tests.support.real_window import stack_window

    result: dict[str, Any] = {"steps": []}
    app, wait, ctx, window, controller = stack_window(
        config, result, bandwidth_limit_kbps=int(config["bandwidth_kbps"]))
    lock = window.idle_lock
    lock.watcher.set_timeout(0)  # nothing locks while the scene is set up

    auth: Any = ctx.auth
    user = auth.sign_in(config["username"], config["password"])
    controller._signed_in(user)
    library: Any = window.library_view
    wait(lambda: library.library is not None
         and library.library.select_video(config["video_id"]), "library lists the recording")
    video = library.library.current_video()
    player: Any = window.player_view
    player.open_video(video)
    player.controller.play()
    media = player.controller.player
    wait(lambda: media.playbackState() == QMediaPlayer.PlaybackState.PlayingState
         and media.position() > 0, "the recording plays")

    sent: list[int] = []
    window.files_chosen.emit([config["upload_file"]])
    wait(lambda: ctx.engine is not None, "upload engine")
    ctx.engine.subscribe_progress(lambda snap: sent.append(snap.bytes_done))
    wait(lambda: bool(sent) and sent[-1] > 0, "the upload sends bytes")
    cards: Any = next(o for o in window.findChildren(QObject)
                      if type(o).__name__ == "CardImport")
    card_window = cards.open_dialog(Card(root=Path(config["card"]), label="GLASSES",
                                         reason="test"))
    wait(lambda: card_window is not None and card_window.isVisible(), "card window open")
    def shown(marker: str) -> bool:
        return any(marker in t for t in visible_texts(app))

    for marker in config["markers"]:  # the card window lists its clips once it scanned them
        wait(lambda m=marker: shown(m), f"{marker} is on screen")
    result["before"] = {m: shown(m) for m in config["markers"]}

    lock.watcher.set_timeout(float(config["timeout"]))
    started = time.monotonic()
    wait(lambda: lock.locked, "locked after the idle timeout", timeout=60)
    result["locked_after"] = time.monotonic() - started
    app.processEvents()
    result["paused"] = media.playbackState() != QMediaPlayer.PlaybackState.PlayingState
    texts = visible_texts(app)
    result["leaks"] = sorted({m for m in config["markers"] for t in texts if m in t})
    result["lock_text"] = lock.screen.title.text()
    result["hidden"] = {"pages": window.pages.isVisible(), "dock": window.uploads_dock.isVisible(),
                        "card": card_window.isVisible(), "lock": lock.screen.isVisible()}
    time.sleep(0.3)
    app.processEvents()
    app.primaryScreen().grabWindow(0).save(str(out / "locked.png"))
    at_lock = sent[-1]
    total = Path(config["upload_file"]).stat().st_size
    wait(lambda: sent[-1] > at_lock or sent[-1] >= total, "the upload goes on while locked")
    result["upload_progress_while_locked"] = [at_lock, sent[-1], total]
    result["still_locked_during_upload"] = lock.locked

    lock.screen.secret.setText("not-the-password-1A!")
    lock.screen.unlock_button.click()
    wait(lambda: lock.screen.unlock_button.isEnabled(), "wrong password answered")
    result["wrong_password"] = {"locked": lock.locked, "error": lock.screen.error.text()}
    texts = visible_texts(app)
    result["leaks_after_wrong"] = sorted({m for m in config["markers"] for t in texts if m in t})

    lock.screen.secret.setText(config["password"])
    lock.screen.unlock_button.click()
    wait(lambda: not lock.locked, "unlocked with the right password")
    app.processEvents()
    after = visible_texts(app)
    result["after"] = {m: any(m in t for t in after) for m in config["markers"]}
    result["restored"] = {"pages": window.pages.isVisible(),
                          "dock": window.uploads_dock.isVisible(),
                          "card": card_window.isVisible(),
                          "lock": lock.screen.isVisible()}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    ctx.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
