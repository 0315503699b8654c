"""Property-based run of the OpenAPI file against the running local stack over HTTP.

Every operation of ``medispecs_desktop/backend/openapi.yaml`` gets ~20 generated requests
(valid and invalid, derandomized so runs repeat), sent with a real bearer token of a user of
its own to the local gateway -> real handler -> moto. No request may produce a 5xx.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from medispecs_desktop.local.provision import new_demo_password
from medispecs_desktop.local.stack import sign_in

SPEC = Path(__file__).resolve().parents[2] / "medispecs_desktop" / "backend" / "openapi.yaml"

schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def fuzz_auth(local_stack: dict[str, Any]) -> dict[str, str]:
    """A user of its own, so generated records never show up in anyone else's library."""
    idp = boto3.client("cognito-idp", endpoint_url=local_stack["awsEndpoint"],
                       region_name=local_stack["region"],
                       aws_access_key_id="x", aws_secret_access_key="x")
    password = new_demo_password()
    idp.admin_create_user(UserPoolId=local_stack["userPoolId"], Username="fuzz",
                          MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=local_stack["userPoolId"], Username="fuzz",
                                Password=password, Permanent=True)
    tokens = sign_in(local_stack["awsEndpoint"], local_stack["region"],
                     local_stack["clientId"], "fuzz", password)
    return {"Authorization": f"Bearer {tokens['IdToken']}"}


@pytest.fixture(scope="module")
def fuzz_session() -> Any:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case, local_stack: dict[str, Any],
                          fuzz_auth: dict[str, str], fuzz_session: requests.Session) -> None:
    case.call_and_validate(
        base_url=local_stack["apiUrl"],
        session=fuzz_session,
        headers=fuzz_auth,
        checks=[not_a_server_error],
        timeout=30,
    )
