"""A recording deleted on another computer, or purged from the Trash (issue 17, finding 4):
adding its file again must not end "Done" with nothing sent. The job finds the recording gone
(404 on its videoId) and uploads the file again as a new recording, saying so; while the
recording is there, adding the file again sends nothing. The engine and the real CLI against
the real local stack; "another computer" is a second sign-in of the same user."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.core.errors import NotFoundError
from medispecs_desktop.core.uploads.jobs import JobState
from tests.core.uploads.conftest import signed_in_api
from tests.core.uploads.test_upload_cli import PASSWORD, Cli, new_user
from tests.core.uploads.test_upload_engine import settled
from tests.support.users import new_user as fresh_user

NOTE = "This recording was deleted from the cloud; uploading it again."


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("gone", ["deleted", "purged"])
def test_a_recording_deleted_elsewhere_is_uploaded_again_when_its_file_is_added(
    gone: str, make_engine, make_video, proxy, local_stack: dict[str, Any]
) -> None:
    username, password = fresh_user(local_stack, "deleted-elsewhere")
    api, sub = signed_in_api(local_stack, username, password)
    other_computer, _ = signed_in_api(local_stack, username, password)
    clip = make_video("ward.mp4", seconds=1, seed=4401 if gone == "deleted" else 4402)
    engine = make_engine(api=api, user_id=sub)
    engine.start()
    job = engine.add_paths([clip]).added[0]
    first = settled(engine, [job.id])[0]
    assert first.state is JobState.DONE, first.error
    sent = len(proxy.stats.puts(ok=True))

    # still in the library: adding the file again sends nothing and keeps the recording
    again = engine.add_paths([clip])
    assert [j.id for j in again.already_queued] == [job.id] and not again.added
    same = settled(engine, [job.id])[0]
    assert same.state is JobState.DONE and same.video_id == first.video_id
    assert len(proxy.stats.puts(ok=True)) == sent

    other_computer.delete_video(first.video_id)
    if gone == "purged":
        other_computer.purge_video(first.video_id)
    seen: list[Any] = []
    engine.subscribe_jobs(lambda j: seen.append(j) if j.id == job.id else None)
    engine.add_paths([clip])
    redone = settled(engine, [job.id])[0]
    assert redone.state is JobState.DONE, redone.error
    assert any(j.error == NOTE for j in seen)  # said while it uploads
    assert redone.error_code == "deleted_in_cloud" and "uploaded again" in (redone.error or "")
    assert redone.video_id != first.video_id
    assert len(proxy.stats.puts(ok=True)) > sent  # the bytes went up again
    record = api.get_video(redone.video_id)
    assert record.sha256 == sha256_of(clip) and record.sha256_verified is True
    with pytest.raises(NotFoundError):
        api.get_video(first.video_id)
    api.close()
    other_computer.close()


def test_upload_wait_again_after_a_delete_on_another_computer(
    local_stack: dict[str, Any], tmp_path: Path, make_video
) -> None:
    cli = Cli(local_stack, tmp_path / "home")
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    clip = make_video("theatre.mp4", seconds=1, seed=4403)
    first = cli("upload", str(clip), "--wait", "--json")
    assert first.returncode == EXIT_OK, first.stderr
    (job,) = json.loads(first.stdout)
    other_computer, _ = signed_in_api(local_stack, user, PASSWORD)
    other_computer.delete_video(job["videoId"])

    again = cli("upload", str(clip), "--wait")
    assert again.returncode == EXIT_OK, again.stderr
    assert NOTE in again.stdout, again.stdout
    library = json.loads(cli("list", "--json").stdout)["items"]
    assert [v["sha256"] for v in library] == [sha256_of(clip)]
    assert library[0]["videoId"] != job["videoId"]
    other_computer.close()
