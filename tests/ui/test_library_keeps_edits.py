"""What a user typed and has not saved is never lost while the library changes under it
(issue 16, and the clinical rule that unsaved work is never lost): a recording is selected,
its title and notes are being edited, and meanwhile uploads finish and their rows are inserted
(above it too), the list is refreshed or filtered, or the server updates the very recording
being edited (just uploaded: its status and poster change). Through all of it the row stays
selected, the typed text stays in the fields and the pane stays visibly unsaved (Save and
Revert enabled).

Real parts: the session's local stack (a new user of its own, so other tests' uploads never
show in its list), real clips uploaded by the app's own upload engine from the real main
window, and real key presses into the details pane."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.processing.handler import build_processor
from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.core.library import LocalQueueItem, status_text
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.local.samples import make_video
from medispecs_desktop.local.seed import upload_recording
from medispecs_desktop.ui.app import AppContext, AppController, install_views
from medispecs_desktop.ui.library import COL_TITLE, VIDEO_ROLE, LibraryView, LibraryWidget
from medispecs_desktop.ui.library.model import local_item_for_index
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.tasks import TaskRunner
from medispecs_desktop.ui.uploads import UploadsPanel
from tests.support.users import new_user
from tests.ui.test_library_insert_new import show_library
from tests.ui.test_uploads_panel import answer_quit_question

BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TYPED_TITLE = " - left eye, second look"
TYPED_NOTES = "Patient moved at 00:12; repeat the fundus view."


class App:
    """The real main window signed in as a new user of the local stack."""

    def __init__(self, qtbot: Any, stack: dict[str, Any], tmp_path: Path,
                 seed: Callable[[], int]) -> None:
        self.qtbot, self.stack, self.tmp_path, self._seed = qtbot, stack, tmp_path, seed
        self.username, self.password = new_user(stack, "keepedit")
        self.settings = Settings(api_url=stack["apiUrl"], region=stack["region"],
                                 user_pool_id=stack["userPoolId"], client_id=stack["clientId"],
                                 cognito_endpoint=stack["awsEndpoint"])
        auth = CognitoAuth(self.settings, MemoryTokenStore())
        auth.sign_in(self.username, self.password)
        self.api = ApiClient(self.settings, auth)  # the user's own client (as another window)
        self.controller: AppController | None = None
        self._clips = 0

    def clip(self, name: str, recorded_at: datetime) -> Path:
        self._clips += 1
        return make_video(self.tmp_path / f"{self._clips:02d}-{name}.mp4", seconds=0.4,
                          width=160, height=120, fps=10, creation_time=recorded_at,
                          seed=self._seed())

    def seed(self, titles_and_times: list[tuple[str, datetime]]) -> list[str]:
        """Recordings already in the user's library (uploaded as the desktop does)."""
        token = self.api.tokens.id_token()
        ids = []
        with requests.Session() as session:
            session.trust_env = False
            for title, when in titles_and_times:
                ids.append(upload_recording(session, self.stack["apiUrl"], token,
                                            self.clip(title, when), title=title,
                                            recorded_at=when).video_id)
        return ids

    def open(self) -> tuple[MainWindow, LibraryWidget, UploadsPanel]:
        ctx = AppContext(self.settings, Paths.default().ensure(),
                         token_store=MemoryTokenStore())
        window = MainWindow(ctx.qsettings)
        self.qtbot.addWidget(window, before_close_func=lambda w: setattr(
            w, "ask_before_closing", False))
        self.controller = AppController(ctx, window)
        install_views(window, ctx)
        window.resize(1280, 800)
        self.controller.show_window()
        self.qtbot.waitExposed(window)
        assert ctx.auth is not None
        self.controller._signed_in(ctx.auth.sign_in(self.username, self.password))
        view = window.library_view
        assert isinstance(view, LibraryView) and view.library is not None
        library = view.library
        self.qtbot.waitUntil(lambda: library.model.rowCount() >= 1
                             and not library.model.loading, timeout=15_000)
        panel = window.uploads_view
        assert isinstance(panel, UploadsPanel)
        self.window, self.library, self.panel = window, library, panel
        return window, library, panel

    def upload(self, paths: list[Path]) -> list[str]:
        """Add ``paths`` to the upload queue; returns once every one is done and its row is
        in the library (the list changed under whatever the user was doing)."""
        panel, library = self.panel, self.library
        before = {j.id for j in panel.model.jobs()}
        self.window.files_chosen.emit([str(p) for p in paths])

        def mine() -> list[Any]:
            return [j for j in panel.model.jobs() if j.id not in before]

        def arrived() -> bool:
            jobs = mine()
            return (len(jobs) == len(paths) and all(j.state is JobState.DONE for j in jobs)
                    and all(library.model.row_of(j.video_id) >= 0
                            and library.model.video_at(library.model.row_of(j.video_id))
                            is not None for j in jobs)
                    and not library.model.loading)

        self.qtbot.waitUntil(arrived, timeout=60_000)
        return [j.video_id for j in mine()]


