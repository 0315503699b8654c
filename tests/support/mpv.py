"""mpv driven over its JSON IPC, for the benchmarks that compare the player with it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


class MpvIpc:
    """mpv started paused on ``url`` (no audio, no window) with ``args``; :meth:`command`
    sends one IPC command and returns its answer's data."""

    def __init__(self, url: str, folder: Path, args: list[str]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.sock_path = str(folder / "mpv.sock")
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        self.proc = subprocess.Popen(
            ["mpv", "--no-config", "--really-quiet", "--no-audio", "--pause", "--keep-open=yes",
             "--hr-seek=yes", "--vo=null", *args, f"--input-ipc-server={self.sock_path}", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.sock_path):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("mpv did not start")
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.sock_path)
        self.buffer = b""
        self.request_id = 0

    def command(self, *args: Any) -> Any:
        self.request_id += 1
        self.sock.sendall(json.dumps({"command": list(args),
                                      "request_id": self.request_id}).encode() + b"\n")
        while True:
            while b"\n" not in self.buffer:
                self.buffer += self.sock.recv(65536)
            line, self.buffer = self.buffer.split(b"\n", 1)
            msg = json.loads(line)
            if msg.get("request_id") == self.request_id:
                return msg.get("data")

    def wait_loaded(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.command("get_property", "duration") is None:
            if time.monotonic() > deadline:
                raise RuntimeError("mpv did not load the clip")
            time.sleep(0.05)

    def close(self) -> None:
        try:
            self.command("quit")
        except OSError:
            pass
        self.proc.wait(timeout=10)
