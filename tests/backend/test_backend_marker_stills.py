"""A marker's still (issue 14): the frame as a PNG kept with the recording through pre-signed
URLs (real bytes through a real moto S3), listed with the marker, removed with it, invisible
to other users, and purged with the recording from the Trash - markers and stills alike."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import requests

from medispecs_desktop.backend.markers import MAX_STILL_BYTES, still_key
from tests.backend.test_backend_trash import BUCKET, _recording, _sks, _versions


def png(seed: int = 1) -> bytes:
    """A real 2x2 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + bytes([seed, 2 * seed % 256, 3, 4, 5, 6]) for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _put(answer: dict[str, Any], data: bytes) -> None:
    r = requests.put(answer["stillUploadUrl"], data=data,
                     headers=answer["stillUploadHeaders"], timeout=30)
    assert r.status_code == 200, r.text


def test_a_marker_keeps_a_still_of_the_frame(api: Any, other_api: Any,
                                             moto_server: Any) -> None:
    api.create(videoId="v_still1", durationSec=60)
    first = png(1)
    status, marker = api.call("POST", "/videos/v_still1/markers",
                              body={"timeMs": 2_000, "text": "Wound edge",
                                    "stillBytes": len(first)})
    assert status == 201, marker
    assert marker["stillUploadHeaders"]["Content-Type"] == "image/png"
    assert marker["stillUploadHeaders"]["Content-Length"] == str(len(first))
    _put(marker, first)
    key = still_key(api.user, "v_still1", marker["markerId"])
    assert moto_server.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == first
    # a new still for the same marker (the signed Content-Length holds S3 to its size)
    second = png(7)
    status, again = api.call("PATCH", f"/videos/v_still1/markers/{marker['markerId']}",
                             body={"version": 1, "stillBytes": len(second)})
    assert status == 200 and again["version"] == 2
    assert again["stillUploadHeaders"]["Content-Length"] == str(len(second))
    _put(again, second)
    first = second

    status, listing = api.call("GET", "/videos/v_still1/markers")
    assert status == 200
    listed = listing["items"][0]
    assert "stillUploadUrl" not in listed  # only in the answer that asked for it
    assert requests.get(listed["stillUrl"], timeout=30).content == first

    # another user sees neither the marker nor its still
    assert other_api.call("GET", "/videos/v_still1/markers")[0] == 404
    status, err = other_api.call("PATCH", f"/videos/v_still1/markers/{marker['markerId']}",
                                 body={"version": 2, "stillBytes": 10})
    assert status == 404, err

    # stillBytes 0 takes the still away (the object goes too)
    status, bare = api.call("PATCH", f"/videos/v_still1/markers/{marker['markerId']}",
                            body={"version": 2, "stillBytes": 0})
    assert status == 200 and "stillUrl" not in bare
    assert _versions(moto_server, key) == []

    # deleting a marker deletes its still
    status, other = api.call("POST", "/videos/v_still1/markers",
                             body={"timeMs": 3_000, "text": "b", "stillBytes": len(first)})
    _put(other, first)
    other_key = still_key(api.user, "v_still1", other["markerId"])
    assert _versions(moto_server, other_key)
    assert api.call("DELETE", f"/videos/v_still1/markers/{other['markerId']}")[0] == 200
    assert _versions(moto_server, other_key) == []


def test_bad_still_sizes_are_a_clear_400(api: Any) -> None:
    api.create(videoId="v_still2", durationSec=60)
    for bad in (-1, MAX_STILL_BYTES + 1, "12", 1.5):
        status, err = api.call("POST", "/videos/v_still2/markers",
                               body={"timeMs": 1, "text": "x", "stillBytes": bad})
        assert status == 400, (bad, err)
    status, err = api.call("POST", "/videos/v_still2/markers",
                           body={"timeMs": 1, "text": "x", "stillBytes": 0})
    assert status == 400, err  # a create either asks for a still or sends none


def test_purging_a_recording_removes_its_markers_and_stills(api: Any,
                                                            moto_server: Any) -> None:
    _recording(api, "v_still3", b"purge me with my stills " * 100)
    keys = []
    for t in (1_000, 1_500):
        status, marker = api.call("POST", "/videos/v_still3/markers",
                                  body={"timeMs": t, "text": "m", "stillBytes": len(png(2))})
        assert status == 201, marker
        _put(marker, png(2))
        keys.append(still_key(api.user, "v_still3", marker["markerId"]))
    assert any(sk.startswith("MARKER#v_still3#") for sk in _sks(moto_server, api.user))
    assert api.call("DELETE", "/videos/v_still3")[0] == 200
    status, body = api.call("DELETE", "/trash/v_still3")
    assert status == 200 and body == {"purged": "v_still3"}
    assert not [sk for sk in _sks(moto_server, api.user) if "v_still3" in sk]
    for key in keys:
        assert _versions(moto_server, key) == []
