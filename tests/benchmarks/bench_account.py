"""Benchmark (not collected by pytest): headless CLI and API client latency against a local
stack child process.

    .venv/bin/python tests/benchmarks/bench_account.py [--runs 5]

Prints the median wall time of `medispecs-desktop login` / `list --json` / `--version` as
separate processes (what a script pays per command), then in-process medians of sign-in,
token refresh and the common API calls.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from a checkout: tests.support is importable
    sys.path.insert(0, str(ROOT))

from tests.support.timing import median_ms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from medispecs_desktop.core.config import Settings
    from medispecs_desktop.local.child import start_stack_process, stop_stack_process

    proc, info = start_stack_process()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ)
            env.update({
                "MEDISPECS_HOME": tmp,
                "MEDISPECS_API_URL": info["apiUrl"],
                "MEDISPECS_REGION": info["region"],
                "MEDISPECS_USER_POOL_ID": info["userPoolId"],
                "MEDISPECS_CLIENT_ID": info["clientId"],
                "MEDISPECS_COGNITO_ENDPOINT": info["awsEndpoint"],
                "PYTHONPATH": str(ROOT / "tests" / "cli"),
                "PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring",
                "MEDISPECS_TEST_KEYRING_FILE": str(Path(tmp) / "keyring.json"),
            })

            def cli(*args: str, stdin: str = "") -> None:
                done = subprocess.run([sys.executable, "-m", "medispecs_desktop", *args],
                                      input=stdin, capture_output=True, text=True, env=env,
                                      cwd=ROOT, check=False)
                assert done.returncode == 0, done.stderr

            print(f"CLI, one process per command (median of {runs}):")
            print(f"  --version             {median_ms(lambda: cli('--version'), runs):7.0f} ms")
            login = median_ms(lambda: cli("login", "-u", info["username"], "--password-stdin",
                                          stdin=info["password"] + "\n"), runs)
            print(f"  login --password-stdin {login:6.0f} ms")
            listing = median_ms(lambda: cli("list", "--json"), runs)
            print(f"  list --json           {listing:7.0f} ms")

        settings = Settings(api_url=info["apiUrl"], region=info["region"],
                            user_pool_id=info["userPoolId"], client_id=info["clientId"],
                            cognito_endpoint=info["awsEndpoint"])
        auth = CognitoAuth(settings, MemoryTokenStore())
        n = runs * 4
        print(f"In process (median of {n}):")
        sign_in = median_ms(lambda: auth.sign_in(info["username"], info["password"]), n)
        print(f"  sign_in               {sign_in:7.1f} ms")
        print(f"  force_refresh         {median_ms(auth.force_refresh, n):7.1f} ms")
        with ApiClient(settings, auth) as api:
            video_id = api.list_videos().items[0].video_id
            print(f"  list_videos           {median_ms(api.list_videos, n):7.1f} ms")
            get = median_ms(lambda: api.get_video(video_id), n)
            print(f"  get_video             {get:7.1f} ms")
            print(f"  playback_url          "
                  f"{median_ms(lambda: api.playback_url(video_id), n):7.1f} ms")
            print(f"  ping                  {median_ms(api.ping, n):7.1f} ms")
    finally:
        stop_stack_process(proc)


if __name__ == "__main__":
    main()
