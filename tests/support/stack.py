"""Clients of the session's local stack (the ``local_stack`` fixture's dict, contract §2):
its settings, a signed-in API client with a real upload engine, and a gateway of its own whose
S3 calls go through a proxy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.handler import build_app
from medispecs_desktop.core import media
from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore, UserInfo
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.uploads.engine import UploadEngine
from medispecs_desktop.core.uploads.store import QueueStore
from medispecs_desktop.local.gateway import LocalGateway
from medispecs_desktop.local.jwt_verify import JwtVerifier, cognito_issuer


def stack_settings(info: dict[str, Any], **overrides: Any) -> Settings:
    """Settings that point at the stack (``demo=False`` unless given)."""
    values: dict[str, Any] = {
        "api_url": info["apiUrl"], "region": info["region"], "user_pool_id": info["userPoolId"],
        "client_id": info["clientId"], "cognito_endpoint": info["awsEndpoint"],
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class StackSession:
    settings: Settings
    user: UserInfo
    api: ApiClient
    engine: UploadEngine  # not started


def stack_session(info: dict[str, Any], queue_db: Path, *, user: int = 1) -> StackSession:
    """Sign in as the stack's ``users[user]`` (a user of its own, so other tests' uploads to
    the shared stack do not interfere) in demo mode as the stack is; an upload engine with its
    queue in ``queue_db`` and the real media probe and thumbnailer."""
    settings = stack_settings(info, demo=bool(info["demo"]))
    account = info["users"][user]
    auth = CognitoAuth(settings, MemoryTokenStore())
    me = auth.sign_in(account["username"], account["password"])
    api = ApiClient(settings, auth)
    engine = UploadEngine(QueueStore(queue_db), api, me.sub, settings=settings,
                          probe=media.probe, thumbnail=media.thumbnail_jpeg)
    return StackSession(settings, me, api, engine)


@contextmanager
def proxied_gateway(info: dict[str, Any], endpoint: str) -> Iterator[str]:
    """A gateway of its own running the real handler, whose S3 (and DynamoDB) calls - and so
    the URLs it signs - go to ``endpoint`` (e.g. a strict S3 proxy in front of the stack's
    moto), checking the stack's Cognito tokens; yields its URL."""
    config = BackendConfig(
        table_name=info["table"], bucket=info["bucket"], region=info["region"],
        presign_expiry_seconds=900, endpoint_url=endpoint,
        aws_access_key_id="local", aws_secret_access_key="local", s3_addressing_style="path",
    )
    verifier = JwtVerifier(
        jwks_url=f"{info['awsEndpoint']}/{info['userPoolId']}/.well-known/jwks.json",
        issuer=cognito_issuer(info["region"], info["userPoolId"]),
        audiences={info["clientId"]},
    )
    gateway = LocalGateway(build_app(config), verifier)
    try:
        yield gateway.start()
    finally:
        gateway.stop()
