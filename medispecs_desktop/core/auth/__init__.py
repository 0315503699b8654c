"""Sign-in with the Cognito user pool, and where the tokens live.

One job per module: ``session`` (``CognitoAuth``: sign-in, restore, refresh, sign-out),
``srp`` (the password proof), ``mfa`` (authenticator enrolment), ``recovery`` (forgot
password), ``pkce`` (browser sign-in through the organisation), ``cognito`` (the client and
its errors), ``errors`` (the steps a sign-in may ask for), ``stores`` (the keyring),
``tokens`` (the tokens and their claims). This package re-exports what the UI and CLI use.
"""

from medispecs_desktop.core.auth.errors import (
    MfaRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInCancelled,
    map_client_error,
)
from medispecs_desktop.core.auth.mfa import TotpSetup
from medispecs_desktop.core.auth.recovery import CodeDelivery
from medispecs_desktop.core.auth.session import REFRESH_MARGIN_SEC, CognitoAuth, TokenProvider
from medispecs_desktop.core.auth.stores import (
    CHUNK_CHARS,
    KEYRING_SERVICE,
    PLAINTEXT_HINT,
    KeyringTokenStore,
    MemoryTokenStore,
    PlaintextFileTokenStore,
    TokenStore,
    TokenStoreUnavailable,
)
from medispecs_desktop.core.auth.tokens import Tokens, UserInfo, decode_claims

__all__ = [
    "CHUNK_CHARS",
    "KEYRING_SERVICE",
    "PLAINTEXT_HINT",
    "REFRESH_MARGIN_SEC",
    "CodeDelivery",
    "CognitoAuth",
    "KeyringTokenStore",
    "MemoryTokenStore",
    "MfaRequired",
    "MfaSetupRequired",
    "NewPasswordRequired",
    "PlaintextFileTokenStore",
    "SignInCancelled",
    "TokenProvider",
    "TokenStore",
    "TokenStoreUnavailable",
    "Tokens",
    "TotpSetup",
    "UserInfo",
    "decode_claims",
    "map_client_error",
]
