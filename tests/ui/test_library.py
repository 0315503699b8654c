"""The library: model (qtmodeltester with paging), search/sort, local queue rows, and the whole
widget against the running local stack (real API, real thumbnails through pre-signed URLs,
real offline: a loopback port with nothing listening, then a real forwarder)."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QPixmap

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.core.errors import NotFoundError
from medispecs_desktop.core.http import make_session
from medispecs_desktop.core.library_cache import LibraryCache
from medispecs_desktop.core.models import Video, format_utc
from medispecs_desktop.core.thumbnail_cache import ThumbnailCache
from medispecs_desktop.ui.library import (
    COL_DURATION,
    COL_RECORDED,
    COL_STATUS,
    COL_THUMB,
    COL_TITLE,
    VIDEO_ROLE,
    LibraryProxyModel,
    LibraryQuery,
    LibraryWidget,
    LocalQueueItem,
    VideoTableModel,
    local_date_range_to_utc,
)
from medispecs_desktop.ui.library.model import AHEAD
from medispecs_desktop.ui.tasks import TaskRunner
from tests.ui.conftest import demo_clip_row

# -- helpers ---------------------------------------------------------------------------------


def _video_id(model: Any, row: int) -> str:
    video = model.video_at(row)
    assert video is not None, f"no recording at row {row}"
    return str(video.video_id)


@dataclass
class Page:
    items: list[Video]
    next_cursor: str | None


class ListSource:
    """A page source over a plain list (newest first), the way the API pages it."""

    def __init__(self, videos: list[Video]) -> None:
        self.videos = videos
        self.calls: list[tuple[LibraryQuery, str | None]] = []

    def __call__(self, query: LibraryQuery, cursor: str | None) -> Page:
        self.calls.append((query, cursor))
        start = int(cursor or 0)
        chunk = self.videos[start:start + query.limit]
        end = start + len(chunk)
        return Page(chunk, str(end) if end < len(self.videos) else None)


def _videos(n: int) -> list[Video]:
    base = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
    return [
        Video.from_api({
            "videoId": f"v_{i:05d}",
            "title": f"Recording {i:05d}" + (" knee" if i % 10 == 0 else ""),
            "recordedAt": format_utc(base - timedelta(minutes=i)),
            "status": ("ready", "uploaded", "processing", "error")[i % 4],
            "durationSec": 30 + i,
            "fileSizeBytes": 10_000 * (i + 1),
            "deviceId": "glasses-1",
        })
        for i in range(n)
    ]


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


# -- the model on its own ----------------------------------------------------------------------


def test_model_passes_qtmodeltester_with_paging(qtbot: Any, qtmodeltester: Any,
                                                 tasks: TaskRunner) -> None:
    source = ListSource(_videos(137))
    model = VideoTableModel(source, tasks, query=LibraryQuery(limit=20))
    qtmodeltester.check(model)  # stays attached: checks every insert below
    with qtbot.waitSignal(model.pageLoaded, timeout=5_000):
        model.refresh()
    assert model.rowCount() == 20
    assert model.canFetchMore(QModelIndex())
    assert not model.canFetchMore(model.index(0, 0))
    while model.has_more:
        if model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
        qtbot.waitUntil(lambda: not model.loading, timeout=5_000)
        # between pages the view may fetch exactly while the source has more
        assert model.canFetchMore(QModelIndex()) == model.has_more == (model.rowCount() < 137)
        qtmodeltester.check(model)  # (the tester itself calls fetchMore too)
    assert not model.canFetchMore(QModelIndex())  # the end: nothing more to fetch
    assert model.rowCount() == 137
    assert [c for _q, c in source.calls] == [None, *[str(20 * k) for k in range(1, 7)]]
    ids = [model.index(r, 0).data(VIDEO_ROLE).video_id for r in range(model.rowCount())]
    assert ids == [v.video_id for v in source.videos]  # newest first, no gaps, no duplicates
    assert model.index(0, COL_TITLE).data() == "Recording 00000 knee"
    assert model.index(0, COL_DURATION).data() == "0:30"
    assert model.index(1, COL_STATUS).data() == "Uploaded"
    assert model.index(2, COL_STATUS).data() == "Processing"  # set by the server pipeline
    assert model.index(3, COL_STATUS).data() == "Error"
    assert model.headerData(COL_RECORDED, Qt.Orientation.Horizontal) == "Recorded"

    # a refresh replaces the rows with the first page again
    with qtbot.waitSignal(model.listingReplaced, timeout=5_000):
        model.refresh()
    assert model.rowCount() == 20


def test_proxy_search_and_sort(qtbot: Any, qtmodeltester: Any, tasks: TaskRunner) -> None:
    source = ListSource(_videos(60))
    model = VideoTableModel(source, tasks, query=LibraryQuery(limit=100))
    proxy = LibraryProxyModel()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    with qtbot.waitSignal(model.pageLoaded, timeout=5_000):
        model.refresh()
    proxy.set_search("KNEE")
    assert proxy.rowCount() == 6
    assert all("knee" in proxy.index(r, COL_TITLE).data() for r in range(proxy.rowCount()))
    proxy.set_search("")
    proxy.sort(COL_DURATION, Qt.SortOrder.DescendingOrder)
    assert _video_id(proxy, 0) == "v_00059"
    proxy.sort(COL_RECORDED, Qt.SortOrder.DescendingOrder)
    assert _video_id(proxy, 0) == "v_00000"
    proxy.sort(COL_RECORDED, Qt.SortOrder.AscendingOrder)
    assert _video_id(proxy, 0) == "v_00059"
    proxy.sort(COL_TITLE, Qt.SortOrder.DescendingOrder)
    assert _video_id(proxy, 0) == "v_00059"
    proxy.sort(COL_STATUS, Qt.SortOrder.AscendingOrder)
    assert proxy.index(0, COL_STATUS).data() == "Error"
    # search and sort together, and rows added later land in place
    proxy.set_search("knee")
    proxy.sort(COL_DURATION, Qt.SortOrder.AscendingOrder)
    assert [_video_id(proxy, r) for r in range(proxy.rowCount())] == [
        f"v_{i:05d}" for i in range(0, 60, 10)]


def test_local_queue_items_show_on_top_until_the_server_lists_them(
    qtbot: Any, qtmodeltester: Any, tasks: TaskRunner
) -> None:
    videos = _videos(5)
    source = ListSource(videos[1:])
    model = VideoTableModel(source, tasks, query=LibraryQuery(limit=50))
    qtmodeltester.check(model)
    with qtbot.waitSignal(model.pageLoaded, timeout=5_000):
        model.refresh()
    uploading = LocalQueueItem("v_00000", "Fresh from the card", "uploading", progress=0.42,
                               file_size_bytes=5_000_000)
    queued = LocalQueueItem("v_new", "Queued clip", "queued")
    model.set_local_items([uploading, queued])
    assert model.rowCount() == 6
    assert model.index(0, COL_STATUS).data() == "On this computer: uploading 42%"
    assert model.index(1, COL_STATUS).data() == "On this computer: queued"
    # progress update: same rows, repaint only
    model.set_local_items([LocalQueueItem("v_00000", "Fresh from the card", "uploading",
                                          progress=0.9), queued])
    assert model.index(0, COL_STATUS).data() == "On this computer: uploading 90%"
    # the upload finished: the server lists it, the local row goes
    source.videos = videos
    with qtbot.waitSignal(model.listingReplaced, timeout=5_000):
        model.refresh()
    titles = [model.index(r, COL_TITLE).data() for r in range(model.rowCount())]
    assert titles.count("Fresh from the card") == 0
    assert titles[0] == "Queued clip" and model.rowCount() == 6
    assert model.video_at(0) is None and _video_id(model, 1) == "v_00000"


def test_local_dates_become_utc_bounds() -> None:
    plus8 = timezone(timedelta(hours=8))
    assert local_date_range_to_utc(date(2025, 11, 3), date(2025, 11, 3), tz=plus8) == (
        "2025-11-02T16:00:00Z", "2025-11-03T15:59:59Z")
    minus5 = timezone(timedelta(hours=-5))
    assert local_date_range_to_utc(date(2025, 11, 1), None, tz=minus5) == (
        "2025-11-01T05:00:00Z", None)
    assert local_date_range_to_utc(None, None) == (None, None)


# -- against the running local stack -----------------------------------------------------------

DAY = datetime(2001, 2, 3, 9, 0, tzinfo=UTC)  # nobody else records on this day


@dataclass
class Stack:
    info: dict[str, Any]
    settings: Settings
    api: ApiClient
    auth: CognitoAuth
    ids: list[str]
    titles: list[str]


def _settings(info: dict[str, Any], api_url: str | None = None) -> Settings:
    return Settings(api_url=api_url or info["apiUrl"], region=info["region"],
                    user_pool_id=info["userPoolId"], client_id=info["clientId"],
                    cognito_endpoint=info["awsEndpoint"])


@pytest.fixture
def stack(local_stack: dict[str, Any], tmp_path: Path,
          clip_seed: Callable[[], int]) -> Iterator[Stack]:
    """Three recordings of the test's own on DAY (the second stack user's), deleted after it:
    tests edit and delete them, so none may share them (pytest-randomly orders tests)."""
    from medispecs_desktop.local.samples import make_video
    from medispecs_desktop.local.seed import upload_recording

    settings = _settings(local_stack)
    auth = CognitoAuth(settings, MemoryTokenStore())
    user = next(u for u in local_stack["users"] if u["username"] != local_stack["username"])
    auth.sign_in(user["username"], user["password"])
    api = ApiClient(settings, auth)
    folder = tmp_path / "library-clips"
    folder.mkdir()
    tag = uuid.uuid4().hex[:6]
    ids, titles = [], []
    with requests.Session() as session:
        session.trust_env = False
        for i in range(3):
            title = f"Library test {tag} #{i}"
            path = make_video(folder / f"lib{i}.mp4", seconds=1.0, width=160, height=120,
                              seed=clip_seed())
            seeded = upload_recording(session, local_stack["apiUrl"], auth.id_token(), path,
                                      title=title, recorded_at=DAY + timedelta(hours=i),
                                      notes=f"note {i}")
            ids.append(seeded.video_id)
            titles.append(title)
    try:
        yield Stack(local_stack, settings, api, auth, ids[::-1], titles[::-1])  # newest first
    finally:
        for video_id in ids:
            try:
                api.delete_video(video_id)
            except NotFoundError:
                pass  # the test deleted it
        api.close()


def _day_range(widget: LibraryWidget) -> None:
    local_day = DAY.astimezone().date()
    widget.set_date_range(local_day, local_day + timedelta(days=1))


def _make_library(qtbot: Any, api: Any, tasks: TaskRunner, user: str = "u",
                  **kw: Any) -> LibraryWidget:
    paths = Paths.default().ensure()
    widget = LibraryWidget(
        api, tasks,
        cache=LibraryCache(paths.cache_dir, user),
        thumbnails=ThumbnailCache(paths.cache_dir, user),
        **kw,
    )
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    return widget


def _titles(widget: LibraryWidget) -> list[str]:
    proxy = widget.proxy
    return [proxy.index(r, COL_TITLE).data() for r in range(proxy.rowCount())]


def test_library_lists_pages_and_thumbnails_from_the_stack(
    qtbot: Any, stack: Stack, tasks: TaskRunner
) -> None:
    widget = _make_library(qtbot, stack.api, tasks, page_size=2)
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=15_000):
        _day_range(widget)
    # 2 per page: the view asks for more by itself (fetchMore) until all 3 are in
    qtbot.waitUntil(lambda: widget.model.rowCount() == 3 and not widget.model.loading,
                    timeout=15_000)
    assert _titles(widget) == stack.titles
    assert widget.model.query.date_from is not None
    assert not widget.model.has_more
    # the offline copy grew page by page, in display order
    cache = widget.cache
    assert cache is not None
    qtbot.waitUntil(widget.cache_idle, timeout=10_000)
    listing = cache.load_listing()
    assert listing is not None and [v.title for v in listing.videos] == stack.titles
    assert listing.next_cursor is None

    # thumbnails: only painted rows ask; they arrive in the background and land on disk
    qtbot.waitUntil(lambda: widget.model.thumbnails_loaded() == 3, timeout=15_000)
    pixmap = widget.proxy.index(0, COL_THUMB).data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(pixmap, QPixmap) and pixmap.width() > 100
    assert widget.thumbnails is not None
    assert len(list(widget.thumbnails.directory.iterdir())) == 3

    # the grid shows the same rows with the thumbnail and the title
    widget.view_toggle.setChecked(True)
    assert widget.stack.currentWidget() is widget.grid
    assert widget.grid.modelColumn() == COL_THUMB

    # selection fills the details pane with everything
    assert widget.select_video(stack.ids[0])
    details = widget.details
    assert details.heading.text() == stack.titles[0]
    assert details.values["video_id"].text() == stack.ids[0]
    assert details.values["resolution"].text() == "160 × 120"
    assert details.values["status"].text() == "Ready"
    # S3 checked the whole file's CRC64NVME (FULL_OBJECT) at completion; SHA-256 recorded beside
    assert details.values["integrity"].text() == "verified (SHA-256 checked in the cloud)"
    assert details.values["integrity"].toolTip().startswith(
        "S3 checked the whole file's checksum against the uploaded bytes on ")
    assert details.notes_edit.toPlainText() == "note 2"
    assert details.play_button.isEnabled()

    # search is client-side
    widget.search.setText(stack.titles[1][-2:])
    assert _titles(widget) == [stack.titles[1]]
    widget.search.setText("")
    widget.shutdown()


def test_edit_conflict_then_reload_and_save(qtbot: Any, stack: Stack, tasks: TaskRunner) -> None:
    widget = _make_library(qtbot, stack.api, tasks)
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=15_000):
        _day_range(widget)
    target = stack.ids[1]
    assert widget.select_video(target)
    details = widget.details
    details.title_edit.setText("Edited here")
    details.title_edit.textEdited.emit("Edited here")
    assert details.save_button.isEnabled()

    # someone else changes it first (another computer: same API, new version)
    other = stack.api.get_video(target)
    stack.api.update_video(target, version=other.version, title="Edited elsewhere")

    details.save_button.click()
    qtbot.waitUntil(lambda: "changed somewhere else" in details.message.text(), timeout=10_000)
    assert details.title_edit.text() == "Edited here"  # the user's text is kept
    assert details.reload_button.isVisible()
    assert stack.api.get_video(target).title == "Edited elsewhere"

    details.reload_button.click()
    qtbot.waitUntil(lambda: "Loaded the latest version" in details.message.text(),
                    timeout=10_000)
    assert "Edited elsewhere" in details.message.text()
    assert details.title_edit.text() == "Edited here"
    details.save_button.click()
    qtbot.waitUntil(lambda: details.message.text() == "Saved.", timeout=10_000)
    assert stack.api.get_video(target).title == "Edited here"
    row = widget.proxy.mapFromSource(widget.model.index(widget.model.row_of(target), COL_TITLE))
    assert row.data() == "Edited here"
    stack.titles[1] = "Edited here"
    widget.shutdown()


def test_delete_asks_naming_the_recording_and_removes_the_row(
    qtbot: Any, stack: Stack, tasks: TaskRunner
) -> None:
    asked: list[str] = []
    answer = [False]

    def confirm(_parent: Any, text: str) -> bool:
        asked.append(text)
        return answer[0]

    widget = _make_library(qtbot, stack.api, tasks, confirm=confirm)
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=15_000):
        _day_range(widget)
    victim, title = stack.ids[2], stack.titles[2]
    assert widget.select_video(victim)
    widget.details.delete_button.click()
    assert asked and f"“{title}”" in asked[-1] and "to the Trash?" in asked[-1]
    assert widget.model.row_of(victim) >= 0  # cancelled: nothing happened
    answer[0] = True
    widget.details.delete_button.click()
    qtbot.waitUntil(lambda: widget.model.row_of(victim) < 0, timeout=10_000)
    assert title not in _titles(widget)
    # the pane no longer shows it (Qt makes a neighbour current, or nothing)
    assert widget.details.video is None or widget.details.video.video_id != victim
    with pytest.raises(NotFoundError):
        stack.api.get_video(victim)
    del stack.ids[2], stack.titles[2]
    widget.shutdown()


class _ReusableServer(socketserver.ThreadingTCPServer):
    # on a subclass: setting it on ThreadingTCPServer itself leaked into every later server
    allow_reuse_address = True
    daemon_threads = True


class Forwarder:
    """A loopback TCP forwarder we can start late: the API 'comes back' when it starts.
    ``get_delay``: each request starting with ``GET`` is held that long first (a slow network
    or API: the listing takes longer than the widget's network probe)."""

    def __init__(self, port: int, target: tuple[str, int], *, get_delay: float = 0.0) -> None:
        self.port, self.target, self.get_delay = port, target, get_delay
        self.server: socketserver.ThreadingTCPServer | None = None

    def start(self) -> None:
        target, get_delay = self.target, self.get_delay

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                upstream = socket.create_connection(target)
                pipes = [threading.Thread(target=_pipe, args=(self.request, upstream, get_delay)),
                         threading.Thread(target=_pipe, args=(upstream, self.request))]
                for p in pipes:
                    p.start()
                for p in pipes:
                    p.join()
                upstream.close()

        self.server = _ReusableServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _pipe(src: socket.socket, dst: socket.socket, get_delay: float = 0.0) -> None:
    try:
        while data := src.recv(65536):
            if get_delay and data.startswith(b"GET "):
                time.sleep(get_delay)  # the network's latency, not a wait for an outcome
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_opens_cached_listing_then_refreshes_when_network_returns(
    qtbot: Any, stack: Stack, tasks: TaskRunner
) -> None:
    # online once: the listing is cached
    online = _make_library(qtbot, stack.api, tasks, user="offline-user")
    with qtbot.waitSignal(online.model.pageLoaded, timeout=15_000):
        _day_range(online)
    online.shutdown()  # saves the listing now
    cache = online.cache
    assert cache is not None
    qtbot.waitUntil(lambda: (lst := cache.load_listing()) is not None
                    and [v.title for v in lst.videos] == stack.titles, timeout=10_000)
    online.close()

    # the API's port has nothing listening: a real connection refusal
    port = _free_port()
    api_host = stack.info["apiUrl"].split("//")[1].split("/")[0]
    host, api_port = api_host.split(":")
    offline_url = stack.info["apiUrl"].replace(api_host, f"127.0.0.1:{port}")
    offline_api = ApiClient(_settings(stack.info, offline_url), stack.auth,
                            session=make_session(retries=0))
    # Listing requests take longer than the probe's interval (as under load on a slow link):
    # a probe that answers while a refresh is on its way must not start another refresh that
    # drops the first one's answer (each answer superseded by the next: never back online).
    forwarder = Forwarder(port, (host, int(api_port)), get_delay=0.5)
    try:
        widget = _make_library(qtbot, offline_api, tasks, user="offline-user",
                               probe_interval_ms=100)
        local_day = DAY.astimezone().date()
        with qtbot.waitSignal(widget.onlineChanged, timeout=15_000) as went:
            widget.set_date_range(local_day, local_day + timedelta(days=1))
            widget.start()
        assert went.args == [False]
        qtbot.waitUntil(lambda: _titles(widget) == stack.titles, timeout=10_000)
        assert widget.model.stale and not widget.online
        assert widget.banner.isVisible()
        assert "Offline — showing the list saved at" in widget.banner.text()
        assert widget.select_video(stack.ids[0])
        details = widget.details
        for button in (details.save_button, details.delete_button, details.play_button):
            assert not button.isEnabled()
            assert "No network connection" in button.toolTip()
        assert not widget.model.canFetchMore(QModelIndex())

        # the network comes back: the widget notices by itself and refreshes
        with qtbot.waitSignal(widget.onlineChanged, timeout=15_000) as back:
            forwarder.start()
        assert back.args == [True]
        qtbot.waitUntil(lambda: not widget.model.stale and not widget.banner.isVisible(),
                        timeout=15_000)
        assert _titles(widget) == stack.titles
        assert details.delete_button.isEnabled()
        widget.shutdown()
    finally:
        forwarder.stop()
        offline_api.close()


def test_sign_out_clears_private_caches(qtbot: Any, tasks: TaskRunner, tmp_path: Path) -> None:
    from medispecs_desktop.core import library_cache, thumbnail_cache
    from medispecs_desktop.ui import positions

    paths = Paths.default().ensure()
    cache = LibraryCache(paths.cache_dir, "someone")
    cache.save_listing(_videos(3), next_cursor=None)
    cache.close()
    positions.PositionStore(paths.data_dir, "someone").save("v_1", 60_000, 120_000)
    library_cache.clear_all(paths.cache_dir)
    thumbnail_cache.clear_all(paths.cache_dir)
    positions.clear_all(paths.data_dir)
    assert LibraryCache(paths.cache_dir, "someone").load_listing() is None
    assert positions.PositionStore(paths.data_dir, "someone").get("v_1") is None


def test_app_views_sign_in_list_play_then_sign_out_clears_caches(
    qtbot: Any, local_stack: dict[str, Any]
) -> None:
    """The views as install_views puts them into the real main window."""
    from medispecs_desktop.ui.app import AppContext, install_views
    from medispecs_desktop.ui.library import LibraryView
    from medispecs_desktop.ui.main_window import MainWindow
    from medispecs_desktop.ui.player import PlayerView

    paths = Paths.default().ensure()
    ctx = AppContext(_settings(local_stack), paths, token_store=MemoryTokenStore())
    window = MainWindow(ctx.qsettings)
    qtbot.addWidget(window)
    try:
        install_views(window, ctx)
        library, player = window.library_view, window.player_view
        assert isinstance(library, LibraryView) and isinstance(player, PlayerView)
        shortcuts = {a.text() for a in window.all_actions()}
        assert {"Play / pause", "Next frame (pauses)", "Mute / unmute"} <= shortcuts
        window.show()

        assert ctx.auth is not None
        user = ctx.auth.sign_in(local_stack["username"], local_stack["password"])
        ctx.user = user
        ctx.signed_in.emit(user)
        assert library.library is not None
        inner = library.library
        qtbot.waitUntil(lambda: inner.model.rowCount() >= 3 and not inner.model.loading,
                        timeout=15_000)
        row = demo_clip_row(qtbot, inner)
        video = inner.proxy.video_at(row)
        assert video is not None

        # double-click plays it in the player
        index = inner.proxy.index(row, COL_TITLE)
        with qtbot.waitSignal(player.controller.firstFrame, timeout=15_000):
            inner.table.doubleClicked.emit(index)
        assert player.controller.video is not None
        assert player.controller.video.video_id == video.video_id
        inner.shutdown()  # flush the listing cache now
        cache_file = inner.cache.path if inner.cache is not None else None
        assert cache_file is not None
        qtbot.waitUntil(lambda: inner.cache is not None
                        and inner.cache.load_listing() is not None, timeout=10_000)

        # sign-out: views close, caches and positions are deleted
        ctx.user = None
        ctx.signed_out.emit()
        assert library.library is None
        assert player.controller.video is None
        qtbot.waitUntil(lambda: not cache_file.exists(), timeout=10_000)
        from medispecs_desktop.core.thumbnail_cache import thumbnails_dir
        qtbot.waitUntil(lambda: not thumbnails_dir(paths.cache_dir).exists(), timeout=10_000)
    finally:
        player_view = window.player_view
        if isinstance(player_view, PlayerView):
            player_view.controller.shutdown()
        ctx.shutdown()


def test_qt_binding_keeps_none_and_true_alive(qtbot: Any) -> None:
    """PySide6 6.12.0 on CPython 3.11 dropped a reference to True on every ``emit`` and to None
    on every empty QVariant returned to Python; the app died after a few thousand (pinned out
    in pyproject.toml). Guard against a binding that does it again."""
    import sys

    from PySide6.QtCore import QObject, QStringListModel, Signal

    class Emitter(QObject):
        fired = Signal(int)

    emitter = Emitter()
    emitter.fired.connect(lambda _v: None)
    model = QStringListModel(["a"])
    index = model.index(0, 0)
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(2_000):
        emitter.fired.emit(i)
        assert index.data(Qt.ItemDataRole.DecorationRole) is None
    assert sys.getrefcount(True) >= true_before - 10
    assert sys.getrefcount(None) >= none_before - 10


def test_details_pane_integrity_line(qtbot: Any) -> None:
    from dataclasses import replace

    from medispecs_desktop.ui.library import VideoDetailsPane

    (video,) = _videos(1)
    pane = VideoDetailsPane()
    qtbot.addWidget(pane)
    video = replace(video, sha256="ab" * 32)
    cases = [
        (replace(video, sha256_verified=True, sha256_verified_by="checksum",
                 verified_at="2025-11-03T14:31:00Z"),
         "verified (SHA-256 checked in the cloud)", "S3's stored checksum"),
        (replace(video, sha256_verified=False, sha256_verified_by="parts"),
         "parts checked (the whole file's SHA-256 was not compared)", "each uploaded part"),
        (replace(video, sha256_verified=False, sha256_verified_by="none"),
         "not verified", "has not compared"),
        (video, "not verified", "has not compared"),  # a record from before the check
    ]
    for shown, text, tip in cases:
        pane.set_video(shown)
        assert pane.values["integrity"].text() == text
        assert tip in pane.values["integrity"].toolTip()
    pane.set_video(None)
    assert pane.values["integrity"].text() == "" and pane.values["integrity"].toolTip() == ""


def test_details_pane_keeps_unsaved_edits_when_another_row_is_selected(qtbot: Any) -> None:
    from medispecs_desktop.ui.library import VideoDetailsPane

    a, b = _videos(2)
    pane = VideoDetailsPane()
    qtbot.addWidget(pane)
    pane.set_video(a)
    assert not pane.save_button.isEnabled()
    pane.title_edit.setText("Renamed but not saved")
    pane.notes_edit.setPlainText("draft notes")
    assert pane.save_button.isEnabled() and pane.revert_button.isEnabled()
    pane.set_video(b)
    assert pane.title_edit.text() == b.title and not pane.is_dirty()
    assert pane.drafts() == {a.video_id: ("Renamed but not saved", "draft notes")}
    pane.set_video(a)
    assert pane.title_edit.text() == "Renamed but not saved"
    assert pane.notes_edit.toPlainText() == "draft notes"
    assert "unsaved changes" in pane.message.text()
    pane.revert_button.click()
    assert pane.title_edit.text() == a.title and not pane.is_dirty()
    assert pane.drafts() == {}
    # a pending recording cannot be played, and says why
    pane.set_video(Video.from_api({**a.to_api(), "status": "pending"}))
    assert not pane.play_button.isEnabled()
    assert "not in the cloud yet" in pane.play_button.toolTip()


def _drag(target: Any, mime: Any) -> tuple[bool, bool]:
    """A drag-enter then a drop on ``target`` as the platform delivers them (QApplication
    routes both: ignored enters go to the parents, the drop to whoever took the enter)."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    pos = QPoint(5, 5)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_files_dropped_on_text_fields_go_to_the_upload_queue_not_into_the_text(
    qtbot: Any, tasks: TaskRunner, tmp_path: Path
) -> None:
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtWidgets import QMainWindow

    from medispecs_desktop.ui.dropzone import DropZone

    window = QMainWindow()
    qtbot.addWidget(window)
    zone = DropZone(window)
    got: list[list[str]] = []
    zone.paths_dropped.connect(got.append)
    # the library is built after the drop zone (at sign-in), as in the app; it is never
    # started here: no API call is made
    library = LibraryWidget(api=None, tasks=tasks)  # type: ignore[arg-type]
    window.setCentralWidget(library)
    window.resize(1000, 700)
    window.show()
    library.details.set_video(_videos(1)[0])
    clip = tmp_path / "ward round.mp4"
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(clip))])
    files.setText(clip.as_uri())  # file managers send the path as text too
    fields = {
        "search": library.search,
        "title": library.details.title_edit,
        "notes": library.details.notes_edit.viewport(),
        "date": library.date_from,
    }
    library.date_filter.setChecked(True)
    before = {name: (library.search.text(), library.details.title_edit.text(),
                     library.details.notes_edit.toPlainText()) for name in fields}
    for name, field in fields.items():
        got.clear()
        assert _drag(field, files) == (True, True), name
        assert got == [[str(clip)]], name
        assert (library.search.text(), library.details.title_edit.text(),
                library.details.notes_edit.toPlainText()) == before[name], name
    # dragged text still goes into a text field
    text = QMimeData()
    text.setText("knee")
    got.clear()
    assert _drag(library.search, text) == (True, True)
    assert library.search.text() == "knee" and got == []


def _usable(widget: Any, min_width: int) -> bool:
    return widget.isVisible() and widget.width() >= min_width


@pytest.mark.parametrize("screen", [(1280, 720), (1366, 768), (1920, 1080)])
def test_layout_is_usable_on_laptop_and_desktop_screens(
    qtbot: Any, local_stack: dict[str, Any], screen: tuple[int, int]
) -> None:
    """The real window with the app's style, signed in, a recording open in the player, at the
    size the first start gives it (85 % of the screen) and maximised: the seek slider, the time,
    the search box and the columns a clinician scans all have room; nothing is a blank square;
    no horizontal scroll bars."""
    from PySide6.QtWidgets import QAbstractButton, QApplication

    from medispecs_desktop.ui.app import AppContext, AppController, install_views
    from medispecs_desktop.ui.icons import stylesheet
    from medispecs_desktop.ui.library import LibraryView
    from medispecs_desktop.ui.main_window import MainWindow
    from medispecs_desktop.ui.player import PlayerView

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old_sheet = app.styleSheet()
    app.setStyleSheet(stylesheet())
    paths = Paths.default().ensure()
    ctx = AppContext(_settings(local_stack), paths, token_store=MemoryTokenStore())
    window = MainWindow(ctx.qsettings)
    qtbot.addWidget(window)
    controller = AppController(ctx, window)
    try:
        install_views(window, ctx)
        width, height = screen
        window.resize(int(width * 0.85), int(height * 0.85))
        controller.show_window()
        assert ctx.auth is not None
        controller._signed_in(ctx.auth.sign_in(local_stack["username"], local_stack["password"]))
        library, player = window.library_view, window.player_view
        assert isinstance(library, LibraryView) and isinstance(player, PlayerView)
        inner = library.library
        assert inner is not None
        qtbot.waitUntil(lambda: inner.model.rowCount() >= 3 and not inner.model.loading,
                        timeout=15_000)
        row = demo_clip_row(qtbot, inner)
        inner.table.selectRow(row)
        with qtbot.waitSignal(player.controller.firstFrame, timeout=15_000):
            inner.table.doubleClicked.emit(inner.proxy.index(row, COL_TITLE))

        for size in ((int(width * 0.85), int(height * 0.85)), (width, height - 40)):
            window.resize(*size)
            qtbot.waitUntil(lambda s=size: window.width() == s[0], timeout=2_000)
            QApplication.processEvents()
            w = player.widget
            fm = w.time_label.fontMetrics()
            assert _usable(w.slider, max(200, w.width() // 2)), size
            assert w.slider.y() < w.play_button.y()  # a row of its own above the buttons
            assert _usable(w.time_label, fm.horizontalAdvance("0:00:00 / 0:00:00")), size
            for button in w.findChildren(QAbstractButton):
                if button.isVisibleTo(w) and button.parent() is not w.resume_bar:
                    assert not button.icon().isNull() or button.text().strip(), button
                    assert button.toolTip() or button.text().strip(), button
                    assert button.width() >= button.minimumSizeHint().width(), button
            assert _usable(w.volume, 60), size
            assert _usable(inner.search, 200), size
            table = inner.table
            for col in (COL_TITLE, COL_RECORDED, COL_DURATION, COL_STATUS):
                assert not table.isColumnHidden(col), (size, col)
                text = inner.proxy.index(0, col).data() or ""
                need = table.fontMetrics().horizontalAdvance(text) + 8
                assert table.columnWidth(col) >= (140 if col == COL_TITLE else need), (size, col)
            assert table.horizontalScrollBar().maximum() == 0, size
            assert table.viewport().height() >= 3 * table.verticalHeader().defaultSectionSize()
            if not table.isColumnHidden(COL_THUMB):
                assert table.rowHeight(0) >= table.iconSize().height()
            details = inner.details
            assert details.scroll_area.horizontalScrollBar().maximum() == 0, size
            assert _usable(details.title_edit, 200) and _usable(details.notes_edit, 200)
    finally:
        app.setStyleSheet(old_sheet)
        controller.shutdown()


def test_folding_the_details_gives_their_height_to_the_list(
    qtbot: Any, tasks: TaskRunner
) -> None:
    library = LibraryWidget(api=None, tasks=tasks)  # type: ignore[arg-type]  # never started
    qtbot.addWidget(library)
    library.resize(600, 900)  # room under the 45 % cap whatever the fonts (fresh root: DejaVu)
    library.show()
    qtbot.waitUntil(lambda: library._split_sized, timeout=2_000)
    library.details.set_video(_videos(1)[0])
    library._fit_details()
    list_folded, details_folded = library.splitter.sizes()
    # the technical details start folded: title, notes and the buttons are shown whole
    assert not library.details.fields.isVisible()
    assert library.details.delete_button.isVisible()
    assert library.details.scroll_area.verticalScrollBar().maximum() == 0
    library.details.fields_toggle.click()  # "Show technical details"
    assert library.details.fields.isVisible()
    list_open, details_open = library.splitter.sizes()
    cap = 0.45 * (list_open + details_open)
    assert details_open <= cap + 1
    gain = min(50.0, cap - details_folded - 2)  # the fields' height, or up to the cap
    assert gain > 0, (details_folded, cap)
    assert details_open > details_folded + gain and list_open < list_folded - gain
    library.details.fields_toggle.click()  # "Hide technical details"
    assert not library.details.fields.isVisible()
    assert library.splitter.sizes()[1] <= details_folded + 2


def test_table_columns_are_measured_again_when_the_font_changes(
    qtbot: Any, tasks: TaskRunner
) -> None:
    from PySide6.QtGui import QFont

    from medispecs_desktop.ui.library import LibraryTableView

    model = VideoTableModel(ListSource(_videos(3)), tasks, query=LibraryQuery(limit=20))
    table = LibraryTableView()
    qtbot.addWidget(table)
    table.setModel(model)
    table.resize(900, 300)
    table.show()
    small = table.columnWidth(COL_RECORDED)
    font = QFont(table.font())
    font.setPointSizeF(font.pointSizeF() * 1.6)
    table.setFont(font)  # as a style sheet's font-size or a larger system font does
    assert table.columnWidth(COL_RECORDED) >= small * 1.4
    assert table.columnWidth(COL_RECORDED) >= table.fontMetrics().horizontalAdvance(
        "2026-12-28 23:58")


def test_grid_keeps_room_for_the_caption_under_full_size_thumbnails(
    qtbot: Any, tasks: TaskRunner
) -> None:
    # the grid measures its (uniform) cells once, while the rows still show the small
    # placeholder; the 4:3 thumbnails that arrive later are 120 x 90 and must not push the
    # title and status out of the cell
    import dataclasses

    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QImage

    from medispecs_desktop.ui.library import GRID_THUMB_SIZE, LibraryGridView

    image = QImage(160, 120, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 takes a str format at run time (bytes raise ValueError); its stubs say bytes
    image.save(buffer, "JPEG")  # type: ignore[call-overload]
    jpeg = bytes(buffer.data().data())
    videos = [dataclasses.replace(v, thumbnail_s3_key=f"thumbs/{v.video_id}.jpg")
              for v in _videos(3)]
    model = VideoTableModel(ListSource(videos), tasks, query=LibraryQuery(limit=20),
                            thumbnail_loader=lambda v: jpeg)
    grid = LibraryGridView()
    qtbot.addWidget(grid)
    grid.setModel(model)
    grid.resize(640, 400)
    grid.show()
    qtbot.waitExposed(grid)
    model.refresh()
    qtbot.waitUntil(lambda: model.thumbnails_loaded() == 3, timeout=10_000)
    index = grid.model().index(0, COL_THUMB)
    rect = grid.visualRect(index)
    line = grid.fontMetrics().height()
    assert rect.height() >= GRID_THUMB_SIZE.height() + 2 * line


def test_count_after_deleting_a_recording_is_the_new_total(
    qtbot: Any, tasks: TaskRunner
) -> None:
    # the proxy removes its row before the source model has: the count read then said
    # "2 of 3 recordings" with no search typed
    from medispecs_desktop.core.library_cache import CachedListing

    library = LibraryWidget(api=None, tasks=tasks)  # type: ignore[arg-type]  # never started
    qtbot.addWidget(library)
    videos = _videos(3)
    library.model.load_cached(CachedListing(videos, None, 0.0, None, None))
    assert library.count_label.text() == "3 recordings"
    assert library.model.remove_video(videos[1].video_id)
    assert library.count_label.text() == "2 recordings"
    library.search.setText("00002")
    assert library.count_label.text() == "1 of 2 recordings"


def test_saving_an_edit_tells_the_player_side(qtbot: Any, stack: Stack,
                                              tasks: TaskRunner) -> None:
    # the player shows the open recording's title: the library says when it was renamed
    widget = _make_library(qtbot, stack.api, tasks)
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=15_000):
        _day_range(widget)
    target, before = stack.ids[0], stack.titles[0]
    assert widget.select_video(target)
    details = widget.details
    details.title_edit.setText("Renamed for the player")
    details.title_edit.textEdited.emit("Renamed for the player")
    with qtbot.waitSignal(widget.videoUpdated, timeout=10_000) as saved:
        details.save_button.click()
    assert saved.args[0].video_id == target
    assert saved.args[0].title == "Renamed for the player"
    # put the shared stack back as the other tests expect it
    latest = stack.api.get_video(target)
    stack.api.update_video(target, version=latest.version, title=before)
    widget.shutdown()


def test_model_fetches_the_next_page_ahead_once_the_view_pages(qtbot: Any,
                                                               tasks: TaskRunner) -> None:
    """Issue 16: a fast scroll to the end of a big library waits for no round trip the model
    could have started earlier - once the view pages, the next pages (at most AHEAD of them)
    are asked for, and the view's next fetchMore shows those already here at once."""
    source = ListSource(_videos(450))
    third = threading.Event()  # rows 200-299 come only once the second page is shown

    def fetch(query: LibraryQuery, cursor: str | None) -> Page:
        if cursor == "200":
            third.wait(timeout=30)
        return source(query, cursor)

    model = VideoTableModel(fetch, tasks, query=LibraryQuery(limit=100))
    with qtbot.waitSignal(model.pageLoaded, timeout=5_000):
        model.refresh()
    assert [c for _q, c in source.calls] == [None]  # the first page alone: nothing ahead yet
    with qtbot.waitSignal(model.pageLoaded, timeout=5_000):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 200
    third.set()
    # nobody asked for rows 200-399 yet: they are fetched ahead (two pages, no more), and wait
    qtbot.waitUntil(lambda: model.pages_ahead == AHEAD == 2, timeout=5_000)
    assert [c for _q, c in source.calls] == [None, "100", "200", "300"]
    assert model.rowCount() == 200 and model.canFetchMore(QModelIndex()) and not model.loading
    # the view scrolls on: the pages already here go in at once, no request to wait
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 400
    qtbot.waitUntil(lambda: model.pages_ahead == 1, timeout=5_000)  # and the last one ahead
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 450 and not model.has_more and not model.canFetchMore(QModelIndex())
    assert model.pages_asked_ahead == 0
    assert [c for _q, c in source.calls] == [None, "100", "200", "300", "400"]  # each page once
    ids = [model.video_at(r).video_id for r in range(model.rowCount())]  # type: ignore[union-attr]
    assert ids == [v.video_id for v in source.videos]
    # a new listing drops what was fetched ahead for the old one
    source.calls.clear()
    with qtbot.waitSignal(model.pageLoaded, timeout=5_000):
        model.refresh()
    assert model.rowCount() == 100 and model.pages_asked_ahead == 0


def test_unsaved_edits_survive_the_list_being_loaded_again(
    qtbot: Any, stack: Stack, tasks: TaskRunner
) -> None:
    """The list reloads under the user (Refresh, the network coming back, a finished upload):
    the recording shown is selected again, and what the user typed but did not save stays, with
    Save and Revert on. Before, selecting the same recording again put its saved title back
    (CI: the keyboard test found Save/Revert gone after an upload finished meanwhile)."""
    widget = _make_library(qtbot, stack.api, tasks)
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=15_000):
        _day_range(widget)
    target = stack.ids[2]
    assert widget.select_video(target)
    details = widget.details
    details.title_edit.setText("Typed, not saved")
    details.title_edit.textEdited.emit("Typed, not saved")
    details.notes_edit.setPlainText("notes typed")
    assert details.save_button.isEnabled()
    for _ in range(2):  # a reload, then another with the row elsewhere in the list
        with qtbot.waitSignal(widget.model.listingReplaced, timeout=15_000):
            widget.refresh()
        assert details.video is not None and details.video.video_id == target
        assert details.title_edit.text() == "Typed, not saved"
        assert details.notes_edit.toPlainText() == "notes typed"
        assert details.save_button.isEnabled() and details.revert_button.isEnabled()
        widget.proxy.sort(COL_TITLE, Qt.SortOrder.DescendingOrder)
    widget.shutdown()
