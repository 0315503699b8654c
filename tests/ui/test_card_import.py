"""The card import dialog (real widgets via pytest-qt, real TaskRunner threads, real clips)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from medispecs_desktop.core.card_scan import scan_and_classify
from medispecs_desktop.core.cards import (
    CardClip,
    ClipStatus,
    check_card_in_cloud,
    erase_verified,
    sha256_hex,
)
from medispecs_desktop.core.hashing import fingerprint
from medispecs_desktop.core.uploads.jobs import Job, JobState
from medispecs_desktop.local.samples import make_video
from medispecs_desktop.ui.card_import import (
    COL_NAME,
    COL_RECORDED,
    COL_SELECT,
    COL_SIZE,
    COL_STATUS,
    COL_THUMB,
    CardImportDialog,
)
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.task_spy import TaskSpy

T0 = datetime(2025, 6, 1, 7, 0, 0, tzinfo=UTC)


class DictCloud:
    """The cloud's duplicate index and records, answering like the API (contract §1)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def upload(self, path: Path, video_id: str, status: str = "ready",
               verified_by: str = "read") -> None:
        """A record as the server writes it; ``verified_by`` "parts"/"none" = the server could
        not compare the whole file's SHA-256 (``sha256Verified: false``)."""
        verified = verified_by in ("read", "checksum")
        self.records[video_id] = {"videoId": video_id, "status": status,
                                  "fileSizeBytes": path.stat().st_size,
                                  "sha256": sha256_hex(path), "fingerprint": fingerprint(path),
                                  "sha256Verified": verified, "sha256VerifiedBy": verified_by}

    def find_duplicates(self, *, sha256s: Any = (), fingerprints: Any = ()) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for rec in self.records.values():
            if rec["sha256"] in sha256s:
                out.append({"sha256": rec["sha256"], "videoId": rec["videoId"]})
            if rec["fingerprint"] in fingerprints:
                out.append({"fingerprint": rec["fingerprint"], "videoId": rec["videoId"]})
        return out

    def verify(self, clips: Any) -> Any:
        return check_card_in_cloud(clips, find_duplicates=self.find_duplicates,
                                   get_video=self.records.get)


@pytest.fixture
def tasks(qtbot: QtBot) -> Iterator[TaskRunner]:
    runner = TaskRunner({"api": 1, "uploads": 1, "media": 1})
    yield runner
    runner.shutdown(timeout=5)


def card_with(root: Path, *, broken: bool) -> dict[str, Path]:
    media = root / "DCIM" / "100MEDIA"
    files = {
        "new": make_video(media / "GLS_0101.MP4", seconds=1.0, codec="libx264",
                          creation_time=T0, device_id="gl-1", seed=11),
        "queued": make_video(media / "GLS_0102.MOV", seconds=0.8, codec="mpeg4", width=176,
                             height=144, creation_time=T0.replace(minute=5), seed=12),
        "cloud": make_video(media / "GLS_0103.MP4", seconds=1.2, codec="libx264",
                            creation_time=T0.replace(minute=9), seed=13),
    }
    files["copy"] = root / "DCIM" / "101MEDIA" / "COPY_0101.MP4"
    files["copy"].parent.mkdir(parents=True)
    shutil.copyfile(files["new"], files["copy"])
    (root / "DCIM" / "README.TXT").write_text("not a clip")
    if broken:
        whole = make_video(root.parent / "src" / "w.mp4", seconds=1.0)
        files["broken"] = media / "GLS_0104.MP4"
        files["broken"].write_bytes(whole.read_bytes()[:2000])
    return files


def open_dialog(qtbot: QtBot, tasks: TaskRunner, root: Path, cloud: DictCloud, queued: set[str],
                queue_log: list[list[Path]], *, demo: bool = False) -> CardImportDialog:
    dialog = CardImportDialog(
        "GLASSES_SD",
        tasks=tasks,
        scan=lambda: scan_and_classify(root, queued_fingerprints=lambda: queued,
                                       find_duplicates=cloud.find_duplicates),
        queue_paths=queue_log.append,
        verify=cloud.verify,
        erase=lambda clips, checks: erase_verified(clips, checks, demo=demo),
        demo=demo,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.table.rowCount() > 0, timeout=15000)
    readable = sum(1 for c in dialog.clips if c.readable)
    qtbot.waitUntil(lambda: dialog.thumbnails_done == readable, timeout=15000)
    return dialog


