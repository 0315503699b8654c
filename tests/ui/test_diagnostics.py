"""The app tells the truth about its own parts (issue 10): `medispecs-desktop doctor` and the
player when Qt's multimedia backend cannot load.

The broken machine is made for real, in child processes: ``LD_LIBRARY_PATH`` puts an empty
``libXrandr.so.2`` first, so the dynamic loader refuses Qt's FFmpeg multimedia plugin exactly
as on a fresh Debian without ``libxrandr2`` ("No QtMultimedia backends found")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_OK
from medispecs_desktop.core.diagnostics import fix_for_library, missing_library
from tests.core.uploads.test_upload_cli import ROOT, Cli

CHECKS = ["Qt platform plugin", "Multimedia backend", "Keyring", "Network to the API",
          "Log directory"]


@pytest.fixture
def no_xrandr(tmp_path: Path) -> dict[str, str]:
    """Environment of a machine whose libXrandr.so.2 cannot be loaded."""
    folder = tmp_path / "broken-libs"
    folder.mkdir()
    (folder / "libXrandr.so.2").write_bytes(b"")
    return {"LD_LIBRARY_PATH": str(folder), "QT_QPA_PLATFORM": "offscreen"}


def test_loader_errors_name_the_library_and_the_package() -> None:
    text = "libXrandr.so.2: cannot open shared object file: No such file or directory"
    assert missing_library(text) == "libXrandr.so.2"
    assert missing_library("/x/libXrandr.so.2: file too short") == "libXrandr.so.2"
    assert missing_library("all good") is None
    assert fix_for_library("libXrandr.so.2").endswith("apt-get install libxrandr2")
    assert "libfoo.so.9" in fix_for_library("libfoo.so.9")


def test_doctor_on_this_machine_finds_everything_working(local_stack: dict[str, Any],
                                                         tmp_path: Path) -> None:
    cli = Cli(local_stack, tmp_path / "home")
    cli.env["QT_QPA_PLATFORM"] = "offscreen"  # this machine has no display: headless Qt
    result = cli("doctor", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == EXIT_OK, report
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert all(c["ok"] and c["fix"] == "" for c in report["checks"]), report
    text = cli("doctor")
    assert text.returncode == EXIT_OK
    assert text.stdout.splitlines()[-1] == "Everything works."
    assert "video playback works" in text.stdout and local_stack["apiUrl"] in text.stdout


def test_doctor_names_the_missing_multimedia_library_and_the_fix(
        local_stack: dict[str, Any], tmp_path: Path, no_xrandr: dict[str, str]) -> None:
    cli = Cli(local_stack, tmp_path / "home")
    cli.env.update(no_xrandr)
    result = cli("doctor", "--json")
    assert result.returncode == EXIT_ERROR
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is False and checks["Qt platform plugin"]["ok"] is True
    media = checks["Multimedia backend"]
    assert media["ok"] is False
    assert "libXrandr.so.2 is missing" in media["detail"]
    assert media["fix"].endswith("apt-get install libxrandr2")
    assert all(checks[n]["ok"] for n in ("Keyring", "Network to the API", "Log directory"))
    text = cli("doctor")
    assert text.returncode == EXIT_ERROR
    assert "FAIL  Multimedia backend" in text.stdout
    assert "fix: " in text.stdout and "apt-get install libxrandr2" in text.stdout


def test_doctor_says_when_the_api_does_not_answer(local_stack: dict[str, Any],
                                                  tmp_path: Path) -> None:
    cli = Cli(local_stack, tmp_path / "home")
    cli.env["QT_QPA_PLATFORM"] = "offscreen"
    cli.env["MEDISPECS_API_URL"] = "http://127.0.0.1:9"  # discard port: nothing listens
    result = cli("doctor", "--json")
    assert result.returncode == EXIT_ERROR
    (api,) = [c for c in json.loads(result.stdout)["checks"] if c["name"] == CHECKS[3]]
    assert not api["ok"] and "does not answer" in api["detail"] and api["fix"]


PLAYER_SCRIPT = textwrap.dedent("""
    import json, logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from PySide6.QtWidgets import QApplication
    from medispecs_desktop.core.models import Video
    from medispecs_desktop.ui.player import PlayerController, PlayerWidget
    from medispecs_desktop.ui.tasks import TaskRunner

    app = QApplication([])
    asked = []
    controller = PlayerController(lambda vid: asked.append(vid), TaskRunner())
    widget = PlayerWidget(controller)
    widget.show()
    app.processEvents()
    shown_at_start = widget.message_label.text()
    controller.open(Video.from_api({"videoId": "v_broken", "title": "Knee review",
                                    "status": "ready", "fileSizeBytes": 1000}))
    app.processEvents()
    print(json.dumps({"start": shown_at_start, "after_open": widget.message_label.text(),
                      "visible": widget.message_label.isVisible(),
                      "state": controller.state, "urls_asked": len(asked)}))
""")


def _player(env: dict[str, str]) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-c", PLAYER_SCRIPT], capture_output=True, text=True, timeout=120,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_player_says_in_plain_words_that_playback_cannot_work(no_xrandr: dict[str, str]
                                                             ) -> None:
    shown, log = _player(no_xrandr)
    words = shown["after_open"]
    assert words.startswith("Video playback is not available on this computer")
    assert "libXrandr.so.2 is missing" in words and "apt-get install libxrandr2" in words
    assert shown["start"] == words and shown["visible"] is True  # before anything is opened
    assert shown["state"] == "error" and shown["urls_asked"] == 0  # no black box, no stream
    assert "libXrandr.so.2" in log and "video playback is not available" in log


def test_player_on_a_working_machine_has_no_such_message() -> None:
    shown, _log = _player({"QT_QPA_PLATFORM": "offscreen"})
    assert "not available" not in shown["after_open"] and shown["start"] == ""
    assert shown["urls_asked"] == 1 and shown["state"] == "loading"
