"""Settings, paths, log redaction and the Video model."""

from __future__ import annotations

import json
import logging
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
