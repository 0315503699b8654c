"""The processing pipeline on one machine: moto delivers the bucket's ``ObjectCreated`` events
on ``videos/`` to an SQS queue (with a dead-letter queue after :data:`MAX_RECEIVE_COUNT`
receives), as the template wires them on AWS, and :class:`QueuePoller` - a thread of the stack
process standing in for Lambda's event source mapping - receives them and invokes the real
processing handler (``backend.processing.handler``) in-process with the same SQS event Lambda
would pass. Messages the handler reports as failed stay on the queue (retried, then the DLQ);
the others are deleted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from medispecs_desktop.local.provision import aws_client

__all__ = [
    "MAX_RECEIVE_COUNT",
    "PROCESSING_DLQ",
    "PROCESSING_QUEUE",
    "ProcessingQueues",
    "QueuePoller",
    "provision_processing",
]

log = logging.getLogger(__name__)

PROCESSING_QUEUE = "medispecs-processing"
PROCESSING_DLQ = "medispecs-processing-dlq"
MAX_RECEIVE_COUNT = 5
VISIBILITY_TIMEOUT_SECONDS = 120
"""Longer than one processing run of a demo clip; the handler shortens it for retries."""
VIDEO_PREFIX = "videos/"


@dataclass(frozen=True)
class ProcessingQueues:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


def provision_processing(endpoint: str, region: str, bucket: str,
                         *, session: Any = None) -> ProcessingQueues:
    """The queue (each event held ``EVENT_DELAY_SECONDS`` first, as on AWS), its DLQ (redrive
    after :data:`MAX_RECEIVE_COUNT`) and the bucket's ``s3:ObjectCreated:*`` notification for
    ``videos/`` to the queue."""
    import json

    from medispecs_desktop.backend.processing.handler import EVENT_DELAY_SECONDS

    sqs = aws_client("sqs", endpoint, region, session=session)
    s3 = aws_client("s3", endpoint, region, session=session)
    try:
        dlq_url = sqs.create_queue(QueueName=PROCESSING_DLQ,
                                   Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(QueueName=PROCESSING_QUEUE, Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "DelaySeconds": str(EVENT_DELAY_SECONDS),  # as the template (see there)
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": MAX_RECEIVE_COUNT}),
        })["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": [{
                "Id": "videos-to-processing",
                "QueueArn": queue_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": VIDEO_PREFIX}]}},
            }]},
        )
    finally:
        sqs.close()
        s3.close()
    return ProcessingQueues(str(queue_url), str(queue_arn), str(dlq_url), str(dlq_arn))


class QueuePoller:
    """Long-polls the queue and hands each batch to ``handler`` (the processing Lambda's
    ``(event, context)`` callable), deleting what it did not report as failed."""

    def __init__(self, handler: Any, queues: ProcessingQueues, endpoint: str, region: str,
                 *, session: Any = None, wait_seconds: int = 1, batch_size: int = 5) -> None:
        self.handler = handler
        self.queues = queues
        self.wait_seconds = wait_seconds
        self.batch_size = batch_size
        self._sqs = aws_client("sqs", endpoint, region, session=session)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="processing-poller", daemon=True)
        self.batches = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sqs.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.wait(1.0):
                    return
                log.warning("processing poller: receive failed", exc_info=True)

    def poll_once(self) -> int:
        """One receive (long poll) and its batch: the number of messages handled."""
        resp = self._sqs.receive_message(
            QueueUrl=self.queues.queue_url, MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds, AttributeNames=["All"],
        )
        messages = resp.get("Messages") or []
        if not messages or self._stop.is_set():
            return 0
        event = {"Records": [{
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": dict(m.get("Attributes") or {}),
            "messageAttributes": {},
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queues.queue_arn,
        } for m in messages]}
        try:
            result = self.handler(event, None) or {}
        except Exception:
            log.exception("processing handler failed on a batch")
            return len(messages)
        failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages) if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self.queues.queue_url, Entries=done)
        self.batches += 1
        return len(messages)
