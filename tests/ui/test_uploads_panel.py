"""The upload queue panel on the real main window (pytest-qt, offscreen) against the real local
stack: drag-and-drop of a folder, skipped files with reasons, uploads to done and into the
library, pause/resume/cancel/retry/upload-next/remove from the panel, failure notifications,
status-bar totals, 200 files dropped at once without freezing the GUI, the model under
qtmodeltester, and SD-card import opening from an injected card root."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QElapsedTimer, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.core.uploads.jobs import Job, JobState
from medispecs_desktop.core.uploads.progress import JobProgress, ProgressSnapshot
from medispecs_desktop.ui.app import AppContext, AppController, install_views
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.uploads import (
    COL_ERROR,
    COL_FINISH,
    COL_PROGRESS,
    COL_SPEED,
    COL_STATE,
    PROGRESS_ROLE,
    UploadsModel,
    UploadsPanel,
    format_finish,
    quit_question,
)
from tests.support.task_spy import TaskSpy

Shell = tuple[AppContext, MainWindow, AppController]


@pytest.fixture
def stack_settings(local_stack: dict[str, Any]) -> Settings:
    # demo=True: an in-memory token store (no keyring needed), as the app runs the local stack
    return Settings(
        api_url=local_stack["apiUrl"], region=local_stack["region"],
        user_pool_id=local_stack["userPoolId"], client_id=local_stack["clientId"],
        cognito_endpoint=local_stack["awsEndpoint"], demo=True)


@pytest.fixture
def shell(qtbot: Any, stack_settings: Settings, local_stack: dict[str, Any]) -> Iterator[Shell]:
    """The real app shell (window + views + controller), signed in as the demo user."""
    paths = Paths.default().ensure()
    ctx = AppContext(stack_settings, paths)
    window = MainWindow(ctx.qsettings)
    # pytest-qt closes the window before this fixture's shutdown: queued uploads must not
    # make it wait for an answer to "Quit now?"
    qtbot.addWidget(window, before_close_func=lambda w: setattr(w, "ask_before_closing", False))
    install_views(window, ctx)
    controller = AppController(ctx, window)
    controller.show_window()
    assert ctx.auth is not None
    user = ctx.auth.sign_in(local_stack["username"], local_stack["password"])
    controller._signed_in(user)  # what the sign-in dialog does on success
    panel = window.uploads_view
    assert isinstance(panel, UploadsPanel)
    qtbot.waitUntil(lambda: panel.service.engine is not None, timeout=15_000)
    try:
        yield ctx, window, controller
    finally:
        controller.shutdown()


def panel_of(window: MainWindow) -> UploadsPanel:
    panel = window.uploads_view
    assert isinstance(panel, UploadsPanel)
    return panel


def drop(window: MainWindow, paths: list[Path]) -> None:
    """A real drag-enter + drop of file URLs on the window, as the platform delivers it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(window.width() // 2, window.height() // 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def states(window: MainWindow) -> list[JobState]:
    return [j.state for j in panel_of(window).model.jobs()]


# ----------------------------------------------------------------------------- end to end


def test_dropped_folder_uploads_into_the_library_with_totals_and_a_notification(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], tmp_path: Path,
    clip_seed: Callable[[], int],
) -> None:
    ctx, window, _controller = shell
    panel = panel_of(window)
    service = panel.service
    folder = tmp_path / "card"
    seed = clip_seed()
    clips = [make_video(f"card/DCIM/clip{i}.MP4", seconds=0.6, seed=seed + i) for i in range(2)]
    (folder / "notes.txt").write_text("not a video")
    window.uploads_dock.hide()

    started = time.monotonic()
    applied_before = service.applied
    drop(window, [folder])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=15_000)
    assert {j.path for j in panel.model.jobs()} == set(clips)
    assert window.uploads_dock.isVisible()  # the dock opens for new files
    # the text file is a harmless skip: one line in the panel (no window in the way), and
    # its "Details…" lists it with the reason in a non-modal window
    qtbot.waitUntil(lambda: panel.skipped_label.isVisibleTo(panel), timeout=5_000)
    assert "notes.txt" in panel.skipped_label.text() and panel.skipped_dialog is None
    panel.skipped_details.click()
    assert panel.skipped_dialog is not None and not panel.skipped_dialog.isModal()
    assert QApplication.activeModalWidget() is None
    assert panel.skipped_dialog.reasons() == {str(folder / "notes.txt"): "not a video file"}

    qtbot.waitUntil(lambda: states(window) == [JobState.DONE, JobState.DONE], timeout=60_000)
    service.flush()
    elapsed = time.monotonic() - started
    # progress reached the GUI at most ~10 times a second (plus the final flush)
    assert service.applied - applied_before <= elapsed * 10 + 3

    # total bar for the whole queue: 100 %
    total = sum(p.stat().st_size for p in clips)
    assert service.totals() == (2, 2, total, total)
    assert window.uploads_bar.value() == 1000
    assert window.uploads_label.text().startswith("Uploaded 2 of 2")
    model = panel.model
    for row in range(2):
        assert model.index(row, COL_PROGRESS).data(PROGRESS_ROLE) == 1.0
        assert model.index(row, COL_STATE).data() in ("Done", "Already in your library")

    # a desktop notification (status-bar fallback offscreen) says the batch finished
    assert service.notifier is not None
    notes = list(service.notifier.history)
    assert notes and notes[-1].title == "Uploads finished"
    assert notes[-1].via == "status bar"

    # the recordings are in the cloud, and the library shows them after its refresh
    assert ctx.api is not None
    cloud = {v.video_id for v in ctx.api.iter_videos()}
    video_ids = {j.video_id for j in model.jobs() if j.error_code != "duplicate"}
    assert video_ids <= cloud
    library = window.library_view.library
    qtbot.waitUntil(lambda: video_ids <= {v.video_id for v in library.model.videos},
                    timeout=15_000)


