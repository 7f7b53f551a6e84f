"""What a job kind is: how it plans its parts, does one, and finishes; the registry of kinds.

Features define their kinds next to their own code (certificates/jobs.py, audit/jobs.py, ...);
portal.wiring registers them with register_job_kind when the app is wired.

A part may be done twice (its consumer died and another took it over): work() writes its files
under temporary names renamed when complete, and whatever it writes to the database must be safe
to write again (progress heartbeats commit the transaction).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class PartPlan:
    """One work part: its parameters and how many units (certificates, rows) it holds."""

    params: dict[str, Any]
    total: int


@dataclass(frozen=True)
class JobResult:
    """The file a job made (under its job folder) and the name it downloads as."""

    path: Path
    download_name: str


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its label, and plan(job, progress) → [PartPlan], work(job, part, progress, folder),
    finish(job, progress, folder) → JobResult | None."""

    name: str
    label: Any
    plan: Callable
    work: Callable
    finish: Callable
    #: Errors this kind may report (refusal codes) with the words shown to people.
    messages: dict[str, Any] = field(default_factory=dict)
    #: Where the person goes to see what a job without a file did (an endpoint name), if anywhere.
    result_endpoint: str = ""
    #: summary(job) → the words "My downloads" shows under a finished job that made no file, if any.
    summary: Callable | None = None
    #: False: once a consumer has started it, the job runs to its end (its work cannot be half undone).
    cancellable_while_running: bool = True


class JobError(Exception):
    """A kind's work failed for a reason the person should read: `code` picks the words."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


#: Every kind by name; features' kinds are registered when the app is wired (portal.wiring).
_KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> None:
    """Let the consumers run jobs of this kind (idempotent)."""
    _KINDS[kind.name] = kind


def job_kinds() -> dict[str, JobKind]:
    """Every job kind by name."""
    return _KINDS


def kind_named(name: str) -> JobKind:
    """The kind of that name (KeyError for one this version does not know)."""
    return job_kinds()[name]
