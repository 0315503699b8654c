#!/usr/bin/env python3
"""Refresh docs/screenshot.png: the real app, signed in to its demo stack, in a private Xvfb.

    .venv/bin/python packaging/make_screenshot.py [--out docs/screenshot.png] [--delay-ms 3000]

Starts ``Xvfb`` (Debian package ``xvfb``) on a free display, runs ``medispecs-desktop --local``
there with the xcb platform and a fresh, throw-away settings directory, lets it sign in with the
demo account (``MEDISPECS_AUTOLOGIN=1``, honoured in demo mode only), waits ``--delay-ms`` for
the views to load, and saves the window as the screen shows it (``QScreen.grabWindow``). It is a
script, not a test: it writes a tracked file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout: tests.support is importable
    sys.path.insert(0, str(ROOT))

from tests.support.xvfb import start_xvfb, stop_xvfb  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--size", default="1600x1000",
                        help="screen size WxH (default 1600x1000; the window takes 85 %%)")
    parser.add_argument("--delay-ms", type=int, default=3000,
                        help="wait after sign-in before the grab (default 3000)")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    try:
        xvfb, display = start_xvfb(args.size)
    except RuntimeError as exc:  # not installed, or no display would start
        raise SystemExit(str(exc)) from None
    try:
        with tempfile.TemporaryDirectory(prefix="medispecs-shot-") as home:
            env = dict(os.environ)
            env.update({
                "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "MEDISPECS_HOME": home,
                "MEDISPECS_AUTOLOGIN": "1", "MEDISPECS_TEST_EVENTS": "1",
                "MEDISPECS_SCREENSHOT_TO": str(out),
                "MEDISPECS_SCREENSHOT_DELAY_MS": str(args.delay_ms),
                "MEDISPECS_EXIT_ON": "screenshot_saved",
                "QT_LOGGING_RULES": "qt.*=false",
            })
            for var in ("MEDISPECS_API_URL", "MEDISPECS_USER_POOL_ID", "MEDISPECS_CLIENT_ID",
                        "MEDISPECS_COGNITO_ENDPOINT"):
                env.pop(var, None)
            try:
                result = subprocess.run(
                    [sys.executable, "-m", "medispecs_desktop", "--local"], cwd=ROOT, env=env,
                    stdin=subprocess.DEVNULL, capture_output=True, text=True,
                    timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"the app did not finish within {args.timeout:.0f} s", file=sys.stderr)
                return 1
            events = [line.split()[1] for line in result.stdout.splitlines()
                      if line.startswith("medispecs-event: ")]
            if result.returncode != 0 or "screenshot_saved" not in events:
                log = Path(home) / "logs" / "medispecs-desktop.log"
                tail = log.read_text(encoding="utf-8")[-3000:] if log.exists() else ""
                print(f"screenshot failed (exit {result.returncode}, events {events})\n"
                      f"{result.stderr[:3000]}\n{tail}", file=sys.stderr)
                return 1
    finally:
        stop_xvfb(xvfb)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
