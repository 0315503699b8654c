"""A real uploading process for the crash tests (run as a script, killed with SIGKILL).

    python upload_child.py '{"info": {...stack...}, "db": "...", "paths": [...],
                             "proxy": "http://127.0.0.1:PORT", "hang_before_create": "marker",
                             "username": "optional", "password": "optional"}'

It signs in as the demo user, runs the upload engine on the queue database ``db`` (S3 PUTs go
through the strict proxy), and exits 0 once every job is finished, printing the jobs as JSON.
With ``hang_before_create`` it writes that marker file and blocks forever instead of creating
the video record: the object is complete, the record is not (the test kills it there).
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from medispecs_desktop.core.uploads.engine import UploadEngine
from medispecs_desktop.core.uploads.store import QueueStore
from tests.core.uploads.conftest import TEST_OPTIONS, signed_in_api, stack_settings


class HangBeforeCreate:
    def __init__(self, api: Any, marker: str) -> None:
        self._api = api
        self._marker = marker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def create_video(self, payload: dict[str, Any]) -> Any:
        Path(self._marker).write_text(json.dumps(payload))
        threading.Event().wait()  # until SIGKILL


def main() -> int:
    cfg = json.loads(sys.argv[1])
    info = cfg["info"]
    api: Any
    api, sub = signed_in_api(info, cfg.get("username") or info["username"],
                             cfg.get("password") or info["password"])
    if cfg.get("hang_before_create"):
        api = HangBeforeCreate(api, cfg["hang_before_create"])
    proxy = urlsplit(cfg["proxy"])

    def rewrite(url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((proxy.scheme, proxy.netloc, parts.path, parts.query, ""))

    engine = UploadEngine(
        QueueStore(cfg["db"]), api, sub,
        settings=stack_settings(info, max_parts_in_flight=1),
        options=TEST_OPTIONS, url_rewriter=rewrite, sleep=lambda _s: None,
    )
    engine.start()
    engine.add_paths(cfg.get("paths", []))
    engine.wait_until(lambda jobs: all(j.state.is_terminal for j in jobs), timeout=120)
    engine.stop()
    print(json.dumps([{"id": j.id, "state": j.state.value, "error": j.error,
                       "videoId": j.video_id} for j in engine.jobs()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
