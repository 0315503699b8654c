"""The review player in a real window (xcb under Xvfb) against the local stack: markers (one
with a still of the frame, shown beside the player), the seek bar's hover preview picture and
the side-by-side compare view, as screenshots. The pictures are kept in docs/player/ when
MEDISPECS_KEEP_PLAYER_SCREENSHOTS names that folder (look at them when the player changes)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_real_window import xvfb_display  # noqa: F401 - the fixture
from tests.support.real_window import new_signed_in_user, run_driver

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_player_markers_hover_preview_and_compare_in_a_real_window(
    local_stack: dict[str, Any], xvfb_display: str, make_video: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from medispecs_desktop.local.seed import upload_recording

    username, password, auth = new_signed_in_user(local_stack, "shots")
    ids = []
    with requests.Session() as session:
        session.trust_env = False
        for name, title, seed in (("before.mp4", "Wound check, day 1", 11),
                                  ("after.mp4", "Wound check, day 8", 12)):
            seeded = upload_recording(session, local_stack["apiUrl"], auth.id_token(),
                                      make_video(name, seconds=12.0, width=640, height=360,
                                                 seed=seed), title=title)
            ids.append(seeded.video_id)
    out = tmp_path / "out"
    out.mkdir()
    config = {"stack": local_stack, "username": username, "password": password,
              "video_ids": ids, "markers": [[3_000, "Wound edge, upper left"],
                                            [8_000, "Dressing removed"]],
              "compare_at_ms": 6_000, "out": str(out)}
    result = run_driver("player_shots_driver.py", config, tmp_path, xvfb_display)
    assert [text for _t, text, _still in result["markers"]] == [
        "Wound edge, upper left", "Dressing removed"]
    assert all(still for _t, _text, still in result["markers"])
    assert result["markers_list_visible"] is True
    assert result["preview"]["visible"] and result["preview"]["time"] == "0:08"
    assert result["compare"]["linked"] is True
    assert sorted(result["compare"]["videos"]) == sorted(ids)
    left, right = result["compare"]["positions"]
    assert abs(left - 6_000) < 200 and abs(right - 6_000) < 200
    for name in ("player.png", "compare.png"):
        assert (out / name).stat().st_size > 20_000, name
    keep = os.environ.get("MEDISPECS_KEEP_PLAYER_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("player.png", "compare.png"):
            shutil.copyfile(out / name, Path(keep) / name)
