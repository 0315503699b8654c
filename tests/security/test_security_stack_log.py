"""The log of the stack the app really runs (child process, ``-v``: one line per request from
the gateway and one JSON-ish line per Lambda request) holds no token, password, refresh token or
URL signature after sign-in, API calls, pre-signed URLs and rejected forged tokens."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import requests

from tests.security.conftest import find_secrets, signed_in_user, url_secrets


def _start_verbose_stack(stderr: Any) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    cmd = [sys.executable, "-m", "medispecs_desktop", "-v", "local-stack", "--port", "0",
           "--no-samples", "--exit-on-stdin-eof"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                            env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    buffer = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            assert time.monotonic() < deadline, "the stack did not start"
            if sel.select(1.0):
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, "the stack exited before it was ready"
                buffer += chunk
    return proc, json.loads(buffer.split(b"\n", 1)[0])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_real_stack_log_holds_no_secret() -> None:
    with tempfile.TemporaryFile() as stderr:
        proc, info = _start_verbose_stack(stderr)
        try:
            users = [signed_in_user(info, u["username"], u["password"]) for u in info["users"]]
            alice, bob = users
            api = info["apiUrl"]
            urls: list[str] = []
            with requests.Session() as s:
                s.trust_env = False
                auth = {"Authorization": f"Bearer {alice.id_token}"}
                vid = "v_stacklog1"
                r = s.get(f"{api}/videos/{vid}/upload-url?contentType=video/mp4", headers=auth,
                          timeout=30)
                assert r.status_code == 200
                urls.append(r.json()["uploadUrl"])
                assert s.put(r.json()["uploadUrl"], data=b"x" * 100,
                             headers=r.json()["headers"], timeout=30).status_code == 200
                r = s.post(f"{api}/videos", headers=auth, timeout=30, json={
                    "videoId": vid, "title": "t", "recordedAt": "2025-01-01T00:00:00Z"})
                assert r.status_code == 201, r.text
                r = s.get(f"{api}/videos/{vid}/playback-url", headers=auth, timeout=30)
                urls.append(r.json()["playbackUrl"])
                # query strings and bodies carrying secret-looking values
                r = s.get(f"{api}/videos?cursor={alice.refresh_token}", headers=auth,
                          timeout=30)
                assert r.status_code == 400
                r = s.post(f"{api}/videos", headers=auth, timeout=30,
                           json={"title": alice.id_token, "password": alice.password})
                assert r.status_code == 400
                # rejected tokens: another user's on a broken signature, and a garbage one
                forged = bob.id_token[:-4] + ("AAAA" if not bob.id_token.endswith("AAAA")
                                               else "BBBB")
                for token in (forged, alice.refresh_token):
                    r = s.get(f"{api}/videos", timeout=30,
                              headers={"Authorization": f"Bearer {token}"})
                    assert r.status_code == 401
                r = s.get(f"{api}/videos/{vid}", headers={
                    "Authorization": f"Bearer {bob.id_token}"}, timeout=30)
                assert r.status_code == 404
                assert s.delete(f"{api}/videos/{vid}", headers=auth,
                                timeout=30).status_code == 200
        finally:
            _stop(proc)
        stderr.seek(0)
        log = stderr.read().decode("utf-8", "replace")
    assert "GET /videos" in log and "-> 401" in log, log[-2000:]
    secrets = [*alice.secrets, *bob.secrets, forged]
    secrets += [s for u in urls for s in url_secrets(u)]
    leaks = find_secrets(log, secrets)
    assert not leaks, f"secrets in the stack's log: {leaks}"
