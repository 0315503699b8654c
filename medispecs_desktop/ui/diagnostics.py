"""Qt's own parts, probed: the platform plugin and the multimedia backend.

* :func:`playback_unavailable` tells the player, in plain words, that this computer cannot play
  video and why (e.g. Qt's FFmpeg plugin needs ``libXrandr.so.2``: ``sudo apt-get install
  libxrandr2``), and logs the missing library; Qt itself only prints "No QtMultimedia backends
  found" and leaves a black box.
* :func:`qt_checks` runs ``medispecs-desktop doctor --qt-probe`` (:func:`probe`) in a child
  process (a platform plugin that cannot load aborts the process, so never in the doctor's
  own; the same command line works in the frozen bundle) and turns what it prints into
  ``core.diagnostics.Check`` lines for ``medispecs-desktop doctor``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import PySide6

from medispecs_desktop.core.diagnostics import (
    Check,
    fix_for_library,
    library_problem,
    missing_library,
)

log = logging.getLogger(__name__)

PLUGINS = Path(PySide6.__file__).resolve().parent / "Qt" / "plugins"
_SUFFIXES = (".so", ".dylib", ".dll")
REINSTALL = "reinstall MediSpecs Desktop (its PySide6 package is incomplete)"


def multimedia_plugins() -> list[Path]:
    folder = PLUGINS / "multimedia"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES or ".so." in p.name)


def explain_multimedia() -> tuple[str, str]:
    """(what is wrong, the fix) when Qt has no multimedia backend."""
    plugins = multimedia_plugins()
    if not plugins:
        return f"Qt's multimedia plugins are missing ({PLUGINS / 'multimedia'})", REINSTALL
    for plugin in plugins:
        problem = library_problem(plugin)
        if problem is None:
            continue
        library = missing_library(problem)
        if library is not None:
            return (f"Qt's multimedia backend ({plugin.name}) cannot load: the system "
                    f"library {library} is missing"), fix_for_library(library)
        return f"Qt's multimedia backend ({plugin.name}) cannot load: {problem}", REINSTALL
    chosen = os.environ.get("QT_MEDIA_BACKEND")
    if chosen:
        return (f"QT_MEDIA_BACKEND={chosen} names no multimedia backend that works",
                "unset QT_MEDIA_BACKEND")
    return "Qt found no working multimedia backend", REINSTALL


def playback_unavailable(player: Any) -> str | None:
    """None when ``player`` (a QMediaPlayer) can play; else the sentence the player shows."""
    if player.isAvailable():
        return None
    detail, fix = explain_multimedia()
    log.error("video playback is not available: %s; fix: %s", detail, fix)
    return (f"Video playback is not available on this computer: {detail}. To fix it: {fix}, "
            "then restart MediSpecs. (`medispecs-desktop doctor` checks every part.)")


# --------------------------------------------------------------------------- doctor


def probe() -> dict[str, Any]:
    """In a child process: start Qt as the app does and report what works."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtMultimedia import QMediaPlayer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    player = QMediaPlayer()
    out: dict[str, Any] = {"platform": QGuiApplication.platformName(),
                           "multimedia": player.isAvailable()}
    if not out["multimedia"]:
        out["multimediaDetail"], out["multimediaFix"] = explain_multimedia()
    del player, app
    return out


def _platform_failure(stderr: str) -> Check:
    wanted = os.environ.get("QT_QPA_PLATFORM") or ("xcb" if sys.platform.startswith("linux")
                                                   else "default")
    library = missing_library(stderr)
    if library is not None:
        return Check("Qt platform plugin", False,
                     f"Qt cannot load its '{wanted}' platform plugin: the system library "
                     f"{library} is missing", fix_for_library(library))
    if "could not connect to display" in stderr.lower() or (
            wanted == "xcb" and not os.environ.get("DISPLAY")):
        return Check("Qt platform plugin", False,
                     f"Qt's '{wanted}' platform has no display to connect to "
                     f"(DISPLAY={os.environ.get('DISPLAY', '')!r})",
                     "start MediSpecs inside a desktop session, or set QT_QPA_PLATFORM="
                     "offscreen for headless use")
    last = [line for line in stderr.splitlines() if line.strip()][-1:] or ["no output"]
    return Check("Qt platform plugin", False, f"Qt could not start: {last[0]}", REINSTALL)


def qt_checks(*, timeout: float = 120.0) -> list[Check]:
    """The Qt platform plugin and the multimedia backend, probed in a child process."""
    env = dict(os.environ, QT_DEBUG_PLUGINS="1")
    frozen = bool(getattr(sys, "frozen", False))  # the bundle's executable is the app itself
    command = [sys.executable, *(() if frozen else ("-m", "medispecs_desktop")), "doctor",
               "--qt-probe"]
    try:
        done = subprocess.run(
            command, env=env,
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        failed = Check("Qt platform plugin", False, f"the Qt probe did not finish: {exc}",
                       REINSTALL)
        return [failed, Check("Multimedia backend", False, "not checked", "")]
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return [_platform_failure(done.stderr),
                Check("Multimedia backend", False, "not checked: Qt could not start",
                      "fix the Qt platform plugin first")]
    found = json.loads(lines[-1])
    checks = [Check("Qt platform plugin", True, f"'{found['platform']}' loads")]
    if found["multimedia"]:
        names = ", ".join(p.name for p in multimedia_plugins()) or "built in"
        checks.append(Check("Multimedia backend", True, f"video playback works ({names})"))
    else:
        checks.append(Check("Multimedia backend", False, found["multimediaDetail"],
                            found["multimediaFix"]))
    return checks

