"""What moto's Cognito does not check, checked here for the local stack (WSGI middleware in
front of moto, in the stack's process).

* **SRP** - moto answers ``USER_SRP_AUTH`` with a random SALT/SRP_B and accepts *any*
  ``PASSWORD_VERIFIER`` answer, i.e. any password. Here the server half of Cognito's SRP-6a
  runs for real: a verifier from the user's password (moto keeps it in memory), a fresh server
  value B per attempt, and the client's ``PASSWORD_CLAIM_SIGNATURE`` must match; a wrong
  password is ``NotAuthorizedException: Incorrect username or password.`` as on AWS. Each
  challenge can be answered once. (pycognito's helpers compute the shared group maths.)
* **Forgot password** - moto accepts any code that does not start with its own prefix. Here a
  code must be the one last sent for that user (moto's strict check is switched on by giving
  the typed code moto's prefix), and the code goes to a demo mailbox instead of e-mail:
  ``GET /demo-mailbox?clientId=..&username=..`` on the AWS endpoint (loopback only) answers
  ``{"code", "destination"}`` so the demo and the tests can read it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from pycognito.aws_srp import (
    G_HEX,
    N_HEX,
    calculate_u,
    compute_hkdf,
    hash_sha256,
    hex_hash,
    hex_to_long,
    long_to_hex,
    pad_hex,
)

from medispecs_desktop.local import wsgi
from medispecs_desktop.local.moto_state import pool_by_client
from medispecs_desktop.local.wsgi import StartResponse, WsgiApp

log = logging.getLogger(__name__)

__all__ = ["CognitoChecksMiddleware"]

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
MOTO_CODE_PREFIX = "moto-confirmation-code:"
_MAX_BODY = 256 * 1024
_MAX_PENDING = 1000
CHECKED = ("InitiateAuth", "RespondToAuthChallenge", "AdminRespondToAuthChallenge",
           "ForgotPassword", "ConfirmForgotPassword")


_N = hex_to_long(N_HEX)
_G = hex_to_long(G_HEX)
_K = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))


@dataclass
class _Pending:
    pool_name: str
    user_id: str
    big_a: int
    big_b: int
    small_b: int
    verifier: int
    session: str  # moto's own session for this sign-in


def _moto_user(client_id: str, username: str) -> tuple[Any, Any] | None:
    """(pool, user) in moto's in-process state for an app client and a username."""
    found = pool_by_client(client_id)
    user = found[1]._get_user(username) if found else None
    return (found[1], user) if found and user is not None else None


def _password_hash_x(pool_name: str, user_id: str, password: str, salt_hex: str) -> int:
    inner = hash_sha256(f"{pool_name}{user_id}:{password}".encode())
    return int(hex_to_long(hex_hash(pad_hex(salt_hex) + inner)))


