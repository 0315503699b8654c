"""`medispecs-desktop markers ID [--json]` and the core API's marker calls against the local
stack: create, list in time order, edit with a version, delete; another user sees nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from medispecs_desktop.cli.main import EXIT_NOT_FOUND, EXIT_OK
from medispecs_desktop.core.errors import ConflictError
from tests.cli.test_account_cli import _create, _login, new_username, run  # noqa: F401 - fixture

MARKER_KEYS = ["markerId", "videoId", "timeMs", "text", "author", "createdAt", "updatedAt",
               "version", "hasStill"]


def _api() -> Any:
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, KeyringTokenStore
    from medispecs_desktop.core.config import load_settings

    settings = load_settings()
    auth = CognitoAuth(settings, KeyringTokenStore())
    assert auth.restore() is not None
    return ApiClient(settings, auth)


def test_markers_through_the_api_and_the_cli(local_stack: dict[str, Any],
                                             run: Any) -> None:  # noqa: F811
    username = new_username(local_stack)
    _login(run, username)
    video_id = _create(local_stack, run, "Dressing change", "2025-05-01T09:00:00Z")

    code, out, err = run("markers", video_id)
    assert code == EXIT_OK and out == "" and "no markers" in err
    with _api() as api:
        late = api.create_marker(video_id, time_ms=62_345, text="Suture line")
        early = api.create_marker(video_id, time_ms=4_033, text="Wound edge")
        # the client's own id makes a retried create harmless
        again = api.create_marker(video_id, time_ms=4_033, text="Wound edge",
                                  marker_id=early.marker_id)
        assert again == early
        moved = api.update_marker(video_id, late.marker_id, version=late.version,
                                  time_ms=61_000, text="Suture line, distal")
        assert moved.version == 2 and moved.time_ms == 61_000
        with pytest.raises(ConflictError):
            api.update_marker(video_id, late.marker_id, version=1, text="stale")
        temp = api.create_marker(video_id, time_ms=10, text="oops")
        api.delete_marker(video_id, temp.marker_id)
        assert [m.marker_id for m in api.list_markers(video_id)] == [early.marker_id,
                                                                      late.marker_id]

    code, out, err = run("markers", video_id)
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("0:04.033  Wound edge  (") and username in lines[0]
    assert lines[1].startswith("1:01.000  Suture line, distal  (")
    code, out, _ = run("markers", video_id, "--json")
    items = json.loads(out)
    assert [list(m) for m in items] == [MARKER_KEYS, MARKER_KEYS]
    assert [(m["timeMs"], m["text"], m["version"]) for m in items] == [
        (4_033, "Wound edge", 1), (61_000, "Suture line, distal", 2)]

    _login(run, new_username(local_stack))  # someone else on the same computer
    code, out, err = run("markers", video_id, "--json")
    assert code == EXIT_NOT_FOUND and out == "" and "not found" in err
