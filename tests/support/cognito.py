"""Cognito helpers for sign-in tests: pools of a test's own on the stack's moto, fresh TOTP
codes, and the local stack's demo mailbox (where password reset codes go)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pyotp
import requests
from botocore.config import Config

from medispecs_desktop.core.config import Settings

REGION = "ap-southeast-1"
PASSWORD = "Correct-Horse-7!"


def admin_client(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "cognito-idp", region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 1}))


@dataclass
class SignInPool:
    endpoint: str
    pool_id: str
    client_id: str
    admin: Any

    def settings(self, **kw: Any) -> Settings:
        return Settings(api_url="http://127.0.0.1:9/unused", region=REGION,
                        user_pool_id=self.pool_id, client_id=self.client_id,
                        cognito_endpoint=self.endpoint).with_overrides(**kw)

    def add_user(self, username: str = "", password: str = PASSWORD) -> str:
        username = username or f"u{uuid.uuid4().hex[:10]}"
        self.admin.admin_create_user(
            UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.org"},
                            {"Name": "email_verified", "Value": "true"}])
        self.admin.admin_set_user_password(UserPoolId=self.pool_id, Username=username,
                                           Password=password, Permanent=True)
        return username

    def delete(self) -> None:
        self.admin.delete_user_pool(UserPoolId=self.pool_id)


def make_pool(endpoint: str, *, mfa: str = "OFF", devices: bool = False) -> SignInPool:
    """A pool + public SRP app client of the test's own (MFA OFF/OPTIONAL/ON, TOTP allowed;
    ``devices``: the pool's device tracking remembers computers when the user asks)."""
    admin = admin_client(endpoint)
    extra: dict[str, Any] = {"DeviceConfiguration": {
        "ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True,
    }} if devices else {}
    pool_id = admin.create_user_pool(
        PoolName=f"signin-{uuid.uuid4().hex[:8]}",
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email",
                                                         "Priority": 1}]},
        **extra,
    )["UserPool"]["Id"]
    if mfa != "OFF":
        admin.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration=mfa,
                                       SoftwareTokenMfaConfiguration={"Enabled": True})
    client_id = admin.create_user_pool_client(
        UserPoolId=pool_id, ClientName="desktop", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "name"],
    )["UserPoolClient"]["ClientId"]
    return SignInPool(endpoint, pool_id, client_id, admin)


def totp_code(secret: str) -> str:
    """The current code, never one about to expire (moto accepts only the current step)."""
    left = 30 - time.time() % 30
    if left < 3:
        time.sleep(left + 0.1)
    return str(pyotp.TOTP(secret).now())


def wrong_code(secret: str) -> str:
    right = pyotp.TOTP(secret)
    now = time.time()
    valid = {right.at(now + d) for d in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)


def mailbox_code(endpoint: str, client_id: str, username: str) -> str:
    """The password reset code the local stack 'e-mailed' (its demo mailbox)."""
    with requests.Session() as session:
        session.trust_env = False
        r = session.get(f"{endpoint}/demo-mailbox",
                        params={"clientId": client_id, "username": username}, timeout=10)
    r.raise_for_status()
    return str(r.json()["code"])
