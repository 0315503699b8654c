"""How the upload queue reads in the app (Qt-free): the words for a job's state and error,
what quitting asks, and the order of the list. (Which command a state allows is the
transition table's: :func:`medispecs_desktop.core.uploads.states.commands`.)"""

from __future__ import annotations

from medispecs_desktop.core.formatting import plural
from medispecs_desktop.core.messages import describe_job_error
from medispecs_desktop.core.uploads.jobs import (
    RUNNABLE_STATES,
    TERMINAL_STATES,
    Job,
    JobState,
)
from medispecs_desktop.core.uploads.scanner import (
    REASON_HIDDEN,
    REASON_HIDDEN_FOLDER,
    REASON_NOT_VIDEO,
    REASON_SYSTEM,
)

BUSY_STATES = frozenset(RUNNABLE_STATES | {JobState.WAITING_NETWORK, JobState.WAITING_SOURCE})
FINISHED = frozenset({JobState.DONE, JobState.CANCELLED})


def quit_question(count: int, *, demo: bool = False) -> str:
    """What quitting asks while ``count`` uploads are in progress."""
    if demo:  # the in-memory demo cloud ends with the app: nothing continues later
        return (f"{count} upload{'s are' if count != 1 else ' is'} in progress. This is the "
                "demo: it keeps nothing, so unfinished uploads are lost when you quit. Quit now?")
    if count == 1:
        return ("1 upload is in progress. It will continue the next time you open MediSpecs. "
                "Quit now?")
    return (f"{count} uploads are in progress. They will continue the next time you open "
            "MediSpecs. Quit now?")


def state_text(job: Job) -> str:
    if job.state is JobState.DONE and job.error_code == "duplicate":
        return "Already in your library"
    if job.state is JobState.DONE and job.media.get("damaged"):
        return "Done (kept as damaged)"
    return job.state.label


def error_text(job: Job) -> str:
    """The job's problem in words ("" when there is none to show)."""
    if job.state is JobState.DONE or not job.error:
        return ""
    return describe_job_error(job.error, job.error_code)


def list_order(job: Job) -> tuple[int, float, int]:
    """Jobs still to do above finished ones (done, failed, cancelled), each group in queue
    order: a long list of finished uploads never pushes the running ones out of view."""
    return (1 if job.state in TERMINAL_STATES else 0, job.position, job.id)


def batch_summary(jobs: list[Job]) -> str:
    """What a finished batch reports: every file of it counted once, so the sentence adds
    up to the status bar's "Uploaded N of N" (duplicates are done, not uploaded again)."""
    uploaded = sum(1 for j in jobs if j.state is JobState.DONE and j.error_code != "duplicate")
    already = sum(1 for j in jobs if j.state is JobState.DONE and j.error_code == "duplicate")
    failed = sum(1 for j in jobs if j.state is JobState.FAILED)
    parts = [f"{plural(uploaded, 'recording')} uploaded"]
    if already:
        parts.append(f"{already} already in your library")
    if failed:
        parts.append(f"{failed} failed")
    return ", ".join(parts) + "."


HARMLESS_SKIPS = frozenset({REASON_HIDDEN, REASON_HIDDEN_FOLDER, REASON_SYSTEM, REASON_NOT_VIDEO})


def is_harmless(reason: str) -> bool:
    """A skip that needs no attention: the file is not a video (or hidden, or the
    system's), as on every card (NOTES.TXT, .DS_Store)."""
    return reason in HARMLESS_SKIPS
