"""``medispecs-desktop local-stack`` honours the Lambda's own environment variables
(backend/config.py), so the demo stack can exercise URL expiry, size limits and CORS."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from medispecs_desktop.core.uploads.jobs import new_video_id
from medispecs_desktop.local.child import start_stack_process, stop_stack_process
from medispecs_desktop.local.stack import sign_in


def _token(info: dict[str, Any]) -> str:
    tokens = sign_in(info["awsEndpoint"], info["region"], info["clientId"],
                     info["username"], info["password"])
    return str(tokens["IdToken"])


def test_local_stack_honours_backend_environment() -> None:
    env = dict(os.environ, PRE_SIGNED_URL_EXPIRY="120", MAX_UPLOAD_BYTES="5000000",
               CORS_ALLOW_ORIGIN="https://viewer.example")
    proc, info = start_stack_process(["--no-samples"], env=env)
    try:
        with requests.Session() as http:
            http.trust_env = False
            http.headers["Authorization"] = f"Bearer {_token(info)}"
            vid = new_video_id()
            url = f"{info['apiUrl']}/videos/{vid}/upload-url"
            r = http.get(url, params={"contentType": "video/mp4", "size": "1000"}, timeout=30)
            assert r.status_code == 200, r.text
            query = parse_qs(urlsplit(r.json()["uploadUrl"]).query)
            assert query["X-Amz-Expires"] == ["120"]  # not the default 3600
            assert r.json()["expiresIn"] == 120
            # MAX_UPLOAD_BYTES: a larger file is refused with a clear 4xx
            big = http.get(url, params={"contentType": "video/mp4", "size": "5000001"},
                           timeout=30)
            assert 400 <= big.status_code < 500 and "5000000" in big.text.replace(",", "")
            # CORS_ALLOW_ORIGIN reaches the answers
            pre = http.options(f"{info['apiUrl']}/videos", timeout=30, headers={
                "Origin": "https://viewer.example", "Access-Control-Request-Method": "GET"})
            assert pre.headers.get("Access-Control-Allow-Origin") == "https://viewer.example"
    finally:
        stop_stack_process(proc)


def test_local_stack_refuses_a_bad_backend_setting_clearly() -> None:
    env = dict(os.environ, PRE_SIGNED_URL_EXPIRY="forever")
    result = subprocess.run(
        [sys.executable, "-m", "medispecs_desktop", "local-stack", "--no-samples"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "PRE_SIGNED_URL_EXPIRY must be an integer, got 'forever'" in result.stderr
    assert "Traceback" not in result.stderr
