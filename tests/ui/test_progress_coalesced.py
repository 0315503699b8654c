"""Progress that comes faster than the GUI thread takes it reaches the widgets once (issue 16,
"the GUI never waits"): the engine's progress for every byte is kept as the latest snapshot and
applied when the GUI thread turns to it, however many arrived meanwhile. Driven by events: the
GUI thread does not run its event loop while a worker publishes, then takes what is there."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medispecs_desktop.core.uploads.jobs import JobState


def test_two_thousand_progress_snapshots_reach_the_widgets_as_one_update(
    qtbot: Any, start_app: Any, make_video: Callable[..., Path],
    clip_seed: Callable[[], int],
) -> None:
    _ctx, panel = start_app()
    service = panel.service
    qtbot.waitUntil(lambda: service.engine is not None, timeout=30_000)
    engine = service.engine
    engine.stop()  # held still: the progress below is the only progress there is
    clip = make_video("coalesced.mp4", seconds=0.5, seed=clip_seed())
    assert service.add_paths([clip])
    qtbot.waitUntil(lambda: [j.state for j in service.model.jobs()] == [JobState.QUEUED],
                    timeout=30_000)
    job = service.model.jobs()[0]
    service.flush()
    applied = service.applied
    changed: list[int] = []
    service.model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    totals: list[tuple[int, ...]] = []
    service.totals_changed.connect(lambda *t: totals.append(t))

    def publish() -> None:  # the fastest stream there can be: a snapshot per call
        engine.progress.track(job.id, 0, job.size)
        for _ in range(2_000):
            engine.progress.add(job.id, 0)
            engine.progress.flush()

    worker = threading.Thread(target=publish, name="progress-stream")
    worker.start()
    worker.join()  # the GUI thread ran no event meanwhile
    final = engine.progress.snapshot().jobs[job.id]
    qtbot.waitUntil(lambda: service.model.progress_of(job.id) == final, timeout=10_000)

    assert service.applied - applied == 1  # 2,001 snapshots, one update of the widgets
    assert len(totals) == 1
    assert len(changed) <= 1  # the row repaints at most once (only if its text changed)
