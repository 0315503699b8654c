"""Names and titles never drive the terminal (issue 17 item 7): ESC/OSC sequences, newlines and
bidi overrides from a file name or the server print as visible escapes in `list`, `get`,
`upload` and `queue list`; `--json` stays valid JSON with no raw control character."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.cli.output import dumps_json, safe
from tests.cli.test_account_cli import _create, _login, new_username, run  # noqa: F401

HOSTILE = "Ward 3\x1b]0;pwned\x07\nFAKE LINE\x1b[2J\u202eevil\x9b31m\r"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # all but \n


def _assert_inert(text: str) -> None:
    assert not RAW.search(text), repr(text)


def test_safe_escapes_controls_and_keeps_text() -> None:
    assert safe(HOSTILE) == (
        "Ward 3\\x1b]0;pwned\\x07\\nFAKE LINE\\x1b[2J\\u202eevil\\x9b31m\\r")
    assert safe("Café Ärzte 🎥 tab\there") == "Café Ärzte 🎥 tab\\there"
    assert safe("lone \ud800") == "lone \\ud800"
    assert safe(Path("/tmp/a\nb.mp4")) == "/tmp/a\\nb.mp4"


def test_json_stays_valid_and_inert() -> None:
    value = {"title": HOSTILE, "lone": "\ud800", "ok": "Café 🎥"}
    text = dumps_json(value)
    _assert_inert(text.replace("\n", ""))
    assert json.loads(text) == value
    assert "Café 🎥" in text  # readable, not \u-escaped


def test_list_and_get_escape_titles_from_the_server(local_stack: dict[str, Any],
                                                    run: Any) -> None:  # noqa: F811
    _login(run, new_username(local_stack))
    vid = _create(local_stack, run, HOSTILE, "2025-04-01T09:00:00Z")

    code, out, _ = run("list")
    assert code == EXIT_OK
    _assert_inert(out)
    lines = out.splitlines()
    assert len(lines) == 2 and vid in lines[1]  # no fake second line
    code, out, _ = run("get", vid)
    assert code == EXIT_OK
    _assert_inert(out)
    assert not any(line.startswith("FAKE LINE") for line in out.splitlines())
    code, out, _ = run("list", "--json")
    assert code == EXIT_OK
    _assert_inert(out.replace("\n", ""))
    (item,) = [v for v in json.loads(out)["items"] if v["videoId"] == vid]
    code, out, _ = run("get", vid, "--json")
    assert code == EXIT_OK and json.loads(out)["title"] == item["title"]


def test_upload_and_queue_list_escape_file_names(local_stack: dict[str, Any], run: Any,  # noqa: F811
                                                 tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("MEDISPECS_HOME", str(tmp_path / "home"))
    _login(run, new_username(local_stack))
    video = tmp_path / "clinic\x1b]0;pwned\x07\nFAKE.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000)
    other = tmp_path / "notes\x1b[31m.txt"
    other.write_text("not a video")

    code, out, err = run("upload", str(video), str(other))
    assert code == EXIT_OK, err
    _assert_inert(out + err)
    assert "notes\\x1b[31m.txt" in err  # the skipped file, visibly escaped
    code, out, err = run("queue", "list")
    assert code == EXIT_OK, err
    _assert_inert(out)
    assert "clinic\\x1b]0;pwned\\x07\\nFAKE.mp4" in out
    assert len(out.splitlines()) == 1
    code, out, _ = run("queue", "list", "--json")
    _assert_inert(out.replace("\n", ""))
    assert [Path(j["path"]).name for j in json.loads(out)] == [video.name]


@pytest.mark.parametrize("count", [0, 1, 3])
@pytest.mark.parametrize("cursor", [None, "eyJQSyI6IlUjMSJ9"])
def test_a_listing_encoded_item_by_item_is_the_same_document(count: int,
                                                             cursor: str | None) -> None:
    """`list --all --json` encodes each recording while the next page is on its way
    (issue 16); the document is byte for byte what one dumps_json of it gives."""
    from medispecs_desktop.cli.output import dumps_json_listing, json_list_item

    items: list[dict[str, Any]] = [
        {"videoId": f"v_{i}", "title": "Knee \x1b]0;x\x07 \u202e scope\n\u00e9 🎥",
         "durationSec": 12.5, "damaged": i % 2 == 0, "notes": None,
         "reviewCopy": {"status": "ready", "sizes": [1, 2, {"k": "\u2028"}]}, "tags": []}
        for i in range(count)]
    expected = dumps_json({"items": items, "nextCursor": cursor})
    assert dumps_json_listing([json_list_item(v) for v in items], cursor) == expected
    assert json.loads(expected) == {"items": items, "nextCursor": cursor}