def test_panel_controls_drive_the_engine(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], tmp_path: Path,
    clip_seed: Callable[[], int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    _ctx, window, _controller = shell
    panel = panel_of(window)
    service = panel.service
    engine = service.engine
    confirmations: list[str] = []

    def answer_yes(text: str) -> bool:  # the Yes button
        confirmations.append(text)
        return True

    panel.confirm = answer_yes
    engine.stop()  # hold the queue still: this test is about control, not transfer
    seed = clip_seed()
    a, b, c = (make_video(f"ctl/{n}.mp4", seconds=0.5, seed=seed + i)
               for i, n in enumerate("abc"))
    bad = tmp_path / "ctl" / "broken.mp4"
    bad.write_bytes(b"this is not a video at all" * 100)
    window.files_chosen.emit([str(a), str(b), str(c)])  # File > Add files…
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=15_000)
    ids = {j.path.name: j.id for j in panel.model.jobs()}

    def engine_state(name: str) -> JobState:
        return engine.job(ids[name]).state

    def act(action: Any, name: str) -> None:
        panel.select_jobs([ids[name]])
        # the panel follows the engine within ~100 ms: the action enables for the row's state
        qtbot.waitUntil(action.isEnabled, timeout=5_000)
        action.trigger()

    # the library lists the queued recordings ("on this computer") until they are uploaded
    from medispecs_desktop.ui.library import COL_STATUS as LIBRARY_STATUS

    library = window.library_view.library  # type: ignore[attr-defined]
    job_a = panel.model.job(ids["a.mp4"])
    assert job_a is not None
    video_a = job_a.video_id

    def library_status(video_id: str) -> str:
        row = library.model.row_of(video_id)
        return "" if row < 0 else str(library.model.index(row, LIBRARY_STATUS).data())

    qtbot.waitUntil(lambda: all(library_status(j.video_id) for j in panel.model.jobs()),
                    timeout=10_000)
    assert library_status(video_a) == "On this computer: queued"

    act(panel.action_pause, "a.mp4")
    qtbot.waitUntil(lambda: engine_state("a.mp4") is JobState.PAUSED, timeout=10_000)
    qtbot.waitUntil(lambda: getattr(panel.model.job(ids["a.mp4"]), "state", None)
                    is JobState.PAUSED)
    row_a = panel.model.row_of(ids["a.mp4"])
    assert row_a is not None and panel.model.index(row_a, COL_STATE).data() == "Paused"
    assert library_status(video_a) == "On this computer: paused"
    act(panel.action_resume, "a.mp4")
    qtbot.waitUntil(lambda: engine_state("a.mp4") is JobState.QUEUED, timeout=10_000)

    act(panel.action_cancel, "b.mp4")
    qtbot.waitUntil(lambda: engine_state("b.mp4") is JobState.CANCELLED, timeout=10_000)
    assert confirmations and "b.mp4" in confirmations[0]
    asked: list[str] = []

    def answer_no(text: str) -> bool:  # "No": nothing happens
        asked.append(text)
        return False

    panel.confirm = answer_no
    spy = TaskSpy(panel.service.tasks, monkeypatch)
    panel.select_jobs([ids["c.mp4"]])
    qtbot.waitUntil(panel.action_cancel.isEnabled, timeout=5_000)
    before = spy.count()
    panel.action_cancel.trigger()
    # the question was asked and answered No, and the action handed no work to any pool (the
    # engine is only ever driven from one): nothing is left to happen later
    assert len(asked) == 1 and "c.mp4" in asked[0]
    assert spy.since(before) == []
    assert engine_state("c.mp4") is JobState.QUEUED

    act(panel.action_retry, "b.mp4")
    qtbot.waitUntil(lambda: engine_state("b.mp4") is JobState.QUEUED, timeout=10_000)

    act(panel.action_next, "c.mp4")
    qtbot.waitUntil(lambda: getattr(panel.model.job_at(0), "id", None) == ids["c.mp4"],
                    timeout=10_000)
    assert engine.jobs()[0].id == ids["c.mp4"]

    # the row's context menu offers the same actions
    panel.select_jobs([ids["a.mp4"]])
    panel.update_actions()
    menu = panel.context_menu()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert {"Pause", "Resume", "Cancel…", "Retry", "Upload next", "Remove", "Pause all",
            "Resume all"} <= set(texts)
    menu.deleteLater()

    panel.action_pause_all.trigger()
    qtbot.waitUntil(lambda: all(j.state is JobState.PAUSED for j in engine.jobs()),
                    timeout=10_000)
    window.files_chosen.emit([str(bad)])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4, timeout=10_000)
    ids["broken.mp4"] = next(j.id for j in panel.model.jobs() if j.path == bad)
    panel.action_resume_all.trigger()
    qtbot.waitUntil(lambda: all(j.state is JobState.QUEUED for j in engine.jobs()),
                    timeout=10_000)

    engine.start()  # now let them run: three upload, the broken one fails clearly
    qtbot.waitUntil(lambda: sorted(s.value for s in states(window))
                    == ["done", "done", "done", "failed"], timeout=60_000)
    row = panel.model.row_of(ids["broken.mp4"])
    assert row is not None
    error = panel.model.index(row, COL_ERROR).data()
    assert error and "video" in error.lower()
    assert service.notifier is not None
    titles = [n.title for n in service.notifier.history]
    assert "Upload failed" in titles
    failed_note = next(n for n in service.notifier.history if n.title == "Upload failed")
    assert "broken.mp4" in failed_note.text

    act(panel.action_retry, "broken.mp4")  # retried: it fails again, with the same reason
    qtbot.waitUntil(lambda: engine.job(ids["broken.mp4"]).attempts >= 1
                    and engine_state("broken.mp4") is JobState.FAILED, timeout=30_000)

    panel.action_remove_finished.trigger()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10_000)
    assert [j.id for j in engine.jobs()] == [ids["broken.mp4"]]
    # Delete in the queue removes the selected finished row
    panel.select_jobs([ids["broken.mp4"]])
    qtbot.waitUntil(panel.action_remove.isEnabled, timeout=5_000)
    window.activateWindow()
    panel.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.table, timeout=5_000)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=10_000)
    assert engine.jobs() == []
    assert window.uploads_label.text() == "No uploads"


