"""What a drop or "Add folder…" did not queue, with the reason (non-modal)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.formatting import plural


class SkippedDialog(QDialog):
    """Lists what a drop or "Add folder…" did not queue, with the reason (non-modal)."""

    def __init__(self, skipped: Sequence[tuple[Path, str]], *, added: int = 0,
                 already: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files not added")
        self.setObjectName("skippedDialog")
        self.resize(640, 360)
        layout = QVBoxLayout(self)
        parts = [f"{plural(added, 'video')} added to the upload queue"]
        if already:
            parts.append(f"{already} already in the queue")
        summary = QLabel("; ".join(parts) + f". {len(skipped)} item"
                         f"{'s were' if len(skipped) != 1 else ' was'} not added:")
        summary.setWordWrap(True)
        self.summary = summary
        layout.addWidget(summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Reason"])
        self.tree.setRootIsDecorated(False)
        for path, reason in skipped:
            item = QTreeWidgetItem([path.name or str(path), reason])
            item.setToolTip(0, str(path))
            self.tree.addTopLevelItem(item)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.tree, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def reasons(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None:
                out[item.toolTip(0)] = item.text(1)
        return out
