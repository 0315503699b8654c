"""Fresh users in the local stack's user pool: each test that needs its own library (and its
own audit trail) signs in as a user nobody else uses."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.config import Config

PASSWORD = "Fresh-User-Pass-1!"


def new_user(stack: dict[str, Any], prefix: str = "user") -> tuple[str, str]:
    """(username, password) of a new confirmed user with a permanent password."""
    admin = boto3.session.Session().client(
        "cognito-idp", region_name=stack["region"], endpoint_url=stack["awsEndpoint"],
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 1}))
    username = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin.admin_create_user(UserPoolId=stack["userPoolId"], Username=username,
                            MessageAction="SUPPRESS")
    admin.admin_set_user_password(UserPoolId=stack["userPoolId"], Username=username,
                                  Password=PASSWORD, Permanent=True)
    admin.close()
    return username, PASSWORD


def new_user_auth(stack: dict[str, Any], prefix: str = "user") -> dict[str, str]:
    """The ``Authorization`` header of a new user (signed in now): a test that sends generated
    requests as them keeps every record it makes out of everyone else's library."""
    from medispecs_desktop.local.stack import sign_in

    username, password = new_user(stack, prefix)
    tokens = sign_in(stack["awsEndpoint"], stack["region"], stack["clientId"], username,
                     password)
    return {"Authorization": f"Bearer {tokens['IdToken']}"}
