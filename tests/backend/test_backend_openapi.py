"""openapi.yaml is valid, lists exactly ROUTE_KEYS, and matches what the handler accepts and
returns (every ``Api.call`` in these tests also validates its response against it)."""

from __future__ import annotations

import importlib.resources
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from medispecs_desktop.backend.api.uploads import (
    COMPLETE_PART_FIELDS,
    MULTIPART_FIELDS,
    SIGN_PART_FIELDS,
)
from medispecs_desktop.backend.api.videos import CREATE_FIELDS, PATCH_FIELDS
from medispecs_desktop.backend.api.views import PUBLIC_FIELDS
from medispecs_desktop.backend.routes import ROUTE_KEYS, match_route

METHODS = {"get", "post", "patch", "delete", "put", "head", "options"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    text = importlib.resources.files("medispecs_desktop.backend").joinpath(
        "openapi.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_paths_and_methods_equal_route_keys(spec: dict[str, Any]) -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }
    assert documented == set(ROUTE_KEYS)
    assert len(ROUTE_KEYS) == len(set(ROUTE_KEYS))


def test_every_operation_documents_auth_and_bad_input(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            assert {"400", "401", "403"} <= set(op["responses"]), (method, path)
            assert op.get("operationId")
            assert "500" not in op["responses"]


def test_route_matching() -> None:
    dup = match_route("POST", "/videos/duplicates")
    assert dup is not None and dup.route_key == "POST /videos/duplicates"
    m = match_route("DELETE", "/videos/v_1/multipart/abc.def")
    assert m is not None and m.path_parameters == {"videoId": "v_1", "uploadId": "abc.def"}
    assert match_route("GET", "/videos/v_1/multipart/x") is None
    assert match_route("get", "/videos") is not None
    assert match_route("GET", "/videosx") is None


@pytest.mark.parametrize(("name", "fields", "extra"), [
    ("VideoCreate", CREATE_FIELDS, {"userId"}),
    ("VideoUpdate", PATCH_FIELDS, {"userId"}),
    ("MultipartCreate", MULTIPART_FIELDS, {"userId"}),
])
def test_request_schemas_match_handler_fields(
    spec: dict[str, Any], name: str, fields: dict[str, Any], extra: set[str]
) -> None:
    s = schema(spec, name)
    assert s["additionalProperties"] is False
    assert set(s["properties"]) == set(fields) | extra
    assert set(s.get("required", [])) == {k for k, f in fields.items() if f.required}


def test_part_schemas_match_handler_fields(spec: dict[str, Any]) -> None:
    sign_item = schema(spec, "SignRequest")["properties"]["parts"]["items"]
    assert set(sign_item["properties"]) == set(SIGN_PART_FIELDS)
    assert sign_item["additionalProperties"] is False
    complete_item = schema(spec, "CompleteRequest")["properties"]["parts"]["items"]
    assert set(complete_item["properties"]) == set(COMPLETE_PART_FIELDS)


def test_video_schema_matches_public_fields(spec: dict[str, Any]) -> None:
    # the Trash listing adds when a video was deleted and when it will be purged; the
    # pre-signed GETs of the thumbnail and the preview sheet are made per response
    assert set(schema(spec, "Video")["properties"]) == set(PUBLIC_FIELDS) | {
        "thumbnailUrl", "previewSheetUrl", "previewIndexUrl", "trashedAt", "purgeAt"}


def test_requests_used_by_clients_validate(spec: dict[str, Any]) -> None:
    """Bodies the desktop sends are valid per the spec; ones the handler refuses are not."""
    def check(name: str, body: Any) -> bool:
        v = OAS30Validator({"$ref": f"#/components/schemas/{name}",
                            "components": spec["components"]})
        return v.is_valid(body)

    assert check("VideoCreate", {"videoId": "v_1", "title": "t",
                                 "recordedAt": "2025-11-03T14:30:00Z", "sha256": "a" * 64,
                                 "fingerprint": "10:" + "b" * 64, "uploadKind": "multipart"})
    assert not check("VideoCreate", {"title": "t", "recordedAt": "2025-11-03T14:30:00Z",
                                     "status": "ready"})
    assert check("VideoUpdate", {"version": 2, "thumbnail": True})
    assert not check("VideoUpdate", {"version": 2})
    assert not check("VideoUpdate", {"version": 2, "thumbnail": False})
    assert check("SignRequest", {"parts": [{"partNumber": 1, "contentLength": 5,
                                            "checksumCRC64NVME": "A" * 11 + "="}]})
    assert not check("SignRequest", {"parts": [{"partNumber": 1, "contentLength": 5,
                                                "checksumSHA256": "A" * 43 + "="}]})
    assert check("CompleteRequest", {"parts": [{"partNumber": 1, "etag": "e"}],
                                     "checksumCRC64NVME": "A" * 11 + "="})
    assert not check("CompleteRequest", {"parts": [{"partNumber": 1, "etag": "e"}]})
    assert not check("SignRequest", {"parts": []})
    assert check("DuplicatesQuery", {"sha256": ["a" * 64], "fingerprints": []})
