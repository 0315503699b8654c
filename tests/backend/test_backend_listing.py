"""Listing: newest first, date ranges, paging across pages with an opaque, checked cursor."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest


def seed(api: Any, n: int = 12) -> list[str]:
    """n videos recorded one per day from 2025-03-01, at 10:00 UTC; returns their ids."""
    ids = []
    for day in range(1, n + 1):
        vid = f"v_day{day:02d}"
        api.create(videoId=vid, recordedAt=f"2025-03-{day:02d}T10:00:00Z", title=f"day {day}")
        ids.append(vid)
    return ids


def pages(api: Any, **query: str) -> list[list[str]]:
    out: list[list[str]] = []
    cursor = None
    while True:
        q = dict(query)
        if cursor:
            q["cursor"] = cursor
        status, page = api.call("GET", "/videos", query=q)
        assert status == 200, page
        out.append([v["videoId"] for v in page["items"]])
        cursor = page["nextCursor"]
        if cursor is None:
            return out
        assert len(out) < 50


def test_paging_across_pages_with_from_and_to(api: Any) -> None:
    ids = seed(api)
    newest_first = ids[::-1]
    assert pages(api) == [newest_first]
    assert pages(api, limit="5") == [newest_first[:5], newest_first[5:10], newest_first[10:]]
    # An exact multiple of the limit leaves no empty trailing page.
    assert pages(api, limit="4") == [newest_first[0:4], newest_first[4:8], newest_first[8:12]]
    # Date filters are inclusive whole days for dates, exact for date-times.
    in_range = pages(api, **{"from": "2025-03-03", "to": "2025-03-09", "limit": "3"})
    assert in_range == [["v_day09", "v_day08", "v_day07"], ["v_day06", "v_day05", "v_day04"],
                        ["v_day03"]]
    assert pages(api, **{"from": "2025-03-10T10:00:00Z"}) == [["v_day12", "v_day11", "v_day10"]]
    assert pages(api, **{"from": "2025-03-10T10:00:01Z"}) == [["v_day12", "v_day11"]]
    assert pages(api, to="2025-03-02T11:00:00+01:00") == [["v_day02", "v_day01"]]
    assert pages(api, **{"from": "2026-01-01"}) == [[]]


def test_bad_listing_parameters(api: Any) -> None:
    seed(api, 3)
    for query in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"limit": "-5"},
                  {"from": "yesterday"}, {"to": "2025-13-01"}, {"from": "2025-02-30"},
                  {"from": "2025-03-05", "to": "2025-03-01"}):
        status, err = api.call("GET", "/videos", query=query)
        assert status == 400, (query, err)
        assert err["error"]["code"] in ("invalid_limit", "invalid_date", "invalid_range")


def _cursor(pk: str, sk: str) -> str:
    raw = json.dumps({"PK": pk, "SK": sk}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("kind", ["garbage", "other_user", "pointer_sk", "extra_key",
                                  "out_of_range", "not_json"])
def test_tampered_cursor_is_rejected(api: Any, other_api: Any, kind: str) -> None:
    seed(api, 3)
    status, page = api.call("GET", "/videos", query={"limit": "1"})
    assert page["nextCursor"]
    cursor = {
        "garbage": "!!!not-base64!!!",
        "other_user": _cursor(f"USER#{other_api.user}", "VIDEO#2025-03-02T10:00:00Z#v_day02"),
        "pointer_sk": _cursor(f"USER#{api.user}", "VIDEOID#v_day02"),
        "extra_key": base64.urlsafe_b64encode(json.dumps(
            {"PK": f"USER#{api.user}", "SK": "VIDEO#x", "GSI": 1}).encode()).decode(),
        "out_of_range": _cursor(f"USER#{api.user}", "VIDEO#2030-01-01T00:00:00Z#v_x"),
        "not_json": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    }[kind]
    query = {"cursor": cursor}
    if kind == "out_of_range":
        query["to"] = "2025-12-31"
    status, err = api.call("GET", "/videos", query=query)
    assert status == 400 and err["error"]["code"] == "invalid_cursor"
    # The cursor someone else was given is useless to another user.
    status, err = other_api.call("GET", "/videos", query={"cursor": page["nextCursor"]})
    assert status == 400


def test_list_costs_one_query_regardless_of_page(api: Any) -> None:
    seed(api, 6)
    api.ddb_calls.clear()
    _, page = api.call("GET", "/videos", query={"limit": "2"})
    _, page = api.call("GET", "/videos", query={"limit": "2", "cursor": page["nextCursor"]})
    assert api.ddb_calls == ["Query", "Query"]
    assert [v["videoId"] for v in page["items"]] == ["v_day04", "v_day03"]
