"""Titles and free text (issue 17): a long file name becomes a shortened title (never a
refusal), control characters never reach a title, and lone surrogates are a 400 everywhere
(POST used to answer 409 concurrent_update for ever, PATCH applied the change and said 409)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from medispecs_desktop.backend.validation import shorten_text, strip_controls


def test_long_titles_are_shortened_on_a_character_boundary(api: Any) -> None:
    stem = "Ward round " + "é" * 300  # a file name whose stem exceeds 200 characters
    status, video = api.call("POST", "/videos", body={
        "videoId": "v_long1", "title": stem, "recordedAt": "2025-01-01T00:00:00Z"})
    assert status == 201, video
    assert len(video["title"]) == 200 and video["title"].endswith("…")
    assert video["title"].startswith("Ward round éé")
    status, patched = api.call("PATCH", "/videos/v_long1",
                               body={"version": 1, "title": "x" * 5000})
    assert status == 200 and patched["title"] == "x" * 199 + "…"


def test_shorten_never_splits_a_character_from_its_marks() -> None:
    assert shorten_text("abc", 200) == "abc"
    composed = "a" * 198 + "e\u0301\u0301" + "tail"
    assert shorten_text(composed, 200) == "a" * 198 + "…"
    emoji = "x" * 197 + "\U0001f469\u200d\U0001f4bb" + "more"
    assert shorten_text(emoji, 200) == "x" * 197 + "…"
    assert len(shorten_text("y" * 10_000, 200)) == 200


def test_titles_lose_control_characters_at_creation(api: Any) -> None:
    evil = "Scan\x1b]0;pwned\x07 left\x1b[31m eye\nnext\tline\x00\x7f\x9b"
    status, video = api.call("POST", "/videos", body={
        "videoId": "v_ctrl1", "title": evil, "recordedAt": "2025-01-01T00:00:00Z"})
    assert status == 201, video
    assert video["title"] == "Scan left eye next line"
    status, video = api.call("POST", "/videos", body={
        "videoId": "v_ctrl2", "title": "\x1b[2J\n", "recordedAt": "2025-01-01T00:00:00Z"})
    assert status == 201 and video["title"] == "Untitled"
    status, patched = api.call("PATCH", "/videos/v_ctrl1",
                               body={"version": 1, "title": "new\rname\x1b[0m"})
    assert status == 200 and patched["title"] == "new name"
    assert strip_controls("plain") == "plain"


@pytest.mark.parametrize("field", ["title", "notes", "deviceId"])
def test_lone_surrogates_are_400_on_create(api: Any, field: str) -> None:
    body = {"videoId": f"v_sur{field}", "title": "t", "recordedAt": "2025-01-01T00:00:00Z"}
    raw = json.dumps(body)[:-1] + f', "{field}": "bad \\ud800 text"}}'
    if field == "title":
        raw = json.dumps({**body, "title": "PLACEHOLDER"}).replace("PLACEHOLDER",
                                                                   "bad \\udc00 text")
    for _attempt in range(2):  # a retry answers the same, not 409 for ever
        status, err = api.call("POST", "/videos", raw_body=raw)
        assert status == 400, err
        assert err["error"]["code"] == "validation_error" and field in err["error"]["message"]
    assert api.call("GET", f"/videos/v_sur{field}")[0] == 404


@pytest.mark.parametrize("field", ["title", "notes"])
def test_lone_surrogates_are_400_on_patch_and_change_nothing(api: Any, field: str) -> None:
    video = api.create(videoId=f"v_psur{field}", notes="kept")
    raw = '{"version": 1, "FIELD": "x\\ud83d"}'.replace("FIELD", field)
    status, err = api.call("PATCH", f"/videos/v_psur{field}", raw_body=raw)
    assert status == 400 and err["error"]["code"] == "validation_error", err
    status, now = api.call("GET", f"/videos/v_psur{field}")
    assert now["version"] == 1 and now["title"] == video["title"] and now["notes"] == "kept"
    # a well-formed pair (an emoji) is text like any other
    status, ok = api.call("PATCH", f"/videos/v_psur{field}",
                          raw_body='{"version": 1, "FIELD": "x\\ud83d\\ude00"}'.replace(
                              "FIELD", field))
    assert status == 200 and ok[field] == "x\U0001f600"
