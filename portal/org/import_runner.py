"""Who applies a previewed web HR import: the job queue, registered here by portal.wiring.

The queue sits above org in the layers, so org cannot start a job itself; the wiring hands it the
job's start and announce functions, as it hands job kinds to the queue.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from portal.core.refusals import Refusal


class ImportAlreadyRunning(Refusal):
    """Another HR import is being applied; a second one waits until it has finished."""

    def __init__(self, other_job: int | None = None) -> None:
        super().__init__("import_running", other_job=other_job)


@dataclass(frozen=True)
class ImportRunner:
    """start(actor, pending) → job id (queues the apply of the pending upload's previewed plan; flushes,
    never commits, or raises ImportAlreadyRunning); announce(job_id) after the commit."""

    start: Callable
    announce: Callable


_RUNNER: list[ImportRunner] = []


def set_import_runner(runner: ImportRunner) -> None:
    """Let the web import apply its plans through this runner (idempotent)."""
    _RUNNER[:] = [runner]


def import_runner() -> ImportRunner:
    """The registered runner (the app is wired before any request)."""
    return _RUNNER[0]
