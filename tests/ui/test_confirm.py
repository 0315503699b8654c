"""The one confirmation box (ui/confirm.py): buttons that say what happens, the staying button
as default and Esc, and the open box reachable while it is shown."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from medispecs_desktop.ui.confirm import ask


def _answer(qtbot: Any, seen: list[QMessageBox], act: Any) -> QTimer:
    """Acts on the box once it is open (it is modal: its own event loop runs the timer)."""
    timer = QTimer()
    timer.setInterval(10)

    def poll() -> None:
        if seen and seen[-1] is not None and seen[-1].isVisible():
            timer.stop()
            act(seen[-1])

    timer.timeout.connect(poll)
    timer.start()
    return timer


def test_the_buttons_say_what_happens_and_esc_stays(qtbot: Any) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    seen: list[Any] = []
    facts: dict[str, Any] = {}

    def escape(box: QMessageBox) -> None:
        facts["buttons"] = sorted(b.text() for b in box.buttons())
        facts["default"] = box.defaultButton().text()
        facts["name"] = box.objectName()
        facts["icon"] = box.icon()
        qtbot.keyClick(box, Qt.Key.Key_Escape)

    timer = _answer(qtbot, seen, escape)
    answer = ask(parent, title="Quit MediSpecs", text="2 uploads are in progress.",
                 action="Quit", cancel="Keep uploading", name="quitQuestion",
                 shown=seen.append)
    timer.stop()
    assert answer is False
    assert facts == {"buttons": ["Keep uploading", "Quit"], "default": "Keep uploading",
                     "name": "quitQuestion", "icon": QMessageBox.Icon.Question}
    assert seen[-1] is None  # told when the box is gone


def test_choosing_the_action_answers_yes_with_a_warning_when_asked(qtbot: Any) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    seen: list[Any] = []
    icons: list[Any] = []

    def click(box: QMessageBox) -> None:
        icons.append(box.icon())
        target = next(b for b in box.buttons() if b.text() == "Upload as damaged")
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)

    timer = _answer(qtbot, seen, click)
    answer = ask(parent, title="Upload as damaged", text="The clip is truncated.",
                 action="Upload as damaged", cancel="Don't upload", warning=True,
                 shown=seen.append)
    timer.stop()
    assert answer is True and icons == [QMessageBox.Icon.Warning]
