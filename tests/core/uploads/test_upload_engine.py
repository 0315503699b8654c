"""The upload engine end to end: real local stack (moto over HTTP, real Lambda handler), real
bytes through real pre-signed URLs, the strict S3 proxy in front of moto, real video files."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.core.hashing import fingerprint
from medispecs_desktop.core.uploads.engine import UploadEngine, choose_part_size
from medispecs_desktop.core.uploads.jobs import Job, JobState, Phase
from medispecs_desktop.core.uploads.progress import ProgressSnapshot

MIB = 1024 * 1024
TIMEOUT = 60


def settled(
    engine: UploadEngine, ids: list[int] | None = None, timeout: float = TIMEOUT
) -> list[Job]:
    def done(jobs: list[Job]) -> bool:
        wanted = [j for j in jobs if ids is None or j.id in ids]
        return all(j.state.is_terminal or j.state is JobState.PAUSED for j in wanted)

    assert engine.wait_until(done, timeout=timeout), [
        (j.id, j.state, j.error) for j in engine.jobs()
    ]
    return [j for j in engine.jobs() if ids is None or j.id in ids]


def object_sha256(s3: Any, bucket: str, key: str) -> str:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_uploads(s3: Any, bucket: str, sub: str, video_id: str) -> set[str]:
    """The multipart uploadIds S3 still holds for one recording of ``sub``: listed under the
    recording's own key prefix, never over the whole bucket (other tests share it)."""
    listed = s3.list_multipart_uploads(Bucket=bucket, Prefix=f"videos/{sub}/{video_id}.")
    return {u["UploadId"] for u in listed.get("Uploads", [])}


def no_multipart_left(s3: Any, bucket: str, sub: str, *video_ids: str) -> bool:
    assert video_ids, "name the recordings whose uploads must be gone"
    return not any(open_uploads(s3, bucket, sub, v) for v in video_ids)


@dataclass
class HeldUpload:
    """One file uploading a part at a time, its ``part`` held at the proxy until ``gate``."""

    engine: UploadEngine
    job: Job
    video: Path
    gate: threading.Event
    part: int


def hold_at_part(make_engine: Any, big_video: Any, proxy: Any, name: str, megabytes: float,
                 part: int, **engine_kw: Any) -> HeldUpload:
    """Start uploading ``name`` with one part in flight and return once the parts before
    ``part`` are in S3 (``part`` itself waits at the proxy for ``gate``)."""
    video = big_video(name, megabytes)
    gate = threading.Event()
    proxy.inject("hold", event=gate,
                 match=lambda m, p, q: q.get("partNumber") == [str(part)])
    engine = make_engine(max_parts_in_flight=1, **engine_kw)
    engine.start()
    job = engine.add_paths([video]).added[0]
    assert proxy.wait_for_puts(part - 1, ok=True)
    return HeldUpload(engine, job, video, gate, part)


def pause_held(held: HeldUpload) -> Job:
    """Pause the held upload once the parts before the held one are journaled, let the held
    part go and wait until the worker stopped: the job is paused with its upload kept."""
    engine, job = held.engine, held.job
    # S3's answers reach the journal a moment after the proxy saw them: wait for the commits
    # (the held part keeps everything else still meanwhile)
    sent = set(range(1, held.part))
    for _ in range(3000):
        if sent <= set(engine.store.parts(job.id)):
            break
        threading.Event().wait(0.01)
    paused = engine.pause(job.id)
    held.gate.set()
    settled(engine, [job.id])
    assert engine.job(job.id).state is JobState.PAUSED
    return paused