class CognitoChecksMiddleware:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._pending: dict[str, _Pending] = {}
        self._mailbox: dict[tuple[str, str], dict[str, str]] = {}
        self._lock = threading.Lock()

    # -- WSGI ------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/demo-mailbox" and environ.get("REQUEST_METHOD") == "GET":
            return self._mailbox_answer(environ, start_response)
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        action = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        if environ.get("REQUEST_METHOD") != "POST" or action not in CHECKED:
            return self.app(environ, start_response)
        body = _read_json(environ)
        if body is None:  # never let an unreadable body reach moto unchecked
            return _error(start_response, "InvalidParameterException", "Bad request body.")
        if action == "InitiateAuth" and body.get("AuthFlow") == "USER_SRP_AUTH":
            return self._initiate_srp(environ, start_response, body)
        if (action in ("RespondToAuthChallenge", "AdminRespondToAuthChallenge")
                and body.get("ChallengeName") == "PASSWORD_VERIFIER"):
            refusal = self._check_proof(body)
            if refusal:
                return _error(start_response, "NotAuthorizedException", refusal)
            _replace_body(environ, body)
        if action == "ConfirmForgotPassword":
            code = str(body.get("ConfirmationCode") or "")
            with self._lock:
                letter = self._mailbox.get((str(body.get("ClientId") or ""),
                                            str(body.get("Username") or "")))
            if letter is not None and code.removeprefix(MOTO_CODE_PREFIX) != letter["code"]:
                return _error(start_response, "CodeMismatchException",
                              "Invalid verification code provided, please try again.")
            if not code.startswith(MOTO_CODE_PREFIX):
                body["ConfirmationCode"] = MOTO_CODE_PREFIX + code  # moto's strict check
            _replace_body(environ, body)
        if action == "ForgotPassword":
            return self._forgot(environ, start_response, body)
        return self.app(environ, start_response)

    # -- SRP ---------------------------------------------------------------------------------
    def _initiate_srp(self, environ: dict[str, Any], start_response: StartResponse,
                      body: dict[str, Any]) -> Iterable[bytes]:
        status, headers, answer = _forward(self.app, environ)
        params = dict(body.get("AuthParameters") or {})
        found = _moto_user(str(body.get("ClientId") or ""), str(params.get("USERNAME") or ""))
        try:
            big_a = hex_to_long(str(params.get("SRP_A") or "0"))
        except ValueError:
            big_a = 0
        challenge = answer.get("ChallengeParameters") if isinstance(answer, dict) else None
        if (not status.startswith("200") or found is None or not isinstance(challenge, dict)
                or big_a % _N == 0):
            if status.startswith("200") and (found is None or big_a % _N == 0):
                return _error(start_response, "NotAuthorizedException",
                              "Incorrect username or password.")
            return _reply(start_response, status, headers, answer)
        pool, user = found
        pool_name = str(pool.id).split("_", 1)[1]
        user_id = str(challenge.get("USER_ID_FOR_SRP") or user.username)
        salt = secrets.token_hex(16)
        verifier = pow(_G, _password_hash_x(pool_name, user_id, str(user.password or ""), salt),
                       _N)
        small_b = secrets.randbits(1024) % _N
        big_b = (_K * verifier + pow(_G, small_b, _N)) % _N
        # the secret block is what the client signs and echoes: base64 like Cognito's
        block = base64.standard_b64encode(secrets.token_bytes(48)).decode()
        session = str(answer.get("Session") or challenge.get("SECRET_BLOCK") or "")
        with self._lock:
            if len(self._pending) >= _MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self._pending[block] = _Pending(pool_name, user_id, big_a, big_b, small_b, verifier,
                                            session)
        challenge.update({"SALT": salt, "SRP_B": long_to_hex(big_b), "SECRET_BLOCK": block})
        answer["Session"] = session
        return _reply(start_response, status, headers, answer)

    def _check_proof(self, body: dict[str, Any]) -> str | None:
        """None if the proof is right (the body is rewritten for moto), else why not."""
        responses = body.get("ChallengeResponses") or {}
        block = str(responses.get("PASSWORD_CLAIM_SECRET_BLOCK") or "")
        with self._lock:
            pending = self._pending.pop(block, None)  # one answer per challenge
        if pending is None:
            return "Invalid session for the user, session is expired."
        u = calculate_u(pending.big_a, pending.big_b)
        shared = pow(pending.big_a * pow(pending.verifier, u, _N), pending.small_b, _N)
        key = compute_hkdf(bytearray.fromhex(pad_hex(shared)),
                           bytearray.fromhex(pad_hex(long_to_hex(u))))
        message = (pending.pool_name.encode() + pending.user_id.encode()
                   + base64.standard_b64decode(block)
                   + str(responses.get("TIMESTAMP") or "").encode())
        expected = base64.standard_b64encode(
            hmac.new(key, message, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, str(responses.get("PASSWORD_CLAIM_SIGNATURE"))):
            return "Incorrect username or password."
        responses["PASSWORD_CLAIM_SECRET_BLOCK"] = pending.session  # moto finds its session by it
        body["ChallengeResponses"] = responses
        return None

    # -- forgot password -----------------------------------------------------------------------
    def _forgot(self, environ: dict[str, Any], start_response: StartResponse,
                body: dict[str, Any]) -> Iterable[bytes]:
        _replace_body(environ, body)
        status, headers, answer = _forward(self.app, environ)
        code = ""
        for name, value in headers:
            if name.lower() == "x-moto-forgot-password-confirmation-code" and value:
                code = str(value).removeprefix(MOTO_CODE_PREFIX)
        headers = [(n, v) for n, v in headers
                   if n.lower() != "x-moto-forgot-password-confirmation-code"]
        if status.startswith("200") and code:
            details = (answer.get("CodeDeliveryDetails") or {}) if isinstance(answer, dict) else {}
            key = (str(body.get("ClientId") or ""), str(body.get("Username") or ""))
            with self._lock:
                self._mailbox[key] = {"code": code,
                                      "destination": str(details.get("Destination") or "")}
            log.info("demo mailbox: a password reset code for %s is waiting", key[1])
        return _reply(start_response, status, headers, answer)

    def _mailbox_answer(self, environ: dict[str, Any],
                        start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(str(environ.get("QUERY_STRING") or ""))
        key = ((query.get("clientId") or [""])[0], (query.get("username") or [""])[0])
        with self._lock:
            letter = self._mailbox.get(key)
        if letter is None:
            return _json(start_response, "404 Not Found", {"message": "No code was sent."})
        return _json(start_response, "200 OK", letter)


def _read_json(environ: dict[str, Any]) -> dict[str, Any] | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= _MAX_BODY:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)  # moto reads it again
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _replace_body(environ: dict[str, Any], body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))


def _forward(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], Any]:
    status, headers, raw = wsgi.call(app, environ)
    try:
        answer: Any = json.loads(raw) if raw else {}
    except ValueError:
        answer = raw
    return status, headers, answer


def _reply(start_response: StartResponse, status: str, headers: list[tuple[str, str]],
           answer: Any) -> list[bytes]:
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    kept = [(n, v) for n, v in headers if n.lower() != "content-length"]
    start_response(status, [*kept, ("Content-Length", str(len(raw)))])
    return [raw]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data))), ("Cache-Control", "no-store")])
    return [data]


def _error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    data = json.dumps({"__type": code, "message": message}).encode()
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                       ("Content-Length", str(len(data)))])
    return [data]
