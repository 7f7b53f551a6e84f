"""The tasks the queue's consumers run, registered with the queue when the app is wired."""
from __future__ import annotations

from portal.core import signals
from portal.jobs import engine, schedules
from portal.jobs.queue import enqueue, register_task
from portal.outbox import sending


def wake_outbox(sender, **_kwargs) -> None:
    """A commit queued mail: a consumer sends it now rather than at the next minute's sweep."""
    enqueue("outbox.drain")


def install_tasks() -> None:
    """Register every task with the queue and wake the outbox after mail is queued (idempotent)."""
    register_task("jobs.run", engine.run_job)
    register_task("outbox.drain", sending.drain_outbox)
    register_task("schedules.run", schedules.run_schedule)
    register_task("jobs.tick", schedules.tick, every_minute=True)
    signals.mail_queued.connect(wake_outbox, weak=False)
