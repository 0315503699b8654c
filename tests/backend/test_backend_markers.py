"""Markers (backend/markers.py) through the real handler and a real moto DynamoDB: round trip,
validation, optimistic locking, per-user isolation, idempotent create, and the audit trail.
Every answer is also checked against openapi.yaml by ``api.call``."""

from __future__ import annotations

from typing import Any

from medispecs_desktop.backend.audit import READ_ACTIONS, audit_pk
from medispecs_desktop.backend.markers import MAX_TEXT
from tests.backend.conftest import AUDIT_TABLE, TABLE


def _video(api: Any, video_id: str, seconds: int = 120) -> dict[str, Any]:
    return api.create(videoId=video_id, durationSec=seconds)


def _claims(api: Any) -> dict[str, Any]:
    return {"sub": api.user, "cognito:username": "dr.grey", "name": "Dr Meredith Grey"}


def test_markers_round_trip_in_time_order_with_optimistic_locking(api: Any,
                                                                  moto_server: Any) -> None:
    _video(api, "v_mk1")
    me = _claims(api)
    status, late = api.call("POST", "/videos/v_mk1/markers", claims=me,
                            body={"timeMs": 90_500, "text": "Suture\nline"})
    assert status == 201, late
    status, early = api.call("POST", "/videos/v_mk1/markers", claims=me,
                             body={"timeMs": 4_033, "text": "Wound edge"})
    assert status == 201
    assert late["text"] == "Suture line"  # one line: control characters become spaces
    assert late["author"] == "Dr Meredith Grey" and late["version"] == 1
    assert late["markerId"].startswith("m_") and late["videoId"] == "v_mk1"
    assert late["createdAt"] == late["updatedAt"]

    status, listing = api.call("GET", "/videos/v_mk1/markers", claims=me)
    assert status == 200
    assert [m["markerId"] for m in listing["items"]] == [early["markerId"], late["markerId"]]

    # stored as one item in the caller's partition of the single table
    item = moto_server.dynamodb.get_item(TableName=TABLE, Key={
        "PK": {"S": f"USER#{api.user}"}, "SK": {"S": f"MARKER#v_mk1#{early['markerId']}"}})
    assert item["Item"]["entity"]["S"] == "MARKER" and item["Item"]["timeMs"]["N"] == "4033"

    path = f"/videos/v_mk1/markers/{early['markerId']}"
    status, edited = api.call("PATCH", path, claims=me,
                              body={"version": 1, "text": "Wound edge, left", "timeMs": 4_100})
    assert status == 200 and edited["version"] == 2 and edited["timeMs"] == 4_100
    assert edited["text"] == "Wound edge, left" and edited["createdAt"] == early["createdAt"]
    status, stale = api.call("PATCH", path, claims=me, body={"version": 1, "text": "lost edit"})
    assert status == 409 and stale["error"]["code"] == "version_conflict"

    status, gone = api.call("DELETE", path, claims=me)
    assert status == 200 and gone == {"deleted": early["markerId"]}
    assert api.call("DELETE", path, claims=me)[0] == 404
    assert api.call("PATCH", path, claims=me, body={"version": 2, "text": "x"})[0] == 404
    status, listing = api.call("GET", "/videos/v_mk1/markers", claims=me)
    assert [m["markerId"] for m in listing["items"]] == [late["markerId"]]


def test_another_users_recording_and_markers_are_not_found(api: Any, other_api: Any) -> None:
    _video(api, "v_mk2")
    status, mine = api.call("POST", "/videos/v_mk2/markers", body={"timeMs": 1_000, "text": "a"})
    assert status == 201
    path = f"/videos/v_mk2/markers/{mine['markerId']}"
    for method, url, body in (
        ("GET", "/videos/v_mk2/markers", None),
        ("POST", "/videos/v_mk2/markers", {"timeMs": 5, "text": "mine now"}),
        ("PATCH", path, {"version": 1, "text": "changed"}),
        ("DELETE", path, None),
    ):
        status, error = other_api.call(method, url, body=body)
        assert status == 404 and error["error"]["code"] == "not_found", (method, error)
    # a userId naming someone else is refused outright
    status, _ = other_api.call("GET", "/videos/v_mk2/markers", query={"userId": api.user})
    assert status == 403
    status, listing = api.call("GET", "/videos/v_mk2/markers")
    assert [(m["text"], m["version"]) for m in listing["items"]] == [("a", 1)]
    # the other user's own recording with the same id is a different partition
    _video(other_api, "v_mk2")
    assert other_api.call("GET", "/videos/v_mk2/markers")[1] == {"items": []}