def test_offline_online_and_sign_out_parks_the_queue_until_sign_in(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], local_stack: dict[str, Any],
    clip_seed: Callable[[], int],
) -> None:
    ctx, window, controller = shell
    panel = panel_of(window)
    engine = panel.service.engine
    engine.stop()
    clip = make_video("park/clip.mp4", seconds=0.5, seed=clip_seed())
    drop(window, [clip])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10_000)
    job_id = panel.model.jobs()[0].id

    # offline/online from the shell's indicator (QNetworkInformation + ping) reach the engine
    qtbot.waitUntil(lambda: ctx.online is True, timeout=15_000)
    ctx.set_online(False)
    qtbot.waitUntil(lambda: engine.reachability.online is False, timeout=5_000)
    engine.store.transition_all(engine.user_id, (JobState.QUEUED,), JobState.WAITING_NETWORK)
    ctx.set_online(True)
    qtbot.waitUntil(lambda: engine.job(job_id).state is JobState.QUEUED, timeout=5_000)
    assert engine.reachability.online is True

    controller.sign_out()
    assert panel.service.engine is None and ctx.engine is None
    assert panel.model.rowCount() == 0
    qtbot.waitUntil(lambda: engine.store.path.exists(), timeout=5_000)
    from medispecs_desktop.core.uploads.store import QueueStore

    def parked() -> bool:
        store = QueueStore(engine.store.path)
        try:
            return store.get(job_id, engine.user_id).state is JobState.WAITING_SIGN_IN
        finally:
            store.close()

    qtbot.waitUntil(parked, timeout=15_000)
    assert not panel.action_pause_all.isEnabled()

    assert ctx.auth is not None
    user = ctx.auth.sign_in(local_stack["username"], local_stack["password"])
    controller._signed_in(user)
    qtbot.waitUntil(lambda: panel.service.engine is not None, timeout=15_000)
    assert panel.service.engine is not engine
    qtbot.waitUntil(lambda: states(window) == [JobState.DONE], timeout=60_000)


