"""``medispecs-desktop local-stack`` as a real child process: one JSON line on stdout, loopback
only, and a clean exit 0 with no process left behind on SIGTERM, SIGINT or stdin EOF."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from medispecs_desktop.local.child import stack_stderr, start_stack_process, stop_stack_process


def _listening(pid: int) -> list[tuple[str, int]]:
    return [(c.laddr.ip, c.laddr.port) for c in psutil.Process(pid).net_connections("inet")
            if c.status == psutil.CONN_LISTEN]


@pytest.mark.parametrize("how", ["SIGTERM", "stdin-eof"])
def test_cli_prints_one_line_serves_and_stops_cleanly(how: str) -> None:
    proc, info = start_stack_process(["--no-samples"])
    try:
        assert info["demo"] is True and info["note"] == "in-memory demo: nothing is stored"
        api_port = int(info["apiUrl"].rsplit(":", 1)[1])
        moto_port = int(info["awsEndpoint"].rsplit(":", 1)[1])
        listening = _listening(proc.pid)
        assert {port for _, port in listening} >= {api_port, moto_port}
        assert all(ip == "127.0.0.1" for ip, _ in listening), listening
        r = requests.get(info["apiUrl"] + "/nope", timeout=10)
        assert r.json() == {"message": "Not Found"}
        children = psutil.Process(proc.pid).children(recursive=True)
        if how == "stdin-eof":
            assert proc.stdin is not None
            proc.stdin.close()
        else:
            proc.send_signal(getattr(signal, how))
        assert proc.wait(20) == 0
        assert proc.stdout is not None
        assert proc.stdout.read() == b""  # nothing after the one JSON line
        log = stack_stderr(proc)
        assert "in-memory demo: nothing is stored" in log
        assert info["password"] not in log
        assert "Traceback" not in log
        assert not [c for c in children if c.is_running()]
        with pytest.raises(requests.ConnectionError):
            requests.get(info["apiUrl"] + "/videos", timeout=2)
        with pytest.raises(requests.ConnectionError):
            requests.get(info["awsEndpoint"], timeout=2)
    finally:
        stop_stack_process(proc)


@pytest.mark.parametrize("host", ["0.0.0.0", "example.org"])
def test_cli_refuses_non_loopback_hosts(host: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "medispecs_desktop", "local-stack", "--host", host],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "loopback only" in result.stderr


def test_cli_rejects_bad_ports() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "medispecs_desktop", "local-stack", "--port", "70000"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "--port must be 0..65535" in result.stderr


def test_cli_port_in_use_is_a_clear_error(local_stack) -> None:
    port = local_stack["apiUrl"].rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "medispecs_desktop", "local-stack", "--no-samples",
         "--port", port],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "could not start" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_exits_when_its_parent_dies() -> None:
    # parent: a small Python process that starts the stack with --exit-with-parent, prints
    # the child's pid, then dies without cleaning up (os._exit)
    script = (
        "import os, subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-m', 'medispecs_desktop', 'local-stack',"
        " '--no-samples', '--exit-with-parent'], stdout=subprocess.PIPE,"
        " stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "line = p.stdout.readline()\n"
        "print(p.pid, flush=True)\n"
        "print(line.decode().strip(), flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=90).stdout.splitlines()
    pid = int(out[0])
    info = json.loads(out[1])
    assert info["demo"] is True
    try:
        child = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return  # already gone: exactly what we want
    try:
        child.wait(20)
    except psutil.TimeoutExpired:
        child.kill()
        pytest.fail("the stack outlived its parent")
