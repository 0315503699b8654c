"""The scheduled ``verify-sha256`` job on the embedded stack (issue 15): recordings that older
clients or the console uploaded carry no verified SHA-256, so they are no duplicate target and a
card holding their file never becomes safe to erase. The job streams each such object once,
records its SHA-256 with its duplicate pointer, and from then on the duplicate check finds it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.jobs import run_job


def _config(info: dict[str, Any]) -> BackendConfig:
    config = BackendConfig.from_env({"TABLE_MAIN": info["table"], "S3_BUCKET": info["bucket"],
                                     "S3_REGION": info["region"]})
    return replace(config, endpoint_url=info["awsEndpoint"], aws_access_key_id="local",
                   aws_secret_access_key="local", s3_addressing_style="path")


class Client:
    def __init__(self, http: requests.Session, info: dict[str, Any], user: dict[str, Any]):
        self.http, self.api, self.sub = http, info["apiUrl"], user["sub"]
        self.auth = {"Authorization": f"Bearer {user['IdToken']}"}

    def console_upload(self, data: bytes, **fields: Any) -> dict[str, Any]:
        """As an older client or the guide's console flow: no verified checksum."""
        video_id = "v_" + uuid.uuid4().hex
        grant = self.http.get(f"{self.api}/videos/{video_id}/upload-url", headers=self.auth,
                              params={"contentType": "video/mp4"})
        assert grant.status_code == 200, grant.text
        g = grant.json()
        assert self.http.put(g["uploadUrl"], data=data, headers=g["headers"]).status_code == 200
        created = self.http.post(f"{self.api}/videos", headers=self.auth, json={
            "videoId": video_id, "title": "Older client", "recordedAt": "2024-05-06T07:08:09Z",
            **fields})
        assert created.status_code == 201, created.text
        record: dict[str, Any] = created.json()
        return record

    def get(self, video_id: str) -> dict[str, Any]:
        got = self.http.get(f"{self.api}/videos/{video_id}", headers=self.auth)
        assert got.status_code == 200, got.text
        record: dict[str, Any] = got.json()
        return record

    def matches(self, sha256: str) -> list[dict[str, str]]:
        answer = self.http.post(f"{self.api}/videos/duplicates", headers=self.auth,
                                json={"sha256": [sha256]})
        assert answer.status_code == 200, answer.text
        found: list[dict[str, str]] = answer.json()["matches"]
        return found


def _clip(make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> bytes:
    return make_video("old.mp4", seconds=1.0, width=160, height=120, fps=10,
                      seed=clip_seed()).read_bytes()


def test_an_older_recording_becomes_a_duplicate_target(
        local_stack: dict[str, Any], stack_users: dict[str, dict[str, Any]],
        http: requests.Session, make_video: Callable[..., Path],
        clip_seed: Callable[[], int]) -> None:
    client = Client(http, local_stack, stack_users["demo"])
    data = _clip(make_video, clip_seed)
    digest = hashlib.sha256(data).hexdigest()
    record = client.console_upload(data)
    assert record.get("sha256Verified") is not True and "sha256" not in record
    assert client.matches(digest) == []  # the card holding this file is not safe to erase

    report = run_job("verify-sha256", _config(local_stack), only_user=client.sub,
                     only_video=record["videoId"])
    assert (report["verified"], report["mismatched"], report["complete"]) == (1, 0, True)

    after = client.get(record["videoId"])
    assert (after["sha256"], after["sha256Verified"], after["sha256VerifiedBy"]) == (
        digest, True, "read")
    assert after["version"] == record["version"]  # a system update: no edit becomes stale
    assert client.matches(digest) == [{"sha256": digest, "videoId": record["videoId"]}]
    # done once: the next run reads nothing again
    again = run_job("verify-sha256", _config(local_stack), only_user=client.sub,
                    only_video=record["videoId"])
    assert again["verified"] == 0
    assert client.get(record["videoId"])["verifiedAt"] == after["verifiedAt"]


def test_bytes_that_are_not_the_claimed_file_stay_unverified_and_kept(
        local_stack: dict[str, Any], stack_users: dict[str, dict[str, Any]],
        http: requests.Session, make_video: Callable[..., Path],
        clip_seed: Callable[[], int]) -> None:
    """An older client claimed a SHA-256 S3 could not check, and the object holds other bytes:
    the job says so and deletes nothing; neither hash makes it a duplicate target."""
    client = Client(http, local_stack, stack_users["demo"])
    data = _clip(make_video, clip_seed)
    claimed = hashlib.sha256(data + b"the file the client hashed").hexdigest()
    record = client.console_upload(data, sha256=claimed)
    report = run_job("verify-sha256", _config(local_stack), only_user=client.sub,
                     only_video=record["videoId"])
    assert (report["verified"], report["mismatched"]) == (0, 1)
    after = client.get(record["videoId"])
    assert after["sha256Verified"] is False and after["sha256VerifiedBy"] == "read"
    assert client.matches(claimed) == []
    assert client.matches(hashlib.sha256(data).hexdigest()) == []
    playback = http.get(f"{client.api}/videos/{record['videoId']}/playback-url",
                        headers=client.auth).json()["playbackUrl"]
    assert http.get(playback).content == data  # the bytes are kept


def test_a_second_copy_of_the_same_bytes_leaves_the_first_as_the_target(
        local_stack: dict[str, Any], stack_users: dict[str, dict[str, Any]],
        http: requests.Session, make_video: Callable[..., Path],
        clip_seed: Callable[[], int]) -> None:
    client = Client(http, local_stack, stack_users["demo"])
    data = _clip(make_video, clip_seed)
    digest = hashlib.sha256(data).hexdigest()
    first, second = client.console_upload(data), client.console_upload(data)
    config = _config(local_stack)
    assert run_job("verify-sha256", config, only_user=client.sub,
                   only_video=first["videoId"])["verified"] == 1
    assert run_job("verify-sha256", config, only_user=client.sub,
                   only_video=second["videoId"])["verified"] == 0
    assert client.matches(digest) == [{"sha256": digest, "videoId": first["videoId"]}]
    # the copy stays deletable (it holds no pointer of the other's)
    deleted = http.delete(f"{client.api}/videos/{second['videoId']}", headers=client.auth)
    assert deleted.status_code == 200, deleted.text
    assert client.matches(digest) == [{"sha256": digest, "videoId": first["videoId"]}]
