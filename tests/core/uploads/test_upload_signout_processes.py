"""`logout` in one process stops a running `upload --wait` of the same user in another
(issue 17, finding 5): two real CLI processes sharing one queue file and one keyring.

The uploading process talks to a real gateway whose handler's S3 calls go through the strict
proxy, so its pre-signed part URLs do too; the proxy reads bodies at 512 KiB/s, so parts are
still on their way when the other process signs out. The uploading process must abort the part
at once, keep the job parked with its multipart upload and parts journal, say why and exit; a
later sign-in and `upload --wait` finishes the file from what S3 holds."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.cli.main import EXIT_AUTH, EXIT_OK
from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.core.uploads.store import QueueStore
from tests.core.uploads.test_upload_cli import PASSWORD, ROOT, Cli, new_user
from tests.support.stack import proxied_gateway
from tests.support.strict_s3_proxy import StrictS3Proxy

MIB = 1024 * 1024
RATE = 512 * 1024  # bytes/s per connection: an 8 MiB part takes 16 s, the last (3 MiB) 6 s


@pytest.fixture
def proxied_api(local_stack: dict[str, Any], proxy: StrictS3Proxy) -> Iterator[str]:
    """A gateway running the real handler whose S3 (and DynamoDB) calls, and so the part
    URLs it signs, go through ``proxy``."""
    with proxied_gateway(local_stack, proxy.endpoint) as url:
        yield url


def wait_for(predicate: Any, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)  # watching another process's progress, not waiting out a delay
    return False


def test_logout_in_another_process_stops_a_running_upload_wait(
    local_stack, proxy, proxied_api, big_video, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    cli = Cli(local_stack, home)
    cli.env["MEDISPECS_API_URL"] = proxied_api
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    video = big_video("theatre.mkv", 20)  # 3 parts of 8 MiB
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    proxy.throttle(per_connection=RATE)
    uploading = subprocess.Popen(
        [sys.executable, "-m", "medispecs_desktop", "upload", str(video), "--wait"],
        cwd=ROOT, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the short last part is in S3 (and journalled), the two long ones are on their way
        assert wait_for(lambda: proxy.stats.ok_parts(), timeout=90), uploading.poll()
        first = proxy.stats.ok_parts()
        logout = cli("logout")
        signed_out_at = time.monotonic()
        bytes_then = proxy.body_bytes
        assert logout.returncode == EXIT_OK, logout.stderr
        assert "Uploads of this user stopped" in logout.stdout
        out, err = uploading.communicate(timeout=60)
        stopped_after = time.monotonic() - signed_out_at
    finally:
        if uploading.poll() is None:
            uploading.kill()
            uploading.communicate()
    sent_after = proxy.body_bytes - bytes_then
    print(f"upload --wait exited {stopped_after:.2f} s after logout returned; "
          f"{sent_after} body bytes reached the proxy after it")
    assert uploading.returncode == EXIT_AUTH, (out, err)
    assert "Signed out" in out and "resume after sign-in" in out, out
    # at once: the in-flight part was aborted (it had about 30 s left to go at this rate)
    assert stopped_after < 5.0, stopped_after
    assert sent_after < 2 * RATE, sent_after
    # the job waits for the sign-in with its multipart upload and parts journal
    store = QueueStore(home / "data" / "uploads.sqlite3")
    try:
        (parked,) = store.list_jobs(store.user_ids_of(user)[0])
        assert parked.state is JobState.WAITING_SIGN_IN and parked.upload_id
        assert sorted(store.parts(parked.id)) == sorted(first)
    finally:
        store.close()
    # signing in again and running the queue finishes the file from what S3 holds
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    proxy.throttle()  # full speed again
    done = cli("upload", "--wait", "--json")
    assert done.returncode == EXIT_OK, done.stderr
    (job,) = json.loads(done.stdout)
    assert job["state"] == JobState.DONE.value and job["sha256"] == sha
    ok = proxy.stats.ok_parts()
    assert ok[:len(first)] == first and len(ok) == len(set(ok))  # nothing sent twice
    assert sorted(ok) == list(range(1, len(ok) + 1))
