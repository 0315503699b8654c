"""Another program holding a write transaction on a queue database (for the "locked" tests)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def hold_write_lock(path: Path) -> subprocess.Popen[str]:
    """Start a process that holds ``BEGIN IMMEDIATE`` on ``path`` until its stdin closes."""
    script = textwrap.dedent(f"""
        import sqlite3, sys
        conn = sqlite3.connect({str(path)!r}, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        print("held", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc
