"""kill -9 of a real uploading process at several points; a restart finishes the upload with a
SHA-256-identical object and exactly one video record, sending only what S3 does not have."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.core.uploads.jobs import Phase
from medispecs_desktop.core.uploads.store import QueueStore

CHILD = Path(__file__).with_name("upload_child.py")
ROOT = Path(__file__).resolve().parents[3]


def run_child(cfg: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(cfg)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(predicate: Any, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)  # polling another process's progress, not waiting out a delay
    return False


def records_with(api: Any, sha: str) -> list[Any]:
    return [v for v in api.iter_videos() if v.sha256 == sha]


@pytest.mark.parametrize("held_part", [1, 3])
def test_kill_during_parts_then_restart_completes(
    held_part, local_stack, proxy, big_video, tmp_path, s3, demo_api
) -> None:
    api, sub = demo_api
    video = big_video(f"crash{held_part}.mkv", 16, seed=100 + held_part)  # 4 parts
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    db = tmp_path / "queue.sqlite3"
    gate = threading.Event()
    proxy.inject("hold", event=gate,
                 match=lambda m, p, q: q.get("partNumber") == [str(held_part)])
    cfg = {"info": local_stack, "db": str(db), "paths": [str(video)], "proxy": proxy.endpoint}
    child = run_child(cfg)
    try:
        # the held part's body reached "S3"; parts before it are journaled
        assert wait_for(lambda: any(r.status == -2 for r in proxy.stats.puts())), child.stderr
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        gate.set()  # the held part now lands in S3 although the client never heard back
        if child.poll() is None:
            child.kill()
    store = QueueStore(db)
    job = store.list_jobs(sub)[0]
    assert job.phase is Phase.PARTS and job.upload_id
    journaled = set(store.parts(job.id))
    assert journaled == set(range(1, held_part))
    store.close()
    before = len(proxy.stats.puts(ok=True))

    restart = run_child({**cfg, "paths": []})
    out, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err[-3000:]
    jobs = json.loads(out.strip().splitlines()[-1])
    assert jobs[0]["state"] == "done", jobs
    resent = [r.part_number for r in proxy.stats.puts(ok=True)[before:] if r.part_number]
    assert not set(resent) & journaled  # journaled parts were not sent again
    records = records_with(api, sha)
    assert len(records) == 1 and records[0].video_id == jobs[0]["videoId"]
    body = s3.get_object(Bucket=local_stack["bucket"], Key=records[0].s3_key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha


def test_kill_between_complete_and_record_creation(
    local_stack, proxy, big_video, tmp_path, s3, demo_api
) -> None:
    api, sub = demo_api
    video = big_video("crash-create.mkv", 11, seed=200)
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    db = tmp_path / "queue.sqlite3"
    marker = tmp_path / "about-to-create.json"
    cfg = {"info": local_stack, "db": str(db), "paths": [str(video)], "proxy": proxy.endpoint}
    child = run_child({**cfg, "hang_before_create": str(marker)})
    try:
        assert wait_for(marker.exists), child.stderr
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    store = QueueStore(db)
    job = store.list_jobs(sub)[0]
    assert job.phase is Phase.COMPLETED
    store.close()
    assert records_with(api, sha) == []  # object complete, no record yet
    puts = len(proxy.stats.puts(ok=True))

    restart = run_child({**cfg, "paths": [str(video)]})  # dropped again: still one job
    out, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err[-3000:]
    jobs = json.loads(out.strip().splitlines()[-1])
    assert len(jobs) == 1 and jobs[0]["state"] == "done", jobs
    part_puts = [r for r in proxy.stats.puts(ok=True)[puts:] if r.part_number]
    assert part_puts == []  # no byte of the video sent again (only the thumbnail)
    records = records_with(api, sha)
    assert len(records) == 1 and records[0].status == "ready"
    body = s3.get_object(Bucket=local_stack["bucket"], Key=records[0].s3_key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha
