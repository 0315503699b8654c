"""The ``cognito-idp`` client the sign-in talks through, and the one place its failures become
the core's errors.

Requests are unsigned (a public app client: the app never holds AWS credentials) and go
through ``core.http``'s session (the OS trust store and system proxies, like every other call).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
import botocore
import botocore.exceptions
from botocore.config import Config

from medispecs_desktop.core.auth.errors import map_client_error, reason
from medispecs_desktop.core.config import Settings, require_secure_url
from medispecs_desktop.core.errors import AuthError, ConfigurationError, OfflineError
from medispecs_desktop.core.http import USER_AGENT, make_session, send_botocore_through

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

_session_lock = threading.Lock()
_shared_session: boto3.session.Session | None = None

OFFLINE_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


def _new_cognito_client(**kwargs: Any) -> CognitoIdentityProviderClient:
    """A client from one boto3 session for the process: the session caches the service
    model, so a client costs ~10 ms instead of ~400 ms. Sessions are not thread-safe (clients
    are), hence the lock around creating one."""
    global _shared_session
    with _session_lock:
        if _shared_session is None:
            _shared_session = boto3.session.Session()
        return _shared_session.client("cognito-idp", **kwargs)


def make_client(settings: Settings, max_attempts: int) -> CognitoIdentityProviderClient:
    """An unsigned ``cognito-idp`` client for ``settings`` (region, optional endpoint)."""
    if settings.cognito_endpoint:  # passwords proofs and refresh tokens travel here
        require_secure_url(settings.cognito_endpoint, "Cognito endpoint")
    config = Config(
        signature_version=botocore.UNSIGNED,  # a public app client: no AWS credentials
        region_name=settings.region,
        connect_timeout=5,
        read_timeout=20,
        retries={"total_max_attempts": max(1, max_attempts), "mode": "standard"},
        user_agent_extra=USER_AGENT,
    )
    client = _new_cognito_client(
        region_name=settings.region,
        endpoint_url=settings.cognito_endpoint or None,
        config=config,
    )
    # OS trust store + system proxies, like every other call (botocore retries on top)
    send_botocore_through(client, make_session(retries=0, timeout=(5.0, 20.0)))
    return client


def call(client: CognitoIdentityProviderClient, operation: str, *, username: str,
         where: str, **kwargs: Any) -> dict[str, Any]:
    """``client.<operation>(**kwargs)`` with every failure as a core error (``where`` names
    the service in the offline message)."""
    try:
        result: dict[str, Any] = getattr(client, operation)(**kwargs)
    except botocore.exceptions.ClientError as exc:
        raise map_client_error(exc, username=username) from exc
    except botocore.exceptions.SSLError as exc:
        raise OfflineError(
            "The secure connection to the sign-in service failed: its certificate is not "
            "trusted. If your network inspects TLS, its certificate must be in the "
            f"operating system's certificate store ({reason(exc)}).",
            code="tls_error",
        ) from exc
    except OFFLINE_ERRORS as exc:
        raise OfflineError(
            f"Cannot reach the sign-in service ({where}): check the network connection or "
            "proxy.",
            code="offline",
        ) from exc
    except botocore.exceptions.ParamValidationError as exc:
        raise AuthError(f"Invalid sign-in request: {exc}", code="invalid_request") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigurationError(f"Sign-in is misconfigured: {exc}") from exc
    return result
