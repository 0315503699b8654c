"""A clinician's day in a real window (xcb under Xvfb) against the local stack: start →
library → edit a recording by keyboard → play it → upload a folder → card import (a card
goes in: its window, the NOTES.TXT left on it, Enter imports, verified) → Settings twice →
restart → the same layout (see walkthrough_driver.py). The screenshots of each step are kept
in docs/walkthrough/ when MEDISPECS_KEEP_WALKTHROUGH names that folder (look at them when the
surface changes)."""

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


def test_walkthrough_start_library_edit_play_upload_settings_restart(
    local_stack: dict[str, Any], xvfb_display: str, make_video: Any,  # noqa: F811
    tmp_path: Path, clip_seed: Any,
) -> None:
    from medispecs_desktop.local.seed import upload_recording

    username, password, auth = new_signed_in_user(local_stack, "walk")
    seed = clip_seed()
    with requests.Session() as session:
        session.trust_env = False
        for i, title in enumerate(("Ward round bed 12", "Knee clinic follow-up",
                                   "Wound check, left ankle")):
            upload_recording(session, local_stack["apiUrl"], auth.id_token(),
                             make_video(f"seed{i}.mp4", seconds=6.0, width=320, height=240,
                                        seed=seed + i), title=title)
    folder = tmp_path / "card" / "DCIM"
    folder.mkdir(parents=True)
    for i in range(2):
        make_video(f"card/DCIM/CLIP{i:04d}.MP4", seconds=1.0, width=160, height=120,
                   seed=seed + 10 + i)
    (folder / "NOTES.TXT").write_text("ward round notes")
    # the glasses' card: a clip already uploaded with the folder, a new one, the notes file
    card = tmp_path / "card-to-insert"
    media = card / "DCIM" / "100MEDIA"
    media.mkdir(parents=True)
    shutil.copyfile(folder / "CLIP0000.MP4", media / "GLS_0001.MP4")
    make_video(f"{media.relative_to(tmp_path)}/GLS_0002.MP4", seconds=1.0, width=160,
               height=120, seed=seed + 20)
    (card / "NOTES.TXT").write_text("bed 12: dressing changed")
    slot = tmp_path / "media"
    slot.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    config = {"stack": local_stack, "username": username, "password": password,
              "folder": str(folder), "new_title": "Ward round bed 12 (reviewed)",
              "out": str(out), "card": str(card), "card_slot": str(slot)}
    result = run_driver("walkthrough_driver.py", config, tmp_path, xvfb_display)

    assert result["f2_focus"] and result["tab_left_notes"]
    assert result["saved_title"] == config["new_title"]
    assert result["playing"] is True
    uploads = result["uploads"]
    assert uploads["label"].startswith("Uploaded 2 of 2")
    assert "NOTES.TXT" in uploads["skipped_line"] and not uploads["skipped_dialog"]
    card_seen = result["card"]
    assert card_seen["title"].startswith("2 clips on the card: 1 new")
    assert "1 already in the cloud" in card_seen["title"]
    assert card_seen["other_files_shown"] and card_seen["other_files"] == (
        "Also on this card, not uploaded (1 file that is not a video): NOTES.TXT.")
    assert card_seen["import_button"] == "Import 1 clip"
    assert card_seen["safe"].startswith("All 2 clips on this card are verified in the cloud")
    assert card_seen["erase_offered"] is True
    assert result["library_kept"] is True
    assert result["settings_save_on_screen"] is True  # Save/Cancel never below the screen
    before, after = result["layout"]["before"], result["layout"]["after"]
    # (no window manager under Xvfb: a restored geometry may differ by a frame's width)
    assert all(abs(a - b) <= 8 for a, b in zip(after["window"], before["window"], strict=True))
    assert all(abs(a - b) <= 8 for a, b in zip(after["split"], before["split"], strict=True))
    assert abs(after["dock"] - before["dock"]) <= 8
    # the title keeps its width (give or take the list's scroll bar, which comes and goes
    # with the details pane's height)
    assert after["title"] >= 180 and abs(after["title"] - before["title"]) <= 20
    for name in result["shots"]:
        assert (out / name).stat().st_size > 10_000, name
    keep = os.environ.get("MEDISPECS_KEEP_WALKTHROUGH")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in result["shots"]:
            shutil.copyfile(out / name, Path(keep) / name)