def test_another_user_never_sees_or_runs_the_first_users_queue(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], local_stack: dict[str, Any],
    clip_seed: Callable[[], int],
) -> None:
    import boto3

    ctx, window, controller = shell
    panel = panel_of(window)
    first = panel.service.engine
    first.stop()
    drop(window, [make_video("mine/clip.mp4", seconds=0.5, seed=clip_seed())])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10_000)
    job_id = panel.model.jobs()[0].id

    username, password = f"nurse-{uuid.uuid4().hex[:8]}", "Second-user-pass-123"
    idp = boto3.client("cognito-idp", region_name=local_stack["region"],
                       endpoint_url=local_stack["awsEndpoint"])
    idp.admin_create_user(UserPoolId=local_stack["userPoolId"], Username=username,
                          MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=local_stack["userPoolId"], Username=username,
                                Password=password, Permanent=True)
    assert ctx.auth is not None
    other = ctx.auth.sign_in(username, password)
    controller._signed_in(other)  # even without a sign-out in between
    qtbot.waitUntil(lambda: panel.service.engine is not None
                    and panel.service.engine.user_id == other.sub, timeout=15_000)
    assert panel.model.rowCount() == 0 and panel.service.engine.jobs() == []
    from medispecs_desktop.core.uploads.store import QueueStore

    store = QueueStore(first.store.path)
    try:  # the first user's job is parked for their next sign-in, not run for this one
        qtbot.waitUntil(lambda: store.get(job_id, first.user_id).state
                        is JobState.WAITING_SIGN_IN, timeout=10_000)
    finally:
        store.close()


# ----------------------------------------------------------------------------- no freeze


def test_200_files_dropped_at_once_queue_without_freezing_the_gui(
    qtbot: Any, shell: Shell, tmp_path: Path,
) -> None:
    _ctx, window, _controller = shell
    panel = panel_of(window)
    panel.service.engine.stop()  # measure queueing, not uploading
    folder = tmp_path / "many"
    folder.mkdir()
    token = uuid.uuid4().bytes
    for i in range(200):  # distinct content each (the queue de-duplicates by file)
        (folder / f"clip{i:03d}.mp4").write_bytes(token + i.to_bytes(4, "big") * 64)

    gaps: list[float] = []  # wall time between two heartbeats (ms)
    busy: list[float] = []  # GUI-thread CPU time between two heartbeats (ms)
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed(), time.thread_time()]

    def beat() -> None:
        now, cpu = clock.elapsed(), time.thread_time()
        gaps.append(now - last[0])
        busy.append((cpu - last[1]) * 1000)
        last[:] = [now, cpu]

    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    drop(window, [folder])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 200, timeout=30_000)
    # the status-bar totals follow (throttled): wait for them, not a fixed 150 ms
    qtbot.waitUntil(lambda: window.uploads_label.text().startswith("Uploaded 0 of 200"),
                    timeout=10_000)
    heartbeat.stop()
    assert gaps, "the GUI thread beat while the files were queued"  # how often depends on speed
    # the GUI thread's own work between two beats stays small: CPU time, which a busy shared
    # machine does not inflate (bench_gui_uploads.py measures the wall-clock stalls)
    assert max(busy) < 100, f"GUI thread busy {max(busy):.0f} ms in one go"
    assert window.uploads_label.text().startswith("Uploaded 0 of 200")
    assert {j.state for j in panel.model.jobs()} == {JobState.QUEUED}


