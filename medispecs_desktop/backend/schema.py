"""The ``AppMain`` single-table layout (DESIGN §4) and its key builders.

``create_table_kwargs(name)`` returns the exact ``dynamodb.create_table(**kwargs)`` arguments, so
the local stack, the tests and the benchmarks provision the same table the SAM template declares.

Items (all in the caller's partition ``PK=USER#{userId}``):

- ``SK=VIDEO#{recordedAt}#{videoId}`` - the video record (``entity="VIDEO"``).
- ``SK=VIDEOID#{videoId}`` - pointer to the record's SK: get/delete by id in O(1), and the
  idempotency guard of create (written with ``attribute_not_exists`` in the same transaction).
- ``SK=SHA256#{hex}`` / ``SK=FP#{fingerprint}`` - duplicate-check pointers to the videoId.
- ``SK=UPLOAD#{videoId}#{uploadId}`` - a multipart upload session (size, part size, s3 key).

No GSI is needed. Stdlib only.
"""

from __future__ import annotations

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
    "VIDEO_SK_PREFIX",
    "create_table_kwargs",
    "fingerprint_sk",
    "sha256_sk",
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


def create_table_kwargs(table_name: str = DEFAULT_TABLE_NAME) -> dict[str, Any]:
    """Keyword arguments for ``boto3.client("dynamodb").create_table(**kwargs)``."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": PK_ATTR, "AttributeType": "S"},
            {"AttributeName": SK_ATTR, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": PK_ATTR, "KeyType": "HASH"},
            {"AttributeName": SK_ATTR, "KeyType": "RANGE"},
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
