"""Find the video files in what the user dropped or picked: files and folders (recursively).

Used by the upload queue (drag-and-drop, ``upload PATH...``) and by the card import. Pure
filesystem work, no Qt. Every path the user gave either ends up in ``files`` or in ``skipped``
with a reason a person can read, so nothing is silently ignored.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".mts", ".m2ts", ".3gp", ".webm"}
)

# Names operating systems and cameras leave on cards and disks; never user recordings.
SYSTEM_NAMES: frozenset[str] = frozenset(
    {
        "thumbs.db",
        "desktop.ini",
        "$recycle.bin",
        "system volume information",
        "lost+found",
        "__macosx",
    }
)

# Windows file attributes (os.stat_result.st_file_attributes exists only there).
_FILE_ATTRIBUTE_HIDDEN = 0x2
_FILE_ATTRIBUTE_SYSTEM = 0x4

REASON_HIDDEN = "hidden file"
REASON_HIDDEN_FOLDER = "hidden folder"
REASON_SYSTEM = "system file"
REASON_NOT_VIDEO = "not a video file"
REASON_NOT_FOUND = "not found"
REASON_NOT_REGULAR = "not a regular file"
REASON_UNREADABLE = "cannot be read"


@dataclass
class ScanResult:
    """Video files found (absolute, de-duplicated, in a stable order) and what was skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def is_video_name(name: str) -> bool:
    """True when ``name`` ends in one of :data:`VIDEO_EXTENSIONS` (any letter case)."""
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def _hidden_or_system(name: str, st: os.stat_result | None) -> str | None:
    lower = name.lower()
    if lower in SYSTEM_NAMES or lower.startswith("._"):
        return REASON_SYSTEM
    if name.startswith("."):
        return REASON_HIDDEN
    attrs = getattr(st, "st_file_attributes", 0) if st is not None else 0
    if attrs & _FILE_ATTRIBUTE_SYSTEM:
        return REASON_SYSTEM
    if attrs & _FILE_ATTRIBUTE_HIDDEN:
        return REASON_HIDDEN
    return None


def _absolute(path: Path) -> Path:
    # abspath, not resolve(): keep the user's spelling (a card's mount point), just normalised
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def scan_paths(paths: Iterable[str | os.PathLike[str]]) -> ScanResult:
    """Collect the video files under ``paths`` (files are taken as they are, folders searched).

    * A file given explicitly is kept if its extension is a video one; otherwise it is skipped
      with :data:`REASON_NOT_VIDEO` (hidden/system files are skipped too).
    * Folders are walked recursively without following symlinked folders (no loops); hidden
      and system folders are not entered (reported once as skipped).
    * The same file reached twice (given twice, or given and inside a given folder, or via a
      symlink) is listed once.
    """
    result = ScanResult()
    seen: set[tuple[int, int]] = set()

    def add_file(path: Path, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        result.files.append(path)

    def consider_file(path: Path) -> None:
        try:
            st = path.stat()  # follows symlinks: a link to a clip is a clip
        except FileNotFoundError:
            result.skipped.append((path, REASON_NOT_FOUND))
            return
        except OSError as exc:
            result.skipped.append((path, f"{REASON_UNREADABLE}: {exc.strerror or exc}"))
            return
        hidden = _hidden_or_system(path.name, st)
        if hidden:
            result.skipped.append((path, hidden))
            return
        if not stat.S_ISREG(st.st_mode):
            result.skipped.append((path, REASON_NOT_REGULAR))
            return
        if not is_video_name(path.name):
            result.skipped.append((path, REASON_NOT_VIDEO))
            return
        add_file(path, st)

    def walk(root: Path) -> None:
        errors: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
            here = Path(dirpath)
            keep: list[str] = []
            for d in sorted(dirnames):
                sub = here / d
                try:
                    st: os.stat_result | None = sub.lstat()
                except OSError:
                    st = None
                reason = _hidden_or_system(d, st)
                if reason:
                    folder_reason = REASON_HIDDEN_FOLDER if reason == REASON_HIDDEN else reason
                    result.skipped.append((sub, folder_reason))
                else:
                    keep.append(d)
            dirnames[:] = keep
            for f in sorted(filenames):
                consider_file(here / f)
        for err in errors:
            where = Path(err.filename) if err.filename else root
            result.skipped.append((where, f"{REASON_UNREADABLE}: {err.strerror or err}"))

    for raw in paths:
        path = _absolute(Path(raw))
        if path.is_dir():
            walk(path)
        else:
            consider_file(path)
    return result
