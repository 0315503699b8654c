"""Honest totals in the app: a batch of 6 files of which 4 are already in the library ends with
"2 recordings uploaded, 4 already in your library.", the status bar counts "Uploaded 2 of 2"
with those 2 files' bytes, and the 4 duplicates never become rows of the library. Real main
window, real local stack."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medispecs_desktop.core.formatting import format_size
from medispecs_desktop.core.uploads.jobs import JobState
from tests.ui.test_uploads_panel import Shell, panel_of, shell, stack_settings

__all__ = ["shell", "stack_settings"]  # the fixtures this module uses


def test_a_batch_with_four_known_files_says_two_uploaded_four_already_there(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], clip_seed: Callable[[], int],
    tmp_path: Path,
) -> None:
    _ctx, window, _controller = shell
    panel = panel_of(window)
    service = panel.service
    library = window.library_view.library  # type: ignore[attr-defined]
    seed = clip_seed()
    originals = [make_video(f"known/K{i}.MP4", seconds=0.6, seed=seed + i) for i in range(4)]
    window.files_chosen.emit([str(p) for p in originals])
    qtbot.waitUntil(lambda: len(panel.model.jobs()) == 4 and all(
        j.state is JobState.DONE for j in panel.model.jobs()), timeout=60_000)

    # the same 4 recordings copied elsewhere under other names, and 2 new ones
    (tmp_path / "again").mkdir()
    copies = [tmp_path / "again" / f"copy-{p.name}" for p in originals]
    for source, copy in zip(originals, copies, strict=True):
        shutil.copyfile(source, copy)
    new = [make_video(f"again/N{i}.MP4", seconds=0.6, seed=seed + 10 + i) for i in range(2)]
    local_rows: dict[str, set[str]] = {}  # every "on this computer" row the library got

    def seen(items: list[Any]) -> None:
        for item in items:
            local_rows.setdefault(item.video_id, set()).add(item.state)

    service.local_items_changed.connect(seen)
    window.files_chosen.emit([str(p) for p in copies + new])

    def batch() -> list[Any]:
        return [j for j in panel.model.jobs() if j.path.parent == tmp_path / "again"]

    qtbot.waitUntil(lambda: len(batch()) == 6 and all(
        j.state is JobState.DONE for j in batch()), timeout=90_000)
    service.flush()
    jobs = {j.path.name: j for j in batch()}
    assert all(jobs[p.name].error_code == "duplicate" for p in copies)

    # the batch's words, its totals in the status bar: only what was really sent
    new_bytes = sum(p.stat().st_size for p in new)
    assert service.totals() == (2, 2, new_bytes, new_bytes)
    assert window.uploads_label.text() == (
        f"Uploaded 2 of 2 · {format_size(new_bytes)} of {format_size(new_bytes)}")
    assert service.notifier is not None
    finished = [n for n in service.notifier.history if n.title == "Uploads finished"]
    assert finished[-1].text == "2 recordings uploaded, 4 already in your library."

    # duplicates never stay as library rows: no "on this computer" row once they ended, no
    # cloud row of their own; the 2 new recordings join the list
    duplicate_ids = {jobs[p.name].video_id for p in copies}
    new_ids = {jobs[p.name].video_id for p in new}
    qtbot.waitUntil(lambda: new_ids <= {v.video_id for v in library.model.videos},
                    timeout=15_000)
    assert not duplicate_ids & {v.video_id for v in library.model.videos}
    assert library.model.rowCount() == len(library.model.videos)  # no local rows left
    assert all(states <= {"queued", "hashing"} for vid, states in local_rows.items()
               if vid in duplicate_ids)  # shown only while being checked, never "done"
