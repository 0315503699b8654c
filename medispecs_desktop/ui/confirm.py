"""One confirmation box for actions that need a yes: its buttons say what happens ("Move to
Trash", "Delete forever") and Cancel; Cancel is the default and Esc."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def ask(parent: QWidget, *, title: str, text: str, action: str, name: str = "",
        destructive: bool = False) -> bool:
    """True when the user chose ``action`` (a modal box over ``parent``)."""
    box = QMessageBox(QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question,
                      title, text, QMessageBox.StandardButton.NoButton, parent)
    if name:
        box.setObjectName(name)
    go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole if destructive
                       else QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is go
