""""Upload as damaged" in the app: a really truncated clip is refused in the Uploads panel with
the reason; the row (and only such a row) offers the command; it asks first, saying the file is
kept marked damaged; once confirmed the recording is uploaded and the library shows it as
damaged. Real main window, real local stack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from medispecs_desktop.core.uploads.jobs import DAMAGED_CODE, JobState
from medispecs_desktop.ui.library import COL_STATUS as LIBRARY_STATUS
from medispecs_desktop.ui.uploads import COL_ERROR
from tests.ui.test_uploads_panel import Shell, panel_of, shell, stack_settings

__all__ = ["shell", "stack_settings"]  # the fixtures this module uses


def test_a_damaged_clip_is_kept_only_when_the_user_says_so(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], clip_seed: Callable[[], int],
) -> None:
    ctx, window, _controller = shell
    panel = panel_of(window)
    engine = panel.service.engine
    assert engine is not None
    whole = make_video("dmg/whole.MP4", seconds=2, seed=clip_seed())
    clip = whole.with_name("GLS_0201.MP4")
    clip.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # cut short
    window.files_chosen.emit([str(clip)])  # File > Add files…

    def job() -> Any:
        jobs = [j for j in panel.model.jobs() if j.path == clip]
        return jobs[0] if jobs else None

    qtbot.waitUntil(lambda: getattr(job(), "state", None) is JobState.FAILED, timeout=30_000)
    refused = job()
    assert refused.error_code == DAMAGED_CODE
    row = panel.model.row_of(refused.id)
    assert row is not None
    assert "Upload as damaged" in str(panel.model.index(row, COL_ERROR).data())

    panel.select_jobs([refused.id])
    panel.update_actions()
    assert panel.action_damaged.isEnabled() and panel.action_retry.isEnabled()
    menu = panel.context_menu()
    assert "Upload as damaged…" in [a.text() for a in menu.actions()]
    menu.deleteLater()

    asked: list[str] = []
    answers = [False, True]  # "Don't upload", then "Upload as damaged"

    def answer(text: str) -> bool:
        asked.append(text)
        return answers.pop(0)

    panel.confirm_damaged = answer
    panel.action_damaged.trigger()
    assert asked and "GLS_0201.MP4" in asked[0] and "marked as damaged" in asked[0]
    assert engine.job(refused.id).state is JobState.FAILED  # nothing without the user's word

    panel.action_damaged.trigger()
    qtbot.waitUntil(lambda: getattr(job(), "state", None) is JobState.DONE, timeout=30_000)
    assert engine.job(refused.id).allow_damaged

    assert ctx.api is not None
    video = ctx.api.get_video(refused.video_id)
    assert video.damaged is True and video.sha256_verified is True
    library = window.library_view.library  # type: ignore[attr-defined]

    def library_status() -> str:
        at = library.model.row_of(refused.video_id)
        return "" if at < 0 else str(library.model.index(at, LIBRARY_STATUS).data())

    qtbot.waitUntil(lambda: library_status().startswith("Damaged"), timeout=15_000)

    # a good clip's row never offers the command
    good = make_video("dmg/GLS_0202.MP4", seconds=0.5, seed=clip_seed())
    window.files_chosen.emit([str(good)])
    qtbot.waitUntil(lambda: any(j.path == good and j.state is JobState.DONE
                                for j in panel.model.jobs()), timeout=30_000)
    done = next(j for j in panel.model.jobs() if j.path == good)
    panel.select_jobs([done.id])
    panel.update_actions()
    assert not panel.action_damaged.isEnabled()
    # the demo account is shared by the tests: the deliberately damaged recording (it cannot
    # be played) goes to the Trash, so no other test picks it as "a recording to play"
    ctx.api.delete_video(refused.video_id)
