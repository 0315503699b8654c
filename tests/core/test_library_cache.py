"""The offline listing cache and the thumbnail cache: private files, per user, bounded, cleared."""

from __future__ import annotations

import os
import sqlite3
import stat
from fractions import Fraction
from pathlib import Path

import pytest

from medispecs_desktop.core import library_cache, thumbnail_cache
from medispecs_desktop.core.config import Paths
from medispecs_desktop.core.library_cache import LibraryCache
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.thumbnail_cache import ThumbnailCache, ThumbnailError


def _video(i: int, **kw: object) -> Video:
    base: dict[str, object] = {
        "videoId": f"v_{i:05d}",
        "title": f"Ward round {i}",
        "recordedAt": f"2025-11-{1 + i % 28:02d}T08:{i % 60:02d}:00Z",
        "status": "ready",
        "durationSec": 12.5,
        "fileSizeBytes": 1000 + i,
        "deviceId": "glasses-7",
        "version": 3,
        "thumbnailS3Key": f"thumbnails/u/v_{i:05d}.jpg",
        "thumbnailUrl": f"http://s3/thumb?X-Amz-Signature=secret{i}&X-Amz-Credential=abc",
        "notes": "left knee",
    }
    base.update(kw)
    return Video.from_api(base)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_listing_round_trip_private_and_without_signed_urls(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    cache = LibraryCache(tmp_path, "user-sub-1", clock=lambda: now[0])
    videos = [_video(i) for i in range(5)]
    cache.save_listing(videos, next_cursor="CUR", date_from="2025-11-01T00:00:00Z", date_to=None)

    listing = cache.load_listing()
    assert listing is not None
    assert [v.video_id for v in listing.videos] == [v.video_id for v in videos]
    assert listing.videos[2].title == "Ward round 2"
    assert listing.videos[2].notes == "left knee"
    assert listing.videos[2].thumbnail_s3_key == "thumbnails/u/v_00002.jpg"
    assert all(v.thumbnail_url is None for v in listing.videos)
    assert listing.next_cursor == "CUR"
    assert listing.date_from == "2025-11-01T00:00:00Z" and listing.date_to is None
    assert listing.saved_at == now[0]
    assert listing.age_seconds(now[0] + 90) == 90

    # the signature never reaches the disk, and the user id is not the file name
    raw = b"".join(p.read_bytes() for p in cache.path.parent.iterdir())
    assert b"secret" not in raw and b"X-Amz-Signature" not in raw
    assert "user-sub-1" not in cache.path.name
    assert _mode(cache.path) == 0o600
    assert _mode(cache.path.parent) == 0o700
    cache.close()


def test_listing_is_per_user_and_survives_reopen(tmp_path: Path) -> None:
    a = LibraryCache(tmp_path, "alice")
    b = LibraryCache(tmp_path, "bob")
    a.save_listing([_video(1)], next_cursor=None)
    assert b.load_listing() is None
    a.close()
    again = LibraryCache(tmp_path, "alice")
    listing = again.load_listing()
    assert listing is not None and [v.video_id for v in listing.videos] == ["v_00001"]
    assert listing.next_cursor is None


def test_upsert_keeps_position_and_remove_drops(tmp_path: Path) -> None:
    cache = LibraryCache(tmp_path, "u")
    cache.save_listing([_video(i) for i in range(3)], next_cursor=None)
    cache.upsert(_video(1, title="Renamed", version=4))
    cache.upsert(_video(9))  # a new recording goes first (newest)
    cache.remove("v_00000")
    listing = cache.load_listing()
    assert listing is not None
    assert [v.video_id for v in listing.videos] == ["v_00009", "v_00001", "v_00002"]
    assert listing.videos[1].title == "Renamed" and listing.videos[1].version == 4
    assert len(cache) == 3


def test_save_replaces_and_large_listing(tmp_path: Path) -> None:
    cache = LibraryCache(tmp_path, "u")
    cache.save_listing([_video(i) for i in range(2000)], next_cursor="x")
    cache.save_listing([_video(i) for i in range(10)], next_cursor=None)
    listing = cache.load_listing()
    assert listing is not None and len(listing.videos) == 10


def test_corrupt_cache_file_is_replaced_not_fatal(tmp_path: Path) -> None:
    cache = LibraryCache(tmp_path, "u")
    path = cache.path
    cache.close()
    for side in (Path(str(path) + "-wal"), Path(str(path) + "-shm")):
        side.unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    fresh = LibraryCache(tmp_path, "u")
    assert fresh.load_listing() is None
    fresh.save_listing([_video(1)], next_cursor=None)
    assert len(fresh) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0] == 1


def test_clear_all_on_sign_out(tmp_path: Path) -> None:
    a = LibraryCache(tmp_path, "alice")
    a.save_listing([_video(1)], next_cursor=None)
    a.close()
    LibraryCache(tmp_path, "bob").close()
    assert library_cache.clear_all(tmp_path) >= 2
    assert not any(library_cache.library_dir(tmp_path).iterdir())
    assert LibraryCache(tmp_path, "alice").load_listing() is None