def row_of(dialog: CardImportDialog, path: Path) -> int:
    return next(i for i, c in enumerate(dialog.clips) if c.path == path)


def job(path: Path, state: JobState, **kw: Any) -> Job:
    size = path.stat().st_size if path.exists() else 0
    return Job(id=1, user_id="u", path=path, size=size, mtime_ns=0,
               video_id=kw.pop("video_id", "v_1"), state=state, **kw)


def test_dialog_lists_and_classifies_every_clip(qtbot: QtBot, tasks: TaskRunner,
                                                tmp_path: Path) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=True)
    cloud = DictCloud()
    cloud.upload(files["cloud"], "v_cloud")
    queue_log: list[list[Path]] = []
    dialog = open_dialog(qtbot, tasks, root, cloud, {fingerprint(files["queued"])}, queue_log)

    assert dialog.table.rowCount() == 5  # README.TXT is not a clip
    expected = {"new": ClipStatus.NEW, "queued": ClipStatus.QUEUED,
                "cloud": ClipStatus.IN_CLOUD, "copy": ClipStatus.DUPLICATE,
                "broken": ClipStatus.UNREADABLE}
    for key, status in expected.items():
        row = row_of(dialog, files[key])
        assert dialog.status_of(files[key]) is status, key
        item = dialog.table.item(row, COL_STATUS)
        assert item is not None and item.data(Qt.ItemDataRole.UserRole) == status.value
    table = dialog.table
    new_row = row_of(dialog, files["new"])
    assert table.item(new_row, COL_NAME).text() == "DCIM/100MEDIA/GLS_0101.MP4"  # type: ignore[union-attr]
    local = T0.astimezone().strftime("%Y-%m-%d %H:%M")
    assert table.item(new_row, COL_RECORDED).text() == local  # type: ignore[union-attr]
    assert table.item(new_row, COL_SIZE).text().endswith("KB")  # type: ignore[union-attr]
    assert "same as GLS_0101.MP4" in table.item(row_of(dialog, files["copy"]), COL_STATUS).text()  # type: ignore[union-attr]
    broken_status = table.item(row_of(dialog, files["broken"]), COL_STATUS).text()  # type: ignore[union-attr]
    assert broken_status.startswith("Unreadable") and "GLS_0104.MP4" in broken_status
    # Only the new clip is pre-selected; the duplicate can be ticked; others cannot.
    assert dialog.selected_paths() == [files["new"]]
    assert dialog.import_button.text() == "Import 1 clip"
    for key in ("queued", "cloud", "broken"):
        check = table.item(row_of(dialog, files[key]), COL_SELECT)
        assert check is not None and not check.flags() & Qt.ItemFlag.ItemIsUserCheckable
    dialog.set_checked(files["copy"], True)
    assert dialog.import_button.text() == "Import 2 clips"
    dialog.set_checked(files["copy"], False)
    # Thumbnails were cut from the clips in the background.
    for key in ("new", "queued", "cloud", "copy"):
        thumb = table.item(row_of(dialog, files[key]), COL_THUMB)
        pixmap = thumb.data(Qt.ItemDataRole.DecorationRole)  # type: ignore[union-attr]
        assert pixmap is not None and not pixmap.isNull() and pixmap.width() > 0
    assert "1 new" in dialog.title.text() and "1 unreadable" in dialog.title.text()
    # An unreadable clip means the card is never safe to erase.
    assert not dialog.erase_button.isVisible()


