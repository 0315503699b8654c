"""The CLI's sign-in steps end to end against the local stack: authenticator codes
(``login --mfa-code``), ``forgot-password``, ``login --browser`` (PKCE through the loopback
redirect), ``configure --from FILE|URL|LINK`` and the organisation's policy file."""

from __future__ import annotations

import json
import threading
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from medispecs_desktop.cli.main import EXIT_AUTH, EXIT_OK, main
from medispecs_desktop.core.config import Paths, load_settings
from tests.cli.test_account_cli import PASSWORD, Cli, new_username
from tests.support.cognito import mailbox_code, totp_code, wrong_code


def test_login_with_an_authenticator_code(local_stack: dict[str, Any], tmp_path: Path) -> None:
    account = local_stack["mfaUser"]
    cli = Cli(local_stack, tmp_path)
    login = ["login", "-u", account["username"], "--password-stdin"]
    missing = cli(*login, stdin=account["password"] + "\n")
    assert missing.returncode == EXIT_AUTH
    assert "authenticator app" in missing.stderr and "--mfa-code" in missing.stderr
    wrong = cli(*login, "--mfa-code", wrong_code(account["totpSecret"]),
                stdin=account["password"] + "\n")
    assert wrong.returncode == EXIT_AUTH and "code is not right" in wrong.stderr
    assert cli.stored() == {}
    ok = cli(*login, "--mfa-code", totp_code(account["totpSecret"]), "--remember-device",
             stdin=account["password"] + "\n")
    assert ok.returncode == EXIT_OK, ok.stderr
    assert ok.stdout.startswith(f"Signed in as {account['username']}")
    assert any(k.split("|")[1].startswith("device:") for k in cli.stored())
    again = cli(*login, stdin=account["password"] + "\n")  # remembered: no code this time
    assert again.returncode == EXIT_OK, again.stderr
    who = cli("whoami", "--json")
    assert json.loads(who.stdout)["username"] == account["username"]


def test_forgot_password_in_two_steps(local_stack: dict[str, Any], tmp_path: Path) -> None:
    username = new_username(local_stack)
    cli = Cli(local_stack, tmp_path)
    sent = cli("forgot-password", "-u", username)
    assert sent.returncode == EXIT_OK, sent.stderr
    assert "A code was sent by e-mail" in sent.stdout and "--code CODE" in sent.stdout
    code = mailbox_code(local_stack["awsEndpoint"], local_stack["clientId"], username)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = cli("forgot-password", "-u", username, "--code", wrong,
                  "--new-password-stdin", stdin="Reset-Pass-42!\n")
    assert refused.returncode == EXIT_AUTH and "code is not right" in refused.stderr
    done = cli("forgot-password", "-u", username, "--code", code, "--new-password-stdin",
               stdin="Reset-Pass-42!\n")
    assert done.returncode == EXIT_OK, done.stderr
    old = cli("login", "-u", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert old.returncode == EXIT_AUTH
    new = cli("login", "-u", username, "--password-stdin", stdin="Reset-Pass-42!\n")
    assert new.returncode == EXIT_OK, new.stderr


def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MEDISPECS_API_URL", "MEDISPECS_REGION", "MEDISPECS_USER_POOL_ID",
                "MEDISPECS_CLIENT_ID", "MEDISPECS_COGNITO_ENDPOINT", "MEDISPECS_AUTH_DOMAIN"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("kind", ["file", "url", "link", "stack-line"])
def test_configure_from_what_it_hands_out_then_sign_in(
        local_stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], kind: str) -> None:
    _no_env(monkeypatch)
    wanted = local_stack["desktopSettings"]
    if kind == "file":
        source = tmp_path / "DesktopSettings.json"
        source.write_text(json.dumps(wanted), encoding="utf-8")
        where = str(source)
    elif kind == "stack-line":
        source = tmp_path / "stack.json"
        source.write_text(json.dumps(local_stack), encoding="utf-8")
        where = str(source)
    elif kind == "url":
        where = f"{local_stack['authDomain']}/desktop-settings.json"
    else:
        where = "medispecs://configure?" + urlencode(
            {k: v for k, v in wanted.items() if k != "demo"})
    assert load_settings().api_url == ""
    assert main(["configure", "--from", where]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Settings imported into" in out and "api_url" in out
    settings = load_settings()
    for key in ("api_url", "region", "user_pool_id", "client_id", "auth_domain"):
        assert getattr(settings, key) == wanted[key]
    # and the settings are enough to sign in (no MEDISPECS_* variables, no typed ids)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(
        local_stack["users"][1]["password"] + "\n"))
    from tests.support.keyrings import MemoryKeyring, active_keyring

    with active_keyring(MemoryKeyring()):
        code = main(["login", "-u", local_stack["users"][1]["username"], "--password-stdin"])
    assert code == EXIT_OK, capsys.readouterr().err