def test_empty_user_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LibraryCache(tmp_path, "")


# --- thumbnails ----------------------------------------------------------------------------


def _jpeg(size: int, shade: int = 0) -> bytes:
    """A real JPEG of roughly ``size`` bytes (noise compresses badly), encoded by PyAV."""
    import av
    import numpy as np

    side = max(16, int((size / 1.5) ** 0.5)) // 2 * 2
    rng = np.random.default_rng(shade)
    pixels = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = side, side, "yuvj420p"
    codec.time_base = Fraction(1, 1)
    data = b"".join(bytes(p) for p in codec.encode(frame)) + b"".join(
        bytes(p) for p in codec.encode(None)
    )
    assert data[:3] == b"\xff\xd8\xff"
    return data


def test_thumbnail_cache_fetches_once_then_serves_from_disk(tmp_path: Path) -> None:
    image = _jpeg(4000)
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return image

    cache = ThumbnailCache(tmp_path, "u", fetcher=fetch)
    key = ThumbnailCache.key_for("v_1", "thumbnails/u/v_1.jpg")
    assert cache.load(key, "http://x/thumb?X-Amz-Signature=s") == image
    assert cache.load(key, "http://x/thumb?X-Amz-Signature=s") == image
    assert len(calls) == 1
    # offline, no URL: the disk copy still answers; unknown keys give None
    assert cache.load(key, None) == image
    assert cache.load(ThumbnailCache.key_for("v_2", None), None) is None
    files = list(cache.directory.iterdir())
    assert files and all(_mode(f) == 0o600 for f in files)
    assert _mode(cache.directory) == 0o700
    assert all(b"Signature" not in f.name.encode() for f in files)


def test_thumbnail_cache_refuses_non_images(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, "u", fetcher=lambda url: b"<?xml version='1.0'?><Error/>")
    with pytest.raises(ThumbnailError):
        cache.load("k", "http://x")
    assert cache.get("k") is None


def test_thumbnail_cache_is_size_bounded_lru(tmp_path: Path) -> None:
    images = [_jpeg(3000, shade=i) for i in range(6)]
    size = max(len(i) for i in images)
    cache = ThumbnailCache(tmp_path, "u", max_bytes=size * 3 + 10)
    for i, data in enumerate(images[:3]):
        cache.put(f"k{i}", data)
        os.utime(cache._path(f"k{i}"), (1000 + i, 1000 + i))
    assert cache.get("k0") is not None  # k0 becomes the most recently used
    for i, data in enumerate(images[3:], start=3):
        cache.put(f"k{i}", data)
    assert cache.total_bytes() <= cache.max_bytes
    assert cache.get("k1") is None and cache.get("k2") is None  # least recently used went
    assert cache.get("k5") == images[5]


def test_thumbnail_http_fetcher_against_real_server(tmp_path: Path) -> None:
    """The default fetcher over HTTP: a real local server, 200 and 403 answers."""
    import http.server
    import threading

    image = _jpeg(2000)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if "expired" in self.path:
                body = b"<Error><Code>AccessDenied</Code></Error>"
                self.send_response(403)
            else:
                body = image
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        cache = ThumbnailCache(tmp_path, "u")
        assert cache.load("ok", base + "/t.jpg") == image
        with pytest.raises(ThumbnailError) as err:
            cache.load("bad", base + "/expired.jpg")
        assert err.value.status == 403
    finally:
        server.shutdown()
        server.server_close()


def test_thumbnail_clear_all(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, "u")
    cache.put("k", _jpeg(1000))
    thumbnail_cache.clear_all(tmp_path)
    assert not thumbnail_cache.thumbnails_dir(tmp_path).exists()


def test_default_locations_under_platform_cache_dir() -> None:
    paths = Paths.default()
    cache = LibraryCache(paths.cache_dir, "u")
    assert cache.path.is_relative_to(paths.cache_dir)
    thumbs = ThumbnailCache(paths.cache_dir, "u")
    assert thumbs.directory.is_relative_to(paths.cache_dir)


def test_append_pages_keeps_order_and_cursor(tmp_path: Path) -> None:
    cache = LibraryCache(tmp_path, "u")
    cache.save_listing([_video(i) for i in range(3)], next_cursor="c1",
                       date_from="2025-01-01T00:00:00Z")
    cache.remove("v_00001")
    cache.append([_video(i) for i in range(3, 6)], first_position=3, next_cursor=None)
    listing = cache.load_listing()
    assert listing is not None
    assert [v.video_id for v in listing.videos] == [
        "v_00000", "v_00002", "v_00003", "v_00004", "v_00005"]
    assert listing.next_cursor is None
    assert listing.date_from == "2025-01-01T00:00:00Z"  # the listing's filter is unchanged
