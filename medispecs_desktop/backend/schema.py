"""The ``AppMain`` single-table layout (DESIGN §4) and its key builders.

``create_table_kwargs(name)`` returns the exact ``dynamodb.create_table(**kwargs)`` arguments, so
the local stack, the tests and the benchmarks provision the same table the SAM template declares.

Items (all in the caller's partition ``PK=USER#{userId}``):

- ``SK=VIDEO#{recordedAt}#{videoId}`` - the video record (``entity="VIDEO"``).
- ``SK=VIDEOID#{videoId}`` - pointer to the record's SK: get/delete by id in O(1), and the
  idempotency guard of create (written with ``attribute_not_exists`` in the same transaction).
- ``SK=SHA256#{hex}`` / ``SK=FP#{fingerprint}`` - duplicate-check pointers to the videoId.
- ``SK=UPLOAD#{videoId}#{uploadId}`` - a multipart upload session (size, part size, s3 key).
- ``SK=TRASH#{trashedAt}#{videoId}`` - a video record in the Trash: moved out of the ``VIDEO#``
  range (so the library's Query never sees it, no filter needed), its ``VIDEOID#`` pointer
  following it and its duplicate pointers removed until it is restored.

One sparse GSI, ``TrashExpiry`` (``trashShard`` / ``trashExpiresAt``, keys only): only Trash
records carry those attributes, so the scheduled purge Queries exactly the expired ones, never a
Scan. The shard spreads a busy day's deletes over ``TRASH_SHARDS`` partition keys. Stdlib only.
"""

from __future__ import annotations

import zlib
from typing import Any

__all__ = [
    "DEFAULT_TABLE_NAME",
    "ENTITY_FP",
    "ENTITY_SHA256",
    "ENTITY_UPLOAD",
    "ENTITY_VIDEO",
    "ENTITY_VIDEO_ID",
    "PK_ATTR",
    "SK_ATTR",
    "TRASH_EXPIRES_ATTR",
    "TRASH_INDEX",
    "TRASH_SHARDS",
    "TRASH_SHARD_ATTR",
    "TRASH_SK_PREFIX",
    "VIDEO_SK_PREFIX",
    "create_table_kwargs",
    "fingerprint_sk",
    "sha256_sk",
    "trash_shard",
    "trash_sk",
    "upload_sk",
    "user_pk",
    "video_id_sk",
    "video_sk",
]

DEFAULT_TABLE_NAME = "AppMain"
PK_ATTR = "PK"
SK_ATTR = "SK"

ENTITY_VIDEO = "VIDEO"
ENTITY_VIDEO_ID = "VIDEOID"
ENTITY_SHA256 = "SHA256"
ENTITY_FP = "FP"
ENTITY_UPLOAD = "UPLOAD"

VIDEO_SK_PREFIX = "VIDEO#"
TRASH_SK_PREFIX = "TRASH#"

TRASH_INDEX = "TrashExpiry"
TRASH_SHARD_ATTR = "trashShard"
TRASH_EXPIRES_ATTR = "trashExpiresAt"
TRASH_SHARDS = 8


def create_table_kwargs(table_name: str = DEFAULT_TABLE_NAME) -> dict[str, Any]:
    """Keyword arguments for ``boto3.client("dynamodb").create_table(**kwargs)``."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": PK_ATTR, "AttributeType": "S"},
            {"AttributeName": SK_ATTR, "AttributeType": "S"},
            {"AttributeName": TRASH_SHARD_ATTR, "AttributeType": "S"},
            {"AttributeName": TRASH_EXPIRES_ATTR, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PK_ATTR, "KeyType": "HASH"},
            {"AttributeName": SK_ATTR, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": TRASH_INDEX,
                "KeySchema": [
                    {"AttributeName": TRASH_SHARD_ATTR, "KeyType": "HASH"},
                    {"AttributeName": TRASH_EXPIRES_ATTR, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def video_sk(recorded_at: str, video_id: str) -> str:
    """``recorded_at`` must already be normalised UTC ``YYYY-MM-DDTHH:MM:SSZ``."""
    return f"{VIDEO_SK_PREFIX}{recorded_at}#{video_id}"


def video_id_sk(video_id: str) -> str:
    return f"VIDEOID#{video_id}"


def sha256_sk(sha256_hex: str) -> str:
    return f"SHA256#{sha256_hex.lower()}"


def fingerprint_sk(fingerprint: str) -> str:
    return f"FP#{fingerprint}"


def upload_sk(video_id: str, upload_id: str) -> str:
    return f"UPLOAD#{video_id}#{upload_id}"


def trash_sk(trashed_at: str, video_id: str) -> str:
    """``trashed_at`` normalised UTC: the Trash lists newest-deleted first by SK."""
    return f"{TRASH_SK_PREFIX}{trashed_at}#{video_id}"


def trash_shard(video_id: str) -> str:
    """The ``TrashExpiry`` partition of a trashed video (stable, spread by the id's CRC-32)."""
    return f"TRASH#{zlib.crc32(video_id.encode()) % TRASH_SHARDS}"