@pytest.fixture
def app(qtbot: Any, local_stack: dict[str, Any], tmp_path: Path,
        clip_seed: Callable[[], int]) -> Iterator[App]:
    made = App(qtbot, local_stack, tmp_path, clip_seed)
    yield made
    if made.controller is not None:
        made.controller.shutdown()
    made.api.close()


def selected_id(library: LibraryWidget) -> str | None:
    """The recording the list shows selected (one highlighted row, and the current one)."""
    selection = library.table.selectionModel()
    rows = selection.selectedRows()
    current = selection.currentIndex()
    if len(rows) != 1 or not current.isValid() or current.row() != rows[0].row():
        return None
    video = rows[0].data(VIDEO_ROLE)
    return video.video_id if video is not None else None


def edit(library: LibraryWidget, video_id: str) -> tuple[str, str]:
    """Select the recording and type into its title and notes, as a user does; returns what
    the fields hold now."""
    assert library.select_video(video_id)
    details = library.details
    assert details.video is not None and details.video.video_id == video_id
    details.title_edit.setFocus(Qt.FocusReason.MouseFocusReason)
    details.title_edit.end(False)
    QTest.keyClicks(details.title_edit, TYPED_TITLE)
    details.notes_edit.setFocus(Qt.FocusReason.MouseFocusReason)
    QTest.keyClicks(details.notes_edit, TYPED_NOTES)
    typed = details.title_edit.text(), details.notes_edit.toPlainText()
    assert typed[0].endswith(TYPED_TITLE) and typed[1].endswith(TYPED_NOTES)
    assert_unsaved(library, video_id, typed)
    return typed


def assert_unsaved(library: LibraryWidget, video_id: str, typed: tuple[str, str]) -> None:
    details = library.details
    assert selected_id(library) == video_id
    assert details.video is not None and details.video.video_id == video_id
    assert (details.title_edit.text(), details.notes_edit.toPlainText()) == typed
    assert details.is_dirty()
    assert details.save_button.isEnabled() and details.revert_button.isEnabled()


def test_uploads_finishing_above_the_recording_being_edited_keep_the_edit(
        qtbot: Any, app: App) -> None:
    older = [("Fundus A", BASE), ("Fundus B", BASE - timedelta(days=1)),
             ("Fundus C", BASE - timedelta(days=2))]
    ids = app.seed(older)
    _window, library, _panel = app.open()
    typed = edit(library, ids[1])

    # two uploads, recorded after every row shown: their rows go in above the one edited
    new = app.upload([app.clip("new-1", BASE + timedelta(days=3)),
                      app.clip("new-2", BASE + timedelta(days=4))])
    assert [getattr(library.proxy.video_at(r), "video_id", None) for r in range(2)] == list(
        reversed(new))
    assert_unsaved(library, ids[1], typed)
    # the keyboard walk's step: Tab into the list keeps the row (no other row is made current)
    library.table.setFocus(Qt.FocusReason.TabFocusReason)
    assert_unsaved(library, ids[1], typed)


@pytest.mark.parametrize("newer", [True, False], ids=["above", "below"])
def test_each_upload_finishing_one_by_one_keeps_the_edit(
        qtbot: Any, app: App, newer: bool) -> None:
    ids = app.seed([("Retina 1", BASE), ("Retina 2", BASE - timedelta(hours=1))])
    _window, library, _panel = app.open()
    typed = edit(library, ids[0])
    for n in range(3):  # uploads that finish one after another, each inserting its row
        offset = timedelta(days=n + 1)
        [new] = app.upload([app.clip(f"one-{n}", BASE + offset if newer else BASE - offset)])
        assert library.model.row_of(new) >= 0
        assert_unsaved(library, ids[0], typed)


