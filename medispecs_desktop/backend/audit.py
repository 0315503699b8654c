"""Audit trail of every access to a recording (HIPAA §164.312(b) audit controls).

Each successful request that reads, names or changes a recording writes one event per recording
to the separate, append-only ``AppAudit`` table: who (user id and username from the token's
claims), which recording, what action, when, from where (source IP, user agent) and the request
id. ``GET /videos/{videoId}/history`` answers a recording's events newest first, only to its
owner, and is audited itself.

Layout (one partition per recording, so an auditor queries one recording in one Query)::

    PK = VIDEO#{ownerId}#{videoId}     SK = {at}#{requestId}     (at: UTC, milliseconds)
    attributes: at, action, videoId, ownerId, userId, username, sourceIp, userAgent,
                requestId, route, expiresAt (epoch seconds: the table's TTL, AUDIT_RETENTION_DAYS)

Append-only: events are only ever written with ``PutItem``/``TransactWriteItems`` ``Put``
entries guarded by ``attribute_not_exists`` (an event is never overwritten), and the function's
role may only ``PutItem`` and ``Query`` the table (packaging/template.yaml denies everything
else). A listing writes one event per recording listed, in one ``TransactWriteItems`` call:
``BatchWriteItem`` would need ``dynamodb:BatchWriteItem``, which also permits deletes and cannot
carry a condition.

The one hook is :meth:`AuditLog.after` (the handler calls it after every successful route):
``ROUTE_ACTIONS`` names the action of each route; a route that is not listed but names a
recording (a ``{videoId}`` path parameter, or ``items``/``matches`` with videoIds in its answer)
is audited under its last path segment, so new routes (trash, restore) are audited by default.
Code that must audit something else calls :meth:`AuditLog.record`.

Failure: an access that only reads (list, get, playback, history) is refused with 503 when its
event cannot be written (no unaudited reads); a change that has already happened (edit, delete,
restore) is answered, and its event goes to the function's (retained) log at ERROR level.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import raise_if_throttled
from .config import BackendConfig
from .errors import BadRequest, NotFound, ServiceUnavailable
from .logs import logger
from .store import VideoStore, from_dynamo, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from .events import Request

__all__ = [
    "DEFAULT_AUDIT_TABLE_NAME",
    "HISTORY_FIELDS",
    "HISTORY_ROUTE",
    "READ_ACTIONS",
    "ROUTE_ACTIONS",
    "TTL_ATTRIBUTE",
    "AuditLog",
    "audit_pk",
    "create_audit_table_kwargs",
]

DEFAULT_AUDIT_TABLE_NAME = "AppAudit"
HISTORY_ROUTE = "GET /videos/{videoId}/history"
TTL_ATTRIBUTE = "expiresAt"
MAX_TRANSACTION_ITEMS = 100
MAX_USER_AGENT = 512

ROUTE_ACTIONS: dict[str, str | None] = {
    "GET /videos": "list",
    "POST /videos": "create",
    "POST /videos/duplicates": "duplicate_check",
    "GET /videos/{videoId}": "get",
    "PATCH /videos/{videoId}": "edit",
    "DELETE /videos/{videoId}": "delete",
    "GET /videos/{videoId}/playback-url": "playback",
    "GET /trash": "list_trash",
    "POST /trash/{videoId}/restore": "restore",
    "DELETE /trash/{videoId}": "purge",
    HISTORY_ROUTE: None,  # the route audits itself (before it answers)
    "GET /videos/{videoId}/markers": "markers",
    "POST /videos/{videoId}/markers": "marker_create",
    "PATCH /videos/{videoId}/markers/{markerId}": "marker_edit",
    "DELETE /videos/{videoId}/markers/{markerId}": "marker_delete",
    # moving bytes in: no patient data is read, the recording is created by POST /videos
    "GET /videos/{videoId}/upload-url": None,
    "GET /videos/{videoId}/thumbnail-upload-url": None,
    "POST /videos/{videoId}/multipart": None,
    "POST /videos/{videoId}/multipart/{uploadId}/sign": None,
    "GET /videos/{videoId}/multipart/{uploadId}/parts": None,
    "POST /videos/{videoId}/multipart/{uploadId}/complete": None,
    "DELETE /videos/{videoId}/multipart/{uploadId}": None,
}
"""Route key -> audited action (``None``: not an access to a recording)."""

READ_ACTIONS = frozenset({"list", "get", "playback", "history", "duplicate_check",
                          "list_trash", "markers"})
"""Actions refused (503) when their event cannot be written: nothing is read unaudited."""

HISTORY_FIELDS = ("at", "action", "userId", "username", "sourceIp", "userAgent", "requestId")

_BEFORE_RE = re.compile(r"^(?P<at>[0-9T:.+Z-]{10,40})(?:#(?P<rid>[A-Za-z0-9._:=/+-]{1,128}))?$")


def audit_pk(owner_id: str, video_id: str) -> str:
    return f"VIDEO#{owner_id}#{video_id}"


def create_audit_table_kwargs(table_name: str = DEFAULT_AUDIT_TABLE_NAME) -> dict[str, Any]:
    """``dynamodb.create_table(**kwargs)`` for the audit table (as the template declares it)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def _format_ms(moment: datetime) -> str:
    m = moment.astimezone(UTC)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{m.microsecond // 1000:03d}Z")


def _derived_action(route_key: str) -> str:
    literal = [s for s in route_key.split(" ", 1)[1].split("/") if s and not s.startswith("{")]
    tail = literal[-1] if literal else ""
    return tail if tail and tail != "videos" else route_key.split(" ", 1)[0].lower()


def _named_ids(body: Any) -> list[str]:
    """videoIds an answer names (``items`` of a listing, ``matches`` of a duplicate check)."""
    if not isinstance(body, Mapping):
        return []
    ids: list[str] = []
    for name in ("items", "matches"):
        entries = body.get(name)
        if isinstance(entries, list):
            ids.extend(str(e["videoId"]) for e in entries
                       if isinstance(e, Mapping) and isinstance(e.get("videoId"), str))
    return list(dict.fromkeys(ids))


class AuditLog:
    """Writes and reads the audit trail (``table`` ``None``: events go to the log only)."""

    def __init__(
        self,
        client: Callable[[], DynamoDBClient],
        config: BackendConfig,
        store: VideoStore,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._client = client
        self.table = config.audit_table_name
        self.retention_days = config.audit_retention_days
        self.store = store
        self.clock = clock

    @property
    def db(self) -> DynamoDBClient:
        return self._client()

    # ---------------------------------------------------------------- writing

    def after(self, req: Request, user_id: str, status: int, body: Any) -> None:
        """The handler's hook after a successful route (its answer's ``status`` and
        ``body``): audit it if it touched recordings."""
        route = req.route_key
        if route is None or status >= 400:
            return
        action = ROUTE_ACTIONS.get(route, _derived_action(route))
        if action is None:
            return
        if "videoId" in req.path_parameters:
            ids = [req.path_parameters["videoId"]]
        elif route == "POST /videos":
            if status != 201 or not isinstance(body, Mapping):
                return  # the same record again (a retried create): nothing new
            ids = [str(body.get("videoId"))]
        else:
            ids = _named_ids(body)
        self.record(req, user_id, action, ids)

    def record(self, req: Request, user_id: str, action: str, video_ids: Iterable[str],
               *, owner_id: str | None = None) -> None:
        """Write one event per recording (``owner_id``: the recordings' owner, default the
        caller). Raises 503 for a read whose events cannot be written (see module doc)."""
        events = [self.event(req, user_id, action, vid, owner_id=owner_id)
                  for vid in dict.fromkeys(video_ids)]
        self._commit(req, action, events)

    def record_system(self, owner_id: str, video_id: str, action: str, *, run_id: str,
                      actor: str = "system") -> None:
        """An access made by the service itself, not a user's request (the Trash's scheduled
        purge: ``record_system(owner, vid, "purge_expired", run_id=job_run_id)``). Raises if
        the event cannot be written, so the job can stop before it acts unaudited."""
        event = self._event(actor, action, video_id, owner_id=owner_id, request_id=run_id,
                            username=actor, source_ip=None, user_agent=None, route=None)
        self._write([event], f"{run_id}#{action}#{video_id}")

    def _commit(self, req: Request, action: str, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        try:
            self._write(events, req.request_id + "#" + action)
        except (ClientError, BotoCoreError) as exc:
            code = exc.response.get("Error", {}).get("Code", "") \
                if isinstance(exc, ClientError) else type(exc).__name__
            logger.error("audit write failed", extra={"auditEvents": events, "awsError": code})
            if action in READ_ACTIONS:
                raise ServiceUnavailable(
                    "the access could not be recorded in the audit trail; retry shortly",
                    code="audit_unavailable", headers={"Retry-After": "1"},
                ) from exc

    def event(self, req: Request, user_id: str, action: str, video_id: str, *,
              owner_id: str | None = None) -> dict[str, Any]:
        """The event of ``req`` accessing ``video_id`` (not yet written)."""
        claims = req.claims or {}
        username = claims.get("cognito:username") or claims.get("username")
        agent = req.headers.get("user-agent")
        return self._event(user_id, action, video_id, owner_id=owner_id,
                           request_id=req.request_id,
                           username=str(username) if username else None,
                           source_ip=req.source_ip,
                           user_agent=agent[:MAX_USER_AGENT] if agent else None,
                           route=req.route_key)

    def _event(self, user_id: str, action: str, video_id: str, *, owner_id: str | None,
               request_id: str, username: str | None, source_ip: str | None,
               user_agent: str | None, route: str | None) -> dict[str, Any]:
        now = self.clock()
        at = _format_ms(datetime.fromtimestamp(now, UTC))
        owner = owner_id or user_id
        item: dict[str, Any] = {
            "PK": audit_pk(owner, video_id),
            "SK": f"{at}#{request_id}",
            "at": at,
            "action": action,
            "videoId": video_id,
            "ownerId": owner,
            "userId": user_id,
            "username": username,
            "sourceIp": source_ip,
            "userAgent": user_agent,
            "requestId": request_id,
            "route": route,
        }
        if self.retention_days > 0:
            item[TTL_ATTRIBUTE] = int(now) + self.retention_days * 86400
        return item

    def _write(self, events: list[dict[str, Any]], token_seed: str) -> None:
        if self.table is None:
            for e in events:
                logger.info("audit", extra={"audit": e})
            return
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#pk)",
                     "ExpressionAttributeNames": {"#pk": "PK"}}
        if len(events) == 1:
            try:
                self.db.put_item(TableName=self.table, Item=to_dynamo(events[0]), **condition)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                logger.warning("audit event exists: not overwritten",
                               extra={"auditEvent": events[0]})
            return
        for start in range(0, len(events), MAX_TRANSACTION_ITEMS):
            chunk = events[start:start + MAX_TRANSACTION_ITEMS]
            token = hashlib.sha256(f"{token_seed}#{start}".encode()).hexdigest()[:36]
            puts: list[Any] = [{"Put": {"TableName": self.table, "Item": to_dynamo(e),
                                        **condition}} for e in chunk]
            self.db.transact_write_items(TransactItems=puts, ClientRequestToken=token)

    # ---------------------------------------------------------------- reading

    def history(self, req: Request, user_id: str, video_id: str, *, limit: int,
                before: str | None) -> list[dict[str, Any]]:
        """A recording's events, newest first (owner only: another user's recording is 404),
        ``limit`` of them from ``before`` (:meth:`parse_before`); this access is recorded
        first and listed on the first page."""
        if self.table is None:
            raise ServiceUnavailable("the audit trail is not configured (AUDIT_TABLE)",
                                     code="audit_not_configured")
        events = self._query(audit_pk(user_id, video_id), limit, before)
        if not events and self.store.get_video(user_id, video_id) is None:
            raise NotFound(f"video {video_id} not found", code="not_found")
        own = self.event(req, user_id, "history", video_id)
        self._commit(req, "history", [own])
        answer = [{k: e.get(k) for k in HISTORY_FIELDS} for e in events]
        if before is None:
            answer = [{k: own.get(k) for k in HISTORY_FIELDS}, *answer][:limit]
        return answer

    @staticmethod
    def parse_before(raw: str | None) -> str | None:
        """An event's ``{at}#{requestId}`` (or a UTC time) as the key to page before (400
        ``invalid_before`` otherwise)."""
        if not raw:
            return None
        m = _BEFORE_RE.match(raw.strip())
        try:
            if m is None:
                raise ValueError(raw)
            moment = datetime.fromisoformat(m["at"].replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError(raw)
        except ValueError:
            raise BadRequest("before must be an event's '{at}#{requestId}' or a UTC time",
                             code="invalid_before") from None
        at = _format_ms(moment)
        return f"{at}#{m['rid']}" if m["rid"] else at

    def _query(self, pk: str, limit: int, before: str | None) -> list[dict[str, Any]]:
        assert self.table is not None
        condition = "#pk = :pk"
        values: dict[str, Any] = {":pk": {"S": pk}}
        if before is not None:
            condition += " AND #sk < :before"
            values[":before"] = {"S": before}
        names = {"#pk": "PK", **({"#sk": "SK"} if before is not None else {})}
        try:
            resp = self.db.query(
                TableName=self.table, KeyConditionExpression=condition,
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ScanIndexForward=False, Limit=limit, ConsistentRead=True,
            )
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        return [from_dynamo(i) for i in resp.get("Items", [])]
