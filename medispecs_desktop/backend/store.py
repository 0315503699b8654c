"""DynamoDB adapter for the ``AppMain`` single table (layout in ``schema``).

Every read is a ``GetItem``/``BatchGetItem`` by key or a ``Query`` on the caller's partition key
with a sort-key range; there is no Scan and no filter over a partition. Writes that must agree go
through ``TransactWriteItems`` with condition expressions; updates bump ``version``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from . import schema
from .aws import error_code, raise_if_throttled
from .errors import Conflict, ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "ConflictRetry",
    "CreateOutcome",
    "VideoStore",
    "from_dynamo",
]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


# DynamoDB stores numbers from 1E-130 to 9.9999999999999999999999999999999999999E+125 in
# magnitude (38 digits). A float's repr has at most 17 digits, and validation caps every number
# field far below the upper bound; only a vanishingly small value (6.5e-240 s of duration, say)
# falls outside, and it is stored as the zero it is in every practical sense instead of failing
# the whole write with a 500.
_DYNAMO_SMALLEST = 1e-130


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        if abs(value) < _DYNAMO_SMALLEST:
            return Decimal(0)
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo_value(v) for v in value]
    return value


def _to_attribute(value: Any) -> Any:
    kind = type(value)
    if kind is str:  # most attributes: what TypeSerializer gives, without its type search
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    return _serializer.serialize(_to_dynamo_value(value))


def to_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _to_attribute(v) for k, v in item.items() if v is not None}


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo_value(v) for v in value]
    return value


def _from_attribute(value: Any) -> Any:
    if type(value) is dict and len(value) == 1:
        text = value.get("S")
        if type(text) is str:  # most attributes: what TypeDeserializer gives, directly
            return text
    return _from_dynamo_value(_deserializer.deserialize(value))


def from_dynamo(item: Mapping[str, Any]) -> Item:
    return {k: _from_attribute(v) for k, v in item.items()}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {schema.PK_ATTR: {"S": pk}, schema.SK_ATTR: {"S": sk}}


# --------------------------------------------------------------------------- outcomes

@dataclass(frozen=True, slots=True)
class CreateOutcome:
    kind: Literal["created", "exists", "duplicate"]
    item: Item | None = None
    """``created``: the new record; ``exists``: the stored record with the same videoId."""
    duplicate_of: str | None = None
    """``duplicate``: the videoId already holding this SHA-256."""


class VideoStore:
    """All DynamoDB access of the handler. ``client`` is a zero-argument factory so the client
    is created lazily, once per container."""

    def __init__(self, client: Callable[[], DynamoDBClient], table: str) -> None:
        self._client = client
        self.table = table

    @property
    def db(self) -> DynamoDBClient:
        return self._client()

    # ---------------------------------------------------------------- reads

    def get(self, pk: str, sk: str) -> Item | None:
        try:
            resp = self.db.get_item(TableName=self.table, Key=_key(pk, sk), ConsistentRead=True)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        item = resp.get("Item")
        return from_dynamo(item) if item else None

    def get_video(self, user_id: str, video_id: str) -> Item | None:
        """The video record by id in O(1): its pointer item, then the record (2 GetItems)."""
        pk = schema.user_pk(user_id)
        pointer = self.get(pk, schema.video_id_sk(video_id))
        if pointer is None:
            return None
        return self.get(pk, str(pointer["videoSK"]))

    def query_videos(
        self, user_id: str, *, low: str, high: str, limit: int, start: Mapping[str, str] | None
    ) -> tuple[list[Item], dict[str, str] | None]:
        """Newest-first page of video records with ``low <= SK <= high``: one Query.

        Asks for ``limit + 1`` items so the last page has no cursor (no empty extra page)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#pk": schema.PK_ATTR, "#sk": schema.SK_ATTR},
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.user_pk(user_id)},
                ":lo": {"S": low},
                ":hi": {"S": high},
            },
            "ScanIndexForward": False,
            "Limit": limit + 1,
            "ConsistentRead": True,
        }
        if start is not None:
            kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in start.items()}
        try:
            resp = self.db.query(**kwargs)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        items = [from_dynamo(i) for i in resp.get("Items", [])]
        if len(items) > limit:
            items = items[:limit]
            last = items[-1]
            return items, {"PK": str(last["PK"]), "SK": str(last["SK"])}
        lek = resp.get("LastEvaluatedKey")
        if lek and items:  # 1 MB page cut short: continue after the last returned item
            last = items[-1]
            return items, {"PK": str(last["PK"]), "SK": str(last["SK"])}
        if lek:  # nothing returned yet but more to read (cannot happen with small items)
            plain = from_dynamo(lek)
            return items, {"PK": str(plain["PK"]), "SK": str(plain["SK"])}
        return items, None

    def query_prefix(self, user_id: str, prefix: str) -> list[Item]:
        """All items of the caller's partition whose SK begins with ``prefix`` (all pages)."""
        out: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": schema.PK_ATTR, "#sk": schema.SK_ATTR},
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.user_pk(user_id)},
                ":prefix": {"S": prefix},
            },
            "ConsistentRead": True,
        }
        while True:
            try:
                resp = self.db.query(**kwargs)
            except ClientError as exc:
                raise_if_throttled(exc)
                raise
            out.extend(from_dynamo(i) for i in resp.get("Items", []))
            lek = resp.get("LastEvaluatedKey")
            if not lek:
                return out
            kwargs["ExclusiveStartKey"] = lek

    def batch_get(self, pk: str, sks: Iterable[str]) -> list[Item]:
        """``BatchGetItem`` of keys in one partition (100 keys per call, unprocessed retried)."""
        keys = list(dict.fromkeys(sks))
        out: list[Item] = []
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self.table: {
                    "Keys": [_key(pk, sk) for sk in keys[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            for _attempt in range(8):
                try:
                    resp = self.db.batch_get_item(RequestItems=pending)
                except ClientError as exc:
                    raise_if_throttled(exc)
                    raise
                out.extend(from_dynamo(i) for i in resp.get("Responses", {}).get(self.table, []))
                unprocessed = resp.get("UnprocessedKeys") or {}
                if not unprocessed.get(self.table):
                    break
                pending = dict(unprocessed)
            else:
                raise ServiceUnavailable("the database is busy; retry shortly")
        return out

    # ---------------------------------------------------------------- writes

    def create_video(
        self, record: Item, *, sha256: str | None, fingerprint: str | None
    ) -> CreateOutcome:
        """Write the record, its ``VIDEOID#`` pointer and its duplicate pointers in one
        transaction, each guarded by ``attribute_not_exists``.

        A fingerprint pointer already held by another video is not an error (a fingerprint is a
        hint): the record is then written without owning it (``ownsFingerprint=false``). A
        SHA-256 held by another video is a duplicate."""
        pk = str(record["PK"])
        video_id = str(record["videoId"])
        own_fp = fingerprint is not None
        for _ in range(2):
            record["ownsFingerprint"] = own_fp
            items: list[tuple[str, Item]] = [
                ("video", record),
                (
                    "pointer",
                    {
                        "PK": pk,
                        "SK": schema.video_id_sk(video_id),
                        "entity": schema.ENTITY_VIDEO_ID,
                        "videoId": video_id,
                        "videoSK": record["SK"],
                    },
                ),
            ]
            if sha256 is not None:
                items.append(
                    (
                        "sha256",
                        {
                            "PK": pk,
                            "SK": schema.sha256_sk(sha256),
                            "entity": schema.ENTITY_SHA256,
                            "videoId": video_id,
                        },
                    )
                )
            if own_fp and fingerprint is not None:
                items.append(
                    (
                        "fingerprint",
                        {
                            "PK": pk,
                            "SK": schema.fingerprint_sk(fingerprint),
                            "entity": schema.ENTITY_FP,
                            "videoId": video_id,
                        },
                    )
                )
            transact: list[Any] = [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_dynamo(item),
                        "ConditionExpression": "attribute_not_exists(#pk)",
                        "ExpressionAttributeNames": {"#pk": schema.PK_ATTR},
                    }
                }
                for _, item in items
            ]
            try:
                self.db.transact_write_items(TransactItems=transact)
                return CreateOutcome("created", item=record)
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise_if_throttled(exc)
                    raise
                failed = self._failed_conditions(exc, [name for name, _ in items])
            if "pointer" in failed or "video" in failed or failed == set():
                existing = self.get_video(str(record["userId"]), video_id)
                if existing is not None:
                    return CreateOutcome("exists", item=existing)
                if failed == set():  # cancelled for another reason (e.g. a concurrent write)
                    raise ConflictRetry("the record changed concurrently; retry")
            if "sha256" in failed and sha256 is not None:
                holder = self.get(pk, schema.sha256_sk(sha256))
                if holder is not None and holder.get("videoId") != video_id:
                    return CreateOutcome("duplicate", duplicate_of=str(holder["videoId"]))
            if "fingerprint" in failed and own_fp:
                own_fp = False
                continue
            raise ConflictRetry("the record changed concurrently; retry")
        raise ConflictRetry("the record changed concurrently; retry")

    @staticmethod
    def _failed_conditions(exc: ClientError, names: list[str]) -> set[str]:
        reasons = exc.response.get("CancellationReasons") or []
        failed = {
            names[i]
            for i, reason in enumerate(reasons)
            if i < len(names) and reason.get("Code") == "ConditionalCheckFailed"
        }
        if any(r.get("Code") in ("ThrottlingError", "ProvisionedThroughputExceeded")
               for r in reasons):
            raise_if_throttled(
                ClientError({"Error": {"Code": "ThrottlingException"}}, "TransactWriteItems")
            )
        if not reasons:  # reasons not reported: let the caller work out what exists
            return set(names)
        return failed

    def update_video(
        self,
        key: Mapping[str, str],
        *,
        expected_version: int | None,
        set_values: Mapping[str, Any],
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
        bump_version: bool = True,
    ) -> Item | None:
        """``SET`` attributes (and ``REMOVE`` the ``remove`` ones) and bump ``version``;
        optimistic lock on ``expected_version``.

        ``version`` is the version of what users edit (title, notes, markers' text): the
        service's own updates of a record (its status, the facts read from its bytes, poster
        and preview keys, checksums) pass ``bump_version=False``, so they never make a client's
        edit stale. Returns the new record, or ``None`` when the condition failed (caller
        decides whether that is a conflict or a missing record)."""
        names: dict[str, str] = {"#pk": schema.PK_ATTR}
        values: dict[str, Any] = {}
        sets: list[str] = []
        if bump_version or expected_version is not None:
            names["#version"] = "version"
        if bump_version:
            values[":one"] = 1
            sets.append("#version = #version + :one")
        for i, (attr, value) in enumerate(set_values.items()):
            names[f"#a{i}"] = attr
            values[f":v{i}"] = value
            sets.append(f"#a{i} = :v{i}")
        removes = ""
        for i, attr in enumerate(dict.fromkeys(remove)):
            names[f"#r{i}"] = attr
            removes += ("" if i else " REMOVE ") + ("," if i else "") + f"#r{i}"
        conditions = ["attribute_exists(#pk)"]
        if expected_version is not None:
            values[":expected"] = expected_version
            conditions.append("#version = :expected")
        if condition:
            conditions.append(condition)
            values.update(condition_values or {})
            names["#status"] = "status"
        update: dict[str, Any] = {
            "UpdateExpression": (("SET " + ", ".join(sets) if sets else "") + removes).strip(),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if values:  # DynamoDB refuses an empty map
            update["ExpressionAttributeValues"] = {
                k: _serializer.serialize(_to_dynamo_value(v)) for k, v in values.items()}
        try:
            resp = self.db.update_item(TableName=self.table, Key=_key(key["PK"], key["SK"]),
                                       ReturnValues="ALL_NEW", **update)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise_if_throttled(exc)
            raise
        return from_dynamo(resp.get("Attributes", {}))

    def record_sha256(self, record: Mapping[str, Any], sha256: str, *, etag: str,
                      verified_at: str) -> Literal["verified", "mismatch", "held", "changed"]:
        """Record the SHA-256 the service computed from the bytes of ``record``'s object
        (version ``etag``); a system update: ``version`` stays.

        - the record claims no SHA-256: it gets this one, verified, together with its
          ``SHA256#`` pointer (one transaction), so it becomes a duplicate target
          (``verified``); when another recording holds that pointer the bytes are already
          stored as it, and only the check is noted (``held``);
        - it claims this one: now verified (``verified``);
        - it claims another one: S3 holds other bytes than the file the client hashed; noted,
          never deleted (``mismatch``).
        ``changed`` when the record changed meanwhile (another object, the Trash, a check
        already recorded): nothing was written."""
        pk, sk, video_id = str(record["PK"]), str(record["SK"]), str(record["videoId"])
        claimed = str(record.get("sha256") or "").lower() or None
        values: dict[str, Any] = {"sha256CheckedETag": etag, "verifiedAt": verified_at}
        outcome: Literal["verified", "mismatch", "held"]
        if claimed is None or claimed == sha256:
            values.update(sha256=sha256, sha256Verified=True, sha256VerifiedBy="read")
            outcome = "verified"
        else:
            values.update(sha256Verified=False, sha256VerifiedBy="read", sha256Read=sha256)
            outcome = "mismatch"
        names: dict[str, str] = {"#pk": schema.PK_ATTR, "#key": "s3Key"}
        expr_values: dict[str, Any] = {":key": str(record["s3Key"])}
        sets = []
        for i, (attr, value) in enumerate(values.items()):
            names[f"#a{i}"] = attr
            expr_values[f":v{i}"] = value
            sets.append(f"#a{i} = :v{i}")
        condition = "attribute_exists(#pk) AND #key = :key AND "
        if claimed is None:
            names["#sha"] = "sha256"
            condition += "attribute_not_exists(#sha)"
        else:
            names["#sha"] = "sha256"
            expr_values[":claimed"] = claimed
            condition += "#sha = :claimed"
        update: dict[str, Any] = {"Update": {
            "TableName": self.table,
            "Key": _key(pk, sk),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: _serializer.serialize(_to_dynamo_value(v))
                                          for k, v in expr_values.items()},
        }}
        ops: list[Any] = [update]
        if claimed is None:
            ops.append({"Put": {
                "TableName": self.table,
                "Item": to_dynamo({"PK": pk, "SK": schema.sha256_sk(sha256),
                                   "entity": schema.ENTITY_SHA256, "videoId": video_id}),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": schema.PK_ATTR},
            }})
        try:
            self.db.transact_write_items(TransactItems=ops)
            return outcome
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise_if_throttled(exc)
                raise
            failed = self._failed_conditions(exc, ["record", "pointer"][:len(ops)])
        if "record" in failed or claimed is not None:
            return "changed"
        # another recording holds these bytes' pointer: this one stays without a sha256 (a
        # record's sha256 always comes with its pointer), the check is noted
        noted = self.update_video(
            {"PK": pk, "SK": sk}, expected_version=None,
            set_values={"sha256CheckedETag": etag, "verifiedAt": verified_at,
                        "sha256Read": sha256},
            bump_version=False)
        return "held" if noted is not None else "changed"

    def delete_video(self, record: Mapping[str, Any]) -> bool:
        """Delete the record and its pointer items in one transaction.

        Duplicate pointers are deleted only while they still name this video. Returns False
        when the record was already gone."""
        pk = str(record["PK"])
        video_id = str(record["videoId"])
        ops: list[Any] = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": _key(pk, str(record["SK"])),
                    "ConditionExpression": "attribute_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": schema.PK_ATTR},
                }
            },
            {"Delete": {"TableName": self.table, "Key": _key(pk, schema.video_id_sk(video_id))}},
        ]
        owned: list[str] = []
        if record.get("sha256"):
            owned.append(schema.sha256_sk(str(record["sha256"])))
        if record.get("fingerprint") and record.get("ownsFingerprint"):
            owned.append(schema.fingerprint_sk(str(record["fingerprint"])))
        for sk in owned:
            ops.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _key(pk, sk),
                        "ConditionExpression": "attribute_not_exists(#pk) OR #vid = :vid",
                        "ExpressionAttributeNames": {"#pk": schema.PK_ATTR, "#vid": "videoId"},
                        "ExpressionAttributeValues": {":vid": {"S": video_id}},
                    }
                }
            )
        try:
            self.db.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    return False
                raise ConflictRetry("the record changed concurrently; retry") from exc
            raise_if_throttled(exc)
            raise
        return True

    def put(self, item: Item, *, if_absent: bool = False) -> bool:
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": to_dynamo(item)}
        if if_absent:
            kwargs["ConditionExpression"] = "attribute_not_exists(#pk)"
            kwargs["ExpressionAttributeNames"] = {"#pk": schema.PK_ATTR}
        try:
            self.db.put_item(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise_if_throttled(exc)
            raise
        return True

    def delete(self, pk: str, sk: str) -> None:
        try:
            self.db.delete_item(TableName=self.table, Key=_key(pk, sk))
        except ClientError as exc:
            raise_if_throttled(exc)
            raise


class ConflictRetry(Conflict):
    """A transaction lost a race in a way the caller may simply retry."""

    default_code = "concurrent_update"
