"""The audit trail (backend/audit.py) against the real handler and a real moto DynamoDB: who
accessed which recording, how, when and from where; owner-only history; append-only writes."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from medispecs_desktop.backend.audit import AuditLog, audit_pk
from medispecs_desktop.backend.config import DEFAULT_AUDIT_RETENTION_DAYS
from medispecs_desktop.backend.events import parse_event
from tests.backend.conftest import AUDIT_TABLE, USER_AGENT

HISTORY_KEYS = {"at", "action", "userId", "username", "sourceIp", "userAgent", "requestId"}


def claims(api: Any, username: str = "dr.grey") -> dict[str, Any]:
    return {"sub": api.user, "cognito:username": username}


def uploaded(api: Any, video_id: str, data: bytes = b"clip bytes") -> dict[str, Any]:
    status, up = api.call("GET", f"/videos/{video_id}/upload-url",
                          claims=claims(api))
    assert status == 200, up
    assert requests.put(up["uploadUrl"], data=data, headers=up["headers"],
                        timeout=30).status_code == 200
    status, video = api.call("POST", "/videos", claims=claims(api),
                             body={"videoId": video_id, "title": "Ward round",
                                   "recordedAt": "2025-11-03T14:30:00Z"})
    assert status == 201, video
    return video


def history(api: Any, video_id: str, **query: str) -> tuple[int, Any]:
    return api.call("GET", f"/videos/{video_id}/history", claims=claims(api),
                    query=query or None)


def stored_events(moto_server: Any, owner: str, video_id: str) -> list[dict[str, Any]]:
    return moto_server.dynamodb.query(
        TableName=AUDIT_TABLE, KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": audit_pk(owner, video_id)}},
    )["Items"]


def test_history_shows_get_playback_and_edit_by_the_right_user(api: Any) -> None:
    video = uploaded(api, "v_aud1")
    me = claims(api)
    assert api.call("GET", "/videos/v_aud1", claims=me)[0] == 200
    status, url = api.call("GET", "/videos/v_aud1/playback-url", claims=me)
    assert status == 200
    assert url["expiresIn"] == 600  # playback URLs live 10 minutes
    assert "X-Amz-Expires=600" in url["playbackUrl"]
    status, _ = api.call("PATCH", "/videos/v_aud1", claims=me,
                         body={"version": video["version"], "title": "Ward round 2"})
    assert status == 200

    status, events = history(api, "v_aud1")
    assert status == 200
    assert [e["action"] for e in events] == ["history", "edit", "playback", "get", "create"]
    for e in events:
        assert set(e) == HISTORY_KEYS
        assert (e["userId"], e["username"]) == (api.user, "dr.grey")
        assert (e["sourceIp"], e["userAgent"]) == ("127.0.0.1", USER_AGENT)
    ats = [e["at"] for e in events]
    assert ats == sorted(ats, reverse=True)
    assert len({e["requestId"] for e in events}) == len(events)
    # reading the history was recorded too: the next read shows the first one
    _, again = history(api, "v_aud1")
    assert [e["action"] for e in again[:3]] == ["history", "history", "edit"]
    assert again[1] == events[0]


def test_another_user_cannot_read_the_history_and_leaves_no_trace(
    api: Any, other_api: Any, moto_server: Any
) -> None:
    uploaded(api, "v_aud2")
    status, err = other_api.call("GET", "/videos/v_aud2/history",
                                 claims={"sub": other_api.user})
    assert status == 404 and err["error"]["code"] == "not_found"
    assert other_api.call("GET", "/videos/v_aud2", claims={"sub": other_api.user})[0] == 404
    assert stored_events(moto_server, other_api.user, "v_aud2") == []
    owner_actions = [e["action"]["S"] for e in stored_events(moto_server, api.user, "v_aud2")]
    assert owner_actions == ["create"]
    # an id nobody has: 404, and nothing written
    status, _ = history(api, "v_never_was")
    assert status == 404
    assert stored_events(moto_server, api.user, "v_never_was") == []


def test_listing_writes_one_event_per_recording_in_one_transaction(api: Any) -> None:
    for n in range(3):
        api.create(videoId=f"v_audl{n}", recordedAt=f"2025-11-0{n + 1}T10:00:00Z")
    api.ddb_calls.clear()
    api.audit_calls.clear()
    status, page = api.call("GET", "/videos", claims=claims(api), query={"limit": "10"})
    assert status == 200 and len(page["items"]) == 3
    assert api.ddb_calls == ["Query"]
    assert api.audit_calls == ["TransactWriteItems"]
    for n in range(3):
        _, events = history(api, f"v_audl{n}")
        assert [e["action"] for e in events][:2] == ["history", "list"]
    api.audit_calls.clear()
    api.call("GET", "/videos", claims=claims(api), query={"from": "2030-01-01"})
    assert api.audit_calls == []  # an empty page names nobody


def test_deleted_recording_keeps_its_history(api: Any) -> None:
    api.create(videoId="v_auddel")
    assert api.call("DELETE", "/videos/v_auddel", claims=claims(api))[0] == 200
    assert api.call("GET", "/videos/v_auddel", claims=claims(api))[0] == 404
    status, events = history(api, "v_auddel")
    assert status == 200
    assert [e["action"] for e in events] == ["history", "delete", "create"]


def test_history_pages_with_limit_and_before(api: Any) -> None:
    api.create(videoId="v_audpg")
    for _ in range(4):
        api.call("GET", "/videos/v_audpg", claims=claims(api))
    status, first = history(api, "v_audpg", limit="3")
    assert status == 200 and [e["action"] for e in first] == ["history", "get", "get"]
    last = first[-1]
    status, rest = history(api, "v_audpg", before=f"{last['at']}#{last['requestId']}")
    assert status == 200
    assert [e["action"] for e in rest] == ["get", "get", "create"]  # 4 gets in all
    assert all(e["at"] <= last["at"] for e in rest)
    for bad in ("yesterday", "2025-13-01T00:00:00Z", "2025-01-01T00:00:00"):
        status, err = history(api, "v_audpg", before=bad)
        assert status == 400 and err["error"]["code"] == "invalid_before", bad
    status, err = history(api, "v_audpg", limit="1001")
    assert status == 400


def test_events_expire_by_ttl_after_the_retention_period(api: Any, moto_server: Any) -> None:
    before = int(time.time())
    api.create(videoId="v_audttl")
    (item,) = stored_events(moto_server, api.user, "v_audttl")
    expires = int(item["expiresAt"]["N"])
    span = DEFAULT_AUDIT_RETENTION_DAYS * 86400
    assert before + span <= expires <= int(time.time()) + span
    assert DEFAULT_AUDIT_RETENTION_DAYS >= 6 * 365


def test_an_event_is_never_overwritten(api: Any, app: Any, moto_server: Any) -> None:
    """The put carries attribute_not_exists: writing an event whose key exists (a replay, or
    a role trying to rewrite history) changes nothing, single or in a transaction."""
    api.create(videoId="v_audow")
    (original,) = stored_events(moto_server, api.user, "v_audow")
    forged = {k: json.loads(json.dumps(v)) for k, v in original.items()}
    forged["action"] = {"S": "nothing-happened"}
    forged["userId"] = {"S": "someone-else"}
    with pytest.raises(ClientError) as refused:
        moto_server.dynamodb.put_item(
            TableName=AUDIT_TABLE, Item=forged,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": "PK"})
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"

    log: AuditLog = app.audit
    plain = {k: next(iter(v.values())) for k, v in forged.items()}
    plain["expiresAt"] = int(plain["expiresAt"])
    log._write([plain], "replay")  # single put: refused, logged, not raised
    with pytest.raises(ClientError) as cancelled:
        log._write([plain, {**plain, "SK": plain["SK"] + "x"}], "replay2")
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert stored_events(moto_server, api.user, "v_audow") == [original]


def test_reads_fail_closed_when_the_trail_cannot_be_written(
    make_app: Any, api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    video = uploaded(api, "v_audfail")
    broken = make_app(audit_table_name="NoSuchAuditTable")
    event = api.event("GET", "/videos/v_audfail", claims=claims(api))
    resp = broken(event, None)
    assert resp["statusCode"] == 503
    body = json.loads(resp["body"])
    assert body["error"]["code"] == "audit_unavailable" and "title" not in resp["body"]
    resp = broken(api.event("GET", "/videos/v_audfail/playback-url", claims=claims(api)), None)
    assert resp["statusCode"] == 503 and "X-Amz" not in resp["body"]
    # an edit that happened is answered; its event goes to the log for the record
    with caplog.at_level(logging.ERROR, logger="medispecs_desktop.backend"):
        resp = broken(api.event("PATCH", "/videos/v_audfail", claims=claims(api),
                                body={"version": video["version"], "notes": "x"}), None)
    assert resp["statusCode"] == 200
    failed = [r for r in caplog.records if r.getMessage() == "audit write failed"]
    assert failed and failed[-1].auditEvents[0]["action"] == "edit"  # type: ignore[attr-defined]


def test_routes_not_listed_are_audited_under_their_last_segment(app: Any, api: Any) -> None:
    """A future route naming a recording (trash, restore) is audited without extra code."""
    from medispecs_desktop.backend.audit import ROUTE_ACTIONS, _derived_action
    from medispecs_desktop.backend.routes import ROUTE_KEYS

    assert set(ROUTE_KEYS) <= set(ROUTE_ACTIONS) | {k for k in ROUTE_KEYS
                                                     if "restore" in k or "trash" in k}
    assert _derived_action("POST /videos/{videoId}/restore") == "restore"
    assert _derived_action("GET /videos/trash") == "trash"
    req = parse_event(api.event("GET", "/videos/v_x", claims=claims(api)), request_id="r1")
    event = app.audit.event(req, api.user, "restore", "v_x")
    assert event["PK"] == f"VIDEO#{api.user}#v_x" and event["SK"].endswith("#" + req.request_id)


def test_trash_list_restore_and_purge_are_audited(api: Any) -> None:
    uploaded(api, "v_audtr")
    me = claims(api)
    assert api.call("DELETE", "/videos/v_audtr", claims=me)[0] == 200
    status, trash = api.call("GET", "/trash", claims=me)
    assert status == 200 and "v_audtr" in json.dumps(trash)
    assert api.call("POST", "/trash/v_audtr/restore", claims=me)[0] == 200
    assert api.call("DELETE", "/videos/v_audtr", claims=me)[0] == 200
    assert api.call("DELETE", "/trash/v_audtr", claims=me)[0] == 200
    status, events = history(api, "v_audtr")
    assert status == 200  # a purged recording's trail stays readable by its owner
    assert [e["action"] for e in events] == [
        "history", "purge", "delete", "restore", "list_trash", "delete", "create"]


def test_the_services_own_accesses_are_recorded_as_system(api: Any, app: Any) -> None:
    """The hook a scheduled job (the Trash's purge) calls before it acts."""
    api.create(videoId="v_audsys")
    app.audit.record_system(api.user, "v_audsys", "purge_expired", run_id="job-42")
    status, events = history(api, "v_audsys")
    assert status == 200
    system = events[1]
    assert (system["action"], system["userId"], system["username"], system["requestId"]) == (
        "purge_expired", "system", "system", "job-42")
    assert system["sourceIp"] is None and system["userAgent"] is None


def test_an_audited_listing_page_skips_botocores_client_side_validation(
    api: Any, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: a listing page writes its 100 events in one transaction; DynamoDB validates it
    itself, and botocore's client-side walk of the 100 items cost ~20% of the function's CPU
    on the page. The page and its events are as before."""
    from botocore.validate import ParamValidator

    ids = [uploaded(api, f"v_val{i:02d}{api.user[:8]}") for i in range(3)]
    validated: list[str] = []
    real = ParamValidator.validate

    def validate(self: Any, params: Any, shape: Any) -> Any:
        validated.append(shape.name)
        return real(self, params, shape)

    monkeypatch.setattr(ParamValidator, "validate", validate)
    status, page = api.call("GET", "/videos", claims=claims(api), query={"limit": "100"})
    assert status == 200
    assert [v["videoId"] for v in page["items"]] == [v["videoId"] for v in reversed(ids)]
    assert not [n for n in validated if n.startswith(("Query", "TransactWriteItems"))], validated
    for video in ids:  # the listing was audited: one "list" event per recording
        assert [e["action"]["S"] for e in stored_events(moto_server, api.user,
                                                        video["videoId"])].count("list") == 1
