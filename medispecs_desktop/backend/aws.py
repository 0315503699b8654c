"""boto3 clients for the Lambda, created lazily once per container (thread-safe), and the
translation of AWS throttling into a retryable 503."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import ddb_wire
from .config import BackendConfig
from .errors import ServiceUnavailable
from .presign import Credentials, frozen_credentials

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

C = TypeVar("C")

__all__ = ["THROTTLING_CODES", "AwsClients", "error_code", "raise_if_throttled"]

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "SlowDown",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalError",
        "TransactionInProgressException",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def raise_if_throttled(exc: ClientError) -> None:
    if error_code(exc) in THROTTLING_CODES:
        raise ServiceUnavailable(
            "the storage service is busy; retry shortly", headers={"Retry-After": "1"}
        ) from exc


class AwsClients:
    """The S3 and DynamoDB clients of one handler instance, built on first use.

    ``before_send``: a botocore ``before-send`` handler registered on both clients (the local
    stack answers its own moto's requests in its process with one; None in AWS)."""

    def __init__(self, config: BackendConfig, *,
                 before_send: Callable[..., Any] | None = None) -> None:
        self._config = config
        self._before_send = before_send
        self._lock = threading.Lock()
        self._dynamodb: DynamoDBClient | None = None
        self._s3: S3Client | None = None
        self._s3_session: boto3.session.Session | None = None

    def _session(self, core: Any = None) -> boto3.session.Session:
        c = self._config
        return boto3.session.Session(
            aws_access_key_id=c.aws_access_key_id,
            aws_secret_access_key=c.aws_secret_access_key,
            region_name=c.region,
            botocore_session=core,
        )

    @property
    def dynamodb(self) -> DynamoDBClient:
        if self._dynamodb is None:
            with self._lock:
                if self._dynamodb is None:
                    cfg = Config(
                        retries={"mode": "standard", "max_attempts": 3},
                        connect_timeout=3,
                        read_timeout=10,
                        # DynamoDB validates every request itself; botocore's client-side
                        # walk of the parameters (documented as optional, for performance)
                        # cost ~20% of the function's CPU on a listing page: its audit
                        # transaction of 100 events. The store builds typed requests.
                        parameter_validation=False,
                    )
                    # its answers' AttributeValues are taken as they come (ddb_wire.py)
                    core = botocore.session.get_session()
                    ddb_wire.install(core)
                    self._dynamodb = self._hooked(self._session(core).client(
                        "dynamodb",
                        region_name=self._config.region,
                        endpoint_url=self._config.endpoint_url or None,
                        config=cfg,
                    ))
        return self._dynamodb

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            with self._lock:
                if self._s3 is None:
                    style = self._config.s3_addressing_style or (
                        "path" if self._config.endpoint_url else "auto"
                    )
                    s3_options: Any = {"addressing_style": style}
                    cfg = Config(
                        signature_version="s3v4",
                        s3=s3_options,
                        retries={"mode": "standard", "max_attempts": 3},
                        connect_timeout=3,
                        read_timeout=20,
                        # Only what S3 requires: pre-signed URLs must carry exactly the
                        # checksum the client computed, nothing boto3 adds on its own.
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                    )
                    self._s3_session = self._session()
                    self._s3 = self._hooked(self._s3_session.client(
                        "s3",
                        region_name=self._config.region,
                        endpoint_url=self._config.endpoint_url or None,
                        config=cfg,
                    ))
        return self._s3

    def _hooked(self, client: C) -> C:
        if self._before_send is not None:
            boto_client: Any = client  # (a botocore client, typed by mypy_boto3)
            boto_client.meta.events.register("before-send", self._before_send)
        return client

    def s3_credentials(self) -> Credentials | None:
        """The S3 client's current credentials (refreshed when due), for GET URLs signed
        without botocore's pipeline (presign.py); None if there are none."""
        self.s3  # noqa: B018 - builds the client and its session on first use
        session = self._s3_session
        return frozen_credentials(session.get_credentials()) if session is not None else None


__all__ += ["BotoCoreError", "ClientError"]
