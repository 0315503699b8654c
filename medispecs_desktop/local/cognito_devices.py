"""Cognito device tracking ("remember this device") for the local stack: moto has none
(``ConfirmDevice`` & co. are not implemented, no ``NewDeviceMetadata``, no ``DEVICE_SRP_AUTH``).

WSGI middleware in front of moto, in the stack's process, for pools created with a
``DeviceConfiguration``:

* a full sign-in's ``AuthenticationResult`` gets ``NewDeviceMetadata`` (a device key and group);
* ``ConfirmDevice`` stores the device's SRP verifier (the app keeps the device password in its
  keyring), ``UpdateDeviceStatus`` remembers or forgets it, ``ForgetDevice`` drops it;
* a later sign-in that names a remembered device (``DEVICE_KEY``) and would be asked for an MFA
  code is asked ``DEVICE_SRP_AUTH`` instead; the ``DEVICE_PASSWORD_VERIFIER`` proof is checked
  for real (Cognito's SRP with the device's verifier) and only then moto signs the user in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pycognito.aws_srp import (
    calculate_u,
    compute_hkdf,
    hex_to_long,
    long_to_hex,
    pad_hex,
)

from medispecs_desktop.local.cognito_checks import (
    TARGET_PREFIX,
    _error,
    _forward,
    _read_json,
    _reply,
)
from medispecs_desktop.local.moto_state import owner_of_access_token, pool_by_client, pool_by_id
from medispecs_desktop.local.wsgi import StartResponse, WsgiApp

log = logging.getLogger(__name__)

__all__ = ["DeviceMiddleware"]

_ACTIONS = ("InitiateAuth", "RespondToAuthChallenge", "ConfirmDevice", "UpdateDeviceStatus",
            "ForgetDevice")


@dataclass
class _Device:
    pool_id: str
    username: str
    group: str
    verifier: int = 0
    salt: str = ""
    remembered: bool = False


@dataclass
class _DeviceLogin:
    device_key: str
    session: str
    big_a: int = 0
    big_b: int = 0
    small_b: int = 0
    block: str = ""


class DeviceMiddleware:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._devices: dict[str, _Device] = {}
        self._logins: dict[str, _DeviceLogin] = {}  # moto session -> device sign-in
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        action = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        if environ.get("REQUEST_METHOD") != "POST" or action not in _ACTIONS:
            return self.app(environ, start_response)
        body = _read_json(environ)
        if body is None:
            return _error(start_response, "InvalidParameterException", "Bad request body.")
        if action in ("ConfirmDevice", "UpdateDeviceStatus", "ForgetDevice"):
            return self._device_call(action, body, start_response)
        challenge = str(body.get("ChallengeName") or "")
        if challenge == "DEVICE_SRP_AUTH":
            return self._device_srp(body, start_response)
        if challenge == "DEVICE_PASSWORD_VERIFIER":
            return self._device_proof(body, start_response)
        if action == "InitiateAuth" and body.get("AuthFlow") not in ("USER_SRP_AUTH",):
            return self.app(environ, start_response)  # refresh: no new device
        status, headers, answer = _forward(self.app, environ)
        if status.startswith("200") and isinstance(answer, dict):
            answer = self._after_sign_in_step(body, answer)
        return _reply(start_response, status, headers, answer)

    # -- the sign-in -----------------------------------------------------------------------
    def _after_sign_in_step(self, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        found = pool_by_client(str(body.get("ClientId") or ""))
        if found is None or not found[1].extended_config.get("DeviceConfiguration"):
            return answer
        _backend, pool = found
        responses = body.get("ChallengeResponses") or body.get("AuthParameters") or {}
        device_key = str(responses.get("DEVICE_KEY") or "")
        challenge = answer.get("ChallengeName")
        if challenge in ("SOFTWARE_TOKEN_MFA", "SMS_MFA") and device_key:
            with self._lock:
                device = self._devices.get(device_key)
                session = str(answer.get("Session") or "")
                username = str(responses.get("USERNAME") or "")
                if (device is not None and device.remembered and device.pool_id == pool.id
                        and device.username == username and session):
                    self._logins[session] = _DeviceLogin(device_key, session)
                    return {"ChallengeName": "DEVICE_SRP_AUTH", "Session": session,
                            "ChallengeParameters": {}}
        result = answer.get("AuthenticationResult")
        if isinstance(result, dict) and result.get("RefreshToken") and not device_key:
            owner = pool.access_tokens.get(result.get("AccessToken"))
            if owner is not None:
                key = f"{pool.id.split('_', 1)[0]}_{uuid.uuid4()}"
                group = f"-{secrets.token_urlsafe(9)}"
                with self._lock:
                    self._devices[key] = _Device(pool.id, str(owner[1]), group)
                result["NewDeviceMetadata"] = {"DeviceKey": key, "DeviceGroupKey": group}
        return answer

    def _device_srp(self, body: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        responses = body.get("ChallengeResponses") or {}
        session = str(body.get("Session") or "")
        with self._lock:
            login = self._logins.get(session)
            device = self._devices.get(str(responses.get("DEVICE_KEY") or ""))
        try:
            big_a = hex_to_long(str(responses.get("SRP_A") or "0"))
        except ValueError:
            big_a = 0
        from pycognito.aws_srp import G_HEX, N_HEX, hex_hash

        big_n, g = hex_to_long(N_HEX), hex_to_long(G_HEX)
        if (login is None or device is None or login.device_key != responses.get("DEVICE_KEY")
                or big_a % big_n == 0):
            return _error(start_response, "NotAuthorizedException", "Invalid device.")
        k = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))
        small_b = secrets.randbits(1024) % big_n
        big_b = (k * device.verifier + pow(g, small_b, big_n)) % big_n
        block = base64.standard_b64encode(secrets.token_bytes(48)).decode()
        with self._lock:
            login.big_a, login.big_b, login.small_b, login.block = big_a, big_b, small_b, block
        return _json_amz(start_response, {
            "ChallengeName": "DEVICE_PASSWORD_VERIFIER", "Session": session,
            "ChallengeParameters": {"USERNAME": device.username, "DEVICE_KEY": login.device_key,
                                    "SALT": device.salt, "SRP_B": long_to_hex(big_b),
                                    "SECRET_BLOCK": block}})

    def _device_proof(self, body: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        from pycognito.aws_srp import N_HEX

        responses = body.get("ChallengeResponses") or {}
        session = str(body.get("Session") or "")
        with self._lock:
            login = self._logins.pop(session, None)  # one answer per challenge
            device = self._devices.get(login.device_key) if login else None
        if (login is None or device is None or not login.block
                or responses.get("PASSWORD_CLAIM_SECRET_BLOCK") != login.block):
            return _error(start_response, "NotAuthorizedException", "Invalid device proof.")
        big_n = hex_to_long(N_HEX)
        u = calculate_u(login.big_a, login.big_b)
        shared = pow(login.big_a * pow(device.verifier, u, big_n), login.small_b, big_n)
        key = compute_hkdf(bytearray.fromhex(pad_hex(shared)),
                           bytearray.fromhex(pad_hex(long_to_hex(u))))
        message = (device.group.encode() + login.device_key.encode()
                   + base64.standard_b64decode(login.block)
                   + str(responses.get("TIMESTAMP") or "").encode())
        expected = base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest())
        if not hmac.compare_digest(expected.decode(),
                                   str(responses.get("PASSWORD_CLAIM_SIGNATURE"))):
            return _error(start_response, "NotAuthorizedException", "Invalid device proof.")
        found = pool_by_id(device.pool_id)
        client_id = str(body.get("ClientId") or "")
        if found is None or client_id not in found[1].clients:
            return _error(start_response, "ResourceNotFoundException", "Unknown app client.")
        backend, pool = found
        backend.sessions.pop(session, None)
        signed_in = backend._log_user_in(pool, pool.clients[client_id], device.username)
        log.info("remembered device signed in %s without the MFA step", device.username)
        return _json_amz(start_response, signed_in)

    # -- the device API ----------------------------------------------------------------------
    def _device_call(self, action: str, body: dict[str, Any],
                     start_response: StartResponse) -> list[bytes]:
        owner = owner_of_access_token(str(body.get("AccessToken") or ""))
        key = str(body.get("DeviceKey") or "")
        with self._lock:
            device = self._devices.get(key)
            if owner is None or device is None or (owner[0].id, owner[1]) != (
                    device.pool_id, device.username):
                return _error(start_response, "ResourceNotFoundException",
                              "Device does not exist.")
            if action == "ConfirmDevice":
                config = body.get("DeviceSecretVerifierConfig") or {}
                try:
                    device.verifier = int.from_bytes(
                        base64.standard_b64decode(str(config.get("PasswordVerifier"))), "big")
                    device.salt = base64.standard_b64decode(str(config.get("Salt"))).hex()
                except ValueError:
                    return _error(start_response, "InvalidParameterException",
                                  "Bad DeviceSecretVerifierConfig.")
                return _json_amz(start_response, {"UserConfirmationNecessary": True})
            if action == "UpdateDeviceStatus":
                device.remembered = body.get("DeviceRememberedStatus") == "remembered"
                return _json_amz(start_response, {})
            del self._devices[key]
            return _json_amz(start_response, {})


def _json_amz(start_response: StartResponse, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                              ("Content-Length", str(len(data)))])
    return [data]