def test_part_size_fits_any_file_in_10000_parts() -> None:
    assert choose_part_size(1) == 8 * MIB
    assert choose_part_size(20 * 1024**3) == 8 * MIB  # 20 GB -> 2,385 parts
    for size in (80 * 1024**3, 5 * 1024**4 - 1):
        part = choose_part_size(size)
        assert part % MIB == 0 and -(-size // part) <= 10_000
    assert choose_part_size(12 * MIB, 5 * MIB) == 5 * MIB


def test_single_and_multipart_upload_through_strict_s3(
    make_engine, big_video, make_video, proxy, s3, local_stack, demo_api, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="medispecs_desktop")
    api, sub = demo_api
    small = make_video("small.mp4", seconds=1)
    big = big_video("big.mkv", 13)  # 3 parts of 5 MiB
    engine = make_engine()
    snapshots: list[ProgressSnapshot] = []
    engine.subscribe_progress(snapshots.append)
    changes: list[tuple[int, JobState]] = []
    engine.subscribe_jobs(lambda j: changes.append((j.id, j.state)))
    engine.start()
    added = engine.add_paths([small, big])
    assert len(added.added) == 2
    jobs = settled(engine)
    assert [j.state for j in jobs] == [JobState.DONE, JobState.DONE], [j.error for j in jobs]
    for job, path in zip(jobs, (small, big), strict=True):
        video = api.get_video(job.video_id)
        assert video.status == "ready" and video.thumbnail_s3_key
        assert video.file_size_bytes == path.stat().st_size
        assert video.sha256 == file_sha256(path) == job.sha256
        assert object_sha256(s3, local_stack["bucket"], video.s3_key) == video.sha256
        assert video.title == path.stem
        assert video.duration_sec and video.duration_sec > 0
        # verified in cloud at any size: S3's full-object CRC64NVME, the SHA-256 beside it
        assert video.sha256_verified is True and video.sha256_verified_by == "crc64nvme"
    # each file went as a multipart upload (the small one as one part), each part with a
    # CRC64NVME the proxy verified
    for job, parts in zip(jobs, ([1], [1, 2, 3]), strict=True):
        part_puts = [r for r in proxy.stats.puts(ok=True)
                     if r.part_number and job.video_id in r.path]
        assert sorted(r.part_number for r in part_puts) == parts
    assert no_multipart_left(s3, local_stack["bucket"], sub, *(j.video_id for j in jobs))
    # progress: bytes reached the total, throttled to <= ~10/s
    assert snapshots and max(s.jobs[jobs[1].id].bytes_done for s in snapshots
                             if jobs[1].id in s.jobs) == big.stat().st_size
    span = snapshots[-1].at - snapshots[0].at
    assert len(snapshots) <= 10 * span + 10
    states = [s for i, s in changes if i == jobs[1].id]
    states = [s for k, s in enumerate(states) if k == 0 or states[k - 1] is not s]
    logged = caplog.text
    assert "multipart upload created" in logged
    assert "X-Amz-Signature" not in logged and "X-Amz-Credential" not in logged
    assert states[:3] == [JobState.QUEUED, JobState.HASHING, JobState.UPLOADING]
    assert states[-2:] == [JobState.FINALIZING, JobState.DONE]


def test_same_file_twice_is_queued_once_and_a_copy_is_not_uploaded_again(
    make_engine, make_video, proxy, tmp_path
) -> None:
    clip = make_video("clip.mp4", seconds=1, seed=3)
    engine = make_engine()
    first = engine.add_paths([clip])
    again = engine.add_paths([clip, clip.parent])
    assert len(first.added) == 1 and not again.added
    assert [j.id for j in again.already_queued] == [first.added[0].id]
    engine.start()
    settled(engine)
    puts_before = len(proxy.stats.puts())
    # the same clip from "another card": a copy elsewhere is found by fingerprint in the cloud
    copy = tmp_path / "card2" / "CLIP0001.MP4"
    copy.parent.mkdir()
    copy.write_bytes(clip.read_bytes())
    job = engine.add_paths([copy]).added[0]
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE and done.error_code == "duplicate"
    assert done.duplicate_of == first.added[0].video_id
    assert len(proxy.stats.puts()) == puts_before  # not a byte sent


def test_connection_cut_mid_part_resumes_only_missing_parts(
    make_engine, big_video, proxy, s3, local_stack, demo_api, no_sleep
) -> None:
    api, _ = demo_api
    video = big_video("cut.mkv", 16)  # 4 parts
    # part 3 is cut after 1 MiB, and the connection for part 4 is reset after 100 KB
    proxy.inject("cut", after_bytes=MIB, match=lambda m, p, q: q.get("partNumber") == ["3"])
    proxy.inject("reset", after_bytes=100_000, match=lambda m, p, q: q.get("partNumber") == ["4"])
    engine = make_engine()
    engine.start()
    job = engine.add_paths([video]).added[0]
    done = settled(engine)[0]
    assert done.state is JobState.DONE, done.error
    ok = sorted(proxy.stats.ok_parts())
    assert ok == [1, 2, 3, 4]  # each part accepted exactly once: nothing resent
    assert no_sleep.calls  # backed off (without sleeping for real)
    rec = api.get_video(job.video_id)
    assert object_sha256(s3, local_stack["bucket"], rec.s3_key) == file_sha256(video)


def test_expired_urls_are_resigned_and_endless_expiry_fails_clearly(
    make_engine, big_video, make_video, proxy, demo_api
) -> None:
    api, _ = demo_api
    video = big_video("exp.mkv", 11)

    def parts(m: str, p: str, q: dict[str, list[str]]) -> bool:
        return "partNumber" in q  # the recording's parts (its thumbnail goes beside them)

    def expired_parts() -> int:
        return len([r for r in proxy.stats.puts() if r.status == 403 and r.part_number])

    proxy.inject("expire", times=2, match=parts)
    engine = make_engine()
    engine.start()
    job = engine.add_paths([video]).added[0]
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    assert expired_parts() == 2
    assert api.get_video(job.video_id).status == "ready"

    clip = make_video("always-expired.mp4", seconds=1, seed=11)
    proxy.inject("expire", times=50, match=parts)
    job2 = engine.add_paths([clip]).added[0]
    failed = settled(engine, [job2.id])[0]
    assert failed.state is JobState.FAILED and failed.error_code == "url_expired"
    assert "kept expiring" in (failed.error or "")
    assert expired_parts() == 2 + 4  # 1 + 3 re-signs


def test_5xx_storm_backs_off_then_succeeds_or_fails_clearly(
    make_engine, make_video, proxy, no_sleep
) -> None:
    clip = make_video("storm.mp4", seconds=1, seed=21)

    def parts(m: str, p: str, q: dict[str, list[str]]) -> bool:
        return "partNumber" in q  # the recording's parts (its thumbnail goes beside them)

    proxy.inject("status", times=3, status=503, code="SlowDown",
                 message="Please reduce your request rate.", match=parts)
    engine = make_engine()
    engine.start()
    job = engine.add_paths([clip]).added[0]
    assert settled(engine, [job.id])[0].state is JobState.DONE
    assert len(no_sleep.calls) == 3 and all(0 <= d <= 20 for d in no_sleep.calls)

    clip2 = make_video("storm2.mp4", seconds=1, seed=22)
    proxy.inject("status", times=100, status=500, code="InternalError", match=parts)
    job2 = engine.add_paths([clip2]).added[0]
    failed = settled(engine, [job2.id])[0]
    assert failed.state is JobState.FAILED
    assert "S3 kept failing" in (failed.error or "") and "InternalError" in (failed.error or "")
    proxy.clear_faults()
    engine.retry(job2.id)
    assert settled(engine, [job2.id])[0].state is JobState.DONE


def test_lost_network_waits_then_resumes_by_itself(
    make_engine, big_video, proxy, s3, local_stack, demo_api
) -> None:
    video = big_video("net.mkv", 11)
    # every try of part 2 is cut: more than the backoff allows -> waiting-for-network
    proxy.inject("reset", times=4, after_bytes=0,
                 match=lambda m, p, q: q.get("partNumber") == ["2"])
    engine = make_engine()
    seen: list[JobState] = []
    engine.subscribe_jobs(lambda j: seen.append(j.state))
    engine.start()
    job = engine.add_paths([video]).added[0]
    done = settled(engine, [job.id])[0]
    assert JobState.WAITING_NETWORK in seen
    assert done.state is JobState.DONE, done.error
    assert sorted(proxy.stats.ok_parts()) == [1, 2, 3]
    api, _ = demo_api
    key = api.get_video(job.video_id).s3_key
    assert object_sha256(s3, local_stack["bucket"], key) == file_sha256(video)


def test_cancel_aborts_the_multipart_upload(
    make_engine, big_video, proxy, s3, local_stack, demo_api
) -> None:
    from medispecs_desktop.core.uploads.awake import SleepInhibitor

    # a stand-in for systemd-inhibit/caffeinate: a real child process held while uploading
    awake = SleepInhibitor([sys.executable, "-c", "import time; time.sleep(120)"])
    held = hold_at_part(make_engine, big_video, proxy, "cancel.mkv", 16, 2, awake=awake)
    engine, job, gate = held.engine, held.job, held.gate  # part 1 is in S3
    assert awake.held  # the OS is asked not to sleep while bytes move
    assert engine.wait_until(lambda js: js[0].upload_id is not None, timeout=TIMEOUT)
    _api, sub = demo_api
    upload_id = engine.job(job.id).upload_id
    assert open_uploads(s3, local_stack["bucket"], sub, job.video_id) == {upload_id}
    gate.set()
    cancelled = engine.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.upload_id is None
    assert no_multipart_left(s3, local_stack["bucket"], sub, job.video_id)
    assert engine.store.parts(job.id) == {}
    assert engine.wait_until(lambda _js: not awake.held, timeout=TIMEOUT)


def test_pause_keeps_the_upload_and_resume_sends_only_the_rest(
    make_engine, big_video, proxy, s3, local_stack, demo_api
) -> None:
    held = hold_at_part(make_engine, big_video, proxy, "pause.mkv", 16, 3)
    engine, job, video = held.engine, held.job, held.video
    assert pause_held(held).state is JobState.PAUSED
    assert engine.job(job.id).upload_id  # kept
    engine.resume(job.id)
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    assert sorted(proxy.stats.ok_parts()) == [1, 2, 3, 4]
    api, _ = demo_api
    key = api.get_video(job.video_id).s3_key
    assert object_sha256(s3, local_stack["bucket"], key) == file_sha256(video)


def test_bad_files_fail_clearly_and_the_queue_goes_on(
    make_engine, make_video, tmp_path, proxy
) -> None:
    good = make_video("good.mp4", seconds=1, seed=31)
    not_video = tmp_path / "notes.mp4"
    not_video.write_bytes(b"this is not a video at all" * 100)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    changed = make_video("changed.mp4", seconds=1, seed=32)
    unreadable = make_video("becomes-dir.mp4", seconds=1, seed=33)
    vanished = make_video("vanished.mp4", seconds=1, seed=34)
    engine = make_engine()
    added = engine.add_paths([good, not_video, empty, changed, unreadable, vanished])
    assert (empty, "empty file (0 bytes)") in added.skipped
    by_name = {j.name: j for j in added.added}
    # after queueing: one file changes, one is replaced by a directory, one disappears
    make_video("changed.mp4", seconds=2, seed=35)  # re-recorded: other size and content
    # ...and still being written (its time says so until the test says the copy ended)
    writing = time.time_ns() + 3600 * 10**9
    os.utime(changed, ns=(writing, writing))
    unreadable.unlink()
    unreadable.mkdir()
    saved = vanished.read_bytes()
    vanished.unlink()
    engine.start()
    assert engine.wait_until(lambda js: all(j.state.is_terminal or j.state.is_waiting for j in js),
                             timeout=TIMEOUT)
    jobs = {j.name: j for j in engine.jobs()}
    assert jobs["good.mp4"].state is JobState.DONE
    assert jobs["notes.mp4"].state is JobState.FAILED and jobs["notes.mp4"].error_code == "media"
    # a changed file waits until it stops changing (issue 17 #3), then is read from the start
    assert jobs["changed.mp4"].state is JobState.WAITING_SOURCE
    assert "still being written or was changed" in (jobs["changed.mp4"].error or "")
    assert jobs["becomes-dir.mp4"].state is JobState.FAILED
    assert "not a regular file" in (jobs["becomes-dir.mp4"].error or "")
    assert jobs["vanished.mp4"].state is JobState.WAITING_SOURCE
    # nothing of the failed files reached S3
    assert len(proxy.stats.puts(ok=True)) == 2  # good.mp4 + its thumbnail
    # the card comes back: the job resumes by itself
    vanished.write_bytes(saved)
    os.utime(vanished, ns=(by_name["vanished.mp4"].mtime_ns, by_name["vanished.mp4"].mtime_ns))
    done = settled(engine, [by_name["vanished.mp4"].id])[0]
    assert done.state is JobState.DONE, done.error
    # the copy of the changed file ends: its new content is uploaded by itself
    ended = time.time_ns() - 60 * 10**9
    os.utime(changed, ns=(ended, ended))
    redo = settled(engine, [jobs["changed.mp4"].id])[0]
    assert redo.state is JobState.DONE and redo.size == changed.stat().st_size


def test_200_files_queue_at_once_quickly(make_engine, tmp_path) -> None:
    folder = tmp_path / "card" / "DCIM"
    folder.mkdir(parents=True)
    for i in range(200):
        (folder / f"CLIP{i:04d}.MP4").write_bytes(os.urandom(64))
    engine = make_engine()
    # CPU time of this thread, not wall time: the claim is that queueing does little work per
    # file (no hashing, no probing), which holds however busy the shared runner is
    # (tests/benchmarks/bench_upload.py measures the speed)
    cpu = time.thread_time()
    result = engine.add_paths([tmp_path / "card"])
    cpu = time.thread_time() - cpu
    assert len(result.added) == 200 and cpu < 2.0, cpu
    assert [j.name for j in engine.jobs()][:3] == ["CLIP0000.MP4", "CLIP0001.MP4", "CLIP0002.MP4"]


def test_jobs_belong_to_their_user_and_sign_out_parks_them(
    make_engine, make_video, tmp_path
) -> None:
    clip = make_video("mine.mp4", seconds=1, seed=41)
    db = tmp_path / "shared.sqlite3"
    mine = make_engine(db=db)
    job = mine.add_paths([clip]).added[0]
    other = make_engine(db=db, user_id="someone-else")
    assert other.jobs() == []
    with pytest.raises(Exception, match="No upload job"):
        other.pause(job.id)
    mine.sign_out()
    assert mine.job(job.id).state is JobState.WAITING_SIGN_IN
    # the other user's engine runs a job of its own (not a video: it fails at the probe, with
    # no network) to its end: by then its start has re-queued its user's parked jobs and its
    # scheduler has passed over the queue; the first user's job is parked still
    theirs = tmp_path / "theirs.mp4"
    theirs.write_bytes(b"not a video" * 100)
    their_job = other.add_paths([theirs]).added[0]
    other.start()
    assert settled(other, [their_job.id])[0].state is JobState.FAILED
    assert mine.job(job.id).state is JobState.WAITING_SIGN_IN
    mine.start()  # the same user signs in again
    assert settled(mine, [job.id])[0].state is JobState.DONE
    mine.sign_out()  # finished jobs (file names can name patients) don't outlive the sign-in
    assert mine.jobs() == []


def test_upload_next_and_pause_all_resume_all(make_engine, make_video) -> None:
    clips = [make_video(f"q{i}.mp4", seconds=1, seed=50 + i) for i in range(3)]
    engine = make_engine(max_concurrent_files=1)
    jobs = engine.add_paths(clips).added
    engine.upload_next(jobs[2].id)
    assert [j.id for j in engine.jobs()] == [jobs[2].id, jobs[0].id, jobs[1].id]
    paused = engine.pause_all()
    assert sorted(paused) == sorted(j.id for j in jobs)
    engine.start()
    assert all(j.state is JobState.PAUSED for j in engine.jobs())
    engine.resume_all()
    final = settled(engine)
    assert all(j.state is JobState.DONE for j in final)
    assert final[0].phase is Phase.FINISHED


def test_expired_sign_in_parks_jobs_until_the_user_signs_in_again(
    make_engine, make_video, local_stack
) -> None:
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.errors import NotSignedInError
    from tests.core.uploads.conftest import stack_settings

    class ExpiredSession:
        """A token provider whose refresh token has expired (as CognitoAuth reports it)."""

        def id_token(self) -> str:
            raise NotSignedInError("Your session expired: sign in again.")

        def force_refresh(self) -> str:
            return self.id_token()

    clip = make_video("expired.mp4", seconds=1, seed=71)
    db_engine = make_engine(api=ApiClient(stack_settings(local_stack), ExpiredSession()))
    job = db_engine.add_paths([clip]).added[0]
    db_engine.start()
    assert db_engine.wait_until(
        lambda js: js[0].state is JobState.WAITING_SIGN_IN, timeout=TIMEOUT)
    assert "sign in again" in (db_engine.job(job.id).error or "")
    db_engine.stop()
    # the user signs in: a new engine (same user, same queue) picks the job up and finishes it
    fresh = make_engine(db=db_engine.store.path)
    fresh.start()
    assert settled(fresh, [job.id])[0].state is JobState.DONE


def test_retry_of_a_failed_multipart_continues_from_what_s3_has(
    make_engine, big_video, proxy, s3, local_stack, demo_api
) -> None:
    video = big_video("retry.mkv", 16)  # 4 parts
    proxy.inject("status", times=100, status=500, code="InternalError",
                 match=lambda m, p, q: q.get("partNumber") == ["3"])
    engine = make_engine(max_parts_in_flight=1)
    engine.start()
    job = engine.add_paths([video]).added[0]
    failed = settled(engine, [job.id])[0]
    assert failed.state is JobState.FAILED and failed.upload_id and failed.phase is Phase.PARTS
    assert 3 not in proxy.stats.ok_parts() and {1, 2} <= set(proxy.stats.ok_parts())
    proxy.clear_faults()
    engine.retry(job.id)
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    # every part accepted exactly once: what S3 had before the retry was not sent again
    assert sorted(proxy.stats.ok_parts()) == [1, 2, 3, 4]
    api, sub = demo_api
    key = api.get_video(job.video_id).s3_key
    assert object_sha256(s3, local_stack["bucket"], key) == file_sha256(video)
    assert no_multipart_left(s3, local_stack["bucket"], sub, job.video_id)


def changed_in_the_middle(src: Path, dst: Path) -> Path:
    """A copy of ``src`` with one byte flipped half-way: same size, head and tail (the same
    quick fingerprint), another SHA-256."""
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def test_a_copy_changed_in_the_middle_is_its_own_recording_an_identical_one_is_not_sent(
    make_engine, big_video, proxy, demo_api, tmp_path
) -> None:
    """DESIGN §8 (revised): the fingerprint only finds candidates; the whole-file SHA-256 of a
    verified record decides. (Skipped as 'already in your library' on the fingerprint before.)"""
    api, _sub = demo_api
    original = big_video("ward-round.mkv", 6, seed=8181)  # > 2 MiB: the middle is unhashed
    engine = make_engine()
    engine.start()
    first = engine.add_paths([original]).added[0]
    assert settled(engine, [first.id])[0].state is JobState.DONE
    card = tmp_path / "card2"
    card.mkdir()
    changed = changed_in_the_middle(original, card / "CLIP0007.MKV")
    assert fingerprint(changed) == fingerprint(original)
    assert file_sha256(changed) != file_sha256(original)
    job = engine.add_paths([changed]).added[0]
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE and done.error_code is None, done.error
    assert done.duplicate_of is None and done.video_id != first.video_id
    own = api.get_video(done.video_id)
    assert own.sha256 == file_sha256(changed) and own.sha256_verified is True
    # an identical copy under another name is not sent: its whole SHA-256 decides
    puts_before = len(proxy.stats.puts())
    twin = card / "COPY0001.MKV"
    twin.write_bytes(original.read_bytes())
    job = engine.add_paths([twin]).added[0]
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE and done.error_code == "duplicate"
    assert done.duplicate_of == first.video_id
    assert len(proxy.stats.puts()) == puts_before  # not a byte sent


def test_two_copies_differing_in_the_middle_queued_together_are_both_uploaded(
    make_engine, big_video, demo_api, tmp_path
) -> None:
    """The queue's fingerprint claim no longer makes the second a duplicate of the first."""
    api, _sub = demo_api
    original = big_video("theatre.mkv", 6, seed=8282)
    changed = changed_in_the_middle(original, tmp_path / "theatre-b.mkv")
    engine = make_engine()
    engine.start()
    added = engine.add_paths([original, changed]).added
    jobs = settled(engine, [j.id for j in added])
    assert [j.state for j in jobs] == [JobState.DONE, JobState.DONE], [j.error for j in jobs]
    assert [j.error_code for j in jobs] == [None, None]
    assert {api.get_video(j.video_id).sha256 for j in jobs} == {
        file_sha256(original), file_sha256(changed)}


def test_resume_trusts_parts_s3_holds_that_the_journal_missed(
    make_engine, big_video, proxy, s3, local_stack, demo_api
) -> None:
    """Issue 17 #11: a part S3 holds but the journal lost (a kill between S3's answer and the
    journal commit) is trusted by its size and ETag from ListParts, as real S3 does -- not sent
    again. The full-object CRC64NVME checked at completion proves the bytes."""
    held = hold_at_part(make_engine, big_video, proxy, "journal.mkv", 16, 3)  # 4 parts
    engine, job, video = held.engine, held.job, held.video
    pause_held(held)
    journal = engine.store.parts(job.id)
    assert {1, 2} <= set(journal)
    for n in (1, 2):  # S3 has them; the journal does not
        engine.store.forget_part(job.id, n)
    engine.resume(job.id)
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    ok = sorted(r.part_number or 0 for r in proxy.stats.puts(ok=True)
                if r.part_number and job.video_id in r.path)
    assert ok.count(1) == 1 and ok.count(2) == 1, ok  # not re-sent
    api, _ = demo_api
    record = api.get_video(job.video_id)
    assert record.sha256_verified is True
    assert object_sha256(s3, local_stack["bucket"], record.s3_key) == file_sha256(video)
