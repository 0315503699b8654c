"""Property-based run of the OpenAPI file against the running local stack over HTTP.

Every operation of ``medispecs_desktop/backend/openapi.yaml`` gets ~20 generated requests
(valid and invalid, derandomized so runs repeat), sent with a real bearer token of a user of
its own to the local gateway -> real handler -> moto. No request may produce a 5xx.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.support.users import new_user_auth

SPEC = Path(__file__).resolve().parents[2] / "medispecs_desktop" / "backend" / "openapi.yaml"

schema = schemathesis.openapi.from_path(SPEC)

@pytest.fixture(scope="module")
def fuzz_auth(local_stack: dict[str, Any]) -> dict[str, str]:
    """A user of its own, so generated records never show up in anyone else's library."""
    return new_user_auth(local_stack, "fuzz")


@pytest.fixture(scope="module")
def fuzz_session() -> Any:
    with requests.Session() as session:
        session.trust_env = False
        yield session


FUZZ_SETTINGS = settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_server_errors(case: schemathesis.Case, local_stack: dict[str, Any],
                          fuzz_auth: dict[str, str], fuzz_session: requests.Session) -> None:
    case.call_and_validate(
        base_url=local_stack["apiUrl"],
        session=fuzz_session,
        headers=fuzz_auth,
        checks=[not_a_server_error],
        timeout=30,
    )


def test_the_generated_requests_reach_the_handler(
    local_stack: dict[str, Any], fuzz_auth: dict[str, str], fuzz_session: requests.Session
) -> None:
    """The generation above really exercises the API, not just the gateway's 401/404: the same
    derandomized generation, run here on its own (so this test holds alone and in any order),
    answers every operation, mostly past the authorizer, and with successes for most."""
    # operations on one recording (its markers, history, ...) answer 404 for ids nobody made:
    # give the fuzz user the recording the generator names first ("v_0", the minimal id)
    made = fuzz_session.post(f"{local_stack['apiUrl'].rstrip('/')}/videos", headers=fuzz_auth,
                             json={"videoId": "v_0", "title": "fuzz",
                                   "recordedAt": "2025-01-01T00:00:00Z"}, timeout=30)
    assert made.status_code in (200, 201), made.text
    statuses: dict[str, list[int]] = {}
    for result in schema.get_all_operations():

        @given(case=result.ok().as_strategy())  # type: ignore[union-attr]  # Ok: a valid spec
        @FUZZ_SETTINGS
        def send(case: schemathesis.Case) -> None:
            response = case.call(base_url=local_stack["apiUrl"], session=fuzz_session,
                                 headers=fuzz_auth, timeout=30)
            statuses.setdefault(case.operation.label, []).append(response.status_code)

        send()
    assert len(statuses) == len(list(schema.get_all_operations())) > 10
    every = [code for codes in statuses.values() for code in codes]
    # schemathesis also probes auth on purpose (requests without/with a broken token): those
    # few are the gateway's 401s; the rest carried the fuzz user's token
    assert every.count(401) < len(every) // 10
    assert all(len(codes) >= 5 for codes in statuses.values()), {
        op: len(codes) for op, codes in statuses.items()}
    with_success = [op for op, codes in statuses.items() if any(c < 300 for c in codes)]
    assert len(with_success) >= len(statuses) // 2, statuses
