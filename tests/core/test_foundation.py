"""Settings, paths, log redaction and the Video model."""

from __future__ import annotations

import json
import logging
import logging.handlers
import stat
from pathlib import Path

import pytest

from medispecs_desktop.core.config import Paths, Settings, load_settings, save_settings
from medispecs_desktop.core.errors import ConfigurationError
from medispecs_desktop.core.logs import redact, setup_logging
from medispecs_desktop.core.models import Video, format_utc, parse_utc


def test_settings_file_then_env_then_overrides(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k", tmp_path / "l")
    save_settings(Settings(api_url="https://file.example", region="eu-west-1"), paths)
    mode = stat.S_IMODE(paths.settings_file.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(paths.config_dir.stat().st_mode) == 0o700
    loaded = load_settings(
        paths, env={"MEDISPECS_REGION": "ap-southeast-1", "MEDISPECS_MAX_CONCURRENT_FILES": "3"}
    )
    assert loaded.api_url == "https://file.example"
    assert loaded.region == "ap-southeast-1"
    assert loaded.max_concurrent_files == 3
    assert loaded.with_overrides(api_url="https://cli.example").api_url == "https://cli.example"
    assert "refresh" not in json.dumps(json.loads(paths.settings_file.read_text()))


def test_missing_settings_say_what_to_enter(tmp_path: Path) -> None:
    settings = load_settings(Paths(tmp_path, tmp_path, tmp_path, tmp_path), env={})
    assert not settings.is_configured
    with pytest.raises(ConfigurationError) as err:
        settings.require()
    assert "MEDISPECS_API_URL" in str(err.value) and "--local" in str(err.value)


def test_bad_settings_values_are_clear(tmp_path: Path) -> None:
    paths = Paths(tmp_path, tmp_path, tmp_path, tmp_path)
    paths.settings_file.write_text("{not json")
    with pytest.raises(ConfigurationError, match="Cannot read settings"):
        load_settings(paths, env={})
    with pytest.raises(ConfigurationError, match="whole number"):
        load_settings(
            Paths(tmp_path / "x", tmp_path, tmp_path, tmp_path),
            env={"MEDISPECS_MAX_CONCURRENT_FILES": "many"},
        )


def test_default_paths_follow_medispecs_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDISPECS_HOME", str(tmp_path))
    paths = Paths.default().ensure()
    assert paths.log_dir == tmp_path / "logs"
    assert all(
        stat.S_IMODE(p.stat().st_mode) == 0o700
        for p in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir)
    )


SECRET_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1XzEyMyJ9.c2lnbmF0dXJlc2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "GET https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123&X-Amz-Expires=6",
            "abcdef0123",
        ),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        (f"token {SECRET_JWT}", SECRET_JWT),
        ('{"RefreshToken": "r3fr3sh-secret", "x": 1}', "r3fr3sh-secret"),
        ("password=hunter2 user=bob", "hunter2"),
    ],
)
def test_redact_removes_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "REDACTED" in cleaned


