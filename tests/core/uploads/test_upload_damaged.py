"""A damaged recording is kept, never silently: a really truncated clip (a clip from
``local.samples.make_video`` cut in half, as a card pulled while copying leaves it) is refused
with a message that names the way to keep it; with the user's word (the engine's
``upload_as_damaged``, the CLI's ``upload --damaged-ok``) its bytes go up through the strict S3
proxy verified exactly like any other file (full-object CRC64NVME + SHA-256), the record says
``damaged`` with the reason, and the card holding it becomes safe to erase."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_OK
from medispecs_desktop.core.cards import check_card_with_api, read_clip, safe_to_erase
from medispecs_desktop.core.errors import NotFoundError
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.uploads.jobs import DAMAGED_CODE, JobState
from medispecs_desktop.core.uploads.states import Command, job_commands
from tests.core.uploads.test_upload_cli import PASSWORD, Cli, new_user
from tests.core.uploads.test_upload_engine import file_sha256, object_sha256, settled


def truncated(make_video: Any, name: str, seed: int) -> Path:
    """A real clip cut in half: its index (the MP4 ``moov`` box, written last) is gone."""
    whole = make_video(f"whole-{name}", seconds=2, seed=seed)
    cut = whole.with_name(name)
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    return cut


def test_a_truncated_clip_is_refused_with_a_message_naming_the_option(
    make_engine: Any, make_video: Any, demo_api: Any
) -> None:
    api, _sub = demo_api
    clip = truncated(make_video, "GLS_0101.MP4", seed=7101)
    engine = make_engine()
    engine.start()
    job = engine.add_paths([clip]).added[0]
    refused = settled(engine, [job.id])[0]
    assert refused.state is JobState.FAILED and refused.error_code == DAMAGED_CODE
    assert "damaged" in (refused.error or "")
    assert "Upload as damaged" in (refused.error or "")
    assert "--damaged-ok" in (refused.error or "")
    assert Command.UPLOAD_DAMAGED in job_commands(refused)
    with pytest.raises(NotFoundError):
        api.get_video(job.video_id)  # nothing was sent
    # a file that is not a recording at all is never offered to be kept as damaged
    notes = clip.with_name("notes.mp4")
    notes.write_bytes(b"this is not a video at all" * 100)
    other = engine.add_paths([notes]).added[0]
    failed = settled(engine, [other.id])[0]
    assert failed.state is JobState.FAILED and failed.error_code == "media"
    assert Command.UPLOAD_DAMAGED not in job_commands(failed)
    with pytest.raises(Exception, match="not refused as a damaged"):
        engine.upload_as_damaged(other.id)


def test_upload_as_damaged_sends_the_bytes_verified_and_marks_the_record(
    make_engine: Any, make_video: Any, demo_api: Any, proxy: Any, s3: Any,
    local_stack: dict[str, Any]
) -> None:
    api, _sub = demo_api
    clip = truncated(make_video, "GLS_0102.MP4", seed=7102)
    engine = make_engine()
    engine.start()
    job = engine.add_paths([clip]).added[0]
    assert settled(engine, [job.id])[0].error_code == DAMAGED_CODE
    again = engine.upload_as_damaged(job.id)
    assert again.state is JobState.QUEUED and again.allow_damaged
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    video: Video = api.get_video(job.video_id)
    assert video.damaged is True
    assert video.damaged_reason and "GLS_0102.MP4 is damaged" in video.damaged_reason
    # verified exactly like any other file: S3 checked the whole file's CRC64NVME (the strict
    # proxy refuses a wrong one), and the SHA-256 of the card's bytes is recorded
    assert video.sha256 == file_sha256(clip)
    assert video.sha256_verified is True and video.sha256_verified_by == "crc64nvme"
    assert video.file_size_bytes == clip.stat().st_size
    assert object_sha256(s3, local_stack["bucket"], str(video.s3_key)) == file_sha256(clip)
    assert any(r.part_number for r in proxy.stats.puts(ok=True) if job.video_id in r.path)
    assert video.has_bytes  # the player tries it even when the server could not process it


def test_a_card_with_a_damaged_clip_is_safe_to_erase_once_it_is_kept_as_damaged(
    make_engine: Any, make_video: Any, demo_api: Any, tmp_path: Path
) -> None:
    api, _sub = demo_api
    card = tmp_path / "card"
    (card / "DCIM").mkdir(parents=True)
    good = make_video("GLS_0103.MP4", seconds=1, seed=7103)
    shutil.move(good, card / "DCIM" / good.name)
    bad = truncated(make_video, "GLS_0104.MP4", seed=7104)
    shutil.move(bad, card / "DCIM" / bad.name)
    paths = sorted((card / "DCIM").iterdir())
    engine = make_engine()
    engine.start()
    jobs = engine.add_paths(paths).added
    settled(engine, [j.id for j in jobs])

    clips = [c for c in (read_clip(p, card) for p in paths) if c is not None]
    damaged = [c for c in clips if not c.readable]
    assert [c.name for c in damaged] == ["GLS_0104.MP4"] and damaged[0].damaged
    verdict = safe_to_erase(clips, check_card_with_api(clips, api))
    assert not verdict.safe and [c.name for c in verdict.unreadable] == ["GLS_0104.MP4"]
    assert "Upload as damaged" in verdict.message

    # the user keeps it (the app's row command / `upload --damaged-ok` on the same file)
    kept = engine.add_paths([card / "DCIM" / "GLS_0104.MP4"], allow_damaged=True)
    assert [j.id for j in kept.added] == [j.id for j in jobs if j.name == "GLS_0104.MP4"]
    ended = {j.name: j for j in settled(engine, [j.id for j in jobs])}
    assert ended["GLS_0104.MP4"].state is JobState.DONE, ended["GLS_0104.MP4"].error
    verdict = safe_to_erase(clips, check_card_with_api(clips, api))
    assert verdict.safe, verdict.message
    assert sorted(c.name for c in verdict.verified) == ["GLS_0103.MP4", "GLS_0104.MP4"]


def test_cli_upload_damaged_ok(local_stack: dict[str, Any], tmp_path: Path,
                               make_video: Any) -> None:
    cli = Cli(local_stack, tmp_path / "home")
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    clip = truncated(make_video, "GLS_0105.MP4", seed=7105)

    refused = cli("upload", str(clip), "--wait")
    assert refused.returncode == EXIT_ERROR
    assert "GLS_0105.MP4 is damaged" in refused.stdout and "--damaged-ok" in refused.stdout

    kept = cli("upload", str(clip), "--damaged-ok", "--wait", "--json")
    assert kept.returncode == EXIT_OK, kept.stderr
    jobs = json.loads(kept.stdout)
    assert [(j["state"], j["damagedOk"]) for j in jobs] == [("done", True)]
    listed = json.loads(cli("queue", "list", "--json").stdout)
    assert len(listed) == 1  # the refused job was kept as damaged, not queued twice
    library = json.loads(cli("list", "--json").stdout)["items"]
    assert [(v["title"], v.get("damaged")) for v in library] == [("GLS_0105", True)]
    assert library[0]["sha256"] == file_sha256(clip) and library[0]["sha256Verified"] is True
