"""Honest totals: a batch of 6 files of which 4 are already in the library reports "2 uploaded,
4 already in your library", and counts only the bytes really sent (the engine's progress and
summary, and the CLI's last line), against the real local stack."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.core.formatting import format_size
from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.core.uploads.progress import ProgressSnapshot
from tests.core.uploads.test_upload_cli import PASSWORD, Cli, new_user
from tests.core.uploads.test_upload_engine import settled


def four_known_and_two_new(make_video: Any, tmp_path: Path, seed: int
                           ) -> tuple[list[Path], list[Path], list[Path]]:
    """4 recordings, the same 4 copied elsewhere under other names, and 2 new ones."""
    originals = [make_video(f"first/GLS_{i}.MP4", seconds=1, seed=seed + i) for i in range(4)]
    (tmp_path / "second").mkdir()
    copies = [tmp_path / "second" / f"copy-{p.name}" for p in originals]
    for source, copy in zip(originals, copies, strict=True):
        shutil.copyfile(source, copy)
    new = [make_video(f"second/NEW_{i}.MP4", seconds=1, seed=seed + 10 + i) for i in range(2)]
    return originals, copies, new


def test_the_engine_counts_only_what_it_really_sent(
    make_engine: Any, make_video: Any, proxy: Any, tmp_path: Path
) -> None:
    originals, copies, new = four_known_and_two_new(make_video, tmp_path, 7400)
    engine = make_engine()
    engine.start()
    first = [j.id for j in engine.add_paths(originals).added]
    assert [j.state for j in settled(engine, first)] == [JobState.DONE] * 4

    totals: list[int] = []

    def on_progress(snap: ProgressSnapshot) -> None:
        totals.append(snap.bytes_total)

    engine.subscribe_progress(on_progress)
    batch = engine.add_paths(copies + new).added
    ids = [j.id for j in batch]
    assert len(ids) == 6
    ended = {j.path.name: j for j in settled(engine, ids)}
    summary = engine.summary(ids)
    assert (summary.uploaded, summary.already, summary.failed) == (2, 4, 0)
    assert summary.sentence() == "2 uploaded, 4 already in your library"
    new_bytes = sum(p.stat().st_size for p in new)
    assert summary.bytes_sent == new_bytes
    # the progress the app and the CLI show never counted the duplicates' bytes
    assert totals and max(totals) <= new_bytes
    # and S3 really received bytes for the 2 new recordings only
    parts = [r.path for r in proxy.stats.puts(ok=True) if r.part_number]
    assert all(any(ended[p.name].video_id in path for path in parts) for p in new)
    assert not any(ended[p.name].video_id in path for path in parts for p in copies)


def test_the_cli_says_how_many_were_uploaded_and_how_many_were_already_there(
    local_stack: dict[str, Any], tmp_path: Path, make_video: Any
) -> None:
    cli = Cli(local_stack, tmp_path / "home")
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    originals, copies, new = four_known_and_two_new(make_video, tmp_path, 7500)
    first = cli("upload", *map(str, originals), "--wait")
    assert first.returncode == EXIT_OK, first.stderr
    assert "4 uploaded · " in first.stdout

    batch = cli("upload", *map(str, copies + new), "--wait")
    assert batch.returncode == EXIT_OK, batch.stderr
    last = batch.stdout.strip().splitlines()[-1]
    sent = format_size(sum(p.stat().st_size for p in new))
    assert last == f"2 uploaded, 4 already in your library · {sent} sent."
    assert batch.stdout.count("Already in your library; not uploaded again.") == 4
