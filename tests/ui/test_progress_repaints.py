"""Progress repaints only on a visible change (issue 16, "the GUI never waits"): 1,000 progress
updates that move the shown percentage 10 times repaint the status-bar total and the queue
row about 10 times, not 1,000."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication

from medispecs_desktop.core.library import LocalQueueItem
from medispecs_desktop.core.uploads.jobs import Job, JobState
from medispecs_desktop.core.uploads.progress import JobProgress, ProgressSnapshot
from medispecs_desktop.ui.library.common import COL_STATUS
from medispecs_desktop.ui.library.model import VideoTableModel
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.tasks import TaskRunner
from medispecs_desktop.ui.uploads import COL_PROGRESS, UploadsModel

GB = 1_000_000_000
MB = 1_000_000


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def test_status_bar_total_repaints_only_when_the_percent_or_text_changes(
    qtbot: Any, tmp_path: Path,
) -> None:
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    bar, label = window.uploads_bar, window.uploads_label
    window.set_upload_totals(0, 1, 1 * GB, 10 * GB)  # 10%, "1.0 GB of 10.0 GB"
    qtbot.waitUntil(bar.isVisible)
    QApplication.processEvents()

    counter = PaintCounter()
    bar.installEventFilter(counter)
    values: list[int] = []
    texts: list[str] = []
    bar.valueChanged.connect(values.append)
    label_text = label.text()
    for i in range(1, 1001):  # 1 MB steps from 1 GB to 2 GB of 10 GB: 10% .. 20%
        window.set_upload_totals(0, 1, 1 * GB + i * MB, 10 * GB)
        if label.text() != label_text:
            label_text = label.text()
            texts.append(label_text)
        QApplication.processEvents()

    assert values == [10 * p for p in range(11, 21)]  # whole percents only
    assert bar.value() == 200
    assert texts == [f"Uploaded 0 of 1 · {g / 10:.1f} GB of 10.0 GB" for g in range(11, 21)]
    assert 1 <= counter.paints <= 2 * len(values)  # it did repaint, ~once per change


def test_queue_row_is_repainted_only_when_its_shown_text_changes() -> None:
    model = UploadsModel()
    job = Job(id=1, user_id="u", path=Path("/videos/clip.mp4"), size=100_000, mtime_ns=0,
              video_id="v_" + "1" * 26, state=JobState.UPLOADING, position=1.0)
    model.set_jobs([job])

    def snapshot(done: int) -> ProgressSnapshot:
        return ProgressSnapshot(jobs={1: JobProgress(1, done, 100_000, 1_000_000.0, None)},
                                bytes_done=done, bytes_total=100_000, speed_bps=1_000_000.0,
                                eta_seconds=None, at=0.0)

    model.apply_progress(snapshot(0))  # speed appears: "1.0 MB/s"
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    shown = [model.index(0, COL_PROGRESS).data()]
    for i in range(1, 1001):  # 0.01% .. 10% in 1,000 steps: the text changes 10 times
        model.apply_progress(snapshot(10 * i))
        text = model.index(0, COL_PROGRESS).data()
        if text != shown[-1]:
            shown.append(text)

    assert shown == [f"{p}%" for p in range(11)]
    assert changed == [0] * 10


def test_library_queue_row_is_repainted_only_when_its_shown_percent_changes(
    qtbot: Any,
) -> None:
    """The library shows an upload's row on top with its percent: 1,000 queue updates that
    move it 10 times repaint it 10 times (every update repainted every queue row before)."""
    tasks = TaskRunner()
    try:
        def no_fetch(_query: Any, _cursor: str | None) -> Any:
            raise AssertionError("this model never fetches a page")

        model = VideoTableModel(no_fetch, tasks)

        def item(progress: float) -> LocalQueueItem:
            return LocalQueueItem("v_" + "2" * 26, "Clip", "uploading", progress=progress)

        model.set_local_items([item(0.0), LocalQueueItem("v_" + "3" * 26, "Next", "queued")])
        changed: list[tuple[int, int]] = []
        model.dataChanged.connect(lambda top, bottom, _roles: changed.append(
            (top.row(), bottom.row())))
        for i in range(1, 1001):  # 0.01% .. 10%: the row's percent changes 10 times
            model.set_local_items([item(i / 10_000),
                                   LocalQueueItem("v_" + "3" * 26, "Next", "queued")])
        assert model.display_text(0, COL_STATUS) == "On this computer: uploading 10%"
        assert changed == [(0, 0)] * 10  # only the first row, only when its text changed
    finally:
        tasks.shutdown()
