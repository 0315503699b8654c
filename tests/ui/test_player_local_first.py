"""Local first (issue 14, issue 13 #8): a clip still on this computer or card - its upload job
knows the file and the record's videoId - plays from the file at once, with no playback URL,
before its upload finished and offline; a file that moved or changed is not played.

A numbered clip on disk read back from the video sink; the library's double-click on a row
still in the queue; the app shell with its real upload queue on the local stack."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex

from medispecs_desktop.core.errors import OfflineError
from medispecs_desktop.core.local_copies import LocalCandidate, find_candidate
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.library import LibraryWidget, LocalQueueItem
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.numbered_clips import make_numbered_clip
from tests.support.player_s3 import show_numbered


@dataclass
class FakeJob:
    path: Path
    size: int
    mtime_ns: int
    video_id: str


class Offline:
    """A playback-URL provider for a computer without network: every call fails."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, video_id: str) -> Any:
        self.calls += 1
        raise OfflineError("no network")


def _job_for(path: Path, video_id: str) -> FakeJob:
    stat = path.stat()
    return FakeJob(path, stat.st_size, stat.st_mtime_ns, video_id)


def _player(qtbot: Any, tasks: TaskRunner, jobs: list[FakeJob], provider: Callable[[str], Any]
            ) -> tuple[PlayerController, PlayerWidget, list[int]]:
    controller = PlayerController(
        provider, tasks, local_copies=lambda video_id: find_candidate(jobs, video_id))
    widget, shown = show_numbered(qtbot, tasks, controller)
    return controller, widget, shown


def test_a_queued_clip_plays_from_its_file_offline_and_steps_exact_frames(
    qtbot: Any, tasks: TaskRunner, tmp_path: Path
) -> None:
    clip = tmp_path / "card" / "GLS_0001.MP4"
    clip.parent.mkdir()
    make_numbered_clip(clip, frames=90, fps=Fraction(30))
    jobs = [_job_for(clip, "v_localfirst")]
    provider = Offline()
    controller, widget, shown = _player(qtbot, tasks, jobs, provider)
    # its record is not in the cloud yet (status pending): only the file can play it
    video = Video.from_api({"videoId": "v_localfirst", "title": "Knee, left",
                            "status": "pending", "recordedAt": "2025-11-03T14:30:00Z"})
    with qtbot.waitSignal(controller.firstFrame, timeout=15_000):
        controller.open(video, autoplay=False)
    assert controller.source == "local" and provider.calls == 0
    assert controller.player.source().isLocalFile()
    assert widget.source_label.isVisible() and "this computer" in widget.source_label.text()
    assert controller.refresh_due_in_ms == -1  # nothing to renew
    qtbot.waitUntil(lambda: controller.frame_index.index is not None, timeout=15_000)
    index = controller.frame_index.index
    assert index is not None and len(index) == 90  # frame times read from the file itself
    controller.seek(index.seek_ms(40))
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == 40, timeout=5_000)
    for expected in (41, 42, 41):
        controller.step_frames(1 if expected > shown[-1] else -1)
        qtbot.waitUntil(lambda e=expected: shown[-1] == e, timeout=5_000)
    # J plays backwards from the file too (offline: the decoder opens the same file)
    start = len(shown)
    controller.shuttle_back()
    qtbot.waitUntil(lambda: shown[-1] <= 30, timeout=30_000)
    controller.pause()
    assert shown[start:start + 11] == list(range(40, 29, -1))
    assert provider.calls == 0

    # the file changed on the card (or was replaced): not this recording any more
    with clip.open("ab") as f:
        f.write(b"\0" * 10)
    controller.open(video, autoplay=False)
    qtbot.waitUntil(lambda: controller.state == "error", timeout=10_000)
    assert "not in the cloud yet" in widget.message_label.text()
    assert provider.calls == 0

    # a clip in the cloud whose file is gone streams from the cloud as before
    os.remove(clip)
    cloud = Video.from_api({**video.to_api(), "status": "ready"})
    controller.open(cloud, autoplay=False)
    # the provider fails on a worker; its error reaches the player on the GUI thread after
    qtbot.waitUntil(lambda: provider.calls == 1 and controller.state == "error",
                    timeout=10_000)
    assert "No network" in widget.message_label.text()


def test_double_click_on_a_row_still_in_the_queue_plays_it_locally(
    qtbot: Any, tasks: TaskRunner
) -> None:
    class EmptyApi:
        def list_videos(self, **_kw: Any) -> Any:
            from types import SimpleNamespace

            return SimpleNamespace(items=[], next_cursor=None)

    api: Any = EmptyApi()
    widget = LibraryWidget(api, tasks)
    qtbot.addWidget(widget)
    widget.show()
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=10_000):
        widget.start()
    widget.set_local_items([LocalQueueItem("v_here", "On the card", "uploading", progress=0.3),
                            LocalQueueItem("v_gone", "Moved away", "queued")])
    played: list[Video] = []
    widget.playRequested.connect(played.append)
    widget.has_local_copy = lambda video_id: video_id == "v_here"
    rows = {widget.proxy.index(r, 1).data(): widget.proxy.index(r, 1)
            for r in range(widget.proxy.rowCount(QModelIndex()))}
    widget.table.doubleClicked.emit(rows["On the card"])
    assert [v.video_id for v in played] == ["v_here"]
    assert played[0].title == "On the card" and not played[0].has_bytes
    played.clear()
    widget.table.doubleClicked.emit(rows["Moved away"])  # no file: says why, as before
    assert played == [] and "still being uploaded" in widget.details.message.text()


def test_the_app_plays_an_uploaded_clip_from_its_file_without_a_url(
    qtbot: Any, start_app: Any, make_video: Callable[..., Path], clip_seed: Callable[[], int]
) -> None:
    _ctx, panel = start_app()
    views = panel.window().views
    clip = make_video("local-first.mp4", seconds=2.0, seed=clip_seed())
    service = views.service
    qtbot.waitUntil(lambda: service.ready, timeout=15_000)
    assert service.add_paths([str(clip)])
    qtbot.waitUntil(lambda: any(j.path == clip for j in service.model.jobs()),
                    timeout=15_000)
    job = next(j for j in service.model.jobs() if j.path == clip)
    candidate = views.player.controller.local_copies
    assert candidate is not None
    assert candidate(job.video_id) == LocalCandidate(job.video_id, clip, job.size,
                                                     job.mtime_ns)
    qtbot.waitUntil(lambda: views.library.library is not None and views.library.library
                    .select_video(job.video_id), timeout=30_000)
    library = views.library.library
    assert library is not None
    controller = views.player.controller
    index = library.table.selectionModel().currentIndex()
    with qtbot.waitSignal(controller.firstFrame, timeout=15_000):
        library.table.doubleClicked.emit(index)
    assert controller.source == "local" and controller.url_requests == 0
    assert controller.player.source().toLocalFile() == str(clip.resolve())