def test_bad_input_is_a_clear_400(api: Any) -> None:
    _video(api, "v_mk3", seconds=60)
    url = "/videos/v_mk3/markers"
    cases: list[tuple[Any, str]] = [
        ({"text": "no time"}, "validation_error"),
        ({"timeMs": 10}, "validation_error"),
        ({"timeMs": -1, "text": "x"}, "validation_error"),
        ({"timeMs": 1.5, "text": "x"}, "validation_error"),
        ({"timeMs": "10", "text": "x"}, "validation_error"),
        ({"timeMs": 10, "text": "x" * (MAX_TEXT + 1)}, "validation_error"),
        ({"timeMs": 10, "text": "x", "colour": "red"}, "unknown_field"),
        ({"timeMs": 10, "text": "x", "markerId": "../etc"}, "validation_error"),
        ({"timeMs": 61_001 + 1_000, "text": "after the end"}, "time_out_of_range"),
    ]
    for body, code in cases:
        status, error = api.call("POST", url, body=body)
        assert status == 400 and error["error"]["code"] == code, (body, error)
    status, error = api.call("POST", url, raw_body="{not json")
    assert status == 400
    status, marker = api.call("POST", url, body={"timeMs": 60_000, "text": ""})
    assert status == 201  # the last moment, and an empty comment, are fine
    path = f"{url}/{marker['markerId']}"
    for body in ({"version": 1}, {"text": "no version"}, {"version": 0, "text": "x"},
                 {"version": 1, "timeMs": 999_999}):
        assert api.call("PATCH", path, body=body)[0] == 400, body
    assert api.call("PATCH", f"{url}/not-a-marker", body={"version": 1, "text": "x"})[0] == 400
    assert api.call("GET", "/videos/v_nope/markers")[0] == 404
    assert api.call("GET", "/videos/bad id/markers")[0] == 400


def test_create_with_the_clients_id_is_safe_to_retry(api: Any) -> None:
    _video(api, "v_mk4")
    body = {"timeMs": 2_000, "text": "Incision", "markerId": "m_client1"}
    status, first = api.call("POST", "/videos/v_mk4/markers", body=body)
    assert status == 201 and first["markerId"] == "m_client1"
    status, again = api.call("POST", "/videos/v_mk4/markers", body=body)
    assert status == 200 and again == first
    status, error = api.call("POST", "/videos/v_mk4/markers", body={**body, "text": "Other"})
    assert status == 409 and error["error"]["code"] == "marker_exists"
    assert len(api.call("GET", "/videos/v_mk4/markers")[1]["items"]) == 1


def test_every_marker_access_is_audited(api: Any, moto_server: Any) -> None:
    _video(api, "v_mk5")
    me = _claims(api)
    status, marker = api.call("POST", "/videos/v_mk5/markers", claims=me,
                              body={"timeMs": 500, "text": "a"})
    assert status == 201
    path = f"/videos/v_mk5/markers/{marker['markerId']}"
    api.call("GET", "/videos/v_mk5/markers", claims=me)
    api.call("PATCH", path, claims=me, body={"version": 1, "text": "b"})
    api.call("DELETE", path, claims=me)
    events = moto_server.dynamodb.query(
        TableName=AUDIT_TABLE, KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": audit_pk(api.user, "v_mk5")}},
    )["Items"]
    actions = sorted(e["action"]["S"] for e in events)
    assert actions == sorted(["create", "marker_create", "markers", "marker_edit",
                              "marker_delete"])
    assert all(e["userId"]["S"] == api.user for e in events)
    assert "markers" in READ_ACTIONS  # a read whose event cannot be written is refused
    # a refused access (another user) writes nothing under this recording
    assert api.call("GET", "/videos/v_mk5/markers", user="someone-else")[0] == 404
    again = moto_server.dynamodb.query(
        TableName=AUDIT_TABLE, KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": audit_pk(api.user, "v_mk5")}},
    )["Items"]
    assert len(again) == len(events)
