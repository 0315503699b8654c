"""scan_paths: folders searched recursively; non-videos and hidden/system files skipped."""

from __future__ import annotations

import os
from pathlib import Path

from medispecs_desktop.core.uploads.scanner import (
    REASON_HIDDEN,
    REASON_HIDDEN_FOLDER,
    REASON_NOT_FOUND,
    REASON_NOT_REGULAR,
    REASON_NOT_VIDEO,
    REASON_SYSTEM,
    scan_paths,
)


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_is_searched_recursively_case_insensitive(tmp_path: Path) -> None:
    card = tmp_path / "card"
    wanted = [
        _touch(card / "DCIM" / "100GLASS" / "CLIP0001.MP4"),
        _touch(card / "DCIM" / "100GLASS" / "clip0002.mov"),
        _touch(card / "a.m4v"),
        _touch(card / "b.MKV"),
        _touch(card / "c.avi"),
        _touch(card / "PRIVATE" / "AVCHD" / "00001.MTS"),
        _touch(card / "d.m2ts"),
        _touch(card / "e.3gp"),
        _touch(card / "f.WebM"),
    ]
    notes = _touch(card / "notes.txt")
    result = scan_paths([card])
    assert sorted(result.files) == sorted(wanted)
    assert (notes, REASON_NOT_VIDEO) in result.skipped
    assert all(p.is_absolute() for p in result.files)


def test_hidden_and_system_files_are_skipped_with_reason(tmp_path: Path) -> None:
    card = tmp_path / "card"
    keep = _touch(card / "keep.mp4")
    hidden = _touch(card / ".hidden.mp4")
    apple = _touch(card / "._keep.mp4")
    thumbs = _touch(card / "Thumbs.db")
    trash = _touch(card / ".Trashes" / "old.mp4")
    sysvol = _touch(card / "System Volume Information" / "x.mp4")
    result = scan_paths([card])
    assert result.files == [keep]
    skipped = dict(result.skipped)
    assert skipped[hidden] == REASON_HIDDEN
    assert skipped[apple] == REASON_SYSTEM
    assert skipped[thumbs] == REASON_SYSTEM
    assert skipped[card / ".Trashes"] == REASON_HIDDEN_FOLDER
    assert skipped[card / "System Volume Information"] == REASON_SYSTEM
    assert trash not in result.files and sysvol not in result.files


def test_explicit_files_missing_paths_and_duplicates(tmp_path: Path) -> None:
    clip = _touch(tmp_path / "folder" / "clip.mp4")
    doc = _touch(tmp_path / "doc.pdf")
    link = tmp_path / "link.mp4"
    link.symlink_to(clip)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    missing = tmp_path / "gone.mp4"
    result = scan_paths([clip, tmp_path / "folder", str(clip), link, doc, missing, fifo])
    assert result.files == [clip]  # same file via folder, twice, and a symlink -> once
    skipped = dict(result.skipped)
    assert skipped[doc] == REASON_NOT_VIDEO
    assert skipped[missing] == REASON_NOT_FOUND
    assert skipped[fifo] == REASON_NOT_REGULAR


def test_symlinked_folder_loops_do_not_hang(tmp_path: Path) -> None:
    clip = _touch(tmp_path / "a" / "clip.mp4")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    result = scan_paths([tmp_path / "a"])
    assert result.files == [clip]


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch) -> None:
    clip = _touch(tmp_path / "clip.mp4")
    monkeypatch.chdir(tmp_path)
    assert scan_paths(["clip.mp4"]).files == [clip]
