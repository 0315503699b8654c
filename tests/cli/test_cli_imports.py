"""`medispecs-desktop --help` and argument parsing load only argparse-level code: the upload
engine, the HTTP stack, boto3, PyAV and Qt wait for a command that uses them (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("medispecs_desktop.core.uploads.engine", "medispecs_desktop.core.api", "boto3",
         "botocore", "requests", "urllib3", "av", "PySide6", "moto")


def imported_modules(*args: str) -> tuple[set[str], str]:
    """The modules `python -X importtime -m medispecs_desktop ARGS` imported (from stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDISPECS_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "medispecs_desktop", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: medispecs-desktop" in proc.stdout
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names, proc.stdout


@pytest.mark.parametrize("args", [("--help",), ("upload", "--help"), ("queue", "--help"),
                                  ("list", "--help"), ("local-stack", "--help")])
def test_help_imports_no_heavy_module(args: tuple[str, ...]) -> None:
    names, _ = imported_modules(*args)
    # the parser really loaded the command modules (importlib.import_module itself is not
    # timed, the `import` statements inside the modules are)
    assert {"argparse", "medispecs_desktop.cli.main", "medispecs_desktop.cli.output",
            "medispecs_desktop.core.uploads.jobs"} <= names
    heavy = sorted(n for n in names if n in HEAVY or n.split(".")[0] in HEAVY)
    assert heavy == []


def test_top_level_help_still_lists_every_command() -> None:
    _, out = imported_modules("--help")
    for command in ("login", "list", "upload", "queue", "local-stack", "trash", "doctor"):
        assert f"    {command} " in out


def test_a_library_command_loads_no_sign_in_extras_or_upload_engine() -> None:
    """What `list`/`get` load before their first request: the API client and the sign-in
    session, without the browser sign-in (authlib), the QR code (segno), the SRP proof
    (pycognito), the Cognito client (boto3: loaded by the token refresh itself), the upload
    engine, PyAV or Qt."""
    code = (
        "import sys\n"
        "from medispecs_desktop.cli import account\n"
        "from medispecs_desktop.core.api import ApiClient\n"
        "from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore\n"
        "from medispecs_desktop.core.config import Settings\n"
        "s = Settings(api_url='https://api.example.org', region='eu-central-1',\n"
        "             user_pool_id='eu-central-1_x', client_id='c')\n"
        "ApiClient(s, CognitoAuth(s, MemoryTokenStore())).close()\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDISPECS_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = set(proc.stdout.split())
    assert {"medispecs_desktop.core.auth.session", "requests"} <= names
    unwanted = ("authlib", "segno", "pycognito", "boto3", "av", "PySide6", "moto",
                "medispecs_desktop.core.uploads.engine", "medispecs_desktop.core.auth.pkce",
                "medispecs_desktop.core.auth.cognito")
    loaded = sorted(n for n in names if n in unwanted or n.split(".")[0] in unwanted)
    assert loaded == []
