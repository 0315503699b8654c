"""Icons and the style sheet from ``resources/`` (SVGs drawn for this app).

The resources live at the repository root (``resources/icons/*.svg``, ``resources/style.qss``)
and are bundled next to the package by the packaging scripts; :func:`resources_dir` finds
either layout, or ``MEDISPECS_RESOURCES`` when set.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QPushButton, QWidget

log = logging.getLogger(__name__)

ICON_NAMES = (
    "about", "add-file", "add-folder", "app", "card", "demo", "keyboard", "library", "log-folder",
    "offline", "online", "player", "quit", "refresh", "settings", "sign-in", "sign-out",
    "unknown", "upload", "user", "warning",
)


@functools.cache
def resources_dir() -> Path:
    """The directory holding ``icons/`` and ``style.qss``."""
    candidates: list[Path] = []
    env = os.environ.get("MEDISPECS_RESOURCES")
    if env:
        candidates.append(Path(env))
    package_dir = Path(__file__).resolve().parents[1]
    candidates += [
        package_dir / "resources",  # bundled next to the package
        package_dir.parent / "resources",  # source checkout / editable install
    ]
    frozen_root = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    if frozen_root:
        candidates.append(Path(frozen_root) / "resources")
    for candidate in candidates:
        if (candidate / "icons").is_dir():
            return candidate
    log.warning("resources not found (looked in %s)", ", ".join(map(str, candidates)))
    return candidates[-1]


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


@functools.cache
def icon(name: str) -> QIcon:
    """The named icon (an empty QIcon if the file is missing: never fatal). Call on the GUI
    thread after the QApplication exists."""
    path = icon_path(name)
    if not path.is_file():
        log.warning("icon %s missing at %s", name, path)
        return QIcon()
    return QIcon(str(path))


_COLOUR = re.compile(r'(fill|stroke)="#[0-9a-fA-F]{3,8}"')
ON_ACCENT_COLOUR = "#ffffff"
_ON_ACCENT_SIZES = (16, 20, 24, 32, 48)


@functools.cache
def icon_on_accent(name: str) -> QIcon:
    """The named icon drawn in white, for buttons with the accent (teal) background: the
    primary and default buttons. The regular icons are dark and vanish on the accent."""
    path = icon_path(name)
    try:
        svg = path.read_text(encoding="utf-8")
    except OSError:
        log.warning("icon %s missing at %s", name, path)
        return QIcon()
    white = _COLOUR.sub(lambda m: f'{m.group(1)}="{ON_ACCENT_COLOUR}"', svg).encode()
    renderer = QSvgRenderer(QByteArray(white))
    if not renderer.isValid():
        log.warning("icon %s is not a valid SVG", name)
        return QIcon()
    result = QIcon()
    for size in _ON_ACCENT_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        result.addPixmap(QPixmap.fromImage(image))
    return result


BUTTON_PADDING = 44  # the style sheet's 14 px on each side, the border, icon spacing, slack


def fit_bold_button(button: QPushButton, texts: tuple[str, ...]) -> None:
    """Give a default/primary button room for the widest of ``texts`` in bold.

    The style sheet sets those buttons in bold, but Qt computes a button's size hint from the
    regular font, so the bold text got clipped ("Sign ir", "mport 2 clip")."""
    font = QFont(button.font())
    font.setBold(True)
    metrics = QFontMetrics(font)
    text = max((metrics.horizontalAdvance(t) for t in texts), default=0)
    icon_width = button.iconSize().width() if not button.icon().isNull() else 0
    button.setMinimumWidth(text + icon_width + BUTTON_PADDING)


def fit_height(window: QWidget) -> None:
    """Grow a dialog to the height its layout needs at its current width.

    Qt sizes a top-level window from its layout's size hints, which ignore word-wrapped
    labels' height-for-width: a dialog with a wrapped hint or error squeezed its form rows
    together or cut the message off. Call it once shown and after a wrapped text changes."""
    layout = window.layout()
    if layout is None:
        return
    layout.activate()
    needed = max(window.minimumSizeHint().height(), window.sizeHint().height())
    if layout.hasHeightForWidth():
        needed = max(needed, layout.totalHeightForWidth(window.width()))
    if needed > window.height():
        window.resize(window.width(), needed)


def app_icon() -> QIcon:
    return icon("app")


def stylesheet() -> str:
    """The application style sheet (empty if missing)."""
    path = resources_dir() / "style.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        log.warning("style sheet missing at %s", path)
        return ""
