"""Listing a library bigger than a page: ``list --all`` asks the API for its largest page (100),
one ``list`` page stays 50 for a person to read, and the app's library pages at 100 - against
the session stack, for a fresh user of its own."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.core.api import MAX_LIMIT, ApiClient
from medispecs_desktop.local.stack import sign_in
from tests.cli.test_account_cli import PASSWORD, new_username, run

RECORDINGS = MAX_LIMIT + 1  # two pages at 100, three at 50
__all__ = ["run"]  # the CLI tests' in-process runner, a fixture


@pytest.fixture
def user(local_stack: dict[str, Any]) -> tuple[str, list[str]]:
    """A fresh user with RECORDINGS metadata-only recordings (newest first: their ids)."""
    username = new_username(local_stack)
    token = sign_in(local_stack["awsEndpoint"], local_stack["region"], local_stack["clientId"],
                    username, PASSWORD)["IdToken"]
    base = datetime(2025, 6, 1, tzinfo=UTC)
    ids = []
    with requests.Session() as http:
        http.trust_env = False
        for i in range(RECORDINGS):
            video_id = f"v_{uuid.uuid4().hex}"
            recorded_at = (base + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            r = http.post(f"{local_stack['apiUrl'].rstrip('/')}/videos",
                          json={"videoId": video_id, "title": f"Recording {i}",
                                "recordedAt": recorded_at},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert r.status_code == 201, r.text
            ids.append(video_id)
    return username, ids[::-1]


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The page size of every ``GET /videos`` the API client makes."""
    seen: list[int] = []
    real_list = ApiClient.list_videos

    def list_videos(self: ApiClient, **kw: Any) -> Any:
        seen.append(kw["limit"])
        return real_list(self, **kw)

    monkeypatch.setattr(ApiClient, "list_videos", list_videos)
    return seen


def test_list_all_asks_for_the_largest_page(
    user: tuple[str, list[str]], run: Any, limits: list[int]
) -> None:
    username, newest_first = user
    code, _, err = run("login", "-u", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert code == EXIT_OK, err

    code, out, err = run("list", "--all", "--json")
    assert code == EXIT_OK, err
    listing = json.loads(out)
    assert [v["videoId"] for v in listing["items"]] == newest_first
    assert listing["nextCursor"] is None
    assert limits == [MAX_LIMIT, MAX_LIMIT]  # 101 recordings: two requests, not three

    limits.clear()
    code, out, _ = run("list", "--json")  # one page for a person: 50
    page = json.loads(out)
    assert [v["videoId"] for v in page["items"]] == newest_first[:50] and page["nextCursor"]
    assert limits == [50]

    limits.clear()
    code, out, _ = run("list", "--all", "--json", "--limit", "40")  # an explicit size wins
    assert [v["videoId"] for v in json.loads(out)["items"]] == newest_first
    assert limits == [40, 40, 40]


def test_the_app_library_pages_at_the_apis_largest_page() -> None:
    import inspect

    from medispecs_desktop.ui.library import PAGE_SIZE, LibraryQuery, LibraryWidget

    assert PAGE_SIZE == MAX_LIMIT == 100
    assert LibraryQuery().limit == PAGE_SIZE
    assert inspect.signature(LibraryWidget).parameters["page_size"].default == PAGE_SIZE