def test_log_file_is_private_rotating_and_redacted(tmp_path: Path) -> None:
    path = setup_logging(tmp_path / "logs")
    log = logging.getLogger("medispecs_desktop.test")
    log.info("uploading to %s", "https://x/k?X-Amz-Credential=AKIA123&X-Amz-Signature=deadbeef")
    try:
        raise RuntimeError(f"failed with Bearer {SECRET_JWT}")
    except RuntimeError:
        log.exception("upload failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    content = path.read_text()
    assert "deadbeef" not in content and "AKIA123" not in content
    assert SECRET_JWT not in content
    assert "upload failed" in content and "RuntimeError" in content
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_video_round_trip_and_times() -> None:
    api = {
        "videoId": "v_1",
        "title": "Ward round",
        "recordedAt": "2025-11-03T14:30:00Z",
        "status": "ready",
        "durationSec": 120,
        "fileSizeBytes": "10485760",
        "version": 3,
        "somethingNew": True,
    }
    video = Video.from_api(api)
    assert video.duration_sec == 120.0 and video.file_size_bytes == 10485760
    assert video.has_bytes and video.extra == {"somethingNew": True}
    assert video.to_api()["fileSizeBytes"] == 10485760
    assert format_utc(parse_utc("2025-11-03T22:30:00+08:00")) == "2025-11-03T14:30:00Z"
    assert not Video.from_api({"videoId": "v_2", "status": "pending"}).has_bytes



def test_video_sha256_verification_fields_round_trip() -> None:
    from medispecs_desktop.core.models import (
        INTEGRITY_NOT_VERIFIED,
        INTEGRITY_PARTS,
        INTEGRITY_VERIFIED,
    )

    base = {"videoId": "v_1", "title": "t", "recordedAt": "2025-11-03T14:30:00Z",
            "status": "uploaded", "sha256": "ab" * 32}
    verified = {**base, "sha256Verified": True, "sha256VerifiedBy": "read",
                "verifiedAt": "2025-11-03T14:31:00Z"}
    video = Video.from_api(verified)
    assert video.sha256_verified is True and video.sha256_verified_by == "read"
    assert video.verified_at == "2025-11-03T14:31:00Z" and video.extra == {}
    assert video.integrity == INTEGRITY_VERIFIED
    assert video.to_api() == {**verified, "userId": "", "version": 1}
    assert Video.from_api(video.to_api()) == video

    parts = Video.from_api({**base, "sha256Verified": False, "sha256VerifiedBy": "parts"})
    assert parts.sha256_verified is False and parts.integrity == INTEGRITY_PARTS
    none = Video.from_api({**base, "sha256Verified": False, "sha256VerifiedBy": "none"})
    assert none.integrity == INTEGRITY_NOT_VERIFIED
    older = Video.from_api(base)  # a record made before the server verified anything
    assert older.sha256_verified is None and older.integrity == INTEGRITY_NOT_VERIFIED
    assert "sha256Verified" not in older.to_api()
    # verified without a SHA-256 to show for it is not "verified"
    assert Video.from_api({**base, "sha256": None, "sha256Verified": True}).integrity == (
        INTEGRITY_NOT_VERIFIED)

    # A non-boolean flag is never read as true, and is kept as sent.
    odd = Video.from_api({**base, "sha256Verified": "true", "verifiedAt": 5})
    assert odd.sha256_verified is None and odd.integrity == INTEGRITY_NOT_VERIFIED
    assert odd.extra == {"sha256Verified": "true", "verifiedAt": 5}
    assert odd.to_api()["sha256Verified"] == "true"


def test_private_dir_makes_every_folder_it_creates_private(tmp_path: Path) -> None:
    from medispecs_desktop.core.config import private_dir

    (tmp_path / "existing").mkdir(mode=0o755)
    private_dir(tmp_path / "existing" / "a" / "b")
    assert stat.S_IMODE((tmp_path / "existing").stat().st_mode) == 0o755  # not ours to change
    assert stat.S_IMODE((tmp_path / "existing" / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "existing" / "a" / "b").stat().st_mode) == 0o700


def test_thumbnail_cache_parent_dir_is_private(tmp_path: Path) -> None:
    from medispecs_desktop.core.thumbnail_cache import ThumbnailCache, thumbnails_dir

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    ThumbnailCache(cache, "user-1")
    assert stat.S_IMODE(thumbnails_dir(cache).stat().st_mode) == 0o700


def test_log_file_stays_0600_after_rotation(tmp_path: Path) -> None:
    path = setup_logging(tmp_path / "logs")
    root = logging.getLogger()
    handler = next(h for h in root.handlers if getattr(h, "_medispecs", False))
    try:
        logging.getLogger("x").warning("before")
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        handler.doRollover()  # what happens at 2 MB
        logging.getLogger("x").warning("after")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.with_name(path.name + ".1").stat().st_mode) == 0o600
    finally:
        root.removeHandler(handler)
        handler.close()


def test_redact_removes_a_whole_cognito_refresh_token_and_challenge_session() -> None:
    # Cognito refresh tokens are JWEs: five dot-separated parts
    jwe = (
        "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ."
        + "A" * 342 + "." + "B" * 16 + "." + "C" * 1500 + "." + "D" * 22
    )
    out = redact(f"refresh failed for {jwe}")
    assert "C" * 20 not in out and "D" * 22 not in out and "A" * 20 not in out
    assert "s3ss10n-value" not in redact('{"Session": "s3ss10n-value"}')


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://abc.execute-api.eu-west-2.amazonaws.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9000/", True),
        ("http://[::1]:9000/", True),
        ("http://videos.example.org", False),
        ("http://10.0.0.5", False),
        ("ftp://videos.example.org", False),
    ],
)
def test_tokens_never_travel_over_plain_http_to_another_host(url: str, ok: bool) -> None:
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from medispecs_desktop.ui.settings_dialog import validate

    settings = Settings(api_url=url, region="eu-west-2", user_pool_id="eu-west-2_x",
                        client_id="c", cognito_endpoint=url)
    auth = CognitoAuth(settings, MemoryTokenStore())
    form = {"api_url": url, "region": "eu-west-2", "user_pool_id": "eu-west-2_x",
            "client_id": "c", "cognito_endpoint": url}
    if ok:
        ApiClient(settings, auth)
        assert auth.client is not None
        assert validate(form) == {}
    else:
        with pytest.raises(ConfigurationError, match="https://"):
            ApiClient(settings, auth)
        with pytest.raises(ConfigurationError, match="https://"):
            _ = auth.client
        assert set(validate(form)) == {"api_url", "cognito_endpoint"}
