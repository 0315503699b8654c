"""The headless CLI end to end: real subprocesses (`python -m medispecs_desktop ...`) against
the running local stack with a file-backed test keyring, plus in-process runs of the other
paths (same argv parsing and exit codes, faster)."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import keyring
import keyring.backends.fail
import pytest
from botocore.config import Config

from medispecs_desktop.cli.main import (
    EXIT_AUTH,
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    EXIT_OFFLINE,
    EXIT_OK,
    EXIT_USAGE,
    main,
)
from tests.support.keyrings import MemoryKeyring, active_keyring

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PASSWORD = "Cli-Tests-Pass-1!"


def admin_client(stack: dict[str, Any]) -> Any:
    return boto3.session.Session().client(
        "cognito-idp", region_name=stack["region"], endpoint_url=stack["awsEndpoint"],
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def new_username(stack: dict[str, Any], *, temporary: str | None = None) -> str:
    """A fresh user in the stack's pool (an empty library of its own)."""
    admin = admin_client(stack)
    username = f"cli-{uuid.uuid4().hex[:10]}"
    if temporary:
        admin.admin_create_user(UserPoolId=stack["userPoolId"], Username=username,
                                TemporaryPassword=temporary, MessageAction="SUPPRESS")
    else:
        admin.admin_create_user(UserPoolId=stack["userPoolId"], Username=username,
                                MessageAction="SUPPRESS")
        admin.admin_set_user_password(UserPoolId=stack["userPoolId"], Username=username,
                                      Password=PASSWORD, Permanent=True)
    return username


def stack_env(stack: dict[str, Any]) -> dict[str, str]:
    return {
        "MEDISPECS_API_URL": stack["apiUrl"],
        "MEDISPECS_REGION": stack["region"],
        "MEDISPECS_USER_POOL_ID": stack["userPoolId"],
        "MEDISPECS_CLIENT_ID": stack["clientId"],
        "MEDISPECS_COGNITO_ENDPOINT": stack["awsEndpoint"],
    }


# --------------------------------------------------------------------------- subprocesses


class Cli:
    """Runs `python -m medispecs_desktop` with the stack's settings and a test keyring."""

    def __init__(self, stack: dict[str, Any], tmp_path: Path, **env: str) -> None:
        self.keyring_file = tmp_path / "test-keyring.json"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEDISPECS_")}
        self.env.update(stack_env(stack))
        self.env.update({
            "MEDISPECS_HOME": str(tmp_path / "home"),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
            "PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring",
            "MEDISPECS_TEST_KEYRING_FILE": str(self.keyring_file),
        })
        self.env.update(env)

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "medispecs_desktop", *args],
            input=stdin, capture_output=True, text=True, cwd=ROOT, env=self.env, timeout=60,
        )

    def stored(self) -> dict[str, str]:
        if not self.keyring_file.exists():
            return {}
        data: dict[str, str] = json.loads(self.keyring_file.read_text())
        return data