# ----------------------------------------------------------------------------- the model


def _job(job_id: int, position: float, state: JobState = JobState.QUEUED,
         size: int = 1000, **kw: Any) -> Job:
    return Job(id=job_id, user_id="u", path=Path(f"/videos/clip{job_id}.mp4"), size=size,
               mtime_ns=0, video_id=f"v_{job_id:026d}", state=state, position=position, **kw)


def test_model_is_a_valid_qt_model_through_inserts_moves_progress_and_removal(
    qtmodeltester: Any,
) -> None:
    now = datetime(2026, 1, 5, 10, 0, 0).astimezone()
    model = UploadsModel(now=lambda: now)
    model.set_jobs([_job(2, 2.0), _job(1, 1.0)])
    qtmodeltester.check(model)
    model.upsert_many([_job(3, 3.0), _job(4, 4.0), _job(1, 1.0, JobState.UPLOADING)])
    assert [j.id for j in model.jobs()] == [1, 2, 3, 4]
    model.upsert(_job(4, -1.0))  # upload next: moves to the front
    assert [j.id for j in model.jobs()] == [4, 1, 2, 3]
    model.apply_progress(ProgressSnapshot(
        jobs={1: JobProgress(1, 250, 1000, 2_500_000.0, 90.0)}, bytes_done=250,
        bytes_total=1000, speed_bps=2_500_000.0, eta_seconds=90.0, at=0.0))
    row = model.row_of(1)
    assert row == 1
    assert model.index(row, COL_PROGRESS).data() == "25%"
    assert model.index(row, COL_PROGRESS).data(PROGRESS_ROLE) == 0.25
    assert model.index(row, COL_SPEED).data() == "2.5 MB/s"
    assert model.index(row, COL_FINISH).data() == "10:01"
    model.upsert(_job(2, 2.0, JobState.FAILED, error="The file changed since it was queued"))
    assert model.index(model.row_of(2) or 0, COL_ERROR).data() == (
        "The file changed since it was queued")
    model.remove_ids([4, 2])
    assert [j.id for j in model.jobs()] == [1, 3]
    qtmodeltester.check(model)
    model.clear()
    assert model.rowCount() == 0


def test_finish_time_is_a_clock_time() -> None:
    now = datetime(2026, 1, 5, 10, 0, 0)
    assert format_finish(None, now) == ""
    assert format_finish(30, now) == "10:00:30"
    assert format_finish(3600, now) == "11:00"
    assert format_finish(20 * 3600, now) == (now + timedelta(hours=20)).strftime("%a %H:%M")


# ----------------------------------------------------------------------------- card import


def test_an_inserted_card_opens_the_import_dialog_in_the_main_window(
    qtbot: Any, stack_settings: Settings, local_stack: dict[str, Any],
    make_video: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    clip_seed: Callable[[], int],
) -> None:
    card = tmp_path / "GLASSES_SD"
    make_video("GLASSES_SD/DCIM/100MEDIA/GLS_0001.MP4", seconds=0.5, seed=clip_seed())
    monkeypatch.setenv("MEDISPECS_CARD_ROOTS", str(card))
    paths = Paths.default().ensure()
    ctx = AppContext(stack_settings, paths)
    window = MainWindow(ctx.qsettings)
    qtbot.addWidget(window)
    install_views(window, ctx)
    controller = AppController(ctx, window)
    try:
        controller.show_window()
        wiring = window.card_import  # type: ignore[attr-defined]
        assert not wiring.action.isEnabled()  # nobody signed in: no card polling
        assert wiring.action in window.file_menu.actions()
        assert ctx.auth is not None
        controller._signed_in(ctx.auth.sign_in(local_stack["username"],
                                               local_stack["password"]))
        qtbot.waitUntil(lambda: bool(wiring.dialogs), timeout=20_000)
        dialog = next(iter(wiring.dialogs.values()))
        assert dialog.isVisible()
        assert dialog.windowTitle() == "Import from GLASSES_SD"
        assert dialog.parent() is window
        qtbot.waitUntil(lambda: len(dialog.clips) == 1, timeout=20_000)
        assert dialog.clips[0].path.name == "GLS_0001.MP4"
    finally:
        controller.shutdown()


