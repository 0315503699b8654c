"""Clients of the session's local stack (the ``local_stack`` fixture's dict, contract §2):
its settings, and a signed-in API client with a real upload engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medispecs_desktop.core import media
from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore, UserInfo
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.uploads.engine import UploadEngine
from medispecs_desktop.core.uploads.store import QueueStore


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