def test_import_upload_verify_and_erase(qtbot: QtBot, tasks: TaskRunner, tmp_path: Path) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=False)
    cloud = DictCloud()
    cloud.upload(files["cloud"], "v_cloud")
    queue_log: list[list[Path]] = []
    dialog = open_dialog(qtbot, tasks, root, cloud, {fingerprint(files["queued"])}, queue_log)

    with qtbot.waitSignal(dialog.imported, timeout=15000) as imported:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert queue_log == [[files["new"]]] and imported.args[0] == [files["new"]]
    assert dialog.status_of(files["new"]) is ClipStatus.QUEUED
    assert dialog.import_button.text() == "Import 0 clips" and not dialog.import_button.isEnabled()

    dialog.on_job_changed(job(files["new"], JobState.UPLOADING))
    assert dialog.status_of(files["new"]) is ClipStatus.UPLOADING
    assert "1 uploading" in dialog.title.text() and "new" not in dialog.title.text()
    dialog.on_job_changed(job(files["queued"], JobState.WAITING_SOURCE))
    status = dialog.table.item(row_of(dialog, files["queued"]), COL_STATUS)
    assert status is not None and "Waiting for the card" in status.text()
    dialog.on_job_changed(job(tmp_path / "elsewhere.mp4", JobState.DONE))  # not on this card

    # Both uploads finish: the cloud now has them; the dialog verifies and offers to erase.
    cloud.upload(files["new"], "v_new")
    cloud.upload(files["queued"], "v_queued")
    dialog.on_job_changed(job(files["new"], JobState.DONE, video_id="v_new"))
    assert not dialog.erase_button.isVisible()  # "queued" is still uploading
    dialog.on_job_changed(job(files["queued"], JobState.DONE, video_id="v_queued"))
    qtbot.waitUntil(lambda: dialog.erase_button.isVisible(), timeout=15000)
    for key in ("new", "queued", "cloud", "copy"):
        assert dialog.status_of(files[key]) is ClipStatus.VERIFIED, key
    # the title follows the clips (it used to keep saying "1 new" from the scan)
    assert dialog.title.text() == "4 clips on the card: 4 verified in the cloud."
    assert "All 4 clips" in dialog.safe_label.text() and "safe to erase" in dialog.safe_label.text()
    assert dialog.erase_button.text() == "Erase 4 verified clips…"

    seen: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(0, answer)
    with qtbot.waitSignal(dialog.erased, timeout=15000) as erased:
        qtbot.mouseClick(dialog.erase_button, Qt.MouseButton.LeftButton)
    assert seen and "Delete the 4 verified clips" in seen[0]
    assert sorted(erased.args[0]) == sorted(files[k] for k in ("new", "queued", "cloud", "copy"))
    assert not any(files[k].exists() for k in ("new", "queued", "cloud", "copy"))
    assert (root / "DCIM" / "README.TXT").exists()  # never anything else
    assert (root / "DCIM" / "100MEDIA").is_dir()
    assert "Erased 4 verified clips" in dialog.safe_label.text()


def test_cancel_in_confirmation_erases_nothing(qtbot: QtBot, tasks: TaskRunner,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=False)
    cloud = DictCloud()
    for key in ("new", "queued", "cloud"):
        cloud.upload(files[key], f"v_{key}")
    dialog = open_dialog(qtbot, tasks, root, cloud, set(), [])
    # Everything is already in the cloud: the dialog verifies at once.
    qtbot.waitUntil(lambda: dialog.erase_button.isVisible(), timeout=15000)
    assert dialog.import_button.text() == "Import 0 clips"

    def cancel() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        box.button(QMessageBox.StandardButton.Cancel).click()

    spy = TaskSpy(tasks, monkeypatch)
    QTimer.singleShot(0, cancel)
    qtbot.mouseClick(dialog.erase_button, Qt.MouseButton.LeftButton)
    # Cancel started no work (erasing runs on a pool), and nothing was erased meanwhile
    assert spy.tasks == []
    assert all(p.exists() for p in files.values())


def test_demo_mode_never_offers_to_erase(qtbot: QtBot, tasks: TaskRunner, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=False)
    cloud = DictCloud()
    for key in ("new", "queued", "cloud"):
        cloud.upload(files[key], f"v_{key}")
    dialog = open_dialog(qtbot, tasks, root, cloud, set(), [], demo=True)
    qtbot.waitUntil(lambda: "Demo mode" in dialog.safe_label.text(), timeout=15000)
    assert all(dialog.status_of(files[k]) is ClipStatus.VERIFIED for k in ("new", "cloud"))
    assert not dialog.erase_button.isVisible()
    assert "Demo mode" in dialog.note.text()
    spy = TaskSpy(tasks, monkeypatch)
    dialog.erase_verified_now()  # even called directly, nothing happens:
    assert spy.tasks == []  # no erase was started (it would run on a pool)...
    assert all(p.exists() for p in files.values())  # ...nor done on the spot


