"""One confirmation box for actions that need a yes: its buttons say what happens ("Move to
Trash", "Delete forever", "Quit") and what staying means ("Cancel", "Keep uploading"); the
staying button is the default and Esc."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


def ask(parent: QWidget, *, title: str, text: str, action: str, name: str = "",
        destructive: bool = False, cancel: str = "Cancel", warning: bool | None = None,
        shown: Callable[[QMessageBox | None], None] | None = None) -> bool:
    """True when the user chose ``action`` (a modal box over ``parent``).

    ``warning`` picks the warning icon (default: when ``destructive``); ``shown(box)`` is told
    the box before it opens and ``shown(None)`` once it is gone (for a caller that must reach
    the open box, e.g. to close it on a signal)."""
    icon = QMessageBox.Icon.Warning if (destructive if warning is None else warning) \
        else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    if name:
        box.setObjectName(name)
    go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole if destructive
                       else QMessageBox.ButtonRole.AcceptRole)
    stay = box.addButton(cancel, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(stay)
    box.setEscapeButton(stay)
    if shown is not None:
        shown(box)
    try:
        box.exec()
        return box.clickedButton() is go
    finally:
        if shown is not None:
            shown(None)
        box.deleteLater()
