"""The library in the real main window, signed in to the running stack (issue 13): a layout
restored from an earlier run is clamped, saving Settings keeps the library unless the
connection changed, and the status bar, the library and the upload engine agree on "online"
(one monitor decides; the others report to it)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QSplitter, QWidget

from medispecs_desktop.core.config import Paths
from medispecs_desktop.core.errors import OfflineError
from medispecs_desktop.ui.library import COL_TITLE, LibraryView
from medispecs_desktop.ui.library.common import TITLE_MIN_WIDTH
from medispecs_desktop.ui.main_window import MainWindow
from tests.ui.conftest import Open


def _bad_layout(ini: QSettings) -> None:
    """What an earlier run on another screen may leave: the library squeezed to 40 px and
    the Uploads dock stretched over most of the window."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(QWidget())
    splitter.addWidget(QWidget())
    splitter.resize(1240, 400)
    splitter.setSizes([40, 1200])
    ini.setValue("window/splitter", splitter.saveState())
    old = MainWindow()
    old.resize(1600, 1000)
    old.show()
    old.uploads_dock.show()
    old.resizeDocks([old.uploads_dock], [700], Qt.Orientation.Vertical)
    QApplication.processEvents()
    ini.setValue("window/state", old.saveState())
    ini.sync()
    old.close()
    old.deleteLater()


def test_a_restored_layout_never_collapses_the_title_or_the_list(
    qtbot: Any, open_app: Open,
) -> None:
    paths = Paths.default().ensure()
    _bad_layout(QSettings(str(paths.config_dir / "ui-state.ini"), QSettings.Format.IniFormat))
    _ctx, window, _controller, library = open_app((1280, 720))
    table = library.table
    qtbot.waitUntil(lambda: table.columnWidth(COL_TITLE) >= TITLE_MIN_WIDTH, timeout=5_000)
    assert table.horizontalScrollBar().maximum() == 0
    rows = table.viewport().height() // table.verticalHeader().defaultSectionSize()
    assert rows >= 3, (rows, window.uploads_dock.height())  # (it showed two)
    assert window.uploads_dock.height() <= int(window.height() * MainWindow.DOCK_TOO_TALL)


def test_saving_settings_keeps_the_library_unless_the_connection_changed(
    qtbot: Any, open_app: Open,
) -> None:
    ctx, window, controller, library = open_app()
    view = window.library_view
    assert isinstance(view, LibraryView)
    for _ in range(2):  # e.g. only the bandwidth limit, twice
        controller._settings_saved(ctx.settings.with_overrides(bandwidth_limit_kbps=512))
        QApplication.processEvents()
        assert view.library is library and library.isVisible()
    assert window.user_label.text() != "Not signed in"
    # a new connection is another cloud: the old listing goes
    controller._settings_saved(ctx.settings.with_overrides(api_url="http://127.0.0.1:9/"))
    assert view.library is None


def test_status_bar_library_and_uploads_follow_one_online_source(
    qtbot: Any, open_app: Open,
) -> None:
    ctx, window, _controller, library = open_app(demo=True)
    services = window.views
    assert services is not None
    service = services.service
    qtbot.waitUntil(lambda: service.engine is not None, timeout=30_000)
    engine = service.engine
    qtbot.waitUntil(lambda: ctx.online is True, timeout=15_000)
    # the library's request found no connection: that is evidence for the one monitor, and
    # the status bar, the library's banner and the upload engine all say offline
    library._on_load_failed(OfflineError("no route to host"))
    assert window.online_label.text() == "Offline"
    assert not library.online and library.banner.text().startswith("Offline")
    qtbot.waitUntil(lambda: engine.reachability.online is False, timeout=5_000)
    # the monitor's next probe reaches the stack: everyone is back online together
    ctx.monitor.check_now()
    qtbot.waitUntil(lambda: window.online_label.text() == "Online", timeout=10_000)
    qtbot.waitUntil(lambda: library.online and engine.reachability.online is True,
                    timeout=10_000)
