"""One call for the card import dialog: scan a card, classify its clips and note the files on
it that are not clips (a NOTES.TXT, a camera's database), so the dialog can say they stay on
the card. No Qt (see ``core/cards.py`` for the pieces)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from medispecs_desktop.core.cards import (
    CardClip,
    ClipStatus,
    DuplicateLookup,
    QueueIndex,
    classify,
    scan_card,
    sha256_hex,
)
from medispecs_desktop.core.errors import MediSpecsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardScan:
    """The clips of one card, classified; ``cloud_checked`` is False when the cloud could not
    be asked (offline, signed out): then nothing is marked IN_CLOUD and ``note`` says why.
    ``other_files``: the card's files that are not videos (paths from the card's root), which
    are never uploaded."""

    card_root: Path
    clips: list[CardClip]
    cloud_checked: bool
    note: str | None = None
    other_files: tuple[str, ...] = ()

    def count(self, status: ClipStatus) -> int:
        return sum(1 for c in self.clips if c.status is status)


def _relative(paths: list[Path], root: Path) -> tuple[str, ...]:
    out: list[str] = []
    for path in paths:
        try:
            out.append(path.relative_to(root).as_posix())
        except ValueError:
            out.append(path.as_posix())
    return tuple(sorted(out, key=str.casefold))


def scan_and_classify(
    root: str | os.PathLike[str],
    *,
    queued_fingerprints: Callable[[], Collection[str]] | Collection[str] = (),
    queued: Callable[[], QueueIndex] | QueueIndex | None = None,
    find_duplicates: DuplicateLookup | None = None,
    sha256_of: Callable[[Path], str] = sha256_hex,
) -> CardScan:
    """:func:`scan_card` then :func:`classify` (runs on a worker thread: it reads the card and
    may call the API). A failing cloud lookup (a ``MediSpecsError``: offline, not signed in,
    server error) leaves the clips classified against the local queue only, with a note.

    ``queued`` is the upload queue's :class:`QueueIndex` (e.g. ``lambda:
    QueueIndex.from_jobs(engine.jobs())``); ``queued_fingerprints`` a plain set instead."""
    others: list[Path] = []
    clips = scan_card(root, others=others)
    other_files = _relative(others, Path(os.path.abspath(root)))
    index = queued() if callable(queued) else (queued or QueueIndex())
    fps = set(queued_fingerprints() if callable(queued_fingerprints) else queued_fingerprints)
    fps |= index.fingerprints
    try:
        result = classify(clips, queued_fingerprints=fps, queued_paths=index.paths,
                          find_duplicates=find_duplicates, sha256_of=sha256_of)
    except MediSpecsError as exc:
        log.warning("cloud duplicate check failed: %s", exc.code)
        result = classify(clips, queued_fingerprints=fps, queued_paths=index.paths,
                          find_duplicates=None)
        return CardScan(Path(root), result, False,
                        f"Could not check the cloud ({exc.message}); clips already uploaded "
                        "may show as new (the upload queue checks again before sending).",
                        other_files)
    checked = find_duplicates is not None
    note = None if checked else "Not checked against the cloud."
    return CardScan(Path(root), result, checked, note, other_files)