def test_unverified_clip_keeps_card_unsafe(qtbot: QtBot, tasks: TaskRunner,
                                           tmp_path: Path) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=False)
    cloud = DictCloud()
    cloud.upload(files["new"], "v_new")
    cloud.upload(files["cloud"], "v_cloud")
    cloud.upload(files["queued"], "v_queued", status="pending")  # bytes not confirmed
    dialog = open_dialog(qtbot, tasks, root, cloud, set(), [])
    qtbot.waitUntil(lambda: "Do not erase" in dialog.safe_label.text(), timeout=15000)
    assert "1 clip not yet verified" in dialog.safe_label.text()
    assert dialog.status_of(files["queued"]) is ClipStatus.IN_CLOUD
    status = dialog.table.item(row_of(dialog, files["queued"]), COL_STATUS)
    assert status is not None and "not confirmed" in status.text()
    assert not dialog.erase_button.isVisible()


def test_parts_only_clip_keeps_card_unsafe_and_says_why(qtbot: QtBot, tasks: TaskRunner,
                                                         tmp_path: Path) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=False)
    cloud = DictCloud()
    cloud.upload(files["new"], "v_new")
    cloud.upload(files["queued"], "v_queued", verified_by="checksum")
    cloud.upload(files["cloud"], "v_cloud", verified_by="parts")  # too large to read back
    dialog = open_dialog(qtbot, tasks, root, cloud, set(), [])
    qtbot.waitUntil(lambda: "Do not erase" in dialog.safe_label.text(), timeout=15000)
    text = dialog.safe_label.text()
    assert "1 clip not yet verified" in text
    assert "GLS_0103.MP4: only its parts were checked in the cloud" in text
    assert dialog.status_of(files["cloud"]) is ClipStatus.IN_CLOUD
    status = dialog.table.item(row_of(dialog, files["cloud"]), COL_STATUS)
    assert status is not None
    assert status.text() == "In cloud — parts checked only, not safe to erase"
    assert status.toolTip().startswith("Not verified in the cloud: only its parts were checked")
    assert "whole file's SHA-256" in status.toolTip()
    verified = dialog.table.item(row_of(dialog, files["queued"]), COL_STATUS)
    assert verified is not None and verified.text() == "Verified in cloud — SHA-256 checked"
    assert verified.toolTip() == ("Verified in cloud (SHA-256 checked by S3); the size and "
                                  "SHA-256 match this file")
    assert not dialog.erase_button.isVisible()


def test_scan_failure_is_shown(qtbot: QtBot, tasks: TaskRunner, tmp_path: Path) -> None:
    dialog = CardImportDialog(
        "GONE", tasks=tasks,
        scan=lambda: scan_and_classify(tmp_path / "pulled"),
        queue_paths=lambda paths: None,
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "could not be read" in dialog.title.text(), timeout=15000)
    assert "removed" in dialog.title.text()
    assert not dialog.import_button.isEnabled()


def test_card_removed_says_which_clips_still_need_it(qtbot: QtBot, tasks: TaskRunner,
                                                     tmp_path: Path) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=False)
    cloud = DictCloud()
    dialog = open_dialog(qtbot, tasks, root, cloud, {fingerprint(files["queued"])}, [])
    dialog.on_job_changed(job(files["queued"], JobState.UPLOADING))
    dialog.card_removed()
    text = dialog.note.text()
    assert "The card was removed" in text
    assert "1 clip still needs the card" in text and "GLS_0102.MOV" in text
    assert "Put the card back" in text
    assert "were not imported" in text
    assert not dialog.import_button.isEnabled() and dialog.selected_paths() == []
    # the upload finished after all (the part was read before the card went): the note no
    # longer asks for the card next to "uploaded"
    dialog.on_job_changed(job(files["queued"], JobState.DONE))
    text = dialog.note.text()
    assert "Put the card back" not in text and "still needs" not in text, text
    assert "No upload needs the card any more" in text


def test_counts_agree_with_their_nouns() -> None:
    from medispecs_desktop.core.cards import EraseVerdict
    from medispecs_desktop.core.formatting import agree, plural

    assert [plural(n, "clip") for n in (0, 1, 2)] == ["0 clips", "1 clip", "2 clips"]
    assert plural(2, "copy", "copies") == "2 copies" and agree(1, "is", "are") == "is"
    one = CardClip(Path("/SD/GLS_1.MP4"), "GLS_1.MP4", 1, 0.0)
    two = [one, CardClip(Path("/SD/GLS_2.MP4"), "GLS_2.MP4", 1, 0.0)]
    assert EraseVerdict(True, verified=[one]).message.startswith(
        "The 1 clip on this card is verified")
    assert EraseVerdict(True, verified=two).message.startswith(
        "All 2 clips on this card are verified")
    assert "1 clip not yet verified" in EraseVerdict(False, pending=[one]).message


