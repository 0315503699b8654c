"""Headless uploads: ``upload PATH... [--wait]`` and ``queue [list|pause|resume|retry|cancel|
next|remove] [JOB|all]`` — the same persistent queue and engine as the app.

The queue lives in the per-user data dir (``uploads.sqlite3``) and belongs to the signed-in
user (``medispecs-desktop login`` first). ``upload`` without ``--wait`` only queues the files
(the app, or a later ``upload --wait``, sends them); ``--wait`` runs the engine until the queue
is finished, printing each file's outcome. ``queue`` commands work while the app is running:
the app's engine notices a pause/cancel before the next part and a resume within seconds.

Only one process sends a queue's bytes (an OS lock next to the queue file, see
``core.uploads.runner_lock``). While the app runs, ``upload`` queues the files for it, and
``upload --wait`` waits for the app to finish them (taking over if the app quits).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from medispecs_desktop.cli.account import Context, UsageError, exit_code_for
from medispecs_desktop.cli.main import EXIT_AUTH, EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from medispecs_desktop.cli.output import safe
from medispecs_desktop.core.config import Paths
from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.formatting import format_size
from medispecs_desktop.core.logs import setup_logging
from medispecs_desktop.core.uploads.jobs import Job, JobState
from medispecs_desktop.core.uploads.presentation import state_text, summarize

if TYPE_CHECKING:  # the engine (requests, urllib3, sqlite) loads when a command runs, not --help
    from medispecs_desktop.core.uploads.engine import UploadEngine
    from medispecs_desktop.core.uploads.progress import ProgressSnapshot

log = logging.getLogger(__name__)

QUEUE_LOCK_WAIT = 5.0  # seconds
QUEUE_ACTIONS = ("list", "pause", "resume", "retry", "cancel", "next", "remove")


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "upload",
        help="queue video files/folders for upload (--wait: upload them now)",
        description=(
            "Queue video files for upload to your MediSpecs library. Folders are searched for "
            "video files (.mp4 .mov .m4v .mkv .avi .mts .m2ts .3gp .webm); other files are "
            "listed as skipped. A file already queued or already in your library is not "
            "uploaded twice. Uploads resume after a crash, a restart or a lost network."
        ),
    )
    up.add_argument("paths", nargs="*", metavar="PATH", help="video files or folders")
    up.add_argument("--wait", action="store_true",
                    help="upload now and wait until the queue is finished")
    up.add_argument("--front", action="store_true", help="put the files first in the queue")
    up.add_argument(
        "--damaged-ok", action="store_true",
        help="keep a recording that turns out damaged (truncated, broken): its bytes are "
             "uploaded and verified as they are and it is marked damaged in your library "
             "(without this option a damaged recording is refused)")
    up.add_argument("--json", action="store_true", help="print the resulting jobs as JSON")
    up.set_defaults(func=_run(cmd_upload))

    q = subparsers.add_parser(
        "queue",
        help="show or control the upload queue",
        description=(
            "list: show your upload jobs. pause/resume/retry/cancel JOB|all: control them "
            "(cancel also removes the partial upload from the cloud). next JOB: upload it "
            "next. remove JOB: forget a finished, failed or cancelled job."
        ),
    )
    q.add_argument("action", nargs="?", default="list", choices=QUEUE_ACTIONS)
    q.add_argument("job", nargs="?", help="job number (from `queue list`) or 'all'")
    q.add_argument("--json", action="store_true", help="print jobs as JSON")
    q.set_defaults(func=_run(cmd_queue))


def _run(handler: Callable[[argparse.Namespace, Context], int]
         ) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        verbose = bool(getattr(args, "verbose", False))
        ctx: Context | None = None
        try:
            paths = Paths.default().ensure()
            setup_logging(paths.log_dir, level=logging.DEBUG if verbose else logging.INFO,
                          console=verbose)
            ctx = Context(args, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)
            return handler(args, ctx)
        except MediSpecsError as exc:
            from medispecs_desktop.core.uploads.store import JobNotFoundError

            print(f"error: {safe(exc)}", file=sys.stderr)
            log.info("%s failed: %s (%s)", getattr(args, "command", "?"), exc, exc.code)
            if isinstance(exc, JobNotFoundError):
                return EXIT_NOT_FOUND
            return exit_code_for(exc)
        except KeyboardInterrupt:
            print("interrupted: unfinished uploads stay queued", file=sys.stderr)
            return 130
        finally:
            if ctx is not None:
                ctx.close()

    return run


def _engine(ctx: Context) -> UploadEngine:
    from medispecs_desktop.core.uploads.engine import UploadEngine
    from medispecs_desktop.core.uploads.store import QueueStore

    user = ctx.signed_in()
    api = ctx.api
    # a queue locked by another program: say who holds it after a short wait, not 30 s
    store = QueueStore(ctx.paths.queue_db, lock_wait=QUEUE_LOCK_WAIT)
    if store.recovery is not None:
        ctx.err(f"warning: {safe(store.recovery)}")
    return UploadEngine(store, api, user.sub, settings=ctx.settings, username=user.username)


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "path": str(job.path),
        "size": job.size,
        "state": job.state.value,
        "videoId": job.video_id,
        "bytesDone": job.bytes_done,
        "error": job.error,
        "errorCode": job.error_code,
        "duplicateOf": job.duplicate_of,
        "damagedOk": job.allow_damaged,
        "sha256": job.sha256,
    }


def _line(job: Job) -> str:
    text = f"{job.id:>4}  {state_text(job):<22} {format_size(job.size):>9}  {safe(job.path)}"
    if job.error and job.state is not JobState.DONE:
        text += f"\n      {safe(job.error)}"
    elif job.error_code in ("duplicate", "deleted_in_cloud") and job.error:
        text += f"\n      {safe(job.error)}"
    return text


def cmd_upload(args: argparse.Namespace, ctx: Context) -> int:
    if not args.paths and not args.wait:
        raise _usage("give at least one PATH, or --wait to upload what is already queued")
    engine = _engine(ctx)
    try:
        ids: list[int] | None = None
        elsewhere = engine.runner_elsewhere()  # the app (or another --wait) runs the queue
        if args.paths:
            result = engine.add_paths(args.paths, front=args.front,
                                      allow_damaged=args.damaged_ok)
            ids = [j.id for j in result.added + result.already_queued]
            if not args.json:
                for path, reason in result.skipped:
                    ctx.err(f"skipped {safe(path)}: {safe(reason)}")
                ctx.out(f"Queued {len(result.added)} file(s)"
                        + (f"; {len(result.already_queued)} already queued"
                           if result.already_queued else "")
                        + ("; the running MediSpecs app will upload them" if elsewhere
                           and not args.wait else "") + ".")
            if not ids and not args.wait:
                return EXIT_ERROR if result.skipped else EXIT_OK
        if not args.wait:
            if args.json:
                ctx.json([job_json(engine.job(i)) for i in ids or []])
            elif not elsewhere:
                ctx.out("Run `medispecs-desktop upload --wait` (or open the app) to upload.")
            return EXIT_OK
        if elsewhere and not args.json:
            ctx.out("The running MediSpecs app is already uploading this queue; waiting for it "
                    "to finish these files.")
        jobs = _wait(engine, ctx, ids, quiet=args.json)
        if args.json:
            ctx.json([job_json(j) for j in jobs])
        if engine.signed_out_elsewhere:  # `logout` (or the app's Sign out) in another process
            if not args.json:
                ctx.out("Signed out — the uploads will resume after sign-in.")
            return EXIT_AUTH
        if not args.json:  # "2 uploaded, 4 already in your library · 202 MB sent"
            ctx.out(summarize(jobs).line() + ".")
        failed = [j for j in jobs if j.state is JobState.FAILED]
        return EXIT_ERROR if failed else EXIT_OK
    finally:
        engine.store.close()


def _wait(engine: UploadEngine, ctx: Context, ids: list[int] | None, *, quiet: bool
          ) -> list[Job]:
    """Run the engine until the jobs (default: the whole queue) are done, failed or paused."""
    reported: dict[int, JobState] = {}
    told: set[int] = set()  # jobs whose "deleted from the cloud; uploading it again" was said
    lock = threading.Lock()

    def on_job(job: Job) -> None:
        if quiet or (ids is not None and job.id not in ids):
            return
        with lock:
            tell = (job.error_code == "deleted_in_cloud" and job.state is not JobState.DONE
                    and job.id not in told)
            if tell:
                told.add(job.id)
            elif reported.get(job.id) is job.state:
                return
            reported[job.id] = job.state
        if tell:
            ctx.out(f"{safe(job.path)}: {safe(job.error)}")
        elif job.state in (JobState.DONE, JobState.FAILED) or job.state.is_waiting:
            ctx.out(_line(job))

    last_percent = [-1]

    def on_progress(snap: ProgressSnapshot) -> None:
        if quiet or not snap.bytes_total or not sys.stderr.isatty():
            return
        percent = int(100 * snap.bytes_done / snap.bytes_total)
        if percent != last_percent[0]:
            last_percent[0] = percent
            speed = f"{snap.speed_bps / 1e6:.1f} MB/s" if snap.speed_bps else ""
            print(f"\r{percent:3d}% {speed:<12}", end="", file=sys.stderr, flush=True)

    engine.subscribe_jobs(on_job)
    engine.subscribe_progress(on_progress)

    def finished(jobs: list[Job]) -> bool:
        if engine.signed_out_elsewhere:
            return True
        wanted = [j for j in jobs if ids is None or j.id in ids]
        return all(j.state.is_terminal or j.state is JobState.PAUSED for j in wanted)

    previous = _install_sigterm()
    engine.start()
    try:
        engine.wait_until(finished)
    finally:
        engine.stop()
        signal.signal(signal.SIGTERM, previous)
    jobs = [j for j in engine.jobs() if ids is None or j.id in ids]
    for job in jobs:  # outcomes the listener did not print (e.g. seen first by the poll)
        on_job(job)
    return jobs


def _install_sigterm() -> Any:
    def on_term(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (in-process tests)
        return signal.getsignal(signal.SIGTERM)


def _usage(message: str) -> MediSpecsError:
    return UsageError(message)


def cmd_queue(args: argparse.Namespace, ctx: Context) -> int:
    if args.action != "list":
        if not args.job:
            raise _usage(f"`queue {args.action}` needs a job number (see `queue list`)")
        if args.job != "all" and not args.job.isdigit():
            raise _usage(f"not a job number: {args.job!r}")
    engine = _engine(ctx)
    try:
        if args.action == "list":
            jobs = engine.jobs()
            if args.json:
                ctx.json([job_json(j) for j in jobs])
            elif not jobs:
                ctx.out("The upload queue is empty.")
            else:
                for job in jobs:
                    ctx.out(_line(job))
            return EXIT_OK
        if args.job == "all":
            if args.action == "pause":
                changed = engine.pause_all()
            elif args.action == "resume":
                changed = engine.resume_all()
            elif args.action == "retry":
                changed = [engine.retry(j.id).id for j in engine.jobs((JobState.FAILED,))]
            else:
                raise _usage(f"`queue {args.action} all` is not supported; name one job")
            done = {"pause": "paused", "resume": "resumed", "retry": "queued again"}
            ctx.out(f"{len(changed)} job(s) {done[args.action]}.")
            return EXIT_OK
        job_id = int(args.job)
        action = {
            "pause": engine.pause,
            "resume": engine.resume,
            "retry": engine.retry,
            "cancel": engine.cancel,
            "next": engine.upload_next,
        }.get(args.action)
        if args.action == "remove":
            engine.remove(job_id)
            ctx.out(f"Job {job_id} removed from the list.")
            return EXIT_OK
        if action is None:  # pragma: no cover - argparse choices
            return EXIT_USAGE
        job = action(job_id)
        if args.json:
            ctx.json(job_json(job))
        else:
            ctx.out(_line(job))
        return EXIT_OK
    finally:
        engine.store.close()
