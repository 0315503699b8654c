"""The one table of job state changes: which state may follow which, and who makes the move.

Every write of a job's ``state`` goes through :meth:`QueueStore.move` (or its batch form
``transition_all``), which refuses a move that is not an edge of :data:`EDGES` with
:class:`InvalidTransitionError`, inside the same SQLite transaction that writes it: two writers
racing (threads, the app and the CLI) cannot both make a move that only one of them may make.

Each edge is labelled with what makes it. The labels in :class:`Command` are the user's
commands; the user interface and the CLI ask :func:`commands` which of them a row allows,
rather than spelling state lists of their own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.uploads.jobs import (
    ACTIVE_STATES,
    DAMAGED_CODE,
    TERMINAL_STATES,
    WAITING_STATES,
    Job,
    JobState,
)

S = JobState


class InvalidTransitionError(MediSpecsError):
    code = "invalid_transition"


class Command(enum.StrEnum):
    """What the user can ask of one job (the app's row commands, ``queue ACTION JOB``)."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY = "retry"
    UPLOAD_NEXT = "upload_next"
    REMOVE = "remove"
    UPLOAD_DAMAGED = "upload_as_damaged"  # keep a recording refused as damaged, marked damaged


# what the engine itself does (not a user command)
RUN = "run"  # the worker claims a job / moves it through its steps
STOP = "stop"  # the engine stops: the job goes back to the queue
WAIT = "wait"  # a worker found no network, no file or no sign-in; or sign-out parks it
FAIL = "fail"
FINISH = "finish"  # uploaded and recorded, or found already in the library
WAKE = "wake"  # the network/file/sign-in the job waited for is back
RECHECK = "recheck"  # a finished file added again: is its recording still in the cloud?


def _edges() -> list[tuple[JobState, JobState, str]]:
    edges: list[tuple[JobState, JobState, str]] = []
    # the worker claims a queued job (or one a crash interrupted) and walks its steps
    for src in (S.QUEUED, *ACTIVE_STATES):
        edges.append((src, S.HASHING, RUN))
    for src in ACTIVE_STATES:
        edges.append((src, S.UPLOADING, RUN))  # (again, when the cloud copy was refused)
    edges += [(S.HASHING, S.FINALIZING, RUN), (S.UPLOADING, S.FINALIZING, RUN)]
    edges += [(S.HASHING, S.DONE, FINISH), (S.FINALIZING, S.DONE, FINISH)]
    for src in (S.QUEUED, *ACTIVE_STATES):
        edges.append((src, S.FAILED, FAIL))
        for waiting in WAITING_STATES:
            edges.append((src, waiting, WAIT))
    for src in ACTIVE_STATES:
        edges.append((src, S.QUEUED, STOP))
    for src in (S.WAITING_NETWORK, S.WAITING_SOURCE):
        edges.append((src, S.WAITING_SIGN_IN, WAIT))  # signed out while waiting
        edges.append((src, S.QUEUED, WAKE))
    edges.append((S.WAITING_SIGN_IN, S.QUEUED, WAKE))
    # the user adds a file that is done again: the worker checks the recording is still in
    # the cloud (deleted on another computer, purged from the Trash: it is uploaded again)
    edges.append((S.DONE, S.QUEUED, RECHECK))
    # the user's commands
    for src in (S.QUEUED, *ACTIVE_STATES, *WAITING_STATES):
        edges.append((src, S.PAUSED, Command.PAUSE))
    for src in (S.PAUSED, *WAITING_STATES):
        edges.append((src, S.QUEUED, Command.RESUME))
    for src in (S.FAILED, S.CANCELLED):
        edges.append((src, S.QUEUED, Command.RETRY))
    for src in JobState:
        if src not in (S.DONE, S.CANCELLED):
            edges.append((src, S.CANCELLED, Command.CANCEL))
    return edges


EDGES: tuple[tuple[JobState, JobState, str], ...] = tuple(_edges())

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    state: frozenset(dst for src, dst, _by in EDGES if src is state) for state in JobState
}


def allowed(src: JobState, dst: JobState) -> bool:
    return dst in TRANSITIONS[src]


def sources(dst: JobState) -> frozenset[JobState]:
    """Every state from which a job may move to ``dst``."""
    return frozenset(src for src in JobState if allowed(src, dst))


def check(job_id: int | None, src: JobState, dst: JobState,
          expect: Iterable[JobState] | None = None) -> None:
    """Raise :class:`InvalidTransitionError` unless ``src`` → ``dst`` is an edge (and ``src``
    is one of ``expect``, when the caller requires more)."""
    who = "A job" if job_id is None else f"Job {job_id}"
    wanted = None if expect is None else tuple(expect)
    if wanted is not None and src not in wanted:
        raise InvalidTransitionError(
            f"{who} is {src.label.lower()}, not "
            + " or ".join(s.label.lower() for s in wanted) + ".")
    if not allowed(src, dst):
        raise InvalidTransitionError(
            f"{who} is {src.label.lower()}: it cannot become {dst.label.lower()}.")


def commands(state: JobState) -> frozenset[Command]:
    """The user's commands a job in ``state`` allows (read from the table)."""
    out = {Command(by) for src, _dst, by in EDGES if src is state and by in set(Command)}
    if state not in TERMINAL_STATES:
        out.add(Command.UPLOAD_NEXT)  # a reorder, not a state change
    else:
        out.add(Command.REMOVE)  # forget the row: only once nothing moves it any more
    return frozenset(out)


def job_commands(job: Job) -> frozenset[Command]:
    """The commands one job allows: its state's (:func:`commands`), and "upload as damaged"
    for a job refused because its file is a damaged recording (the retry the user consents
    to: the edge it takes is RETRY's)."""
    out = commands(job.state)
    if job.state is S.FAILED and job.error_code == DAMAGED_CODE and Command.RETRY in out:
        out = out | {Command.UPLOAD_DAMAGED}
    return out


def by(command: Command) -> tuple[JobState, ...]:
    """The states from which ``command`` moves a job (its edges' sources), in enum order."""
    return tuple(s for s in JobState if any(src is s and b == command for src, _d, b in EDGES))


def states_allowing(command: Command) -> frozenset[JobState]:
    return frozenset(s for s in JobState if command in commands(s))


def recovered(state: JobState) -> JobState | None:
    """What a job read from a damaged queue becomes in the new one: ``None`` = dropped
    (finished history); a failed job stays failed; any other is queued again."""
    if state in (S.DONE, S.CANCELLED):
        return None
    if state is S.FAILED or state is S.QUEUED:
        return state
    return S.QUEUED