def test_configure_refuses_what_is_not_settings(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"api_url": "http://evil.example/api", "client_id": "x"}))
    assert main(["configure", "--from", str(bad)]) != EXIT_OK
    assert "https://" in capsys.readouterr().err
    assert load_settings().api_url == ""
    assert main(["configure", "--from", "medispecs://elsewhere?api_url=x"]) != EXIT_OK
    assert main(["configure", "--from", str(tmp_path / "missing.json")]) != EXIT_OK


def test_policy_file_fixes_settings_over_file_env_and_options(
        local_stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    system = tmp_path / "etc-xdg"
    (system / "medispecs-desktop").mkdir(parents=True)
    (system / "medispecs-desktop" / "policy.json").write_text(json.dumps({
        "region": "eu-west-2", "idleTimeoutMinutes": 5, "bandwidth_limit_kbps": 2000}))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(system))
    from medispecs_desktop.core.policy import load_policy, policy_file

    assert policy_file() == system / "medispecs-desktop" / "policy.json"
    assert load_policy().locked == {"region", "idle_timeout_minutes", "bandwidth_limit_kbps"}
    source = tmp_path / "it.json"
    source.write_text(json.dumps(local_stack["desktopSettings"]))
    assert main(["configure", "--from", str(source)]) == EXIT_OK
    assert "Set by your organisation (not changed): region." in capsys.readouterr().out
    monkeypatch.setenv("MEDISPECS_REGION", "ap-southeast-1")
    monkeypatch.setenv("MEDISPECS_IDLE_TIMEOUT_MINUTES", "60")
    settings = load_settings()
    assert (settings.region, settings.idle_timeout_minutes, settings.bandwidth_limit_kbps) \
        == ("eu-west-2", 5, 2000)
    assert settings.api_url == local_stack["desktopSettings"]["api_url"]  # not fixed: imported
    stored = json.loads(Paths.default().settings_file.read_text())
    assert stored["region"] != "eu-west-2"  # the user's file is theirs; the policy wins on top
    from medispecs_desktop.cli.account import settings_from_args
    from medispecs_desktop.cli.main import build_parser

    args = build_parser().parse_args(["--region", "us-east-1", "whoami"])
    assert settings_from_args(args).region == "eu-west-2"


def test_broken_policy_file_is_said_not_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    system = tmp_path / "etc-xdg"
    (system / "medispecs-desktop").mkdir(parents=True)
    (system / "medispecs-desktop" / "policy.json").write_text("{not json")
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(system))
    assert main(["whoami"]) != EXIT_OK
    assert "policy file" in capsys.readouterr().err


def test_login_in_the_browser(local_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    _no_env(monkeypatch)
    for key, var in (("apiUrl", "MEDISPECS_API_URL"), ("region", "MEDISPECS_REGION"),
                     ("userPoolId", "MEDISPECS_USER_POOL_ID"), ("clientId", "MEDISPECS_CLIENT_ID"),
                     ("awsEndpoint", "MEDISPECS_COGNITO_ENDPOINT"),
                     ("authDomain", "MEDISPECS_AUTH_DOMAIN")):
        monkeypatch.setenv(var, local_stack[key])
    account = local_stack["users"][1]
    landed = threading.Event()

    def browser(url: str, *args: Any, **kwargs: Any) -> bool:  # the user's browser
        def run() -> None:
            with requests.Session() as web:
                web.trust_env = False
                assert web.get(url, timeout=10).status_code == 200
                page = web.post(url, data={"username": account["username"],
                                           "password": account["password"],
                                           "action": "sign-in"}, timeout=10)
                if "You can close this tab" in page.text:
                    landed.set()

        threading.Thread(target=run, daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    from tests.support.keyrings import MemoryKeyring, active_keyring

    with active_keyring(MemoryKeyring()):
        code = main(["login", "--browser"])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    assert out.strip() == f"Signed in as {account['username']} ({account['username']}" \
        "@example.org)."
    assert "/oauth2/authorize?" in err and "code_challenge_method=S256" in err
    assert landed.wait(10)