def process(stack: dict[str, Any], video: Video) -> None:
    """The server's processing finishes ``video`` (status ready, poster): what the stack's
    pipeline (off in the test session) does after an upload."""
    config = BackendConfig.from_env({"TABLE_MAIN": stack["table"], "S3_BUCKET": stack["bucket"],
                                     "S3_REGION": stack["region"]})
    config = replace(config, endpoint_url=stack["awsEndpoint"], aws_access_key_id="local",
                     aws_secret_access_key="local", s3_addressing_style="path")
    assert build_processor(config).processor.process(str(video.s3_key)).kind == "ready"


def assert_pane_shows(library: LibraryWidget, video_id: str, status: str) -> None:
    """The pane shows the recording as the list does (its newest record: status, poster)."""
    row = library.model.video_at(library.model.row_of(video_id))
    assert row is not None and row.status == status
    details = library.details
    assert details.video == row
    assert details.values["status"].text() == status_text(row)


def save_and_check(app: App, library: LibraryWidget, video_id: str,
                   typed: tuple[str, str]) -> None:
    """Save: what was typed is what the cloud keeps."""
    details = library.details
    details.save_button.click()
    app.qtbot.waitUntil(lambda: details.message.text() == "Saved.", timeout=15_000)
    saved = app.api.get_video(video_id)
    assert (saved.title, saved.notes) == (typed[0].strip(), typed[1])
    assert not details.is_dirty()


def test_the_just_uploaded_recording_being_edited_is_updated_by_a_later_listing(
        qtbot: Any, app: App, local_stack: dict[str, Any]) -> None:
    """The recording edited is the one that just finished uploading; the server processes it
    (its poster and checks), and the next finished upload's listing brings the new record:
    the row and the pane show it, the edit stays, and saving it keeps both."""
    app.seed([("Older", BASE)])
    _window, library, _panel = app.open()
    [fresh] = app.upload([app.clip("fresh", BASE + timedelta(days=1))])
    typed = edit(library, fresh)
    before = library.details.video
    assert before is not None
    process(local_stack, before)

    app.upload([app.clip("next", BASE + timedelta(days=2))])  # the listing is merged in
    row = library.model.video_at(library.model.row_of(fresh))
    assert row is not None and row != before  # the server's new record is in the list
    assert_pane_shows(library, fresh, row.status)
    assert_unsaved(library, fresh, typed)
    save_and_check(app, library, fresh, typed)
    assert_pane_shows(library, fresh, row.status)


