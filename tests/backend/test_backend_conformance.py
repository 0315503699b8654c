"""The server and openapi.yaml agree (issue 17 #10, found by schemathesis with all checks):
empty query values and nulls in an edit are refused, nulls in a create count as absent (the
file says nullable), another method on a literal path is 405 with Allow, date filters are
exactly format date / date-time. ``api.call`` checks every answer against the file."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("path, query", [
    ("/videos/v_e1/upload-url", {"sha256": ""}),
    ("/videos/v_e1/upload-url", {"contentType": ""}),
    ("/videos/v_e1/upload-url", {"size": ""}),
    ("/videos", {"cursor": ""}),
    ("/trash", {"limit": ""}),
])
def test_empty_query_values_are_refused(api: Any, path: str, query: dict[str, str]) -> None:
    status, err = api.call("GET", path, query=query)
    assert status == 400 and err["error"]["code"] == "invalid_query", err


def test_nulls_are_absent_in_a_create_and_refused_in_an_edit(api: Any) -> None:
    status, video = api.call("POST", "/videos", body={
        "videoId": None, "title": "nulls", "recordedAt": "2025-01-01T00:00:00Z",
        "uploadKind": None, "mimeType": None, "sha256": None, "deviceId": None})
    assert status == 201 and "deviceId" not in video
    vid = video["videoId"]
    for body in ({"version": 1, "title": None}, {"version": 1, "notes": "n", "thumbnail": None},
                 {"version": None, "title": "x"}):
        status, err = api.call("PATCH", f"/videos/{vid}", body=body)
        assert status == 400 and err["error"]["code"] == "validation_error", (body, err)
    assert api.call("GET", f"/videos/{vid}")[1]["version"] == 1
    status, body = api.call("POST", "/videos/duplicates", raw_body="")  # no body: no matches
    assert status == 200 and body == {"matches": []}


def test_another_method_on_a_literal_path_is_405(api: Any) -> None:
    for method, path, allow in (("PATCH", "/videos/duplicates", "POST, OPTIONS"),
                                ("DELETE", "/videos/duplicates", "POST, OPTIONS"),
                                ("TRACE", "/videos", "GET, POST, OPTIONS"),
                                ("PUT", "/trash", "GET, OPTIONS")):
        resp = api.raw(api.event(method, path))
        assert resp["statusCode"] == 405, (method, path, resp["body"])
        assert resp["headers"]["Allow"] == allow


@pytest.mark.parametrize("value, ok", [
    ("2025-01-31", True), ("2025-01-31T10:00:00Z", True), ("2025-01-31T10:00:00.5+02:00", True),
    ("0000-00-00", False), ("2025-02-30", False), ("2025-01-31T10:00", False),
    ("2025-01-31 10:00:00Z", False), ("31/01/2025", False),
])
def test_date_filters_are_date_or_rfc3339(api: Any, value: str, ok: bool) -> None:
    status, body = api.call("GET", "/videos", query={"from": value})
    assert status == (200 if ok else 400), body
