"""Issue 17 (2b, 7): a file whose name is longer than the title limit, with a terminal escape
in it, is uploaded (never refused) under the shortened, cleaned title the service stores."""

from __future__ import annotations

import random
from typing import Any

from medispecs_desktop.core.titles import TITLE_MAX_CHARS, title_from_file_name
from medispecs_desktop.core.uploads.jobs import JobState


def test_a_file_name_longer_than_the_title_limit_uploads(
    make_engine: Any, make_video: Any, demo_api: Any
) -> None:
    api, _sub = demo_api
    stem = "Consult \x1b[1m" + "c" * 230  # 242 bytes: a legal name on every file system
    clip = make_video(f"{stem}.mp4", seconds=1, seed=random.Random(17).randrange(10**6))
    engine = make_engine()
    engine.start()
    try:
        [job_id] = [j.id for j in engine.add_paths([clip]).added]
        assert engine.wait_until(
            lambda jobs: all(j.state.is_terminal for j in jobs if j.id == job_id),
            timeout=60)
        job = next(j for j in engine.jobs() if j.id == job_id)
        assert job.state is JobState.DONE, job.error
        video = api.get_video(job.video_id)
    finally:
        engine.stop(timeout=5.0)
    assert video.title == job.title == "Consult " + "c" * 191 + "…"
    assert len(video.title) == TITLE_MAX_CHARS and "\x1b" not in video.title


def test_title_from_file_name() -> None:
    assert title_from_file_name("Ward round 2025-01-01") == "Ward round 2025-01-01"
    assert title_from_file_name("a\nb\tc\x07") == "a b c"
    assert title_from_file_name("\x1b]0;x\x07") == "Untitled"
    assert title_from_file_name("e" * 198 + "e\u0301\u0301z") == "e" * 198 + "…"