def test_card_monitor_emits_inserted_and_removed(qtbot: QtBot, tasks: TaskRunner,
                                                 tmp_path: Path) -> None:
    from medispecs_desktop.core.cards import CardWatcher
    from medispecs_desktop.ui.card_import import CardMonitor

    mounts = tmp_path / "media"
    mounts.mkdir()
    monitor = CardMonitor(tasks, CardWatcher([mounts], environ={}, include_system=False),
                          interval_ms=100)
    inserted: list[Any] = []
    removed: list[Any] = []
    monitor.inserted.connect(inserted.append)
    monitor.removed.connect(removed.append)
    monitor.start()
    card_with(mounts / "SD_B", broken=False)
    qtbot.waitUntil(lambda: len(inserted) == 1, timeout=15000)
    assert inserted[0].root == mounts / "SD_B" and inserted[0].reason == "DCIM folder"
    shutil.rmtree(mounts / "SD_B")
    qtbot.waitUntil(lambda: len(removed) == 1, timeout=15000)
    assert removed[0].label == "SD_B" and monitor.cards == []
    monitor.stop()


def test_dialog_with_the_real_engine_and_local_stack(
    qtbot: QtBot, tasks: TaskRunner, tmp_path: Path, local_stack: dict[str, Any],
    clip_seed: Callable[[], int],
) -> None:
    """Import -> upload -> verified in cloud -> "safe to erase" (demo: never erased)."""
    from medispecs_desktop.core.cards import QueueIndex, check_card_with_api
    from tests.support.stack import stack_session

    session = stack_session(local_stack, tmp_path / "queue.db")
    settings, api, engine = session.settings, session.api, session.engine
    root = tmp_path / "SD"
    media_dir = root / "DCIM" / "100MEDIA"
    # Content of this test's own (deterministic seed) so the clips are new to the stack.
    seed = clip_seed()
    clips = [make_video(media_dir / f"UI_{i}.MP4", seconds=0.6, seed=seed + i,
                        creation_time=T0.replace(minute=i)) for i in range(2)]
    dialog = CardImportDialog(
        "SD", tasks=tasks,
        scan=lambda: scan_and_classify(root, queued=lambda: QueueIndex.from_jobs(engine.jobs()),
                                       find_duplicates=api.find_duplicates),
        queue_paths=engine.add_paths,
        verify=lambda cs: check_card_with_api(cs, api),
        erase=lambda cs, checks: erase_verified(cs, checks, demo=settings.demo),
        demo=settings.demo,
    )
    qtbot.addWidget(dialog)
    dialog.follow_jobs(engine.subscribe_jobs, tasks.call_soon)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=15000)
    assert [dialog.status_of(p) for p in clips] == [ClipStatus.NEW, ClipStatus.NEW]
    engine.start()
    try:
        with qtbot.waitSignal(dialog.imported, timeout=15000):
            qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: all(dialog.status_of(p) is ClipStatus.VERIFIED for p in clips),
                        timeout=60000)
    finally:
        engine.stop()
    qtbot.waitUntil(lambda: "All 2 clips" in dialog.safe_label.text(), timeout=15000)
    assert "Demo mode" in dialog.safe_label.text()
    for path in clips:  # S3 checked each clip's full-object CRC64NVME at completion
        status = dialog.table.item(row_of(dialog, path), COL_STATUS)
        assert status is not None and status.text() == "Verified in cloud — SHA-256 checked"
        assert "S3 checked the whole file's checksum" in status.toolTip()
    assert not dialog.erase_button.isVisible()
    assert all(p.exists() for p in clips)
    dialog.close()


