"""The desktop client's secrets and private files after a real, GUI-less session.

Bob signs in with ``core.auth`` (refresh token in the OS keyring - a test keyring file outside
MEDISPECS_HOME), uses ``ApiClient``, uploads a small clip (single PUT) and a 6 MB one (multipart)
through the upload engine, caches his listing, a thumbnail and a resume position, then signs
out. Afterwards: no token, password or URL signature in any file the client wrote (log files
included), every directory 0700 and every file 0600, the keyring forgot the refresh token,
the token no longer works, and the sign-out clearing removed the caches.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import stat
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import keyring
import numpy as np
import pytest
import requests

from medispecs_desktop.core import library_cache, thumbnail_cache
from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, KeyringTokenStore, MemoryTokenStore
from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.core.library_cache import LibraryCache
from medispecs_desktop.core.logs import setup_logging
from medispecs_desktop.core.thumbnail_cache import ThumbnailCache
from medispecs_desktop.core.uploads.awake import SleepInhibitor
from medispecs_desktop.core.uploads.engine import EngineOptions, UploadEngine
from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.core.uploads.store import QueueStore
from medispecs_desktop.ui import positions
from tests.cli.file_keyring import FileKeyring
from tests.security.conftest import find_secrets, url_secrets

MIB = 1024 * 1024


def _settings(info: dict[str, Any]) -> Settings:
    return Settings(api_url=info["apiUrl"], region=info["region"],
                    user_pool_id=info["userPoolId"], client_id=info["clientId"],
                    cognito_endpoint=info["awsEndpoint"], demo=True)


def _raw_video(path: Path, megabytes: float) -> Path:
    """A decodable Matroska file of raw noise frames (big without slow encoding)."""
    rng = np.random.default_rng(3)
    frames = max(2, int(megabytes * 1_000_000 // (320 * 240 * 3 // 2)))
    with av.open(str(path), mode="w", format="matroska") as container:
        stream = container.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = Fraction(1, 25)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def test_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A secure-kind keyring backend whose store is a file OUTSIDE MEDISPECS_HOME."""
    path = tmp_path / "os-keyring" / "keyring.json"
    path.parent.mkdir()
    monkeypatch.setenv("MEDISPECS_TEST_KEYRING_FILE", str(path))
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    try:
        yield path
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def app_log(_isolated_home: Path) -> Iterator[Path]:
    paths = Paths.default().ensure()
    path = setup_logging(paths.log_dir, level=logging.DEBUG)
    try:
        yield path
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_medispecs", False):
                root.removeHandler(handler)
                handler.close()


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _leaks_in_files(root: Path, secrets: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _all_files(root):
        text = path.read_bytes().decode("latin-1")
        hits = find_secrets(text, secrets)
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def _loose_permissions(root: Path) -> list[str]:
    """Files not 0600-or-stricter, and directories holding files (or the per-user roots)
    not 0700-or-stricter. (A directory that only holds other directories is reported by
    ``_loose_intermediate_dirs`` - see the report: cache/thumbnails is created 0755.)"""
    loose = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            holds_files = any(p.is_file() for p in path.iterdir())
            if not (holds_files or path == root or path.parent == root):
                continue
        if mode & 0o077:
            loose.append(f"{path.relative_to(root)} {oct(mode)}")
    return loose


def test_client_session_keeps_secrets_out_of_files_and_caches_private(
    local_stack: dict[str, Any], _isolated_home: Path, test_keyring: Path, app_log: Path,
    tmp_path: Path, make_video: Any,
) -> None:
    home = _isolated_home
    user = local_stack["users"][1]
    settings = _settings(local_stack)
    paths = Paths.default().ensure()
    store = KeyringTokenStore.for_settings(settings, paths)
    auth = CognitoAuth(settings, store)
    me = auth.sign_in(user["username"], user["password"])
    assert auth.remembered, auth.remember_error
    refresh = auth._tokens.refresh_token if auth._tokens else ""  # the secret itself
    assert refresh and refresh in test_keyring.read_text(), "the refresh token is in the keyring"
    secrets = [user["password"], auth.id_token(), auth.access_token(), refresh]
    secrets += [t.rsplit(".", 1)[-1] for t in secrets[1:3]]

    api = ApiClient(settings, auth)
    urls: list[str] = []

    def record(url: str) -> str:
        urls.append(url)
        return url

    queue = QueueStore(paths.queue_db)
    engine = UploadEngine(
        queue, api, me.sub, settings=settings,
        options=EngineOptions(min_part_size=5 * MIB,
                              probe_interval=0.05, source_check_interval=0.05),
        sleep=lambda _s: None, rng=random.Random(1), url_rewriter=record,
        sleep_inhibitor=SleepInhibitor(enabled=False),
    )
    media = tmp_path / "card"
    media.mkdir()
    small = make_video("card-small.mp4", seconds=1, width=160, height=120)
    big = _raw_video(media / "big.mkv", 6)
    uploaded: list[str] = []
    try:
        engine.start()
        added = engine.add_paths([small, big])
        assert len(added.added) == 2
        assert engine.wait_until(
            lambda jobs: all(j.state in (JobState.DONE, JobState.FAILED) for j in jobs), 60)
        jobs = engine.jobs()
        assert [j.state for j in jobs] == [JobState.DONE, JobState.DONE], \
            [j.error for j in jobs]
        uploaded = [str(j.video_id) for j in jobs]
        assert any("partNumber" in u for u in urls) and any("partNumber" not in u for u in urls)

        page = api.list_videos(limit=100)
        mine = [v for v in page.items if v.video_id in uploaded]
        assert len(mine) == 2
        for v in page.items:
            if v.thumbnail_url:
                urls.append(v.thumbnail_url)
        play = api.playback_url(uploaded[0])
        urls.append(play.url)
        cache = LibraryCache(paths.cache_dir, me.sub)
        cache.save_listing(page.items, next_cursor=page.next_cursor)
        cache.close()
        with_thumb = next(v for v in mine if v.thumbnail_url)
        thumbs = ThumbnailCache(paths.cache_dir, me.sub)
        assert thumbs.load(ThumbnailCache.key_for(with_thumb.video_id,
                                                  with_thumb.thumbnail_s3_key),
                           with_thumb.thumbnail_url)
        positions.PositionStore(paths.data_dir, me.sub).save(uploaded[0], 30_000, 600_000)
        logging.getLogger("medispecs_desktop.security_test").info(
            "session done for %s", me.username)

        written = {str(p.relative_to(home)).split("/")[0:2][-1] for p in _all_files(home)}
        assert {"library", "thumbnails", "positions", "uploads.sqlite3"} <= written, written
        signatures = [s for u in urls for s in url_secrets(u)]
        assert signatures, "pre-signed URLs were used"
        log_text = app_log.read_text(encoding="utf-8")
        assert "Signed in as" in log_text, "the app log was written"
        all_secrets = secrets + signatures
        assert not find_secrets(log_text, all_secrets), "secret in the app log"
        assert not _leaks_in_files(home, all_secrets), _leaks_in_files(home, all_secrets)
        assert "X-Amz-Signature=" not in log_text.replace("X-Amz-Signature=REDACTED", "")
        loose = _loose_permissions(home)
        assert not loose, f"files/dirs readable by others: {loose}"

        # ---- sign out: as the app does it (auth, engine, then the caches)
        keyring_before = test_keyring.read_text()
        auth.sign_out()
        engine.sign_out()
        library_cache.clear_all(paths.cache_dir)
        thumbnail_cache.clear_all(paths.cache_dir)
        positions.clear_all(paths.data_dir)
        assert refresh not in test_keyring.read_text()
        for cache_dir in (paths.cache_dir / "library", paths.cache_dir / "thumbnails",
                          paths.data_dir / "positions"):
            assert not cache_dir.exists() or not _all_files(cache_dir), cache_dir
        assert not _leaks_in_files(home, all_secrets)
        assert not _loose_permissions(home)
        # what stays: the upload queue (its jobs wait for the next sign-in) and the log
        left = sorted(str(p.relative_to(home)) for p in _all_files(home))
        assert all(n.startswith(("data/uploads.sqlite3", "logs/")) for n in left), left
        # the keyring copy of the refresh token taken before sign-out is dead
        test_keyring.write_text(keyring_before)
        again = CognitoAuth(settings, KeyringTokenStore.for_settings(settings, paths))
        assert again.restore() is None, "a signed-out refresh token still signs in"
        assert again.remember_error is None, again.remember_error
    finally:
        engine.stop(timeout=10)
        queue.close()
        cleanup = CognitoAuth(settings, KeyringTokenStore.for_settings(settings, paths))
        cleanup.sign_in(user["username"], user["password"])
        for vid in uploaded:
            ApiClient(settings, cleanup).delete_video(vid)
        cleanup.sign_out()
        shutil.rmtree(media, ignore_errors=True)
        os.environ.pop("MEDISPECS_TEST_KEYRING_FILE", None)


def test_client_never_signs_with_aws_credentials(
    local_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even with AWS credentials in the environment, the client's Cognito calls go unsigned
    (a public app client) and its API calls carry only the bearer token."""
    canary_key, canary_secret = "AKIACANARYCANARY0001", "canary/secret/never/sent"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", canary_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", canary_secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "canary-session-token")
    settings = _settings(local_stack)
    auth = CognitoAuth(settings, MemoryTokenStore())
    sent: list[tuple[str, dict[str, str], bytes]] = []

    def record(request: Any, **_kw: Any) -> None:
        body = request.body if isinstance(request.body, bytes) else \
            str(request.body or "").encode()
        sent.append((request.url, dict(request.headers), body))

    auth.client.meta.events.register("before-send", record)
    user = local_stack["users"][1]
    auth.sign_in(user["username"], user["password"])
    auth.force_refresh()
    assert len(sent) >= 2
    for url, headers, body in sent:
        text = json.dumps({k: str(v) for k, v in headers.items()}) + body.decode("latin-1")
        assert "authorization" not in {k.lower() for k in headers}, url
        assert canary_key not in text and "canary" not in text.lower()
        assert "X-Amz-Security-Token" not in headers

    api_requests: list[requests.PreparedRequest] = []
    session = requests.Session()
    session.trust_env = False
    session.hooks["response"].append(lambda r, *_a, **_k: api_requests.append(r.request))
    api = ApiClient(settings, auth, session=session)
    api.list_videos(limit=1)
    assert api_requests
    for prepared in api_requests:
        auth_header = prepared.headers["Authorization"]
        assert auth_header == f"Bearer {auth.id_token()}"
        assert canary_key not in json.dumps(dict(prepared.headers))
    auth.sign_out()
