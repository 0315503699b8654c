"""The DynamoDB adapter's transactions and the AWS error mapping, on the real moto server."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from medispecs_desktop.backend import schema
from medispecs_desktop.backend.aws import raise_if_throttled
from medispecs_desktop.backend.errors import ServiceUnavailable


def record(user: str, vid: str, recorded: str = "2025-05-05T05:05:05Z") -> dict[str, Any]:
    return {
        "PK": schema.user_pk(user), "SK": schema.video_sk(recorded, vid), "entity": "VIDEO",
        "videoId": vid, "userId": user, "title": "t", "recordedAt": recorded,
        "s3Key": f"videos/{user}/{vid}.mp4", "s3Bucket": "medispecs-videos", "status": "pending",
        "createdAt": recorded, "updatedAt": recorded, "version": 1, "durationSec": 1.25,
    }


def test_create_transaction_outcomes(app: Any, api: Any) -> None:
    store = app.service.store
    first = store.create_video(record(api.user, "v_tx1"), sha256="ab" * 32,
                               fingerprint="1:" + "c" * 64)
    assert first.kind == "created"
    # A racing create of the same videoId (another recordedAt, so another SK) loses to the
    # VIDEOID# pointer and gets the stored record back.
    again = store.create_video(record(api.user, "v_tx1", "2024-01-01T00:00:00Z"), sha256=None,
                               fingerprint=None)
    assert again.kind == "exists" and again.item is not None
    assert again.item["recordedAt"] == "2025-05-05T05:05:05Z"
    assert again.item["durationSec"] == 1.25  # Decimal round trip
    dup = store.create_video(record(api.user, "v_tx2"), sha256="AB" * 32, fingerprint=None)
    assert dup.kind == "duplicate" and dup.duplicate_of == "v_tx1"
    fp_clash = store.create_video(record(api.user, "v_tx3"), sha256=None,
                                  fingerprint="1:" + "c" * 64)
    assert fp_clash.kind == "created" and fp_clash.item is not None
    assert fp_clash.item["ownsFingerprint"] is False
    # Deleting the clashing video leaves the first video's fingerprint pointer alone.
    assert store.delete_video(fp_clash.item) is True
    assert store.delete_video(fp_clash.item) is False
    pk = schema.user_pk(api.user)
    pointer = store.get(pk, schema.fingerprint_sk("1:" + "c" * 64))
    assert pointer is not None and pointer["videoId"] == "v_tx1"
    assert store.get(pk, schema.video_id_sk("v_tx3")) is None


def test_update_with_stale_version_returns_none(app: Any, api: Any) -> None:
    store = app.service.store
    item = store.create_video(record(api.user, "v_upd"), sha256=None, fingerprint=None).item
    key = {"PK": item["PK"], "SK": item["SK"]}
    updated = store.update_video(key, expected_version=1, set_values={"title": "new"})
    assert updated is not None and updated["version"] == 2 and updated["title"] == "new"
    assert store.update_video(key, expected_version=1, set_values={"title": "x"}) is None
    missing = {"PK": item["PK"], "SK": "VIDEO#1999-01-01T00:00:00Z#v_nope"}
    assert store.update_video(missing, expected_version=None, set_values={"title": "x"}) is None


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                  "SlowDown", "InternalError"])
def test_throttling_becomes_a_retryable_503(code: str) -> None:
    exc = ClientError({"Error": {"Code": code, "Message": "busy"}}, "GetItem")
    with pytest.raises(ServiceUnavailable) as info:
        raise_if_throttled(exc)
    assert info.value.status == 503 and info.value.headers == {"Retry-After": "1"}


def test_other_client_errors_pass_through() -> None:
    raise_if_throttled(ClientError({"Error": {"Code": "ValidationException"}}, "Query"))


def test_unsigned_headers_are_a_server_fault() -> None:
    from medispecs_desktop.backend.storage import _require_signed

    url = "http://s3/b/k?X-Amz-SignedHeaders=content-length%3Bhost&X-Amz-Signature=abc"
    assert _require_signed(url, ["Content-Length"]) == url
    with pytest.raises(RuntimeError, match="x-amz-checksum-sha256"):
        _require_signed(url, ["Content-Length", "x-amz-checksum-sha256"])


def _reference_to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    """What to_dynamo gave before its fast path: boto3's TypeSerializer for every value."""
    from boto3.dynamodb.types import TypeSerializer

    from medispecs_desktop.backend.store import _to_dynamo_value

    return {k: TypeSerializer().serialize(_to_dynamo_value(v)) for k, v in item.items()
            if v is not None}


def test_item_conversion_takes_strings_directly_and_answers_as_boto3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16: a listing page converts ~2,000 values each way; strings (most of them) no
    longer go through boto3's type search, with the same results for every kind of value."""
    import random

    from boto3.dynamodb.types import TypeDeserializer

    from medispecs_desktop.backend import store

    rng = random.Random(16)
    kinds: list[Any] = ["", "ward round", "Ärzte 🎥 \u202e", True, False, 0, -7, 2**60, 1.25,
                        1e-300, None, {"a": "x", "b": [1, "y", False]}, ["s", 2.5], {"n": None}]
    items = [{f"k{i}": rng.choice(kinds) for i in range(12)} for _ in range(40)]
    for item in items:
        assert store.to_dynamo(item) == _reference_to_dynamo(item)
        wire = _reference_to_dynamo(item)
        reference = {k: store._from_dynamo_value(TypeDeserializer().deserialize(v))
                     for k, v in wire.items()}
        assert store.from_dynamo(wire) == reference
        assert {k: type(v) for k, v in store.from_dynamo(wire).items()} == {
            k: type(v) for k, v in reference.items()}

    calls = [0]
    owners: list[tuple[Any, str]] = [(store._serializer, "serialize"),
                                     (store._deserializer, "deserialize")]
    for owner, name in owners:
        real = getattr(owner, name)

        def counted(*args: Any, _real: Any = real) -> Any:
            calls[0] += 1
            return _real(*args)

        monkeypatch.setattr(owner, name, counted)
    strings = {f"s{i}": f"value {i}" for i in range(20)}
    assert store.from_dynamo(store.to_dynamo(strings)) == strings
    assert calls[0] == 0  # (before: 40 - one serialize and one deserialize per value)