def test_login_list_logout_in_subprocesses(local_stack: dict[str, Any], tmp_path: Path) -> None:
    username = new_username(local_stack)
    cli = Cli(local_stack, tmp_path)

    login = cli("login", "--username", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert login.returncode == EXIT_OK, login.stderr
    assert login.stdout.strip() == f"Signed in as {username}."
    assert "NOT be remembered" not in login.stderr
    stored = cli.stored()
    assert sorted(k.split("|")[1].split(":")[0] for k in stored) == ["last-user",
                                                                     "refresh-token"]
    assert PASSWORD not in json.dumps(stored)

    empty = cli("list", "--json")
    assert empty.returncode == EXIT_OK, empty.stderr
    assert json.loads(empty.stdout) == {"items": [], "nextCursor": None}

    logout = cli("logout")
    assert logout.returncode == EXIT_OK and f"Signed out {username}." in logout.stdout
    assert cli.stored() == {}

    after = cli("list", "--json")
    assert after.returncode == EXIT_AUTH
    assert after.stdout == ""
    assert "Not signed in: run `medispecs-desktop login` first." in after.stderr

    # nothing secret in the log file
    logs = "".join(p.read_text() for p in (tmp_path / "home" / "logs").glob("*.log*"))
    assert "Signed in as" in logs and PASSWORD not in logs and "eyJ" not in logs


def test_keyring_less_machine(local_stack: dict[str, Any], tmp_path: Path) -> None:
    username = new_username(local_stack)
    cli = Cli(local_stack, tmp_path, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")

    login = cli("login", "-u", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert login.returncode == EXIT_OK, login.stderr
    assert f"Signed in as {username}." in login.stdout
    assert "will NOT be remembered for later commands" in login.stderr
    assert "MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1" in login.stderr

    later = cli("list")
    assert later.returncode == EXIT_AUTH
    assert "No secure keyring" in later.stderr
    assert "MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1" in later.stderr

    # the documented escape hatch for headless/CI machines
    cli.env["MEDISPECS_ALLOW_PLAINTEXT_KEYRING"] = "1"
    login = cli("login", "-u", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert login.returncode == EXIT_OK and login.stderr == "", login.stderr
    listed = cli("list")
    assert listed.returncode == EXIT_OK, listed.stderr
    assert listed.stdout.strip() == "No recordings."
    token_file = tmp_path / "home" / "data" / "tokens-plaintext.json"
    assert token_file.stat().st_mode & 0o077 == 0


# --------------------------------------------------------------------------- in process


@pytest.fixture
def run(local_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """``run(*argv, stdin="")`` -> (exit code, stdout, stderr), in this process."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for name, value in stack_env(local_stack).items():
        monkeypatch.setenv(name, value)

    def invoke(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    with active_keyring(MemoryKeyring()):
        yield invoke
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _login(run: Any, username: str, password: str = PASSWORD) -> None:
    code, _out, err = run("login", "-u", username, "--password-stdin", stdin=password + "\n")
    assert code == EXIT_OK, err


def _create(local_stack: dict[str, Any], run: Any, title: str, recorded_at: str) -> str:
    """A metadata-only record through the real API, as the signed-in CLI user."""
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, KeyringTokenStore
    from medispecs_desktop.core.config import load_settings

    settings = load_settings()
    auth = CognitoAuth(settings, KeyringTokenStore())
    assert auth.restore() is not None
    with ApiClient(settings, auth) as api:
        video = api.create_video({"videoId": f"v_{uuid.uuid4().hex}", "title": title,
                                  "recordedAt": recorded_at, "durationSec": 65})
    return video.video_id


def test_whoami(local_stack: dict[str, Any], run: Any) -> None:
    username = new_username(local_stack)
    _login(run, username)
    code, out, _ = run("whoami", "--json")
    assert code == EXIT_OK
    me = json.loads(out)
    assert me["username"] == username and me["remembered"] is True and me["sub"]
    assert set(me) == {"username", "sub", "email", "name", "remembered"}
    code, out, _ = run("whoami")
    assert code == EXIT_OK and out.splitlines()[0] == username
    assert f"user pool: {local_stack['userPoolId']}" in out


def test_list_get_playback_delete(local_stack: dict[str, Any], run: Any) -> None:
    _login(run, new_username(local_stack))
    older = _create(local_stack, run, "Older", "2025-03-01T09:00:00Z")
    newer = _create(local_stack, run, "Newer", "2025-03-02T09:00:00Z")

    code, out, _ = run("list", "--json", "--limit", "1")
    assert code == EXIT_OK
    page = json.loads(out)
    assert [v["videoId"] for v in page["items"]] == [newer] and page["nextCursor"]
    item = page["items"][0]
    # stable shape: every documented key is present, null when unknown
    from medispecs_desktop.cli.account import VIDEO_FIELDS

    assert list(item)[: len(VIDEO_FIELDS)] == list(VIDEO_FIELDS)
    assert item["thumbnailUrl"] is None and item["status"] == "pending"

    code, out, _ = run("list", "--json", "--limit", "1", "--cursor", page["nextCursor"])
    assert [v["videoId"] for v in json.loads(out)["items"]] == [older]
    code, out, _ = run("list", "--json", "--all", "--limit", "1")
    assert [v["videoId"] for v in json.loads(out)["items"]] == [newer, older]
    code, out, _ = run("list", "--json", "--from", "2025-03-02", "--to", "2025-03-02")
    assert [v["videoId"] for v in json.loads(out)["items"]] == [newer]

    code, out, err = run("list")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0].startswith("RECORDED (UTC)") and "Newer" in lines[1] and "Older" in lines[2]
    assert "0:01:05" in lines[1]

    code, out, _ = run("get", newer)
    shown = _get_lines(out)
    assert code == EXIT_OK and shown["videoId"] == newer and shown["title"] == "Newer"
    assert shown["integrity"] == "not verified"  # metadata only: no bytes, nothing checked
    assert "sha256Verified" not in shown
    code, out, _ = run("get", newer, "--json")
    got = json.loads(out)
    assert got["title"] == "Newer"
    assert got["sha256Verified"] is None and got["sha256VerifiedBy"] is None
    assert got["verifiedAt"] is None and "integrity" not in got

    code, _, err = run("playback-url", newer)
    assert code == EXIT_ERROR and "no uploaded bytes" in err  # a pending record (409)

    code, _, err = run("delete", newer)
    assert code == EXIT_USAGE and "pass --yes" in err
    code, out, _ = run("delete", newer, "--yes")
    assert code == EXIT_OK and out.strip() == (
        f"Moved {newer} to the Trash (undo: medispecs-desktop trash restore {newer}).")
    code, _, err = run("get", newer)
    assert code == EXIT_NOT_FOUND and "not found" in err
    code, _, err = run("delete", newer, "--yes")
    assert code == EXIT_NOT_FOUND


def _get_lines(out: str) -> dict[str, str]:
    """`get`'s human output: one "key  value" line per known field."""
    rows = [line.split(None, 1) for line in out.splitlines() if line.strip()]
    return {row[0]: row[1] if len(row) > 1 else "" for row in rows}


def test_get_shows_that_the_cloud_checked_the_sha256(local_stack: dict[str, Any],
                                                     run: Any) -> None:
    # The demo user's seeded recordings were uploaded as the desktop does: S3 (moto computes it
    # from the stored bytes) holds their full-object CRC64NVME, equal to the one sent.
    _login(run, local_stack["username"], local_stack["password"])
    code, out, _ = run("list", "--json", "--all")
    assert code == EXIT_OK
    uploaded = [v for v in json.loads(out)["items"] if v["sha256"] and v["status"] == "ready"]
    assert uploaded
    video = uploaded[0]
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "crc64nvme"
    assert video["verifiedAt"].endswith("Z")
    from medispecs_desktop.cli.account import VIDEO_FIELDS

    assert list(VIDEO_FIELDS)[-3:] == ["sha256Verified", "sha256VerifiedBy", "verifiedAt"]
    assert list(video)[: len(VIDEO_FIELDS)] == list(VIDEO_FIELDS)  # then the extra keys

    code, out, err = run("get", video["videoId"])
    assert code == EXIT_OK, err
    shown = _get_lines(out)
    assert shown["integrity"] == "verified (SHA-256 checked in the cloud)"
    assert shown["sha256Verified"] == "true" and shown["sha256VerifiedBy"] == "crc64nvme"
    assert shown["verifiedAt"] == video["verifiedAt"] and shown["sha256"] == video["sha256"]
    assert list(shown)[-1] == "integrity"
    code, out, _ = run("get", video["videoId"], "--json")
    got = json.loads(out)
    assert got["sha256Verified"] is True and got["verifiedAt"] == video["verifiedAt"]


def test_playback_url_of_an_uploaded_recording(local_stack: dict[str, Any], run: Any) -> None:
    # the demo user's seeded library has uploaded recordings
    _login(run, local_stack["username"], local_stack["password"])
    code, out, _ = run("list", "--json", "--all")
    # MP4 only: other tests upload Matroska clips for the demo user too (no 'ftyp' box)
    ready = [v for v in json.loads(out)["items"]
             if v["status"] in ("uploaded", "ready") and v["mimeType"] == "video/mp4"]
    assert ready
    code, out, err = run("playback-url", ready[0]["videoId"], "--json")
    assert code == EXIT_OK, err
    grant = json.loads(out)
    assert grant["videoId"] == ready[0]["videoId"]
    assert grant["playbackUrl"].startswith("http") and grant["expiresAt"].endswith("Z")
    import requests

    head = requests.get(grant["playbackUrl"], headers={"Range": "bytes=0-15"}, timeout=10)
    assert head.status_code == 206 and b"ftyp" in head.content


def test_new_password_challenge(local_stack: dict[str, Any], run: Any) -> None:
    username = new_username(local_stack, temporary="Temporary-Pass-9!")
    code, _, err = run("login", "-u", username, "--password-stdin",
                       stdin="Temporary-Pass-9!\n")
    assert code == EXIT_AUTH and "--new-password-stdin" in err
    code, out, err = run("login", "-u", username, "--password-stdin", "--new-password-stdin",
                         stdin="Temporary-Pass-9!\nChosen-New-Pass-9!\n")
    assert code == EXIT_OK, err
    assert f"Signed in as {username}." in out
    code, _, _ = run("login", "-u", username, "--password-stdin", stdin="Chosen-New-Pass-9!\n")
    assert code == EXIT_OK


@pytest.mark.parametrize(
    ("argv", "stdin", "env", "code", "words"),
    [
        (["login", "-u", "demo", "--password-stdin"], "wrong-password-1A!\n", {}, EXIT_AUTH,
         "Wrong username or password"),
        (["login", "--password-stdin"], "x\n", {}, EXIT_USAGE, "give --username"),
        (["login", "-u", "demo"], "", {}, EXIT_USAGE, "use --password-stdin"),
        (["login", "-u", "demo", "--password-stdin"], "", {}, EXIT_USAGE,
         "expected the password on stdin"),
        (["whoami"], "", {}, EXIT_AUTH, "Not signed in"),
        (["get", "v_nothing"], "", {}, EXIT_AUTH, "Not signed in"),
        (["logout"], "", {}, EXIT_OK, ""),
        (["--local", "list"], "", {}, EXIT_USAGE, "run `medispecs-desktop local-stack`"),
        (["list"], "", {"MEDISPECS_API_URL": ""}, EXIT_ERROR, "not configured"),
        (["login", "-u", "demo", "--password-stdin"], "pw\n", {"MEDISPECS_CLIENT_ID": ""},
         EXIT_ERROR, "Sign-in is not configured: set client_id"),
        (["login", "-u", "demo", "--password-stdin"], "pw\n", {"MEDISPECS_CLIENT_ID": "nope"},
         EXIT_ERROR, "Check the region, user pool id and app client id"),
    ],
)
def test_errors_and_exit_codes(run: Any, monkeypatch: pytest.MonkeyPatch, argv: list[str],
                               stdin: str, env: dict[str, str], code: int, words: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    got, out, err = run(*argv, stdin=stdin)
    assert got == code, (out, err)
    assert words in err or words in out


def test_offline_exit_code(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MEDISPECS_COGNITO_ENDPOINT", f"http://127.0.0.1:{port}")
    code, _, err = run("login", "-u", "demo", "--password-stdin", stdin="pw-1A!\n")
    assert code == EXIT_OFFLINE and "Cannot reach the sign-in service" in err


def test_command_line_options_beat_the_environment(local_stack: dict[str, Any], run: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDISPECS_CLIENT_ID", "wrong-client")
    monkeypatch.setenv("MEDISPECS_API_URL", "http://127.0.0.1:9")
    username = new_username(local_stack)
    options = ["--client-id", local_stack["clientId"], "--api-url", local_stack["apiUrl"]]
    code, _, err = run(*options, "login", "-u", username, "--password-stdin",
                       stdin=PASSWORD + "\n")
    assert code == EXIT_OK, err
    code, out, err = run(*options, "list", "--json")
    assert code == EXIT_OK, err
    assert json.loads(out)["items"] == []


def test_bad_arguments_are_usage_errors(run: Any) -> None:
    from medispecs_desktop.cli import account
    from medispecs_desktop.core import api

    assert account.MAX_LIMIT == api.MAX_LIMIT
    for argv in (["list", "--from", "yesterday"], ["list", "--limit", "0"],
                 ["list", "--limit", "101"], ["get"]):
        with pytest.raises(SystemExit) as info:
            run(*argv)
        assert info.value.code == EXIT_USAGE


def test_help_documents_json_and_exit_codes(run: Any, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    with pytest.raises(SystemExit) as info:
        run("list", "--help")
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ('"nextCursor": string|null', "Exit codes: 0 ok", "4 offline, 5 not found",
                  "MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1", "recordedAt"):
        assert words in text


def test_fail_keyring_in_process_says_why(local_stack: dict[str, Any], run: Any) -> None:
    with active_keyring(keyring.backends.fail.Keyring()):  # restored after: no leak
        code, _out, err = run("login", "-u", new_username(local_stack), "--password-stdin",
                             stdin=PASSWORD + "\n")
    assert code == EXIT_OK and "NOT be remembered" in err


# --------------------------------------------------------------------------- a real terminal


class Terminal:
    """`python -m medispecs_desktop ...` on a pseudo-terminal, so getpass/input really prompt."""

    def __init__(self, cli: Cli, *args: str) -> None:
        import pty

        self.output = b""
        self.seen = 0  # output before this offset was matched already
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "medispecs_desktop", *args],
                      cli.env)
        self.pid, self.fd = pid, fd

    def expect(self, text: str, timeout: float = 30) -> None:
        import select
        import time

        deadline = time.monotonic() + timeout
        while text.encode() not in self.output[self.seen:]:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in {self.output!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child exited
                    chunk = b""
                assert chunk, f"the command ended without {text!r}: {self.output!r}"
                self.output += chunk
        self.seen = self.output.index(text.encode(), self.seen) + len(text)

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def wait(self) -> int:
        import select

        while True:  # drain what is left, then reap
            ready, _, _ = select.select([self.fd], [], [], 30)
            try:
                chunk = os.read(self.fd, 4096) if ready else b""
            except OSError:
                chunk = b""
            if not chunk:
                break
            self.output += chunk
        os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def test_interactive_login_new_password_and_delete(local_stack: dict[str, Any],
                                                   tmp_path: Path) -> None:
    username = new_username(local_stack, temporary="Temporary-Pass-7!")
    cli = Cli(local_stack, tmp_path)

    term = Terminal(cli, "login")
    term.expect("Username: ")
    term.send(username)
    term.expect("Password: ")
    term.send("Temporary-Pass-7!")
    term.expect("New password: ")
    term.send("Chosen-New-Pass-7!")
    term.expect("Repeat the new password: ")
    term.send("Not-The-Same-7!")
    term.expect("do not match")
    term.expect("New password: ")
    term.send("Chosen-New-Pass-7!")
    term.expect("Repeat the new password: ")
    term.send("Chosen-New-Pass-7!")
    assert term.wait() == EXIT_OK, term.output
    assert f"Signed in as {username}.".encode() in term.output
    assert b"Chosen-New-Pass-7!" not in term.output  # getpass does not echo

    again = Terminal(cli, "login")  # the last user is offered as the default
    again.expect(f"Username [{username}]: ")
    again.send("")
    again.expect("Password: ")
    again.send("Chosen-New-Pass-7!")
    assert again.wait() == EXIT_OK, again.output

    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from tests.support.stack import stack_settings

    settings = stack_settings(local_stack)
    auth = CognitoAuth(settings, MemoryTokenStore())
    auth.sign_in(username, "Chosen-New-Pass-7!")
    with ApiClient(settings, auth) as api:
        video = api.create_video({"videoId": f"v_{uuid.uuid4().hex}", "title": "Keep me",
                                  "recordedAt": "2025-06-01T10:00:00Z"})
        keep = Terminal(cli, "delete", video.video_id)
        keep.expect("[y/N] ")
        keep.send("n")
        assert keep.wait() == EXIT_ERROR and b"Not deleted." in keep.output
        assert api.get_video(video.video_id).title == "Keep me"

        drop = Terminal(cli, "delete", video.video_id)
        drop.expect("'Keep me'")
        drop.expect("to the Trash?")
        drop.expect("[y/N] ")
        drop.send("y")
        assert drop.wait() == EXIT_OK
        assert f"Moved {video.video_id} to the Trash".encode() in drop.output
        with pytest.raises(Exception, match="not found"):
            api.get_video(video.video_id)


def test_output_into_a_closed_pipe_ends_quietly(local_stack: dict[str, Any],
                                                tmp_path: Path) -> None:
    # `medispecs-desktop list --json | head -c 100`: the reader is gone before the command
    # writes; the command stops without a Python traceback about the broken pipe
    username = new_username(local_stack)
    cli = Cli(local_stack, tmp_path)
    login = cli("login", "--username", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert login.returncode == EXIT_OK, login.stderr
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "medispecs_desktop", "list", "--json"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=cli.env,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == EXIT_ERROR
