"""The Uploads panel as a clinician reads it (issue 13, defect 11): jobs still to do above
finished ones, errors in words, the parts that are done across a pause or a dropped
connection, no bar for a cancelled upload, and a batch message that adds up to the status
bar's total."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medispecs_desktop.core.uploads.jobs import Job, JobState
from medispecs_desktop.core.uploads.presentation import batch_summary
from medispecs_desktop.core.uploads.progress import JobProgress, ProgressSnapshot
from medispecs_desktop.ui.uploads import (
    COL_ERROR,
    COL_NAME,
    COL_PROGRESS,
    PROGRESS_ROLE,
    UploadsModel,
)

MB = 1_000_000


def _job(job_id: int, position: float, state: JobState = JobState.QUEUED, *,
         size: int = 40 * MB, **kw: Any) -> Job:
    return Job(id=job_id, user_id="u", path=Path(f"/videos/clip{job_id}.mp4"), size=size,
               mtime_ns=0, video_id=f"v_{job_id}", state=state, position=position, **kw)


def _snapshot(*progress: JobProgress) -> ProgressSnapshot:
    return ProgressSnapshot(jobs={p.job_id: p for p in progress},
                            bytes_done=sum(p.bytes_done for p in progress),
                            bytes_total=sum(p.bytes_total for p in progress),
                            speed_bps=1.0, eta_seconds=None, at=0.0)


def _names(model: UploadsModel) -> list[str]:
    return [model.index(r, COL_NAME).data() for r in range(model.rowCount())]


def test_jobs_still_to_do_stay_above_finished_ones(qtbot: Any, qtmodeltester: Any) -> None:
    model = UploadsModel()
    qtmodeltester.check(model)
    model.set_jobs([_job(1, 1, JobState.DONE), _job(2, 2, JobState.FAILED),
                    _job(3, 3), _job(4, 4, JobState.UPLOADING)])
    assert _names(model) == ["clip3.mp4", "clip4.mp4", "clip1.mp4", "clip2.mp4"]
    model.upsert(_job(3, 3, JobState.DONE))  # finished: it moves below the active one
    assert _names(model) == ["clip4.mp4", "clip1.mp4", "clip2.mp4", "clip3.mp4"]


def test_the_error_column_says_what_happened_in_words(qtbot: Any) -> None:
    model = UploadsModel()
    raw = ("Connection to http://127.0.0.1:4566/medispecs-videos/u/v_1.mp4?X-Amz-Signature=ab "
           "timed out. (connect timeout=10)")
    model.set_jobs([_job(1, 1, JobState.WAITING_NETWORK, error=raw, error_code="offline"),
                    _job(2, 2, JobState.FAILED, error=raw, error_code="transient")])
    for row in range(2):
        text = model.index(row, COL_ERROR).data()
        assert "No connection to the cloud" in text, text
        assert "http" not in text and "127.0.0.1" not in text and "Signature" not in text


def test_a_pause_or_a_dropped_connection_shows_the_parts_done_not_zero(qtbot: Any) -> None:
    model = UploadsModel()
    part = 5 * MB
    running = _job(1, 1, JobState.UPLOADING, part_size=part, bytes_done=15 * MB)
    model.set_jobs([running])
    model.apply_progress(_snapshot(JobProgress(1, 26 * MB, 40 * MB, 1.0, None)))
    index = model.index(0, COL_PROGRESS)
    assert index.data() == "65%"  # parts in flight count while it runs
    # paused (or waiting for the network): the bytes in flight are discarded; the parts S3
    # confirmed stay, and say so, even while the last live count is still around
    model.upsert(running.with_(state=JobState.PAUSED))
    assert model.index(0, COL_PROGRESS).data() == "38% · 3 of 8 parts"
    assert abs(model.index(0, COL_PROGRESS).data(PROGRESS_ROLE) - 0.375) < 1e-9
    model.apply_progress(_snapshot())
    model.upsert(running.with_(state=JobState.WAITING_NETWORK))
    assert model.index(0, COL_PROGRESS).data() == "38% · 3 of 8 parts"


def test_a_cancelled_upload_shows_no_bar(qtbot: Any) -> None:
    model = UploadsModel()
    model.set_jobs([_job(1, 1, JobState.CANCELLED, part_size=5 * MB, bytes_done=26 * MB)])
    index = model.index(0, COL_PROGRESS)
    assert index.data(PROGRESS_ROLE) is None and index.data() == ""


def test_the_batch_message_adds_up_to_the_status_bar_total() -> None:
    jobs = [_job(1, 1, JobState.DONE), _job(2, 2, JobState.DONE),
            _job(3, 3, JobState.DONE, error_code="duplicate"),
            _job(4, 4, JobState.DONE, error_code="duplicate"),
            _job(5, 5, JobState.FAILED, error="x", error_code="source")]
    assert batch_summary(jobs) == ("2 recordings uploaded, 2 already in your library, "
                                   "1 failed.")
    assert batch_summary(jobs[:1]) == "1 recording uploaded."


def test_in_the_app_a_batch_with_a_duplicate_reports_every_file(
    qtbot: Any, start_app: Any, make_video: Callable[..., Path], tmp_path: Path,
    clip_seed: Callable[[], int],
) -> None:
    """A clip already in the library and a new one: the message counts both (it used to say
    "1 recording uploaded"); the status bar counts what was really sent, 1 of 1 (issue 11,
    honest totals: a file already in the library sends no byte)."""
    _ctx, panel = start_app()
    service = panel.service
    qtbot.waitUntil(lambda: service.engine is not None, timeout=30_000)
    seed = clip_seed()
    first = make_video("dup/first.mp4", seconds=0.4, seed=seed)
    service.add_paths([first])
    qtbot.waitUntil(lambda: [j.state for j in panel.model.jobs()] == [JobState.DONE],
                    timeout=60_000)
    service.flush()
    assert service.last_summary == "1 recording uploaded."
    again = tmp_path / "again" / "same-clip.mp4"
    again.parent.mkdir()
    shutil.copyfile(first, again)
    service.add_paths([again, make_video("dup/second.mp4", seconds=0.4, seed=seed + 1)])
    qtbot.waitUntil(lambda: len(panel.model.jobs()) == 3
                    and all(j.state is JobState.DONE for j in panel.model.jobs()),
                    timeout=60_000)
    service.flush()
    assert service.totals()[:2] == (1, 1)
    assert service.last_summary == "1 recording uploaded, 1 already in your library."


def test_a_job_that_lost_the_connection_makes_the_one_monitor_check_at_once(
    qtbot: Any, start_app: Any,
) -> None:
    """The engine does not decide "offline" for the app: a job waiting for the network asks
    the online monitor to probe now, and the status bar shows what the probe found."""
    ctx, panel = start_app()
    service = panel.service
    qtbot.waitUntil(lambda: ctx.online is True and not ctx.monitor._probing, timeout=15_000)
    probes: list[bool] = []
    ctx.monitor.checked.connect(probes.append)  # (the next timed probe is 30 s away)
    with qtbot.waitSignal(service.network_doubted, timeout=5_000):
        service._apply_jobs([_job(990_001, 1, JobState.WAITING_NETWORK, error="x",
                                  error_code="offline")])
    qtbot.waitUntil(lambda: bool(probes), timeout=10_000)
    assert probes[-1] is True and ctx.online is True  # the stack answers: still online