# ----------------------------------------------------------------------------- drops, notes


def test_drop_zone_takes_local_files_only_and_notifier_falls_back_to_the_status_bar(
    qtbot: Any, tmp_path: Path,
) -> None:
    from PySide6.QtWidgets import QWidget

    from medispecs_desktop.ui.dropzone import DropZone, local_paths
    from medispecs_desktop.ui.notify import Notifier

    target = QWidget()
    qtbot.addWidget(target)
    hints: list[str] = []
    zone = DropZone(target, hint=hints.append)
    got: list[list[str]] = []
    zone.paths_dropped.connect(got.append)

    remote = QMimeData()
    remote.setUrls([QUrl("https://example.org/clip.mp4")])
    assert local_paths(remote) == []
    enter = QDragEnterEvent(QPoint(1, 1), Qt.DropAction.CopyAction, remote,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert not enter.isAccepted()  # nothing to upload in a web link

    mixed = QMimeData()
    mixed.setUrls([QUrl.fromLocalFile(str(tmp_path / "a.mp4")),
                   QUrl("https://example.org/b.mp4"),
                   QUrl.fromLocalFile(str(tmp_path))])
    enter = QDragEnterEvent(QPoint(1, 1), Qt.DropAction.CopyAction, mixed,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted() and hints and "Drop" in hints[-1]
    event = QDropEvent(QPointF(1, 1), Qt.DropAction.CopyAction, mixed,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    assert got == [[str(tmp_path / "a.mp4"), str(tmp_path)]]

    shown: list[tuple[str, int]] = []
    notifier = Notifier(lambda text, ms: shown.append((text, ms)), use_tray=False)
    note = notifier.notify("Uploads finished", "2 recordings uploaded.")
    assert note.via == "status bar" and not notifier.uses_tray
    assert shown == [("Uploads finished: 2 recordings uploaded.", 8000)]
    assert list(notifier.history) == [note]
    # asked to use a tray where the platform has none: still said, through the fallback
    tray = Notifier(lambda text, ms: shown.append((text, ms)), use_tray=True,
                    on_activate=lambda: None)
    failed = tray.notify("Upload failed", "a.mp4: the file changed", "error")
    assert failed.via in ("tray", "status bar") and list(tray.history) == [failed]
    tray.close()
    assert tray.tray is None


def test_the_first_queued_file_does_not_squeeze_the_library_and_player(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], clip_seed: Callable[[], int],
) -> None:
    """The dock shows its hint line while the queue is empty; when the table takes its place
    the dock grows by a few rows at most (Qt's default table hint is 192 px: the library
    and the player lost a third of their height)."""
    _ctx, window, _controller = shell
    panel = panel_of(window)
    window.resize(1088, 612)  # first start on a 1280x720 screen
    window.uploads_dock.show()
    qtbot.waitUntil(lambda: panel.empty.isVisible(), timeout=5_000)
    QApplication.processEvents()
    before = window.uploads_dock.height()
    centre_before = window.splitter.height()
    clip = make_video(f"squeeze{clip_seed()}.mp4", seconds=0.4, seed=clip_seed())
    panel.service.add_paths([str(clip)])
    qtbot.waitUntil(lambda: panel.table.isVisible(), timeout=15_000)
    for _ in range(3):
        QApplication.processEvents()
    rows = panel.table.verticalHeader().defaultSectionSize()
    grown = window.uploads_dock.height() - before
    assert grown <= 3 * rows + 10, (before, window.uploads_dock.height())
    assert window.splitter.height() >= centre_before - (3 * rows + 10)
    assert window.splitter.height() >= 300


# ----------------------------------------------------------------------------- quit, batches


def answer_quit_question(qtbot: Any, panel: UploadsPanel, button: str,
                         seen: list[str]) -> QTimer:
    """Click ``button`` on the real "Quit now?" message box as soon as it is shown."""
    timer = QTimer()
    timer.setInterval(10)

    def poll() -> None:
        box = getattr(panel, "quit_box", None)
        if box is None or not box.isVisible():
            return
        timer.stop()
        seen.append(box.text())
        target = next(b for b in box.buttons() if b.text() == button)
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)

    timer.timeout.connect(poll)
    timer.start()
    return timer


def test_the_status_bar_total_counts_the_current_batch_only(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], clip_seed: Callable[[], int],
) -> None:
    _ctx, window, _controller = shell
    panel = panel_of(window)
    seed = clip_seed()
    drop(window, [make_video("batch/first.mp4", seconds=0.4, seed=seed)])
    qtbot.waitUntil(lambda: states(window) == [JobState.DONE], timeout=60_000)
    panel.service.flush()
    assert window.uploads_label.text().startswith("Uploaded 1 of 1")
    # the queue is idle and new files come: the finished one leaves the total
    panel.service.engine.stop()  # keep the new ones queued
    drop(window, [make_video(f"batch/next{i}.mp4", seconds=0.4, seed=seed + 1 + i)
                  for i in range(2)])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=15_000)
    panel.service.flush()
    assert window.uploads_label.text().startswith("Uploaded 0 of 2")
    assert panel.service.totals()[:2] == (0, 2)
    assert not window.uploads_bar.isHidden()


