"""moto's in-process Cognito state, for the local stack's middlewares (they run in moto's
process): every user pool with its backend, found by id, app client or access token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def user_pools() -> Iterator[tuple[Any, Any]]:
    """(backend, pool) for every Cognito user pool moto holds."""
    from moto.cognitoidp.models import cognitoidp_backends

    for per_account in cognitoidp_backends.values():
        for backend in per_account.values():
            for pool in list(backend.user_pools.values()):
                yield backend, pool


def pool_by_id(pool_id: str) -> tuple[Any, Any] | None:
    return next(((b, p) for b, p in user_pools() if p.id == pool_id), None)


def pool_by_client(client_id: str) -> tuple[Any, Any] | None:
    return next(((b, p) for b, p in user_pools() if client_id in p.clients), None)


def owner_of_access_token(token: str) -> tuple[Any, str] | None:
    """(pool, username) the access token was issued to."""
    for _backend, pool in user_pools():
        owner = pool.access_tokens.get(token)
        if owner is not None:
            return pool, str(owner[1])
    return None
