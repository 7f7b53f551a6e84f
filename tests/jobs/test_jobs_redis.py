"""The queue on Redis (several hosts): the same job runs through it; the test uses a queue name of its
own and deletes only that queue's keys (Redis itself is the machine's, already running)."""
from __future__ import annotations

import uuid

import pytest
import redis

from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import get_queue, run_pending
from portal.jobs.services import announce_job, create_job

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def app_overrides(tmp_path) -> dict:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return {"PORTAL_JOBS_URL": REDIS_URL, "PORTAL_JOBS_NAME": f"portal-test-{uuid.uuid4().hex[:12]}",
            "PORTAL_FILES_DIR": str(tmp_path / "files")}


def test_a_job_goes_through_a_redis_queue(app):
    huey, _tasks = get_queue(app)
    try:
        job = create_job(None, "dashboards.recount", {"today": "2026-04-01"})
        db.session.commit()
        announce_job(job.id)
        assert huey.pending_count() == 1
        assert run_pending(app) == 1
        db.session.expire_all()
        assert db.session.get(Job, job.id).state == "done"
    finally:
        huey.flush()  # this test's queue only: its keys carry the test's queue name
    assert not redis.Redis.from_url(REDIS_URL).keys(f"*{app.config['PORTAL_JOBS_NAME']}*")
