"""A clinician's walk through the real main window (xcb, under the test's Xvfb), against the
local stack, by keyboard where a person would use it: start → library → edit a recording's
title and notes (F2, typing, Tab, Save) → play it (Enter) → upload a folder → a card is
inserted: its window lists the clips (and the NOTES.TXT that stays), Enter imports the new one,
verified in the cloud → Settings twice → restart → the same layout. A screenshot of the
screen after every step goes to the out folder; ``result.json`` says what was seen.

Usage: python tests/e2e/walkthrough_driver.py CONFIG.json (see test_walkthrough_window.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    out = Path(config["out"])
    # where this "computer" mounts cards (empty until the card goes in, step 5)
    os.environ["MEDISPECS_CARD_ROOTS"] = config["card_slot"]
    from PySide6.QtCore import Qt
    from PySide6.QtMultimedia import QMediaPlayer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from medispecs_desktop.core.auth import MemoryTokenStore
    from medispecs_desktop.core.config import Paths, Settings
    from medispecs_desktop.core.uploads.jobs import JobState
    from medispecs_desktop.ui.app import AppContext, AppController, install_views, make_application
    from medispecs_desktop.ui.main_window import MainWindow
    from tests.support.real_window import waiter

    app = make_application([])
    result: dict[str, Any] = {"steps": [], "shots": []}

    wait = waiter(app, result)

    def settle(seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def shot(window: Any, name: str, *, whole_screen: bool = False) -> None:
        settle()
        screen = window.screen() or QApplication.primaryScreen()
        path = out / f"{name}.png"
        # a dialog may reach past the main window (Settings uses the screen's height)
        screen.grabWindow(0 if whole_screen else window.winId()).save(str(path), "PNG")
        result["shots"].append(path.name)

    def keys(widget: Any, *pressed: Any) -> None:
        for key in pressed:
            focus = QApplication.focusWidget() or widget
            if isinstance(key, str):
                QTest.keyClicks(focus, key)
            else:
                QTest.keyClick(focus, key)
            app.processEvents()

    stack = config["stack"]
    settings = Settings(api_url=stack["apiUrl"], region=stack["region"],
                        user_pool_id=stack["userPoolId"], client_id=stack["clientId"],
                        cognito_endpoint=stack["awsEndpoint"])
    paths = Paths.default().ensure()

    def start() -> tuple[AppContext, MainWindow, AppController, Any]:
        ctx = AppContext(settings, paths, token_store=MemoryTokenStore())
        window = MainWindow(ctx.qsettings)
        controller = AppController(ctx, window)
        if not result.get("first_start_done"):
            window.setGeometry(0, 0, 1280, 720)  # the whole window on the 1280x800 screen
        install_views(window, ctx)
        controller.show_window()
        wait(window.isVisible, "window shown")
        auth: Any = ctx.auth
        controller._signed_in(auth.sign_in(config["username"], config["password"]))
        view: Any = window.library_view
        wait(lambda: view.library is not None and view.library.model.rowCount() >= 3
             and not view.library.model.loading, "the library lists the recordings")
        window.activateWindow()
        wait(window.isActiveWindow, "the window has the keyboard")
        return ctx, window, controller, view.library

    # 1. start → library
    _ctx, window, controller, library = start()
    result["first_start_done"] = True
    shot(window, "01-library")

    # 2. details: select the first row, F2, a new title, Tab, notes, Save (all by keyboard)
    library.table.setFocus()
    keys(library.table, Qt.Key.Key_Home)
    library.table.selectRow(0)
    video = library.details.video
    assert video is not None
    keys(library.table, Qt.Key.Key_F2)
    result["f2_focus"] = library.details.title_edit.hasFocus()
    keys(library.details.title_edit, config["new_title"], Qt.Key.Key_Tab,
         "Reviewed with the ward team.", Qt.Key.Key_Tab)
    result["tab_left_notes"] = not library.details.notes_edit.hasFocus()
    while QApplication.focusWidget() is not library.details.save_button:
        keys(library, Qt.Key.Key_Tab)
    keys(library, Qt.Key.Key_Space)
    wait(lambda: library.details.message.text() == "Saved.", "the edit is saved")
    result["saved_title"] = library.details.video.title
    shot(window, "02-details-edited")

    # 3. play: Enter on the row
    library.table.setFocus()
    player: Any = window.player_view
    keys(library.table, Qt.Key.Key_Return)
    media = player.controller.player
    wait(lambda: media.playbackState() == QMediaPlayer.PlaybackState.PlayingState
         and media.position() > 500, "the recording plays")
    result["playing"] = player.controller.video.video_id == video.video_id
    shot(window, "03-playing")
    player.controller.pause()

    # 4. upload a folder (File › Add folder… hands the window the folder)
    window.folder_chosen.emit(config["folder"])
    panel: Any = window.uploads_view
    wait(lambda: panel.model.rowCount() == 2
         and all(j.state is JobState.DONE for j in panel.model.jobs()),
         "the folder's clips are uploaded", timeout=120)
    panel.service.flush()
    result["uploads"] = {"label": window.uploads_label.text(),
                         "skipped_line": panel.skipped_label.text(),
                         "skipped_dialog": panel.skipped_dialog is not None}
    wait(lambda: library.model.row_of(panel.model.jobs()[0].video_id) >= 0,
         "the uploaded clips join the library")
    shot(window, "04-uploaded-folder")

    # 5. a card goes in: its window opens by itself, lists the clips and the NOTES.TXT that
    # stays on the card; Enter imports the new clip; both end verified in the cloud
    shutil.move(config["card"], Path(config["card_slot"]) / "GLASSES_SD")
    assert window.views is not None
    importer = window.views.cards
    wait(lambda: len(importer.dialogs) == 1, "the card window opens", timeout=30)
    card: Any = next(iter(importer.dialogs.values()))
    wait(lambda: card.table.rowCount() == 2 and card.thumbnails_done == 2,
         "the card window lists its clips")
    result["card"] = {"title": card.title.text(), "other_files": card.other_files.text(),
                      "other_files_shown": card.other_files.isVisible(),
                      "import_button": card.import_button.text()}
    card.activateWindow()
    wait(card.isActiveWindow, "the card window has the keyboard")
    shot(card, "05-card-window")
    keys(card, Qt.Key.Key_Return)  # Import 1 clip (the default button)
    wait(lambda: "safe to erase" in card.safe_label.text() and card.safe_label.isVisible(),
         "the card's clips are verified in the cloud", timeout=120)
    result["card"]["safe"] = card.safe_label.text()
    result["card"]["erase_offered"] = card.erase_button.isVisible()
    shot(card, "06-card-verified")
    card.close()
    wait(lambda: not importer.dialogs, "the card window closes")
    shutil.move(Path(config["card_slot"]) / "GLASSES_SD", config["card"])  # the card comes out
    wait(lambda: not importer.monitor.cards, "the card is gone", timeout=30)
    window.activateWindow()
    wait(window.isActiveWindow, "the window has the keyboard again")

    # 6. Settings twice (the second open works; saving keeps the library)
    def settings_once(limit: int, *, screenshot: str = "") -> None:
        controller.open_settings()
        dialog: Any = controller.settings_dialog
        wait(lambda: dialog is not None and dialog.isVisible(), "Settings open")
        dialog.bandwidth.setValue(limit)  # (the bandwidth limit only: no new connection)
        if screenshot:
            shot(window, screenshot, whole_screen=True)
            save = dialog.save_button  # the buttons are on the screen, whatever its height
            bottom = save.mapToGlobal(save.rect().bottomRight()).y()
            screen_bottom = dialog.screen().availableGeometry().bottom()
            result["settings_save_on_screen"] = bottom <= screen_bottom
        dialog.save_button.click()
        wait(lambda: not dialog.isVisible(), "Settings saved")

    settings_once(4000, screenshot="07-settings")
    settings_once(0)
    view: Any = window.library_view
    result["library_kept"] = view.library is library and library.isVisible()

    # 7. restart: the same layout
    def layout() -> dict[str, Any]:
        current: Any = window.library_view
        lib = current.library
        return {"window": [window.width(), window.height()],
                "split": window.splitter.sizes(),
                "dock": window.uploads_dock.height(),
                "title": lib.table.columnWidth(1)}

    settle()
    before = layout()
    controller.shutdown()
    window.ask_before_closing = False
    window.close()
    settle()
    _ctx, window, controller, library = start()
    settle(0.6)
    after = layout()
    result["layout"] = {"before": before, "after": after}
    shot(window, "08-restarted")
    (out / "result.json").write_text(json.dumps(result, indent=2))
    controller.shutdown()
    window.ask_before_closing = False
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
