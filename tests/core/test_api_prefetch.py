"""``ApiClient.iter_videos(prefetch=True)`` (what ``list --all`` uses): the next page is asked
for while the caller still works through the current one, and the listing is the same as page
by page - against the session stack, for a fresh user of its own."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from medispecs_desktop.core.api import ApiClient
from tests.core.test_api import new_user, vid

RECORDINGS = 5  # three pages of 2


@pytest.fixture
def api(local_stack: dict[str, Any]) -> Any:
    client = new_user(local_stack).api
    for i in range(RECORDINGS):
        client.create_video({"videoId": vid(), "title": f"r{i}",
                             "recordedAt": f"2025-03-0{i + 1}T10:00:00Z"})
    yield client
    client.close()


def test_the_next_page_is_asked_for_while_this_one_is_read(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursors: list[str | None] = []
    second_asked = threading.Event()
    real = ApiClient.list_videos

    def list_videos(self: ApiClient, **kw: Any) -> Any:
        cursors.append(kw.get("cursor"))
        if len(cursors) == 2:
            second_asked.set()
        return real(self, **kw)

    monkeypatch.setattr(ApiClient, "list_videos", list_videos)
    listing = api.iter_videos(limit=2, prefetch=True)
    first = next(listing)  # the caller holds the first recording of page 1 ...
    # ... and page 2 is on its way meanwhile (page by page it would wait for the caller)
    assert second_asked.wait(30), cursors
    rest = list(listing)
    assert [v.title for v in [first, *rest]] == [f"r{i}" for i in reversed(range(RECORDINGS))]
    assert len(cursors) == 3 and cursors[0] is None and len(set(cursors)) == 3


def test_prefetch_lists_what_page_by_page_lists(api: ApiClient) -> None:
    by_page = [v.video_id for v in api.iter_videos(limit=2)]
    assert len(by_page) == RECORDINGS
    assert [v.video_id for v in api.iter_videos(limit=2, prefetch=True)] == by_page
    assert [v.video_id for v in api.iter_videos(limit=100, prefetch=True)] == by_page


def test_a_caller_that_stops_early_leaves_no_thread_behind(api: ApiClient) -> None:
    listing = api.iter_videos(limit=2, prefetch=True)
    assert next(listing).title == f"r{RECORDINGS - 1}"
    listing.close()  # the generator's pool waits for the one page ahead, then ends
    assert not [t for t in threading.enumerate() if t.name.startswith("list-prefetch")]
