"""`medispecs-desktop delete / trash list / trash restore / trash purge` against the running
local stack: a real recording (bytes through a pre-signed URL) goes to the Trash and comes back
whole, with its duplicate pointer; purged, its bytes (every version) and pointers are gone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from tests.cli.test_account_cli import _login, new_username, run  # noqa: F401 - fixture


def _api() -> Any:
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, KeyringTokenStore
    from medispecs_desktop.core.config import load_settings

    settings = load_settings()
    auth = CognitoAuth(settings, KeyringTokenStore())
    assert auth.restore() is not None
    return ApiClient(settings, auth)


def _upload(local_stack: dict[str, Any], api: Any, folder: Path) -> tuple[str, str, bytes]:
    """A real clip uploaded as the desktop does (verified in the cloud: a duplicate target)."""
    from medispecs_desktop.local.samples import make_video
    from medispecs_desktop.local.seed import upload_recording

    path = make_video(folder / "ward.mp4", seconds=1.0, width=160, height=120, seed=11)
    with requests.Session() as session:
        session.trust_env = False
        seeded = upload_recording(session, local_stack["apiUrl"], api.tokens.id_token(), path,
                                  title="Ward round")
    data = path.read_bytes()
    return seeded.video_id, hashlib.sha256(data).hexdigest(), data


def test_delete_list_restore_purge(local_stack: dict[str, Any], run: Any,  # noqa: F811
                                   tmp_path: Path) -> None:
    _login(run, new_username(local_stack))
    with _api() as api:
        video_id, sha, data = _upload(local_stack, api, tmp_path)
        key = api.get_video(video_id).s3_key

        code, out, _ = run("delete", video_id, "--yes")
        assert code == EXIT_OK and "to the Trash" in out and "trash restore" in out
        code, out, _ = run("list", "--json")
        assert json.loads(out)["items"] == []
        assert api.find_duplicates(sha256s=[sha]) == []  # no duplicate target in the Trash

        code, out, _ = run("trash", "list", "--json")
        assert code == EXIT_OK
        [entry] = json.loads(out)["items"]
        assert entry["videoId"] == video_id and entry["purgeAt"] > entry["trashedAt"]
        code, out, _ = run("trash", "list")
        assert out.splitlines()[0].startswith("DELETED (UTC)") and video_id in out

        code, out, _ = run("trash", "restore", video_id)
        assert code == EXIT_OK and f"Restored {video_id}" in out
        code, out, _ = run("list", "--json")
        assert [v["videoId"] for v in json.loads(out)["items"]] == [video_id]
        grant = api.playback_url(video_id)
        assert requests.get(grant.url, timeout=30).content == data
        assert api.find_duplicates(sha256s=[sha]) == [{"sha256": sha, "videoId": video_id}]
        code, out, _ = run("trash", "list")
        assert out.strip() == "The Trash is empty."

        # purge: only from the Trash, only with a confirmation
        code, _, err = run("trash", "purge", video_id, "--yes")
        assert code == EXIT_ERROR and "not in the Trash" in err
        assert run("delete", video_id, "--yes")[0] == EXIT_OK
        code, _, err = run("trash", "purge", video_id)
        assert code == EXIT_USAGE and "pass --yes" in err
        code, out, _ = run("trash", "purge", video_id, "--yes")
        assert code == EXIT_OK and out.strip() == f"Deleted {video_id} forever."
        assert api.find_duplicates(sha256s=[sha]) == []
        code, _, err = run("trash", "restore", video_id)
        assert code == EXIT_NOT_FOUND
        code, out, _ = run("trash", "list", "--json")
        assert json.loads(out)["items"] == []

    s3 = boto3.client("s3", endpoint_url=local_stack["awsEndpoint"],
                      region_name=local_stack["region"], aws_access_key_id="x",
                      aws_secret_access_key="x", config=Config(s3={"addressing_style": "path"}))
    versions = s3.list_object_versions(Bucket=local_stack["bucket"], Prefix=key)
    assert not [v for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]
                if v["Key"] == key]
