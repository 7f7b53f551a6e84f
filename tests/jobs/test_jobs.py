"""Jobs: parts claimed with leases and taken over when their consumer goes silent, cancel, My downloads
(progress, who may download, expiry after 7 days), failures in words people can read."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import engine, schedules  # noqa: F401  (imported before the clock patches utcnow)
from portal.jobs.engine import LeaseLost, Progress, claim_next_part, new_lease, run_job
from portal.jobs.models import Job, JobPart
from portal.jobs.queries import percent, seconds_left
from portal.jobs.queue import get_queue, run_pending
from portal.jobs.services import announce_job, create_job
from tests.certificates_fixtures import events
from tests.conftest import csrf_token_from


@pytest.fixture
def app_overrides(queue_by_hand) -> dict:
    """The queue runs by hand (tests/jobs_fixtures.py)."""
    return queue_by_hand


T0 = datetime(2026, 4, 1, 3, 0, tzinfo=timezone.utc)


def test_time_left_follows_the_pace_so_far():
    assert seconds_left(10, 40, T0, T0 + timedelta(seconds=20)) == 60  # 2 s each, 30 to go
    assert seconds_left(0, 40, T0, T0 + timedelta(seconds=20)) is None  # too early to say
    assert seconds_left(40, 40, T0, T0 + timedelta(seconds=20)) is None
    assert seconds_left(5, 10, None, T0) is None
    assert (percent(1, 3), percent(3, 3), percent(0, 0)) == (33, 100, 0)


def _recount_job() -> Job:
    job = create_job(None, "dashboards.recount", {"today": "2026-04-01"})
    db.session.commit()
    return job


def test_a_part_whose_consumer_went_silent_is_taken_over_and_the_old_claim_can_no_longer_finish(app, clock):
    job = _recount_job()
    first, second = new_lease(), new_lease()
    part = claim_next_part(job.id, first, clock.now)
    assert part.stage == 0 and part.attempts == 1
    assert claim_next_part(job.id, second, clock.advance(seconds=30)) is None  # alive: nobody else takes it
    clock.advance(seconds=app.config["PORTAL_JOBS_LEASE_SECONDS"] + 1)
    taken = claim_next_part(job.id, second, clock.now)
    assert taken.id == part.id and taken.lease == second and taken.attempts == 2
    with pytest.raises(LeaseLost):  # the first consumer wakes up: its heartbeat tells it to stop
        Progress(job.id, part.id, first).beat()
    with pytest.raises(LeaseLost):
        engine._complete_part(part.id, first, 0)


def test_a_part_that_kills_its_consumer_three_times_fails_the_job(app, clock):
    job = _recount_job()
    for _attempt in range(engine.MAX_ATTEMPTS):
        assert claim_next_part(job.id, new_lease(), clock.now) is not None
        clock.advance(seconds=app.config["PORTAL_JOBS_LEASE_SECONDS"] + 1)
    assert claim_next_part(job.id, new_lease(), clock.now) is None
    db.session.refresh(job)
    assert (job.state, job.error) == ("failed", "stopped")


def test_a_job_runs_stage_by_stage_and_parts_running_elsewhere_are_watched_once(app, org, clock):
    job = _recount_job()
    elsewhere = claim_next_part(job.id, new_lease(), clock.now)  # another consumer plans it
    run_job(job.id)  # nothing to claim: it arranges one look after a lease
    run_job(job.id)  # a second task does not arrange another
    huey, _tasks = get_queue(app)
    assert [task.args for task in huey.pending()] == [(job.id,)] and huey.pending()[0].eta is not None
    engine._execute(engine.kind_named(job.kind), db.session.get(Job, job.id), elsewhere, elsewhere.lease)
    stages = [(p.stage, p.state) for p in db.session.scalars(select(JobPart).order_by(JobPart.stage))]
    assert stages == [(0, "done"), (1, "queued"), (2, "queued")]
    run_job(job.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.state, job.done, job.total) == ("done", 1, 1) and job.finished_at is not None
    assert job.expires_at - job.finished_at == timedelta(days=7)


def test_an_error_in_a_job_fails_it_with_words_for_the_person_and_no_files(app, org, monkeypatch):
    from portal.dashboards import jobs as dashboard_jobs

    def broken(*_args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(dashboard_jobs, "refresh_completion", broken)
    job = _recount_job()
    run_job(job.id)
    db.session.refresh(job)
    assert (job.state, job.error) == ("failed", "error")
    assert not engine.job_dir(job.id).exists()


def _start_zip(client, department="all"):
    token = csrf_token_from(client, "/certificates/export")
    response = client.post("/certificates/export", data={"department": department, "csrf_token": token})
    assert response.status_code == 302
    return db.session.scalars(select(Job).order_by(Job.id.desc())).first()


def test_my_downloads_shows_progress_without_inline_script_and_polls_a_json_status(app, client, login, org):
    login(org.training_admin)
    job = _start_zip(client)
    page = client.get("/downloads/").get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/js/downloads.js" defer>']
    assert f'id="job-{job.id}"' in page and "<progress" in page and 'href="/downloads/"' in page  # refresh link
    assert f'action="/downloads/{job.id}/cancel"' in page
    [status] = client.get("/downloads/status.json").get_json()["jobs"]
    assert (status["id"], status["state"], status["finished"], status["download_url"]) == (job.id, "queued", False, "")
    run_pending(app)
    [status] = client.get("/downloads/status.json").get_json()["jobs"]
    assert status["state"] == "done" and status["download_url"] == f"/downloads/{job.id}/file"
    assert (status["done"], status["total"], status["percent"]) == (1, 1, 100)
    script = client.get("/static/js/downloads.js")
    assert script.status_code == 200 and b"data-status-url" in script.data
    script.close()


def test_only_the_starter_and_admins_download_and_every_download_is_audited(app, client, login, org, make_person):
    login(org.training_admin)
    job = _start_zip(client)
    run_pending(app)
    other_trainer = make_person("T2", roles=("training_admin",), department=org.sales)
    from tests.certificates_fixtures import client_for

    stranger = client_for(app, other_trainer)
    assert stranger.get(f"/downloads/{job.id}/file").status_code == 404
    assert f"job-{job.id}" not in stranger.get("/downloads/").get_data(as_text=True)
    admin = client_for(app, org.admin)
    response = admin.get(f"/downloads/{job.id}/file")
    assert response.status_code == 200 and response.data.startswith(b"PK")
    response.close()
    assert [e.actor_id for e in events("job.downloaded")] == [org.admin.id]
    everyone = admin.get("/downloads/all").get_data(as_text=True)
    assert f"job-{job.id}" in everyone and "佐藤 花子（T1）" in everyone


def test_a_cancelled_job_does_no_more_work_and_keeps_nothing(app, client, login, org):
    login(org.training_admin)
    job = _start_zip(client)
    token = csrf_token_from(client, "/downloads/")
    assert client.post(f"/downloads/{job.id}/cancel", data={"csrf_token": token}).status_code == 302
    run_pending(app)
    db.session.refresh(job)
    assert job.state == "cancelled" and job.result_path == "" and not engine.job_dir(job.id).exists()
    [event] = events("job.cancelled")
    assert event.object_id == str(job.id)
    again = client.post(f"/downloads/{job.id}/cancel", data={"csrf_token": token})
    assert "この処理は既に終わっていました。" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_results_are_deleted_after_seven_days(app, client, login, org, clock):
    login(org.training_admin)
    job = _start_zip(client)
    run_pending(app)
    db.session.refresh(job)
    path = engine.files_dir() / job.result_path
    assert path.is_file()
    clock.advance(days=7, seconds=1)
    assert engine.expire_results(clock.now) == 1
    db.session.refresh(job)
    assert job.state == "expired" and not path.exists()
    from tests.certificates_fixtures import client_for

    browser = client_for(app, org.training_admin)  # a week later: signed in again
    response = browser.get(f"/downloads/{job.id}/file")
    assert response.status_code == 302 and response.headers["Location"] == "/downloads/"
    assert events("job.downloaded") == []
    assert "保存期間は7日です" in browser.get("/downloads/").get_data(as_text=True)


def test_the_job_is_announced_after_the_commit_only(app, org):
    huey, _tasks = get_queue(app)
    job = create_job(None, "dashboards.recount", {"today": "2026-04-01"})
    db.session.rollback()
    assert len(huey.pending()) == 0
    job = _recount_job()
    announce_job(job.id)
    assert [task.args for task in huey.pending()] == [(job.id,)]


def test_the_sweep_finds_jobs_whose_consumer_died_or_whose_message_was_lost_and_leaves_busy_ones(app, clock):
    lease = timedelta(seconds=app.config["PORTAL_JOBS_LEASE_SECONDS"])
    lost = _recount_job()  # announced to nobody
    busy = _recount_job()
    claim_next_part(busy.id, new_lease(), clock.now)
    assert engine.rescue_jobs(clock.now) == []  # a new job's message may still be on its way
    clock.advance(seconds=lease.total_seconds() / 2)
    Progress(busy.id, busy.parts[0].id, db.session.get(JobPart, busy.parts[0].id).lease).beat()
    clock.advance(seconds=lease.total_seconds() / 2 + 1)
    assert engine.rescue_jobs(clock.now) == [lost.id]  # busy beat half a lease ago
    clock.advance(seconds=lease.total_seconds())
    assert sorted(engine.rescue_jobs(clock.now)) == [lost.id, busy.id]  # busy's consumer went silent


def test_the_time_left_reads_as_people_expect(app):
    from portal.jobs.views import job_status

    now = T0 + timedelta(seconds=20)
    job = Job(id=1, kind="certificates.zip", state="running", done=10, total=40, started_at=T0, result_path="",
              error="")
    with app.test_request_context():
        assert (job_status(job, now)["time_left"] == "残り約1分"
                and job_status(job, now)["count_text"] == "40件中10件（25%）")
        job.done = 40
        assert job_status(job, now)["time_left"] == "ファイルをまとめています…"
        job.state, job.done = "queued", 0
        assert job_status(job, now)["time_left"] == ""


def test_the_commands_list_jobs_and_schedule_and_a_worker_needs_a_shared_queue(app, org):
    runner = app.test_cli_runner()
    job = _recount_job()
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0 and f"{job.id}\tdashboards.recount\tqueued\t0/0" in listed.output
    assert "daily at 07:15 JST" in runner.invoke(args=["jobs", "schedule"]).output
    refused = runner.invoke(args=["worker"])
    assert refused.exit_code == 2 and "memory://" in refused.output


@pytest.mark.parametrize("storage", ["sqlite", "redis"])
def test_the_minute_tick_runs_on_the_real_storages(app, tmp_path, storage):
    """The tick a consumer runs every minute must run on Huey's SQLite storage and on Redis 7.0
    (a Huey lock with an expiry is supported by neither; it failed every minute under `make run`)."""
    from portal.jobs.queue import build_huey, get_queue, run_pending

    if storage == "redis":
        import redis

        try:
            redis.Redis.from_url("redis://127.0.0.1:6379", socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.skip("no Redis at 127.0.0.1:6379")
    app.config.update(PORTAL_JOBS_URL="" if storage == "sqlite" else "redis://127.0.0.1:6379",
                      PORTAL_JOBS_SQLITE=str(tmp_path / "jobs.sqlite3"),
                      PORTAL_JOBS_NAME=f"tick-test-{tmp_path.name}")
    app.extensions.pop("portal_queue", None)
    huey, tasks = get_queue(app)
    assert type(huey) is type(build_huey(app))
    try:
        tasks["jobs.tick"]()  # enqueue, as the consumer's scheduler does each minute
        assert run_pending(app) >= 1  # run_pending raises what the task raised
    finally:
        huey.flush()
        app.extensions.pop("portal_queue", None)