def test_quitting_asks_only_while_uploads_are_in_progress_and_never_on_sigterm(
    qtbot: Any, shell: Shell, make_video: Callable[..., Path], clip_seed: Callable[[], int],
) -> None:
    import os
    import signal

    from medispecs_desktop.ui.app import _install_signal_handlers

    _ctx, window, _controller = shell
    panel = panel_of(window)
    engine = panel.service.engine
    engine.stop()  # the dropped files stay queued = in progress
    seen: list[str] = []  # the questions shown, as answer_quit_question saw them

    # nothing in progress: the window closes without a question
    timer = answer_quit_question(qtbot, panel, "Keep uploading", seen)
    assert window.close() and not window.isVisible()
    timer.stop()
    assert seen == []
    window.show()
    qtbot.waitExposed(window)

    seed = clip_seed()
    drop(window, [make_video(f"quit/clip{i}.mp4", seconds=0.4, seed=seed + i)
                  for i in range(2)])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=15_000)
    panel.service.flush()
    question = quit_question(2, demo=bool(_ctx.settings.demo))
    assert question.startswith("2 uploads are in progress.") and question.endswith("Quit now?")

    # closing the window: "Keep uploading" keeps it open with the queue as it was
    timer = answer_quit_question(qtbot, panel, "Keep uploading", seen)
    assert not window.close()
    timer.stop()
    assert seen == [question] and window.isVisible() and panel.model.rowCount() == 2

    # File › Quit: the same question, and keeping uploading cancels the quit
    timer = answer_quit_question(qtbot, panel, "Keep uploading", seen)
    assert window.action_quit in window.file_menu.actions()
    window.action_quit.trigger()
    timer.stop()
    assert seen == [question] * 2 and window.isVisible()

    # Ctrl+Q, answered "Quit": the window closes
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    timer = answer_quit_question(qtbot, panel, "Quit", seen)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    timer.stop()
    assert seen == [question] * 3

    # SIGTERM (or the OS session ending) quits without asking, uploads or not
    window.show()
    qtbot.waitExposed(window)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    ticker = _install_signal_handlers(app)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not getattr(window, "ask_before_closing", False),
                        timeout=5_000)
    finally:
        ticker.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    timer = answer_quit_question(qtbot, panel, "Keep uploading", seen)
    assert window.close() and not window.isVisible()
    timer.stop()
    assert seen == [question] * 3  # not asked again
    assert sum(j.state is JobState.QUEUED for j in engine.jobs()) == 2  # for the next start


@pytest.fixture
def signed_out_shell(qtbot: Any, stack_settings: Settings) -> Iterator[Shell]:
    """The real app shell with nobody signed in (the stack is reachable)."""
    paths = Paths.default().ensure()
    ctx = AppContext(stack_settings, paths)
    window = MainWindow(ctx.qsettings)
    qtbot.addWidget(window, before_close_func=lambda w: setattr(w, "ask_before_closing", False))
    install_views(window, ctx)
    controller = AppController(ctx, window)
    controller.show_window()
    qtbot.waitExposed(window)
    window.uploads_dock.show()
    try:
        yield ctx, window, controller
    finally:
        controller.shutdown()


