"""core.cards on a fake SD card: a real folder tree with real clips made with PyAV."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.core.cards import (
    ENV_CARD_ROOTS,
    CardClip,
    CardError,
    CardWatcher,
    ClipStatus,
    CloudCheck,
    candidate_volumes,
    check_card_in_cloud,
    classify,
    erase_verified,
    find_cards,
    mount_roots,
    recognise_card,
    safe_to_erase,
    scan_card,
    sha256_hex,
    verify_in_cloud,
)
from medispecs_desktop.core.hashing import fingerprint
from medispecs_desktop.local.samples import make_video

T1 = datetime(2025, 5, 6, 8, 30, 0, tzinfo=UTC)
T2 = datetime(2025, 5, 6, 9, 45, 10, tzinfo=UTC)
T3 = datetime(2025, 5, 7, 14, 0, 59, tzinfo=UTC)


@dataclass
class FakeCard:
    root: Path
    first: Path  # libx264 2 s 320x240, recorded T1
    second: Path  # mpeg4 MOV 1 s 176x144, recorded T2
    third: Path  # libx264 3 s 640x360, recorded T3
    copy: Path  # the same bytes as ``first`` under another name
    truncated: Path
    bogus: Path  # named .MP4, not a video
    notes: Path  # not a video, not named like one


def build_card(root: Path) -> FakeCard:
    media = root / "DCIM" / "100MEDIA"
    first = make_video(media / "GLS_0001.MP4", seconds=2.0, width=320, height=240,
                       codec="libx264", creation_time=T1, device_id="glasses-A1", seed=1)
    second = make_video(media / "GLS_0002.MOV", seconds=1.0, width=176, height=144, fps=30,
                        codec="mpeg4", creation_time=T2, device_id="glasses-A1", seed=2)
    third = make_video(media / "GLS_0003.MP4", seconds=3.0, width=640, height=360,
                       codec="libx264", creation_time=T3, device_id="glasses-A1", seed=3)
    copy = root / "DCIM" / "101MEDIA" / "BACKUP_0001.MP4"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(first, copy)
    truncated = media / "GLS_0004.MP4"
    full = make_video(root.parent / ".sources" / f"{root.name}.mp4", seconds=2.0, seed=4)
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    bogus = media / "GLS_0005.MP4"
    bogus.write_bytes(b"this is not a video\n" * 40)
    notes = root / "DCIM" / "NOTES.TXT"
    notes.write_text("shift notes\n")
    (root / ".Trashes").mkdir()
    return FakeCard(root, first, second, third, copy, truncated, bogus, notes)


@pytest.fixture
def card(tmp_path: Path) -> FakeCard:
    return build_card(tmp_path / "mounts" / "GLASSES_SD")


def by_name(clips: list[CardClip]) -> dict[str, CardClip]:
    return {c.name: c for c in clips}


# --- detection ---------------------------------------------------------------------------------


def test_recognise_cards(tmp_path: Path, card: FakeCard) -> None:
    found = recognise_card(card.root)
    assert found is not None and found.reason == "DCIM folder" and found.label == "GLASSES_SD"
    top = tmp_path / "mounts" / "USBSTICK"
    make_video(top / "clip.mkv", seconds=0.2)
    usb = recognise_card(top)
    assert usb is not None and usb.reason == "videos at the top level"
    nested = tmp_path / "mounts" / "CAM2"
    make_video(nested / "video" / "2025" / "a.mp4", seconds=0.2)
    assert recognise_card(nested) is not None  # "video" matched case-insensitively
    docs = tmp_path / "mounts" / "DOCS"
    (docs / "papers").mkdir(parents=True)
    (docs / "papers" / "a.pdf").write_bytes(b"%PDF")
    assert recognise_card(docs) is None
    assert recognise_card(tmp_path / "missing") is None


def test_mount_roots_per_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "nurse")
    assert mount_roots("linux") == [Path("/media/nurse"), Path("/run/media/nurse"),
                                    Path("/media"), Path("/mnt")]
    assert mount_roots("darwin") == [Path("/Volumes")]
    assert mount_roots("win32") == []


def test_injected_roots_by_parameter_and_environment(tmp_path: Path, card: FakeCard) -> None:
    mounts = card.root.parent
    cards = find_cards([mounts], environ={}, include_system=False)
    assert [c.root for c in cards] == [card.root]
    # The card root itself can be injected too, and through MEDISPECS_CARD_ROOTS.
    env = {ENV_CARD_ROOTS: os.pathsep.join(["", str(card.root), str(tmp_path / "nope")])}
    assert [c.root for c in find_cards(environ=env, include_system=False)] == [card.root]
    vols = candidate_volumes([mounts, mounts], environ=env, include_system=False)
    assert vols.count(card.root) == 1


def test_watcher_reports_insert_and_remove(tmp_path: Path) -> None:
    mounts = tmp_path / "media"
    mounts.mkdir()
    watcher = CardWatcher([mounts], environ={}, include_system=False)
    assert watcher.poll() == ([], [])
    (mounts / "EMPTY_USB").mkdir()  # a volume without recordings is not a card
    assert watcher.poll() == ([], [])
    built = build_card(mounts / "SD_A")
    inserted, removed = watcher.poll()
    assert [c.root for c in inserted] == [built.root] and removed == []
    assert watcher.poll() == ([], [])
    assert [c.label for c in watcher.cards] == ["SD_A"]
    shutil.rmtree(built.root)
    inserted, removed = watcher.poll()
    assert inserted == [] and [c.root for c in removed] == [built.root]
    assert watcher.cards == []


def test_watcher_reads_environment_each_poll(tmp_path: Path, card: FakeCard) -> None:
    env: dict[str, str] = {}
    watcher = CardWatcher(environ=env, include_system=False)
    assert watcher.poll() == ([], [])
    env[ENV_CARD_ROOTS] = str(card.root.parent)
    assert [c.root for c in watcher.poll()[0]] == [card.root]


# --- scanning ----------------------------------------------------------------------------------


def test_scan_card_lists_every_clip_with_real_metadata(card: FakeCard) -> None:
    clips = scan_card(card.root)
    names = by_name(clips)
    assert set(names) == {"GLS_0001.MP4", "GLS_0002.MOV", "GLS_0003.MP4", "BACKUP_0001.MP4",
                          "GLS_0004.MP4", "GLS_0005.MP4"}  # NOTES.TXT is not a clip
    first = names["GLS_0001.MP4"]
    assert first.relpath == "DCIM/100MEDIA/GLS_0001.MP4"
    assert first.size_bytes == card.first.stat().st_size
    assert first.recorded_at == "2025-05-06T08:30:00Z"
    assert first.duration_sec == pytest.approx(2.0, abs=1 / 25)
    assert first.info is not None and first.info.codec == "h264"
    assert first.info.device_id == "glasses-A1"
    assert first.fingerprint == fingerprint(card.first)
    second = names["GLS_0002.MOV"]
    assert second.info is not None
    assert (second.info.codec, second.info.width, second.info.height) == ("mpeg4", 176, 144)
    assert second.info.mime_type == "video/quicktime"
    assert second.duration_sec == pytest.approx(1.0, abs=1 / 30)
    third = names["GLS_0003.MP4"]
    assert third.recorded_at == "2025-05-07T14:00:59Z"
    assert third.duration_sec == pytest.approx(3.0, abs=1 / 25)
    for bad in ("GLS_0004.MP4", "GLS_0005.MP4"):
        assert names[bad].status is ClipStatus.UNREADABLE
        error = names[bad].error
        assert error and bad in error
        assert not names[bad].readable
    # oldest first; unreadable (no recorded time) last
    assert [c.name for c in clips] == ["GLS_0001.MP4", "BACKUP_0001.MP4", "GLS_0002.MOV",
                                       "GLS_0003.MP4", "GLS_0004.MP4", "GLS_0005.MP4"]


def test_scan_card_refuses_a_missing_card(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="removed"):
        scan_card(tmp_path / "pulled")


# --- classification ----------------------------------------------------------------------------


class DictCloud:
    """The duplicate index as the API answers it (contract §1 POST /videos/duplicates)."""

    def __init__(self) -> None:
        self.by_sha: dict[str, str] = {}
        self.by_fp: dict[str, str] = {}
        self.calls: list[tuple[list[str], list[str]]] = []

    def add(self, path: Path, video_id: str) -> None:
        self.by_sha[sha256_hex(path)] = video_id
        self.by_fp[fingerprint(path)] = video_id

    def __call__(self, *, sha256s: Any = (), fingerprints: Any = ()) -> list[dict[str, Any]]:
        assert len(sha256s) <= 100 and len(fingerprints) <= 100
        self.calls.append((list(sha256s), list(fingerprints)))
        out: list[dict[str, Any]] = [{"sha256": s, "videoId": self.by_sha[s]}
                                     for s in sha256s if s in self.by_sha]
        out += [{"fingerprint": f, "videoId": self.by_fp[f]} for f in fingerprints
                if f in self.by_fp]
        return out


def test_classify_new_queued_in_cloud_and_duplicate(card: FakeCard) -> None:
    clips = scan_card(card.root)
    cloud = DictCloud()
    cloud.add(card.third, "v_third")
    result = by_name(classify(clips, queued_fingerprints={fingerprint(card.second)},
                              find_duplicates=cloud))
    assert result["GLS_0002.MOV"].status is ClipStatus.QUEUED
    assert result["GLS_0003.MP4"].status is ClipStatus.IN_CLOUD
    assert result["GLS_0003.MP4"].video_id == "v_third"
    assert result["GLS_0003.MP4"].sha256 == sha256_hex(card.third)
    orig, dup = result["GLS_0001.MP4"], result["BACKUP_0001.MP4"]
    assert (orig.status, dup.status) == (ClipStatus.NEW, ClipStatus.DUPLICATE)
    assert dup.duplicate_of == "DCIM/100MEDIA/GLS_0001.MP4"
    assert result["GLS_0004.MP4"].status is ClipStatus.UNREADABLE
    # Only the clip whose fingerprint matched was hashed in full.
    assert result["GLS_0002.MOV"].sha256 is None and orig.sha256 is None


def test_classify_clip_already_in_cloud_under_another_name(card: FakeCard) -> None:
    cloud = DictCloud()
    cloud.add(card.first, "v_first")
    result = by_name(classify(scan_card(card.root), find_duplicates=cloud))
    assert result["GLS_0001.MP4"].status is ClipStatus.IN_CLOUD
    assert result["BACKUP_0001.MP4"].status is ClipStatus.IN_CLOUD
    assert {result["GLS_0001.MP4"].video_id, result["BACKUP_0001.MP4"].video_id} == {"v_first"}
    assert result["GLS_0003.MP4"].status is ClipStatus.NEW


def test_fingerprint_match_without_sha256_match_stays_new(card: FakeCard) -> None:
    cloud = DictCloud()
    cloud.by_fp[fingerprint(card.third)] = "v_other"  # same fingerprint, other content
    result = by_name(classify(scan_card(card.root), find_duplicates=cloud))
    assert result["GLS_0003.MP4"].status is ClipStatus.NEW
    fast = by_name(classify(scan_card(card.root), find_duplicates=cloud,
                            confirm_with_sha256=False))
    assert fast["GLS_0003.MP4"].status is ClipStatus.IN_CLOUD


def test_classify_offline_and_card_pulled_while_hashing(card: FakeCard) -> None:
    clips = scan_card(card.root)
    offline = by_name(classify(clips))
    assert offline["GLS_0003.MP4"].status is ClipStatus.NEW
    cloud = DictCloud()
    cloud.add(card.third, "v_third")

    def pulled(path: Path) -> str:
        raise FileNotFoundError(2, "No such file or directory", str(path))

    result = by_name(classify(clips, find_duplicates=cloud, sha256_of=pulled))
    assert result["GLS_0003.MP4"].status is ClipStatus.UNREADABLE
    assert "card removed" in str(result["GLS_0003.MP4"].error)


def test_classify_batches_lookups(tmp_path: Path) -> None:
    root = tmp_path / "BIG"
    src = make_video(tmp_path / "src.mp4", seconds=0.2)
    data = src.read_bytes()
    for i in range(130):  # distinct files (one trailing byte differs)
        target = root / "DCIM" / f"C{i:04d}.MP4"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data + i.to_bytes(2, "big"))
    clips = scan_card(root)
    assert len(clips) == 130 and all(c.readable for c in clips)
    cloud = DictCloud()
    classify(clips, find_duplicates=cloud)
    assert [len(fps) for _, fps in cloud.calls] == [100, 30]


# --- verification and erasing ------------------------------------------------------------------


def record_for(path: Path, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"videoId": "v_x", "status": "ready",
                           "fileSizeBytes": path.stat().st_size, "sha256": sha256_hex(path),
                           "sha256Verified": True, "sha256VerifiedBy": "read",
                           "verifiedAt": "2025-05-06T10:00:00Z"}
    rec.update(over)
    return rec


def test_verify_in_cloud_rules(card: FakeCard) -> None:
    clip = by_name(scan_card(card.root))["GLS_0001.MP4"]
    sha = sha256_hex(card.first)
    assert verify_in_cloud(clip, record_for(card.first), local_sha256=sha).verified
    assert verify_in_cloud(clip, record_for(card.first, status="uploaded"),
                           local_sha256=sha).verified
    cases = {
        "no cloud record": None,
        "not confirmed": record_for(card.first, status="pending"),
        "size": record_for(card.first, fileSizeBytes=clip.size_bytes - 1),
        "no checksum": record_for(card.first, sha256=None),
        "differs": record_for(card.first, sha256="0" * 64),
        # The server could only rely on S3's part checksums: not proven, say why.
        "only its parts were checked": record_for(card.first, sha256Verified=False,
                                                  sha256VerifiedBy="parts", verifiedAt=None),
        "could not check the file's SHA-256": record_for(card.first, sha256Verified=False,
                                                         sha256VerifiedBy="none"),
        # A record made before the server checked anything, and flags that are not booleans.
        "no sha256Verified": record_for(card.first, sha256Verified=None,
                                        sha256VerifiedBy=None),
        "has not confirmed": record_for(card.first, sha256Verified="true"),
    }
    for words, rec in cases.items():
        check = verify_in_cloud(clip, rec, local_sha256=sha)
        assert not check.verified and words in check.reason, words
    assert not verify_in_cloud(clip, record_for(card.first)).verified  # no local hash yet
    parts = verify_in_cloud(clip, record_for(card.first, sha256Verified=False,
                                             sha256VerifiedBy="parts"), local_sha256=sha)
    assert parts.parts_only and parts.sha256_verified_by == "parts"
    assert "not proven safe to erase" in parts.reason
    ok = verify_in_cloud(clip, record_for(card.first), local_sha256=sha)
    assert ok.reason.startswith("verified in cloud") and "read the file back" in ok.reason
    assert not ok.parts_only and ok.sha256_verified_by == "read"


def test_safe_to_erase_says_why_a_parts_only_clip_blocks_the_card(card: FakeCard) -> None:
    clips = [c for c in scan_card(card.root) if c.path in (card.first, card.second)]
    records = {card.first: record_for(card.first),
               card.second: record_for(card.second, sha256Verified=False,
                                       sha256VerifiedBy="parts")}
    checks = {c.path: verify_in_cloud(c, records[c.path], local_sha256=sha256_hex(c.path))
              for c in clips}
    verdict = safe_to_erase(clips, checks)
    assert not verdict.safe and verdict.verified == [c for c in clips if c.path == card.first]
    assert verdict.message.startswith("Do not erase this card yet: 1 clip not yet verified")
    assert "GLS_0002.MOV: only its parts were checked in the cloud" in verdict.message
    assert "whole file's SHA-256" in verdict.message
    result = erase_verified(clips, checks, demo=False)
    assert result.deleted == [card.first] and card.second.exists()
    assert dict(result.kept)[card.second] == "not verified in the cloud"


def test_safe_to_erase_and_erase_only_verified(card: FakeCard) -> None:
    clips = scan_card(card.root)
    names = by_name(clips)
    readable = [c for c in clips if c.readable]
    verdict = safe_to_erase(clips, {c.path: True for c in readable})
    assert not verdict.safe and len(verdict.unreadable) == 2
    assert "2 files that could not be read" in verdict.message
    only_good = [c for c in clips if c.readable]
    assert safe_to_erase(only_good, {c.path: True for c in only_good}).safe
    assert "All 4 clips" in safe_to_erase(only_good, {c.path: True for c in only_good}).message
    partial = {names["GLS_0001.MP4"].path: CloudCheck(True, "verified in cloud"),
               names["GLS_0002.MOV"].path: CloudCheck(False, "no cloud record")}
    verdict = safe_to_erase(only_good, partial)
    assert not verdict.safe and len(verdict.pending) == 3
    assert "3 clips not yet verified" in verdict.message
    assert not safe_to_erase([], {}).safe

    with pytest.raises(CardError, match="demo"):
        erase_verified(clips, partial, demo=True)
    assert card.first.exists()

    # The verified clip was changed after verification: it must not be deleted.
    changed = names["GLS_0003.MP4"]
    verified: dict[Path, bool | CloudCheck] = dict(partial)
    verified[changed.path] = True
    with changed.path.open("r+b") as fh:
        fh.seek(changed.size_bytes - 10)
        fh.write(b"0123456789")
    verified[names["GLS_0004.MP4"].path] = True  # unreadable: never erased, whatever it says
    result = erase_verified(clips, verified, demo=False)
    assert result.deleted == [card.first]
    assert not card.first.exists()
    kept = dict(result.kept)
    assert "changed" in kept[changed.path]
    assert kept[names["GLS_0004.MP4"].path] == "not verified in the cloud"
    for path in (card.second, card.third, card.copy, card.truncated, card.bogus, card.notes):
        assert path.exists()
    assert (card.root / "DCIM" / "100MEDIA").is_dir() and (card.root / ".Trashes").is_dir()


def test_check_card_in_cloud_against_records(card: FakeCard) -> None:
    clips = [c for c in scan_card(card.root) if c.name in ("GLS_0001.MP4", "GLS_0002.MOV",
                                                           "GLS_0005.MP4")]
    cloud = DictCloud()
    cloud.add(card.first, "v_first")
    cloud.add(card.second, "v_second")
    records = {"v_first": record_for(card.first, videoId="v_first"),
               "v_second": record_for(card.second, videoId="v_second", status="pending")}
    checks = check_card_in_cloud(clips, find_duplicates=cloud, get_video=records.get)
    assert checks[card.first].verified and checks[card.first].video_id == "v_first"
    assert not checks[card.second].verified and "not confirmed" in checks[card.second].reason
    assert not checks[card.bogus].verified
    assert not safe_to_erase(clips, checks).safe


def test_scan_and_classify_survives_an_offline_cloud(card: FakeCard) -> None:
    from medispecs_desktop.core.card_scan import scan_and_classify
    from medispecs_desktop.core.errors import OfflineError

    def offline(**_: Any) -> list[dict[str, Any]]:
        raise OfflineError("The server cannot be reached.")

    result = scan_and_classify(card.root, queued_fingerprints=lambda: {fingerprint(card.second)},
                               find_duplicates=offline)
    assert not result.cloud_checked and result.note and "cannot be reached" in result.note
    names = by_name(result.clips)
    assert names["GLS_0002.MOV"].status is ClipStatus.QUEUED
    assert names["GLS_0003.MP4"].status is ClipStatus.NEW
    assert result.count(ClipStatus.UNREADABLE) == 2
    cloud = DictCloud()
    cloud.add(card.third, "v3")
    checked = scan_and_classify(card.root, find_duplicates=cloud)
    assert checked.cloud_checked and checked.note is None
    assert checked.count(ClipStatus.IN_CLOUD) == 1 and checked.count(ClipStatus.DUPLICATE) == 1


# --- through the real local stack (moto + gateway + handler) and the real upload engine ---------


def test_card_to_cloud_to_safe_to_erase_through_the_local_stack(
    local_stack: dict[str, Any], card: FakeCard, tmp_path: Path
) -> None:
    from medispecs_desktop.core.card_scan import scan_and_classify
    from medispecs_desktop.core.cards import QueueIndex, check_card_with_api
    from medispecs_desktop.core.models import INTEGRITY_VERIFIED, Video
    from medispecs_desktop.core.uploads.jobs import JobState
    from tests.support.stack import stack_session

    session = stack_session(local_stack, tmp_path / "queue.db")
    settings, api, engine = session.settings, session.api, session.engine

    # 1. Insert the card: nothing of it is queued or in the cloud yet (maybe from another run
    #    of this test in the same stack: then it is all in the cloud, which is also fine).
    first = scan_and_classify(card.root, queued=lambda: QueueIndex.from_jobs(engine.jobs()),
                              find_duplicates=api.find_duplicates)
    assert first.cloud_checked
    names = by_name(first.clips)
    assert names["BACKUP_0001.MP4"].status in (ClipStatus.DUPLICATE, ClipStatus.IN_CLOUD)
    to_import = [c.path for c in first.clips if c.status is ClipStatus.NEW]

    # 2. Import the new ones: they are queued (before any hashing) ...
    engine.add_paths(to_import)
    queued = scan_and_classify(card.root, queued=lambda: QueueIndex.from_jobs(engine.jobs()))
    assert {c.path for c in queued.clips if c.status is ClipStatus.QUEUED} == set(to_import)

    # 3. ... uploaded for real through pre-signed URLs ...
    engine.start()
    try:
        assert engine.wait_until(lambda jobs: all(j.state.is_terminal for j in jobs),
                                 timeout=60)
    finally:
        engine.stop()
    assert all(j.state is JobState.DONE for j in engine.jobs()), [j.error for j in engine.jobs()]

    # 4. ... and now every readable clip is in the cloud, the copy included (same bytes).
    after = scan_and_classify(card.root, queued=lambda: QueueIndex.from_jobs(engine.jobs()),
                              find_duplicates=api.find_duplicates)
    statuses = {c.name: c.status for c in after.clips}
    for name in ("GLS_0001.MP4", "BACKUP_0001.MP4", "GLS_0002.MOV", "GLS_0003.MP4"):
        assert statuses[name] is ClipStatus.IN_CLOUD, name
    record = api.get_video(str(by_name(after.clips)["GLS_0002.MOV"].video_id))
    assert record.recorded_at == "2025-05-06T09:45:10Z" and record.codec == "mpeg4"
    assert record.device_id == "glasses-A1"

    # 5. Verified in cloud (record, S3 size, SHA-256 checked by the server: moto keeps no PUT
    #    checksums, so the server read each object back) -> the readable clips are safe to
    #    erase, the card is not (two unreadable files would be lost).
    checks = check_card_with_api(after.clips, api)
    readable = [c for c in after.clips if c.readable]
    assert all(checks[c.path].verified for c in readable), checks
    for clip in readable:
        assert checks[clip.path].sha256_verified_by == "crc64nvme", checks[clip.path]
        video = api.get_video(str(checks[clip.path].video_id))
        assert video.sha256_verified is True and video.verified_at
        assert video.integrity == INTEGRITY_VERIFIED
    assert safe_to_erase(readable, checks).safe
    assert not safe_to_erase(after.clips, checks).safe

    # 6. The same real records as the server writes them when it cannot compare the whole file
    #    (too large to read back: only S3's part checksums, or nothing at all): not safe.
    target = by_name(readable)["GLS_0003.MP4"]
    target_id = str(checks[target.path].video_id)
    for by, words in (("parts", "only its parts were checked in the cloud"),
                      ("none", "could not check the file's SHA-256")):
        unproven = {**api.get_video(target_id).to_api(), "sha256Verified": False,
                    "sha256VerifiedBy": by}
        unproven.pop("verifiedAt", None)

        class Unproven:
            find_duplicates = api.find_duplicates

            @staticmethod
            def get_video(video_id: str, _rec: dict[str, Any] = unproven) -> Any:
                return Video.from_api(_rec) if video_id == target_id else api.get_video(video_id)

        unsafe = check_card_with_api(readable, Unproven())
        assert not unsafe[target.path].verified and words in unsafe[target.path].reason
        verdict = safe_to_erase(readable, unsafe)
        assert not verdict.safe and verdict.pending == [target]
        assert f"GLS_0003.MP4: {unsafe[target.path].reason}" in verdict.message
    with pytest.raises(CardError, match="demo"):
        erase_verified(after.clips, checks, demo=settings.demo)
    assert all(c.path.exists() for c in after.clips)
    result = erase_verified(after.clips, checks, demo=False)
    assert sorted(result.deleted) == sorted(c.path for c in readable)
    for path in (card.truncated, card.bogus, card.notes):
        assert path.exists()


def test_system_mount_roots_layout(tmp_path: Path) -> None:
    # A Linux-like layout: /media/$USER/<volume>, /media/<volume>, /mnt/<volume>.
    media, user_root, mnt = tmp_path / "media", tmp_path / "media" / "nurse", tmp_path / "mnt"
    a = build_card(user_root / "SD_USER")
    b = build_card(media / "SD_SHARED")
    make_video(mnt / "usb" / "VIDEO" / "x.mp4", seconds=0.2)
    (mnt / "backup").mkdir()
    roots = [user_root, media, mnt]
    volumes = candidate_volumes(environ={}, system_roots=roots)
    assert user_root not in volumes  # a mount root, not a volume
    assert {a.root, b.root, mnt / "usb", mnt / "backup"} <= set(volumes)
    cards = find_cards(environ={}, system_roots=roots)
    assert sorted(c.label for c in cards) == ["SD_SHARED", "SD_USER", "usb"]
    watcher = CardWatcher(environ={}, system_roots=roots)
    assert len(watcher.poll()[0]) == 3


def test_check_card_with_api_treats_a_deleted_record_as_missing(card: FakeCard) -> None:
    from medispecs_desktop.core.cards import check_card_with_api
    from medispecs_desktop.core.errors import NotFoundError
    from medispecs_desktop.core.models import Video

    cloud = DictCloud()
    cloud.add(card.first, "v_gone")
    cloud.add(card.second, "v_here")
    second = Video(video_id="v_here", title="b", recorded_at="2025-05-06T09:45:10Z",
                   status="uploaded", file_size_bytes=card.second.stat().st_size,
                   sha256=sha256_hex(card.second), sha256_verified=True,
                   sha256_verified_by="checksum")

    class Api:
        find_duplicates = cloud

        def get_video(self, video_id: str) -> Video:
            if video_id == "v_here":
                return second
            raise NotFoundError("gone", status=404)

    clips = [c for c in scan_card(card.root) if c.path in (card.first, card.second)]
    checks = check_card_with_api(clips, Api())
    assert not checks[card.first].verified and checks[card.first].reason == "no cloud record"
    assert checks[card.second].verified and checks[card.second].video_id == "v_here"
