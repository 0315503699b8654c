"""Automatic logoff in a real window (xcb under Xvfb) against the local stack: the lock engages
after the (test-short) idle timeout, no title or file name of a recording is readable in any
visible widget while locked, playback pauses, an upload keeps going, a wrong password keeps it
locked and the right one brings every view back. The screenshot taken while locked is kept as
docs/idle-lock.png (compare it when the lock screen changes)."""

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
TITLE = "Ward round MRS-HOLLOWAY-4711"
CARD_CLIP = "PATIENT-OKAFOR-0815"  # .mp4: the views may show the name without it
UPLOAD_FILE = "UPLOAD-NAKAMURA-2207"


def test_idle_app_locks_and_hides_patient_data(
    local_stack: dict[str, Any], xvfb_display: str, make_video: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from medispecs_desktop.local.seed import upload_recording

    username, password, auth = new_signed_in_user(local_stack, "lock")
    with requests.Session() as session:
        session.trust_env = False
        seeded = upload_recording(session, local_stack["apiUrl"], auth.id_token(),
                                  make_video("round.mp4", seconds=20.0, width=320, height=240),
                                  title=TITLE)
    card = tmp_path / "card" / "DCIM"
    card.mkdir(parents=True)
    make_video(f"card/DCIM/{CARD_CLIP}.mp4", seconds=1.0, width=160, height=120, seed=3)
    upload = make_video(f"{UPLOAD_FILE}.mp4", seconds=8.0, width=640, height=480, seed=5)
    out = tmp_path / "out"
    out.mkdir()
    config = {
        "stack": local_stack, "username": username, "password": password,
        "video_id": seeded.video_id, "upload_file": str(upload), "card": str(card.parent),
        "markers": [TITLE, CARD_CLIP, UPLOAD_FILE], "timeout": 2.0,
        "bandwidth_kbps": max(64, upload.stat().st_size * 8 // 1000 // 12),  # ~12 s
        "out": str(out),
    }
    result = run_driver("idle_lock_driver.py", config, tmp_path, xvfb_display)

    assert result["before"] == {TITLE: True, CARD_CLIP: True, UPLOAD_FILE: True}
    assert result["locked_after"] >= 2.0 - 1.0  # the check runs once a second
    assert result["leaks"] == [], "patient data readable while locked"
    assert result["hidden"] == {"pages": False, "dock": False, "card": False, "lock": True}
    assert result["paused"] is True
    at_lock, later, total = result["upload_progress_while_locked"]
    assert later > at_lock or later >= total
    assert result["still_locked_during_upload"] is True
    assert result["wrong_password"]["locked"] is True
    assert result["wrong_password"]["error"].startswith("Not unlocked")
    assert result["leaks_after_wrong"] == []
    assert result["after"] == {TITLE: True, CARD_CLIP: True, UPLOAD_FILE: True}
    assert result["restored"] == {"pages": True, "dock": True, "card": True, "lock": False}

    shot = out / "locked.png"
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("MEDISPECS_KEEP_LOCK_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
