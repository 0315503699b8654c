"""How the upload queue reads in the app (Qt-free): the words for a job's state and error,
what quitting asks, and the order of the list. (Which command a state allows is the
transition table's: :func:`medispecs_desktop.core.uploads.states.commands`.)"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from medispecs_desktop.core.formatting import format_size, plural
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


def is_duplicate(job: Job) -> bool:
    """The job ended without sending its bytes: the same file is already in the library."""
    return job.state is JobState.DONE and job.error_code == "duplicate"


@dataclass(frozen=True)
class BatchSummary:
    """What a batch of files came to, honestly: files really uploaded (and their bytes),
    files that were already in the library (nothing sent), files that failed."""

    uploaded: int = 0
    already: int = 0
    failed: int = 0
    bytes_sent: int = 0

    def sentence(self, noun: str | None = None) -> str:
        """``"2 uploaded, 4 already in your library"`` (``noun``: "2 recordings uploaded…")."""
        first = plural(self.uploaded, noun) if noun else str(self.uploaded)
        parts = [f"{first} uploaded"]
        if self.already:
            parts.append(f"{self.already} already in your library")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return ", ".join(parts)

    def line(self) -> str:
        """The sentence and the bytes really sent: ``"2 uploaded, … · 202 MB sent"``."""
        return f"{self.sentence()} · {format_size(self.bytes_sent)} sent"


def summarize(jobs: Iterable[Job]) -> BatchSummary:
    uploaded = already = failed = sent = 0
    for job in jobs:
        if is_duplicate(job):
            already += 1
        elif job.state is JobState.DONE:
            uploaded += 1
            sent += job.size
        elif job.state is JobState.FAILED:
            failed += 1
    return BatchSummary(uploaded, already, failed, sent)


def batch_totals(jobs: Iterable[Job], bytes_done: Callable[[Job], int]
                 ) -> tuple[int, int, int, int]:
    """Files done/total and bytes done/total of a batch, counting only what is really sent:
    cancelled files and files found already in the library (no byte sent) are left out, so
    a batch of 6 with 4 already there reads "Uploaded 2 of 2", with those 2 files' bytes."""
    counted = [j for j in jobs if j.state is not JobState.CANCELLED and not is_duplicate(j)]
    files_done = sum(1 for j in counted if j.state is JobState.DONE)
    return (files_done, len(counted), sum(bytes_done(j) for j in counted),
            sum(j.size for j in counted))


def batch_summary(jobs: list[Job]) -> str:
    """What a finished batch reports, every file of it counted once: "2 recordings
    uploaded, 4 already in your library." (the status bar counts the 2 really sent)."""
    return summarize(jobs).sentence("recording") + "."


HARMLESS_SKIPS = frozenset({REASON_HIDDEN, REASON_HIDDEN_FOLDER, REASON_SYSTEM, REASON_NOT_VIDEO})


def is_harmless(reason: str) -> bool:
    """A skip that needs no attention: the file is not a video (or hidden, or the
    system's), as on every card (NOTES.TXT, .DS_Store)."""
    return reason in HARMLESS_SKIPS