def test_auto_import_queues_new_clips_at_once(qtbot: QtBot, tasks: TaskRunner,
                                              tmp_path: Path) -> None:
    root = tmp_path / "SD"
    files = card_with(root, broken=True)
    queue_log: list[list[Path]] = []
    dialog = CardImportDialog(
        "SD", tasks=tasks, scan=lambda: scan_and_classify(root),
        queue_paths=queue_log.append, auto_import=True,
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.imported, timeout=15000):
        pass
    # Every new clip, but not the duplicate (same bytes as GLS_0101) nor the broken file.
    assert queue_log == [[files["new"], files["queued"], files["cloud"]]]
    assert dialog.status_of(files["new"]) is ClipStatus.QUEUED
    assert dialog.status_of(files["copy"]) is ClipStatus.DUPLICATE
    assert "Not checked against the cloud" in dialog.note.text()


def test_status_column_and_import_button_are_fully_visible(
    qtbot: QtBot, tasks: TaskRunner, tmp_path: Path,
) -> None:
    """At the dialog's own size the Status column (what a clinician reads: new, unreadable
    and why) is on screen, not behind a horizontal scroll bar after a stretched File column;
    the bold default button shows its whole text (it read "mport 2 clip")."""
    from PySide6.QtGui import QFont, QFontMetrics

    root = tmp_path / "card"
    files = card_with(root, broken=True)
    dialog = open_dialog(qtbot, tasks, root, DictCloud(), set(), [])
    table = dialog.table
    qtbot.waitUntil(lambda: table.horizontalHeader().length() > 0)
    right_edge = table.columnViewportPosition(COL_STATUS) + table.columnWidth(COL_STATUS)
    assert right_edge <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()
    status = table.item(row_of(dialog, files["broken"]), COL_STATUS)
    assert status is not None
    assert status.text().startswith("Unreadable") and status.toolTip()
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

    option = QStyleOptionViewItem()
    delegate = table.itemDelegateForColumn(COL_STATUS)
    assert isinstance(delegate, QStyledItemDelegate)
    delegate.initStyleOption(option, table.indexFromItem(status))
    assert option.textElideMode == Qt.TextElideMode.ElideRight  # "Unreadable: why…" stays
    assert "FFmpeg" not in status.toolTip()  # words for a clinician
    name = table.item(row_of(dialog, files["new"]), COL_NAME)
    assert name is not None and name.toolTip() == str(files["new"])
    font = QFont(dialog.import_button.font())
    font.setBold(True)
    needed = QFontMetrics(font).horizontalAdvance(dialog.import_button.text()) + 28
    assert dialog.import_button.width() >= needed


def test_files_that_are_not_clips_are_named_in_the_card_window(
        qtbot: QtBot, tasks: TaskRunner, tmp_path: Path) -> None:
    # a NOTES.TXT on the card went unmentioned: was it uploaded? lost? (issue 13 #20)
    root = tmp_path / "SD"
    make_video(root / "DCIM" / "100MEDIA" / "GLS_0201.MP4", seconds=0.5, seed=21)
    (root / "NOTES.TXT").write_text("left knee, follow-up in 2 weeks")
    (root / ".DS_Store").write_bytes(b"\0")  # hidden system files are not worth a word
    dialog = open_dialog(qtbot, tasks, root, DictCloud(), set(), [])
    assert dialog.table.rowCount() == 1
    assert dialog.other_files.isVisible()
    assert dialog.other_files.text() == (
        "Also on this card, not uploaded (1 file that is not a video): NOTES.TXT.")

    many = tmp_path / "SD2"
    make_video(many / "DCIM" / "100MEDIA" / "GLS_0301.MP4", seconds=0.5, seed=22)
    for name in ("A.TXT", "B.TXT", "MISC/C.DAT", "MISC/D.DAT", "E.TXT"):
        (many / name).parent.mkdir(parents=True, exist_ok=True)
        (many / name).write_text("x")
    second = open_dialog(qtbot, tasks, many, DictCloud(), set(), [])
    assert second.other_files.text() == (
        "Also on this card, not uploaded (5 files that are not videos): "
        "A.TXT, B.TXT, E.TXT and 2 more.")
    assert second.other_files.toolTip().splitlines() == [
        "A.TXT", "B.TXT", "E.TXT", "MISC/C.DAT", "MISC/D.DAT"]

    # a card of clips only: no line
    clean = tmp_path / "SD3"
    make_video(clean / "DCIM" / "100MEDIA" / "GLS_0401.MP4", seconds=0.5, seed=23)
    third = open_dialog(qtbot, tasks, clean, DictCloud(), set(), [])
    assert not third.other_files.isVisible()
