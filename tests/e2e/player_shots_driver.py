"""Runs the real main window (xcb, under the test's Xvfb) against the local stack and shows the
review player's issue-14 features as a clinician sees them: a recording open, two markers (one
with a still of the frame, selected so the still shows), the pointer hovering the seek bar with
its preview picture; then View › Compare two recordings… with both sides on their frames.
Writes ``result.json``, ``player.png`` and ``compare.png`` (whole-screen grabs: the preview is
a window of its own) to the out folder.

Usage: python tests/e2e/player_shots_driver.py CONFIG.json (see test_player_window.py).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    out = Path(config["out"])
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from tests.support.real_window import stack_window

    result: dict[str, Any] = {"steps": []}
    app, wait, ctx, window, controller = stack_window(config, result)
    window.resize(1280, 760)
    window.move(0, 0)

    def settle(seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    auth: Any = ctx.auth
    controller._signed_in(auth.sign_in(config["username"], config["password"]))
    views: Any = window.views
    library = views.library
    first, second = config["video_ids"]
    wait(lambda: library.library is not None and library.library.select_video(first),
         "library lists the recording")
    player = views.player
    window.splitter.setSizes([380, 900])  # room for the markers list beside the player
    window.uploads_dock.hide()
    player.open_video(library.library.current_video())
    pc = player.controller
    wait(lambda: pc.state in ("playing", "paused") and pc.duration > 0, "the recording plays")
    pc.pause()
    panel = player.markers
    for time_ms, text in config["markers"]:
        pc.seek(time_ms)
        wait(lambda t=time_ms: abs(pc.player.position() - t) < 200
             and pc.video_sink.videoFrame().isValid(), f"at {time_ms} ms")
        settle(0.3)
        player.widget.actions_by_name["mark"].trigger()  # M
        panel.comment.setText(text)
        panel.save_new()
        wait(lambda x=text: any(m.text == x
                                for m in panel.markers), f"marker {text!r} saved")
    result["markers"] = [(m.time_ms, m.text, bool(m.still_url)) for m in panel.markers]
    result["markers_list_visible"] = panel.isVisible()
    panel.list.setCurrentRow(0)
    wait(lambda: panel.shown_still is not None, "the first marker's still shown")
    pc.seek(config["markers"][0][0])
    bar = player.widget.slider
    wait(lambda: bar.maximum() > 0, "seek bar ready")
    hover_ms = int(pc.duration * 0.7)
    point = QPointF(bar.x_of(hover_ms), bar.height() / 2)
    for _ in range(2):
        QApplication.sendEvent(bar, QMouseEvent(
            QEvent.Type.MouseMove, point, bar.mapToGlobal(point), Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
        preview = player.widget.preview
        wait(lambda p=preview: not p.popup.picture.pixmap().isNull()
             and p.popup.isVisible(), "the hover preview picture")
    result["preview"] = {"time": preview.popup.time.text(),
                         "visible": preview.popup.isVisible(),
                         "size": [preview.popup.width(), preview.popup.height()]}
    settle(0.5)
    app.primaryScreen().grabWindow(0).save(str(out / "player.png"))
    preview.hide()

    assert library.library.select_video(first)
    window.action_compare.trigger()
    compare: Any = window.compare_window
    wait(lambda: compare is not None and compare.isVisible(), "compare window open")
    compare.move(0, 0)
    left, right = compare.controllers
    wait(lambda: all(c.state == "paused" and c.video_sink.videoFrame().isValid()
                     for c in compare.controllers), "both sides show a frame", timeout=90)
    chosen = [s.videos[s.choice.currentIndex()].video_id for s in (compare.left, compare.right)]
    if second not in chosen:
        compare.right.choice.setCurrentIndex(
            next(i for i, v in enumerate(compare.right.videos) if v.video_id == second))
        wait(lambda: right.video is not None and right.video.video_id == second
             and right.video_sink.videoFrame().isValid(), "the second recording on the right")
    left.seek(config["compare_at_ms"])
    wait(lambda: abs(right.player.position() - config["compare_at_ms"]) < 200
         and abs(left.player.position() - config["compare_at_ms"]) < 200,
         "linked seek on both sides")
    settle(0.8)
    result["compare"] = {"linked": compare.linked.isChecked(),
                         "positions": [left.player.position(), right.player.position()],
                         "videos": [left.video.video_id, right.video.video_id]}
    app.primaryScreen().grabWindow(0).save(str(out / "compare.png"))
    compare.close()
    (out / "result.json").write_text(json.dumps(result))
    window.ask_before_closing = False
    controller.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
