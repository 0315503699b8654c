"""`upload PATH... [--wait]` and `queue ...` in real subprocesses against the local stack,
with the CLI tests' file-backed keyring (tests/cli/file_keyring.py) standing in for the OS one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3

from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, main

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "Upload-Cli-Pass-1!"


def new_user(stack: dict[str, Any]) -> str:
    admin = boto3.client("cognito-idp", region_name=stack["region"],
                         endpoint_url=stack["awsEndpoint"],
                         aws_access_key_id="local", aws_secret_access_key="local")
    name = f"upl-{uuid.uuid4().hex[:10]}"
    admin.admin_create_user(UserPoolId=stack["userPoolId"], Username=name,
                            MessageAction="SUPPRESS")
    admin.admin_set_user_password(UserPoolId=stack["userPoolId"], Username=name,
                                  Password=PASSWORD, Permanent=True)
    return name


class Cli:
    def __init__(self, stack: dict[str, Any], home: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEDISPECS_")}
        self.env.update({
            "MEDISPECS_API_URL": stack["apiUrl"],
            "MEDISPECS_REGION": stack["region"],
            "MEDISPECS_USER_POOL_ID": stack["userPoolId"],
            "MEDISPECS_CLIENT_ID": stack["clientId"],
            "MEDISPECS_COGNITO_ENDPOINT": stack["awsEndpoint"],
            "MEDISPECS_HOME": str(home),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "cli"), str(ROOT)]),
            "PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring",
            "MEDISPECS_TEST_KEYRING_FILE": str(home / "keyring.json"),
        })

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "medispecs_desktop", *args], input=stdin,
            capture_output=True, text=True, cwd=ROOT, env=self.env, timeout=120,
        )


def test_upload_and_queue_commands(local_stack, tmp_path, make_video) -> None:
    cli = Cli(local_stack, tmp_path / "home")
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK

    clip = make_video("ward-round.mp4", seconds=1, seed=61)
    other = make_video("second.mp4", seconds=1, seed=62)
    (tmp_path / "readme.txt").write_text("not a video")

    queued = cli("upload", str(clip), str(tmp_path / "readme.txt"))
    assert queued.returncode == EXIT_OK, queued.stderr
    assert "Queued 1 file(s)." in queued.stdout
    assert "readme.txt: not a video file" in queued.stderr

    listed = json.loads(cli("queue", "list", "--json").stdout)
    assert [j["state"] for j in listed] == ["queued"]
    job_id = str(listed[0]["id"])
    paused = cli("queue", "pause", job_id, "--json")
    assert paused.returncode == EXIT_OK and json.loads(paused.stdout)["state"] == "paused"

    # --wait uploads what the user queued; the paused job waits for `queue resume`
    assert cli("queue", "resume", job_id).returncode == EXIT_OK
    again = cli("upload", str(clip), str(other), "--wait", "--json")
    assert again.returncode == EXIT_OK, again.stderr
    jobs = json.loads(again.stdout)
    assert [j["state"] for j in jobs] == ["done", "done"]
    assert len({j["id"] for j in jobs}) == 2  # the first clip was not queued twice

    library = json.loads(cli("list", "--json").stdout)["items"]
    assert sorted(v["title"] for v in library) == ["second", "ward-round"]

    assert cli("queue", "cancel", "999").returncode == EXIT_NOT_FOUND
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not really a video" * 50)
    failed = cli("upload", str(bad), "--wait")
    assert failed.returncode == EXIT_ERROR
    assert "broken.mp4" in failed.stdout and "Failed" in failed.stdout


def test_usage_errors_need_no_network(capsys) -> None:
    assert main(["upload"]) == EXIT_USAGE
    assert main(["queue", "pause"]) == EXIT_USAGE
    assert main(["queue", "pause", "abc"]) == EXIT_USAGE
    assert "needs a job number" in capsys.readouterr().err
