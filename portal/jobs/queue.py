"""The Huey queue, built from PORTAL_JOBS_URL on first use, with the portal's tasks registered on it.

Huey was chosen because one library covers both sizes: an embedded SQLite storage for one
machine (a file under instance/, the default) and Redis for several hosts, with delayed tasks,
periodic tasks and task locks. The queue only says "look at job 12" or "send the outbox":
what to do, who is doing it and how far it got live in the database (jobs, job_parts,
mail_outbox), so a lost queue message costs a delay (the minute's sweep re-sends it), never work.

PORTAL_JOBS_URL: empty (SQLite file instance/jobs.sqlite3), sqlite:////path/jobs.sqlite3,
redis://host:6379/0, memory:// (one process only: tests) or immediate:// (tasks run at once,
in the caller: tests).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

from portal.extensions import db

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
EXTENSION = "portal_queue"


def build_huey(app: Flask) -> Huey:
    """A Huey instance for the configured storage (nothing is registered on it yet)."""
    url = app.config["PORTAL_JOBS_URL"]
    name = app.config.get("PORTAL_JOBS_NAME", "portal")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False, utc=True)
    if url == "memory://":
        return MemoryHuey(name, results=False, utc=True)
    if url == "immediate://":
        return MemoryHuey(name, results=False, utc=True, immediate=True)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
    elif url == "":
        path = app.config["PORTAL_JOBS_SQLITE"]
    else:
        raise ValueError(f"PORTAL_JOBS_URL must be empty, sqlite:///…, redis://… or memory://, not {url!r}")
    # WAL and a busy timeout: web processes enqueue while consumers dequeue.
    return SqliteHuey(name, filename=path, results=False, utc=True, timeout=10)


def _in_app(app: Flask, func: Callable) -> Callable:
    """A task body that runs in an app context of its own (own database session), whoever calls it."""

    def run(*args):
        with app.app_context():
            try:
                return func(*args)
            finally:
                db.session.remove()

    run.__name__ = func.__name__
    return run


#: Task name → (function, every minute under the tick lock?); filled by register_task when the app is wired
#: (portal.jobs.tasks), so this module imports none of the code its consumers run.
_TASKS: dict[str, tuple[Callable, bool]] = {}


def register_task(name: str, func: Callable, *, every_minute: bool = False) -> None:
    """Let the consumers run `func` as the task `name` (every minute, one consumer at a time, if asked)."""
    _TASKS[name] = (func, every_minute)


def _register(huey: Huey, app: Flask) -> dict:
    tasks = {}
    for name, (func, every_minute) in _TASKS.items():
        if every_minute:
            # Every minute on every consumer: cheap, and whichever consumer is alive does the sweeping.
            # No Huey lock: the database decides what runs once (conditional claims, one schedule row per
            # task and day), and a lock with an expiry is not supported by Huey's SQLite storage nor by
            # its Redis storage before Redis 7.4 (a lock without one would outlive a killed consumer).
            tasks[name] = huey.periodic_task(crontab(minute="*"), name=name)(_in_app(app, func))
        else:
            tasks[name] = huey.task(name=name)(_in_app(app, func))
    return tasks


def get_queue(app: Flask | None = None) -> tuple[Huey, dict]:
    """The app's Huey instance and its tasks by name (built once per app)."""
    app = app or current_app._get_current_object()
    queue = app.extensions.get(EXTENSION)
    if queue is None:
        with _LOCK:
            queue = app.extensions.get(EXTENSION)
            if queue is None:
                huey = build_huey(app)
                queue = app.extensions[EXTENSION] = (huey, _register(huey, app))
    return queue


def enqueue(name: str, *args, delay: float | None = None) -> bool:
    """Put one task on the queue (after the commit that made its rows); False when the queue is down.

    A failure is logged, never raised: the rows are committed, and the minute's sweep on any
    consumer finds work that no message announced.
    """
    huey, tasks = get_queue()
    try:
        if delay:
            tasks[name].schedule(args=args, delay=delay)
        else:
            tasks[name](*args)
    except Exception:  # noqa: BLE001 - Redis down, SQLite locked: the sweep catches up
        if huey.immediate:
            raise
        log.exception("could not enqueue %s%r; the next sweep will pick it up", name, args)
        return False
    return True


def run_pending(app: Flask, limit: int = 10_000) -> int:
    """Run the queued tasks that are due, here and now, until none is left; errors are raised (tests).

    Delayed tasks that are not due yet go (back) to the schedule, as a consumer would leave them.
    """
    huey, _tasks = get_queue(app)
    ran = 0
    while ran < limit:
        task = huey.dequeue()
        if task is None:
            break
        if not huey.ready_to_run(task):
            huey.add_schedule(task)
            continue
        task.execute()
        ran += 1
    return ran
