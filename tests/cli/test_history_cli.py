"""`medispecs-desktop history ID` against the local stack: the get, playback and edit a user
just made, by that user, newest first; another user cannot read it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from medispecs_desktop.cli.main import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from tests.cli.test_account_cli import _login, new_username, run  # noqa: F401 - fixture

HISTORY_KEYS = ["at", "action", "userId", "username", "sourceIp", "userAgent"]


def _api() -> Any:
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, KeyringTokenStore
    from medispecs_desktop.core.config import load_settings

    settings = load_settings()
    auth = CognitoAuth(settings, KeyringTokenStore())
    assert auth.restore() is not None
    return ApiClient(settings, auth)


def _upload(clip: Path, video_id: str) -> None:
    """A real clip's bytes through a real pre-signed PUT, then its record."""
    data = clip.read_bytes()
    with _api() as api:
        up = api.upload_url(video_id, content_type="video/mp4", size=len(data))
        assert requests.put(up["uploadUrl"], data=data, headers=up["headers"],
                            timeout=30).status_code == 200
        api.create_video({"videoId": video_id, "title": "Ward round, bed 4",
                          "recordedAt": "2025-04-01T08:00:00Z", "mimeType": "video/mp4",
                          "sha256": hashlib.sha256(data).hexdigest(), "fileSizeBytes": len(data)})


def test_history_shows_the_get_playback_and_edit_just_made(
    local_stack: dict[str, Any], run: Any, make_video: Any  # noqa: F811
) -> None:
    username = new_username(local_stack)
    _login(run, username)
    code, out, _ = run("whoami", "--json")
    sub = json.loads(out)["sub"]
    video_id = "v_hist" + sub.replace("-", "")[:20]
    _upload(make_video("ward.mp4", seconds=1), video_id)

    assert run("get", video_id)[0] == EXIT_OK
    assert run("playback-url", video_id, "--json")[0] == EXIT_OK
    with _api() as api:
        version = api.get_video(video_id).version
        api.update_video(video_id, version=version, notes="seen on the ward")

    code, out, err = run("history", video_id, "--json")
    assert code == EXIT_OK, err
    events = json.loads(out)
    assert [e["action"] for e in events] == ["history", "edit", "get", "playback", "get",
                                             "create"]
    for e in events:
        assert list(e) == HISTORY_KEYS
        assert (e["userId"], e["username"]) == (sub, username)
        assert e["sourceIp"] == "127.0.0.1"
        assert e["userAgent"].startswith("medispecs-desktop/")
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)

    code, out, _ = run("history", video_id)
    assert code == EXIT_OK
    lines = out.splitlines()
    assert " history " in lines[0] and " history " in lines[1] and " edit " in lines[2]
    assert f"{username} ({sub})" in lines[0] and "from 127.0.0.1" in lines[0]
    code, out, err = run("history", video_id, "--limit", "2")
    assert len(out.splitlines()) == 2 and "--all" in err
    code, out, _ = run("history", video_id, "--all", "--json")
    assert len(json.loads(out)) == len(events) + 3  # the three reads since

    _login(run, new_username(local_stack))  # someone else on the same computer
    code, out, err = run("history", video_id, "--json")
    assert code == EXIT_NOT_FOUND and out == "" and "not found" in err
    with pytest.raises(SystemExit) as usage:
        run("history", video_id, "--limit", "0")
    assert usage.value.code == EXIT_USAGE
