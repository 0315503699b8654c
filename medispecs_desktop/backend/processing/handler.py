"""``videos-processor``: the Lambda behind the SQS queue that S3 ``ObjectCreated`` events on
``videos/`` feed (packaging/template.yaml).

``lambda_handler(event, context)`` takes an SQS batch; each message body is an S3 event
notification (or S3's ``s3:TestEvent``, ignored). It answers ``{"batchItemFailures": [...]}``
(the event source mapping's ``ReportBatchItemFailures``): a message whose object could not be
processed yet stays on the queue and is retried; after ``maxReceiveCount`` receives SQS moves it
to the dead-letter queue (alarmed). A message waiting for something to happen first (the
record's ``POST /videos``) is made visible again after a short, growing delay when the
function knows its queue (``PROCESSING_QUEUE_URL``), not after the queue's long visibility
timeout.

Configuration: the API function's (``TABLE_MAIN``, ``S3_BUCKET``, ``S3_REGION``, see
``backend.config``) plus ``PROCESSING_QUEUE_URL`` (optional).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config

from ..aws import AwsClients
from ..config import BackendConfig
from ..logs import configure_json_logging, logger
from ..storage import VideoStorage
from ..store import VideoStore
from .pipeline import Outcome, Processor, RetryLater

__all__ = ["ProcessingApp", "build_processor", "lambda_handler", "s3_records"]

MAX_RETRY_DELAY_SECONDS = 300
EVENT_DELAY_SECONDS = 2
"""The processing queue holds each S3 event this long before it can be received (the queue's
``DelaySeconds``, in the template and the local stack alike). An upload's ``ObjectCreated``
event comes when its bytes are complete, a moment *before* the client makes its record (POST
/videos, which checks the bytes and the SHA-256): delivered at once, every upload invoked this
function for nothing (no record yet: deferred, retried 2 s later), and on the demo stack that
invocation ran in the stack's process at the very moment of the completion and record requests
(completing a 105 MB upload: 30-36 ms with it, 18-19 ms without). Held 2 s - the first
retry's delay - an upload made by the app is processed in one invocation, no later than
before; a record made later than that (the guide's console flow) is still retried."""


def s3_records(body: str) -> list[tuple[str, str]]:
    """``(bucket, key)`` of each ``ObjectCreated`` record of an S3 notification body (keys
    URL-decoded as S3 encodes them); ``[]`` for a test event or anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    out: list[tuple[str, str]] = []
    for rec in data.get("Records") or []:
        if not isinstance(rec, dict) or not str(rec.get("eventName", "")).startswith(
                "ObjectCreated:"):
            continue
        s3 = rec.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if isinstance(bucket, str) and isinstance(key, str):
            out.append((bucket, unquote_plus(key)))
    return out


class ProcessingApp:
    """One configured processor; ``queue_url`` enables the short retry delays."""

    def __init__(
        self,
        config: BackendConfig,
        *,
        queue_url: str | None = None,
        clock: Callable[[], float] = time.time,
        clients: AwsClients | None = None,
    ) -> None:
        self.config = config
        self.queue_url = queue_url
        self.clients = clients or AwsClients(config)
        store = VideoStore(lambda: self.clients.dynamodb, config.table_name)
        storage = VideoStorage(lambda: self.clients.s3, config.bucket,
                               config.presign_expiry_seconds, config.playback_expiry_seconds)
        self.processor = Processor(store, storage, clock=clock)
        self._sqs: Any = None
        self._lock = threading.Lock()

    @property
    def sqs(self) -> Any:
        with self._lock:
            if self._sqs is None:
                c = self.config
                self._sqs = boto3.session.Session(
                    aws_access_key_id=c.aws_access_key_id,
                    aws_secret_access_key=c.aws_secret_access_key,
                    region_name=c.region,
                ).client("sqs", endpoint_url=c.endpoint_url or None,
                         config=Config(retries={"mode": "standard", "max_attempts": 3}))
            return self._sqs

    def handle_message(self, body: str) -> list[Outcome]:
        """Process every object an S3 notification names; raises to have it retried."""
        outcomes = []
        for bucket, key in s3_records(body):
            if bucket != self.config.bucket:
                outcomes.append(Outcome("ignored", "another bucket"))
                continue
            outcomes.append(self.processor.process(key))
        return outcomes

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        failures: list[dict[str, str]] = []
        for msg in event.get("Records") or []:
            message_id = str(msg.get("messageId", ""))
            try:
                self.handle_message(str(msg.get("body", "")))
            except RetryLater as exc:
                receives = int((msg.get("attributes") or {}).get("ApproximateReceiveCount", 1))
                self._delay(msg, min(MAX_RETRY_DELAY_SECONDS, exc.delay * 2 ** (receives - 1)))
                logger.info("processing deferred", extra={"reason": exc.reason,
                                                          "messageId": message_id})
                failures.append({"itemIdentifier": message_id})
            except Exception:  # noqa: BLE001 - retried by SQS, then the DLQ
                logger.exception("processing failed", extra={"messageId": message_id})
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}

    def _delay(self, msg: Mapping[str, Any], seconds: int) -> None:
        handle = msg.get("receiptHandle")
        if not self.queue_url or not handle:
            return
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=str(handle), VisibilityTimeout=seconds)
        except Exception:  # noqa: BLE001 - the queue's own visibility timeout applies
            logger.warning("could not shorten the retry delay", exc_info=True)


def build_processor(config: BackendConfig, *, queue_url: str | None = None,
                    clock: Callable[[], float] = time.time,
                    clients: AwsClients | None = None) -> ProcessingApp:
    """A processor for an explicit configuration (the local stack, tests)."""
    return ProcessingApp(config, queue_url=queue_url, clock=clock, clients=clients)


_default: ProcessingApp | None = None
_default_lock = threading.Lock()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AWS Lambda entry point (SQS batch); configuration and clients built once per
    container."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                configure_json_logging(os.environ.get("LOG_LEVEL", "INFO"))
                _default = ProcessingApp(
                    BackendConfig.from_env(),
                    queue_url=os.environ.get("PROCESSING_QUEUE_URL", "").strip() or None)
    return _default(event, context)
