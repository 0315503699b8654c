"""What the GUI thread does when the library's rows are painted again (issue 16): a scrolled
page paints each cell several times, and each paint asked the model for 7 roles of every cell,
the recorded time formatted anew (~35 us) each time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import Qt

from medispecs_desktop.core.formatting import format_local_time
from medispecs_desktop.core.library import status_text
from medispecs_desktop.ui.library import LibraryWidget
from medispecs_desktop.ui.library import model as model_module
from medispecs_desktop.ui.library.common import COL_RECORDED, COL_STATUS, COL_TITLE
from medispecs_desktop.ui.tasks import TaskRunner
from tests.ui.test_library_insert_new import ListApi, _video, show_library


@pytest.fixture
def formatted(monkeypatch: Any) -> list[str | None]:
    """Every recorded time the library formats for display, from before it opens."""
    times: list[str | None] = []
    real = format_local_time

    def counted(utc: str | None, **kwargs: Any) -> str:
        times.append(utc)
        return real(utc, **kwargs)

    monkeypatch.setattr(model_module, "format_local_time", counted)
    return times


@pytest.fixture
def shown(qtbot: Any, formatted: list[str | None]) -> Iterator[LibraryWidget]:
    runner = TaskRunner()
    api: Any = ListApi([_video(f"v_{i:04d}", 10 + i, f"Recording {i:04d}")
                        for i in range(300)])
    widget = show_library(qtbot, api, runner)
    yield widget
    runner.shutdown()


def test_painting_rows_again_formats_their_times_once(
    shown: LibraryWidget, formatted: list[str | None],
) -> None:
    view = shown.table.viewport()
    view.repaint()
    painted = len(formatted)
    assert painted > 0
    assert len(set(formatted)) == painted  # each row's time once
    view.repaint()
    view.repaint()
    assert len(formatted) == painted  # painted again: nothing formatted again
    bar = shown.table.verticalScrollBar()
    bar.setValue(bar.maximum())
    view.repaint()
    scrolled = len(formatted)
    assert scrolled > painted  # rows never shown before: formatted now
    bar.setValue(0)
    view.repaint()
    assert len(formatted) == scrolled  # back on top: as they were


def test_a_changed_recording_shows_its_new_texts(shown: LibraryWidget) -> None:
    model = shown.model
    shown.table.viewport().repaint()  # the row's texts are formatted (and kept)
    video = model.video_at(0)
    assert video is not None
    title = model.index(0, COL_TITLE).data(Qt.ItemDataRole.DisplayRole)
    assert title == video.title
    recorded = model.index(0, COL_RECORDED).data(Qt.ItemDataRole.DisplayRole)
    edited = replace(video, title="Renamed", recorded_at="2020-01-02T03:04:05Z",
                     status="processing", version=video.version + 1)
    model.replace_video(edited)
    assert model.index(0, COL_TITLE).data(Qt.ItemDataRole.DisplayRole) == "Renamed"
    assert model.index(0, COL_RECORDED).data(Qt.ItemDataRole.DisplayRole) != recorded
    assert model.index(0, COL_STATUS).data(Qt.ItemDataRole.DisplayRole) \
        == status_text(edited)
    assert model.display_text(0, COL_TITLE) == "Renamed"


def test_the_roles_the_model_never_answers_are_empty(shown: LibraryWidget) -> None:
    index = shown.model.index(0, COL_TITLE)
    for role in (Qt.ItemDataRole.FontRole, Qt.ItemDataRole.TextAlignmentRole,
                 Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.CheckStateRole,
                 Qt.ItemDataRole.SizeHintRole):
        assert shown.model.data(index, role) is None
    assert shown.model.data(index, Qt.ItemDataRole.DisplayRole) == "Recording 0000"
    assert shown.model.data(shown.model.index(0, COL_STATUS),
                            Qt.ItemDataRole.ForegroundRole) is not None