def test_signed_out_the_queue_controls_are_off_and_say_why(
    qtbot: Any, signed_out_shell: Shell, local_stack: dict[str, Any],
    make_video: Callable[..., Path], clip_seed: Callable[[], int],
) -> None:
    ctx, window, controller = signed_out_shell
    panel = panel_of(window)
    assert panel.empty.isVisible() and not panel.table.isVisible()
    assert panel.empty.text() == "Sign in to see and continue your uploads."
    controls = [panel.action_pause, panel.action_resume, panel.action_cancel,
                panel.action_retry, panel.action_next, panel.action_remove,
                panel.action_pause_all, panel.action_resume_all,
                panel.action_remove_finished]
    for action in controls:
        assert not action.isEnabled(), action.text()
        assert action.toolTip() == "Sign in to see and control your uploads", action.text()

    # signed in: the usual hint (one full stop, not "Add files…."), the usual tooltips
    assert ctx.auth is not None
    controller._signed_in(ctx.auth.sign_in(local_stack["username"], local_stack["password"]))
    # the queue opens off the GUI thread: meanwhile the panel says so, and files dropped
    # now are added as soon as it is open (not refused, not lost)
    assert not panel.service.ready
    assert panel.empty.text() == "Opening your upload queue…"
    assert panel.action_pause_all.toolTip() == "Your upload queue is opening…"
    early = make_video("early/clip.mp4", seconds=0.4, seed=clip_seed())
    drop(window, [early])
    qtbot.waitUntil(lambda: panel.service.ready, timeout=15_000)
    hint = panel.empty.text()
    assert "…." not in hint and ".." not in hint
    assert hint.endswith("or use File › Add files… to choose them.")
    assert panel.action_pause_all.toolTip() == "Pause every upload"
    assert panel.action_retry.toolTip() == "Try the selected failed uploads again"
    assert panel.action_resume_all.toolTip() == "Resume every paused or waiting upload"
    qtbot.waitUntil(lambda: [j.path for j in panel.model.jobs()] == [early], timeout=15_000)


def test_the_empty_queue_hint_ends_with_one_full_stop(qtbot: Any, shell: Shell) -> None:
    _ctx, window, _controller = shell
    hint = panel_of(window).empty.text()
    assert hint.startswith("Files you add are uploaded here")
    assert not hint.endswith("..") and not hint.endswith("….") and hint.endswith(".")


def test_a_drop_while_signed_out_says_sign_in_to_upload_and_queues_nothing(
    qtbot: Any, signed_out_shell: Shell, local_stack: dict[str, Any],
    make_video: Callable[..., Path], clip_seed: Callable[[], int],
) -> None:
    ctx, window, controller = signed_out_shell
    panel = panel_of(window)
    clip = make_video("signed-out/clip.mp4", seconds=0.4, seed=clip_seed())
    drop(window, [clip])
    box = getattr(panel, "sign_in_box", None)
    assert box is not None and box.isVisible()
    assert box.windowTitle() == "Sign in to upload"
    assert box.text().startswith("Sign in to upload: the dropped item was not added")
    assert window.statusBar().currentMessage().startswith("Sign in to upload")
    assert panel.service.engine is None and panel.model.rowCount() == 0
    # its button opens the sign-in dialog
    sign_in = next(b for b in box.buttons() if b.text() == "Sign in…")
    qtbot.mouseClick(sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.sign_in_dialog is not None, timeout=5_000)
    qtbot.waitUntil(lambda: getattr(panel, "sign_in_box", 0) is None, timeout=5_000)
    assert controller.sign_in_dialog is not None
    controller.sign_in_dialog.reject()
    # signed in later: the refused drop queued nothing for anybody
    assert ctx.auth is not None
    controller._signed_in(ctx.auth.sign_in(local_stack["username"], local_stack["password"]))
    qtbot.waitUntil(lambda: panel.service.ready, timeout=15_000)
    engine: Any = panel.service.engine
    assert engine.jobs() == [] and panel.model.rowCount() == 0


def test_quit_question_is_honest_in_the_demo() -> None:
    assert "continue the next time" in quit_question(2)
    demo = quit_question(2, demo=True)
    assert "lost when you quit" in demo and "continue the next time" not in demo
    assert quit_question(1, demo=True).startswith("1 upload is in progress")