def uploaded_elsewhere(app: App, when: datetime) -> str:
    """A recording the user uploaded from another computer whose processing has not finished
    (status ``uploaded``, no poster yet); returns its id."""
    import uuid

    data = app.clip("elsewhere", when).read_bytes()
    video_id = "v_" + uuid.uuid4().hex
    grant = app.api.upload_url(video_id, content_type="video/mp4", size=len(data))
    with requests.Session() as session:
        session.trust_env = False
        assert session.put(grant["uploadUrl"], data=data, headers=grant["headers"],
                           timeout=60).status_code == 200
    created = app.api.create_video({"videoId": video_id, "title": "From the clinic laptop",
                                    "recordedAt": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert created.status == "uploaded"
    return video_id


def test_the_recording_being_edited_turns_ready_and_keeps_the_edit(
        qtbot: Any, app: App, local_stack: dict[str, Any]) -> None:
    """A recording still being processed joins the list with a finished upload; the user
    edits it; the server finishes it and the readiness poll brings it in (status ready, a
    poster): the pane shows it ready, with the edit."""
    app.seed([("Older", BASE)])
    _window, library, _panel = app.open()
    library.readiness.watch.first_delay = 0.2
    elsewhere = uploaded_elsewhere(app, BASE + timedelta(days=2))
    app.upload([app.clip("here", BASE + timedelta(days=1))])  # the listing brings both in
    typed = edit(library, elsewhere)
    video = library.details.video
    assert video is not None and video.status == "uploaded"
    with qtbot.waitSignal(library.readiness.videoChanged, timeout=60_000,
                          check_params_cb=lambda v: v.video_id == elsewhere):
        process(local_stack, video)
    assert_pane_shows(library, elsewhere, "ready")
    assert_unsaved(library, elsewhere, typed)
    save_and_check(app, library, elsewhere, typed)


def test_refresh_dates_and_search_that_still_list_it_keep_the_edit(
        qtbot: Any, app: App) -> None:
    ids = app.seed([("Macula left", BASE), ("Macula right", BASE - timedelta(days=1)),
                    ("Optic disc", BASE - timedelta(days=2))])
    window, library, _panel = app.open()
    typed = edit(library, ids[1])

    with qtbot.waitSignal(library.model.listingReplaced, timeout=15_000):
        window.action_refresh.trigger()  # F5
    assert_unsaved(library, ids[1], typed)

    day = (BASE - timedelta(days=1)).date()
    with qtbot.waitSignal(library.model.listingReplaced, timeout=15_000):
        library.set_date_range(day - timedelta(days=1), day + timedelta(days=1))
    assert_unsaved(library, ids[1], typed)
    [new] = app.upload([app.clip("in-range", BASE - timedelta(days=1, hours=2))])
    assert library.model.row_of(new) >= 0
    assert_unsaved(library, ids[1], typed)
    with qtbot.waitSignal(library.model.listingReplaced, timeout=15_000):
        library.set_date_range(None, None)
    assert_unsaved(library, ids[1], typed)

    QTest.keyClicks(library.search, "macula")
    assert library.proxy.rowCount() == 2
    assert_unsaved(library, ids[1], typed)
    library.search.clear()
    assert_unsaved(library, ids[1], typed)
    save_and_check(app, library, ids[1], typed)


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def test_a_refresh_that_lists_it_further_down_keeps_the_edit_and_selects_it_again(
        qtbot: Any, app: App, tasks: TaskRunner) -> None:
    """The recording edited was on a later page; the list is loaded again from its first page
    (F5, back online, or finished uploads after a failed page): the pane keeps showing it with
    the edit, and its row is selected again once the pages bring it back."""
    ids = app.seed([(f"Scan {i}", BASE - timedelta(days=i)) for i in range(5)])
    library = show_library(qtbot, app.api, tasks, page_size=2)
    model = library.model

    def all_loaded() -> bool:
        if model.canFetchMore() and not model.loading:
            model.fetchMore()
        return model.rowCount() == 5 and not model.loading

    qtbot.waitUntil(all_loaded, timeout=15_000)
    typed = edit(library, ids[4])  # on the third page

    with qtbot.waitSignal(model.listingReplaced, timeout=15_000):
        library.refresh()
    assert model.row_of(ids[4]) < 0  # not listed now
    details = library.details
    assert details.video is not None and details.video.video_id == ids[4]
    assert (details.title_edit.text(), details.notes_edit.toPlainText()) == typed
    assert details.is_dirty() and details.save_button.isEnabled()
    assert details.revert_button.isEnabled()
    assert details.message.isVisible() and "unsaved changes are kept" in details.message.text()

    qtbot.waitUntil(all_loaded, timeout=15_000)  # the user scrolls down again
    assert_unsaved(library, ids[4], typed)
    assert not details.message.isVisible()  # listed and selected: nothing to explain
    save_and_check(app, library, ids[4], typed)
    library.shutdown()


def test_the_upload_queue_changing_its_order_keeps_the_edit(qtbot: Any, app: App) -> None:
    """Uploads still running show on top of the list in the queue's order, which changes (a
    failed upload goes below the running ones, "Upload next" moves one up). The rows on top
    change without taking the selection of the recording being edited below them: Tab into
    the list (as the keyboard walk does) stays on it."""
    ids = app.seed([("Cornea", BASE), ("Lens", BASE - timedelta(days=1))])
    _window, library, _panel = app.open()
    typed = edit(library, ids[1])
    first = LocalQueueItem("v_queued_a", "clip-a", "uploading", progress=0.3)
    second = LocalQueueItem("v_queued_b", "clip-b", "queued")
    library.set_local_items([first, second])  # what the upload service says, in queue order
    assert_unsaved(library, ids[1], typed)
    failed = replace(first, state="failed", error="The connection was lost.")
    library.set_local_items([replace(second, state="uploading"), failed])
    assert [getattr(library.model.local_item_at(r), "video_id", None) for r in range(2)] == [
        "v_queued_b", "v_queued_a"]
    assert_unsaved(library, ids[1], typed)
    library.table.setFocus(Qt.FocusReason.TabFocusReason)
    assert_unsaved(library, ids[1], typed)


def top_id(library: LibraryWidget) -> str | None:
    video = library.table.indexAt(QPoint(1, 1)).data(VIDEO_ROLE)
    return video.video_id if video is not None else None


def test_a_scrolled_list_keeps_its_rows_in_view_and_the_edit_while_uploads_finish(
        qtbot: Any, app: App) -> None:
    """A user scrolled down the list edits a recording there; uploads recorded later than
    everything listed run (their rows on top) and finish (inserted on top): the rows in view
    do not move, the row stays selected, the typed text and Save/Revert stay."""
    ids = app.seed([(f"Visit {i:02d}", BASE - timedelta(hours=i)) for i in range(24)])
    window, library, _panel = app.open()
    window.uploads_dock.show()  # the queue in view from the start (it shows when files come)
    qtbot.waitUntil(lambda: library.model.rowCount() == 24, timeout=15_000)
    bar = library.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 4, timeout=5_000)
    bar.setValue(bar.maximum() - 2)
    at = library.table.indexAt(QPoint(1, library.table.viewport().height() // 2)).row()
    typed = edit(library, ids[at])  # a row in the middle of the view
    in_view = top_id(library)
    assert in_view is not None and in_view != ids[0]
    position = bar.value()
    new = app.upload([app.clip(f"later-{n}", BASE + timedelta(days=n + 1)) for n in range(3)])
    assert all(library.model.row_of(v) < library.model.row_of(ids[0]) for v in new)  # above
    assert top_id(library) == in_view and bar.value() >= position
    assert_unsaved(library, ids[at], typed)


def test_the_uploading_row_selected_stays_selected_as_its_recording_when_done(
        qtbot: Any, app: App) -> None:
    """A user selects an upload's row while it runs (on top of the list); it finishes: the
    queue row goes and the recording's row comes where the server lists it - that row is
    the one selected, and the pane shows it (not whichever row was next to the queue row)."""
    ids = app.seed([("Earlier", BASE), ("Earliest", BASE - timedelta(days=1))])
    _window, library, _panel = app.open()
    token = app.api.tokens.id_token()
    with requests.Session() as session:  # the bytes and record the upload engine sends
        session.trust_env = False
        done = upload_recording(session, app.stack["apiUrl"], token,
                                app.clip("running", BASE - timedelta(hours=12)),
                                title="Running", recorded_at=BASE - timedelta(hours=12))
    # what the upload service says while it runs, then when it is done (see composition)
    running = LocalQueueItem(done.video_id, "Running", "uploading", progress=0.9)
    other = LocalQueueItem("v_other_upload", "Other", "queued")
    library.set_local_items([other, running])
    library.table.selectRow(1)

    def current_upload() -> str | None:
        item = local_item_for_index(library.table.selectionModel().currentIndex())
        return item.video_id if item is not None else None

    assert current_upload() == done.video_id and library.details.video is None
    library.set_local_items([running, replace(other, state="failed")])  # the queue reorders
    assert current_upload() == done.video_id  # its row moved: still the one selected
    library.set_local_items([replace(other, state="failed")])  # done: its queue row goes
    assert library.details.video is None  # no other recording took its place
    with qtbot.waitSignal(library.model.pageLoaded, timeout=15_000):
        library.insert_new()
    assert library.model.row_of(done.video_id) == library.model.row_of(ids[0]) + 1  # listed
    assert selected_id(library) == done.video_id
    assert library.details.video is not None and library.details.video.video_id == done.video_id


def test_a_search_or_dates_that_hide_the_recording_being_edited_keep_the_edit_in_view(
        qtbot: Any, app: App) -> None:
    """The user searches for another recording (or picks dates) while one has unsaved edits:
    its row is not listed meanwhile, but the pane keeps it, with the text and Save/Revert,
    and says why; when the list shows it again, it is selected again."""
    ids = app.seed([("Macula left", BASE), ("Macula right", BASE - timedelta(days=1)),
                    ("Optic disc", BASE - timedelta(days=2))])
    _window, library, _panel = app.open()
    typed = edit(library, ids[1])
    details = library.details

    def kept_unlisted() -> None:
        assert details.video is not None and details.video.video_id == ids[1]
        assert (details.title_edit.text(), details.notes_edit.toPlainText()) == typed
        assert details.is_dirty() and details.save_button.isEnabled()
        assert details.revert_button.isEnabled()
        assert details.message.isVisible()
        assert "unsaved changes are kept" in details.message.text()

    QTest.keyClicks(library.search, "optic")
    assert library.proxy.rowCount() == 1
    kept_unlisted()
    library.search.clear()
    assert_unsaved(library, ids[1], typed)
    assert not details.message.isVisible()

    day = (BASE - timedelta(days=2)).date()
    with qtbot.waitSignal(library.model.listingReplaced, timeout=15_000):
        library.set_date_range(day, day)  # only "Optic disc"
    assert library.model.row_of(ids[1]) < 0
    kept_unlisted()
    with qtbot.waitSignal(library.model.listingReplaced, timeout=15_000):
        library.set_date_range(None, None)
    assert_unsaved(library, ids[1], typed)
    save_and_check(app, library, ids[1], typed)


def test_an_edit_made_elsewhere_meanwhile_is_never_overwritten_unseen_nor_the_typed_text_lost(
        qtbot: Any, app: App) -> None:
    """While the user types, the same recording is edited in another window (a new version),
    and an upload's listing brings that version in. The pane keeps the user's text (unsaved);
    Save says the recording was changed elsewhere and keeps the text; "Reload latest" then
    Save stores what the user typed over the version they have now seen."""
    ids = app.seed([("Disc photo", BASE)])
    _window, library, _panel = app.open()
    typed = edit(library, ids[0])
    shown = library.details.video
    assert shown is not None
    other = app.api.update_video(ids[0], version=shown.version, title="Renamed elsewhere",
                                 notes="")
    app.upload([app.clip("meanwhile", BASE + timedelta(days=1))])
    row = library.model.video_at(library.model.row_of(ids[0]))
    assert row is not None and row.version == other.version  # the list has the new version
    assert_unsaved(library, ids[0], typed)
    details = library.details
    details.save_button.click()
    qtbot.waitUntil(details.reload_button.isVisible, timeout=15_000)
    assert "changed somewhere else" in details.message.text()
    assert_unsaved(library, ids[0], typed)
    assert app.api.get_video(ids[0]).title == "Renamed elsewhere"  # nothing overwritten
    details.reload_button.click()
    qtbot.waitUntil(lambda: not details.reload_button.isVisible(), timeout=15_000)
    assert_unsaved(library, ids[0], typed)
    save_and_check(app, library, ids[0], typed)


def test_a_pane_without_edits_follows_the_newer_record_a_listing_brings(
        qtbot: Any, app: App) -> None:
    """Nothing typed: the recording selected is renamed in another window, and an upload's
    listing brings the new version in: the pane shows it (title, notes, version), so what
    the user edits next starts from it."""
    ids = app.seed([("Before rename", BASE)])
    _window, library, _panel = app.open()
    assert library.select_video(ids[0])
    shown = library.details.video
    assert shown is not None
    other = app.api.update_video(ids[0], version=shown.version, title="After rename",
                                 notes="Checked by the second reader")
    app.upload([app.clip("meanwhile", BASE + timedelta(days=1))])
    details = library.details
    assert selected_id(library) == ids[0]
    assert details.video is not None and details.video.version == other.version
    assert details.title_edit.text() == "After rename"
    assert details.notes_edit.toPlainText() == "Checked by the second reader"
    assert not details.is_dirty() and not details.save_button.isEnabled()


def test_a_list_sorted_by_title_keeps_the_edit_while_uploads_finish_above(
        qtbot: Any, app: App) -> None:
    """Sorted by title: finished uploads whose titles sort first go in above the recording
    being edited (the sort places them, not the server's order); it stays selected, edited."""
    ids = app.seed([("Y scan", BASE + timedelta(days=9)), ("Z scan", BASE)])
    _window, library, _panel = app.open()
    library.table.sortByColumn(COL_TITLE, Qt.SortOrder.AscendingOrder)
    typed = edit(library, ids[1])
    assert library.proxy.mapFromSource(library.model.index(
        library.model.row_of(ids[1]), COL_TITLE)).row() == 1
    new = app.upload([app.clip("aa", BASE - timedelta(days=1)),
                      app.clip("ab", BASE - timedelta(days=2))])
    shown = [getattr(library.proxy.video_at(r), "video_id", None)
             for r in range(library.proxy.rowCount())]
    assert set(shown[:2]) == set(new) and shown[2:] == ids
    assert_unsaved(library, ids[1], typed)


def test_quitting_with_unsaved_edits_asks_first(qtbot: Any, app: App) -> None:
    """Closing the window (File › Quit, Ctrl+Q) with titles or notes typed and not saved -
    in the pane or kept as drafts of other recordings - asks first; "Go back" keeps the
    window and every edit; nothing typed, nothing asked."""
    ids = app.seed([("First look", BASE), ("Second look", BASE - timedelta(days=1))])
    window, library, _panel = app.open()
    view = window.library_view
    assert isinstance(view, LibraryView)
    assert view.confirm_quit() and view.quit_box is None  # nothing typed: no question
    typed = edit(library, ids[0])
    assert library.select_video(ids[1])  # the first edit is kept as a draft
    more = edit(library, ids[1])
    assert library.unsaved() == 2

    seen: list[str] = []
    timer = answer_quit_question(qtbot, cast(Any, view), "Go back", seen)
    window.close()
    timer.stop()
    assert len(seen) == 1 and "2 recordings" in seen[0]
    assert window.isVisible()
    assert_unsaved(library, ids[1], more)
    assert library.details.drafts() == {ids[0]: typed}

    timer = answer_quit_question(qtbot, cast(Any, view), "Quit without saving", seen)
    window.close()
    timer.stop()
    assert len(seen) == 2 and not window.isVisible()


def test_signing_out_with_unsaved_edits_asks_first_but_the_lock_screen_does_not(
    qtbot: Any, app: App
) -> None:
    """File › Sign out with a title or notes typed and not saved asks first: "Go back" keeps
    the user signed in with the edit; "Sign out without saving" signs out. The lock screen's
    Sign out (someone else taking the workstation, who cannot save the other user's edits)
    signs out without a question; nothing typed, nothing asked."""
    ids = app.seed([("First look", BASE)])
    window, library, _panel = app.open()
    view = window.library_view
    assert isinstance(view, LibraryView)
    signed_out: list[bool] = []
    window.sign_out_requested.connect(lambda: signed_out.append(True))
    typed = edit(library, ids[0])

    seen: list[str] = []
    timer = answer_quit_question(qtbot, cast(Any, view), "Go back", seen)
    window.action_sign_out.trigger()
    timer.stop()
    assert len(seen) == 1 and "one recording" in seen[0] and "sign out" in seen[0]
    assert not signed_out and window.action_sign_out.isVisible()
    assert_unsaved(library, ids[0], typed)

    # the lock screen's way: the signal itself, asked nothing
    view.quit_box = None
    window.sign_out_requested.emit()
    assert signed_out == [True] and view.quit_box is None
    qtbot.waitUntil(lambda: not window.action_sign_out.isVisible(), timeout=10_000)


def test_signing_out_asks_nothing_without_edits_and_drops_edits_when_told(
    qtbot: Any, app: App
) -> None:
    ids = app.seed([("First look", BASE)])
    window, library, _panel = app.open()
    view = window.library_view
    assert isinstance(view, LibraryView)
    assert view.confirm_sign_out() and view.quit_box is None  # nothing typed: no question
    edit(library, ids[0])
    seen: list[str] = []
    timer = answer_quit_question(qtbot, cast(Any, view), "Sign out without saving", seen)
    window.action_sign_out.trigger()
    timer.stop()
    assert len(seen) == 1
    qtbot.waitUntil(lambda: not window.action_sign_out.isVisible(), timeout=10_000)
