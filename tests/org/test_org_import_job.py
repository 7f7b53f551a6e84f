"""The web HR import's apply as a job: queued at once, applied once by a consumer (even when one dies
mid-apply or two admins apply the same file), failing with words when the organisation changed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import run_pending
from tests.conftest import https_client, sign_in
from tests.org.test_org_web_import import GOOD, _apply_form, _latest_job
from tests.org_fixtures import audit_count, hr_file, people_count, person, row, run_import, upload, write


@pytest.fixture
def app_overrides(import_job_overrides) -> dict:
    """Uploads and job files in this test's folder; the queue runs when the test says (run_pending)."""
    return import_job_overrides

def test_a_change_after_the_job_was_queued_fails_it_and_changes_nothing(app, client, admin, tmp_path):
    upload(client, GOOD.encode("utf-8"))
    response = client.post("/org/import/apply",
                           data=_apply_form(client.get("/org/import/preview").get_data(as_text=True)))
    assert response.status_code == 302
    meanwhile = hr_file(row("M2001", "山崎 健一", department="CUST-FRONT", department_name="お客様フロント部"))
    assert run_import(app, write(tmp_path, meanwhile, name="meanwhile.csv")).exit_code == 0
    run_pending(app)
    job = _latest_job()
    assert (job.state, job.error) == ("failed", "changed_meanwhile")
    assert person("E1001") is None and person("M2001").name == "山崎 健一"
    assert audit_count("org.imported") == 1  # the command line's, not the job's
    assert "確認画面を表示した後に組織情報が変わった" in client.get("/downloads/").get_data(as_text=True)
    assert not (tmp_path / "files" / "jobs" / str(job.id)).exists()


def test_two_admins_applying_the_same_file_import_it_once(app, client, admin, make_person):
    other = https_client(app)
    assert sign_in(other, make_person("S2", roles=("admin",))).status_code == 302
    forms = []
    for browser in (client, other):
        upload(browser, GOOD.encode("utf-8"))
        forms.append(_apply_form(browser.get("/org/import/preview").get_data(as_text=True)))
    assert forms[0]["digest"] == forms[1]["digest"]
    assert client.post("/org/import/apply", data=forms[0]).status_code == 302
    second = other.post("/org/import/apply", data=forms[1])
    assert second.status_code == 302 and second.headers["Location"].endswith("/org/import/preview")
    assert "別の人事データの取り込みを反映しています" in other.get("/org/import/preview").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1
    run_pending(app)
    assert people_count() == 5 and audit_count("org.imported") == 1
    again = other.post("/org/import/apply", data=forms[1])  # once the first is done: its preview is out of date
    assert again.status_code == 302
    run_pending(app)
    assert (_latest_job().state, _latest_job().error) == ("failed", "changed_meanwhile")
    assert people_count() == 5 and audit_count("org.imported") == 1


def test_a_job_queued_twice_for_one_preview_applies_once(app, client, admin):
    from portal.jobs.services import announce_job

    upload(client, GOOD.encode("utf-8"))
    client.post("/org/import/apply", data=_apply_form(client.get("/org/import/preview").get_data(as_text=True)))
    job = _latest_job()
    announce_job(job.id)  # a second message for the same job (a sweep, a retry)
    run_pending(app)
    assert _latest_job().state == "done" and audit_count("org.imported") == 1 and people_count() == 4


class ConsumerKilled(BaseException):
    """What kill -9 looks like from inside: nothing after it runs, the transaction is never committed."""


def test_a_consumer_killed_mid_apply_leaves_nothing_and_the_takeover_applies_once(app, client, clock, admin,
                                                                                   monkeypatch):
    from portal.jobs import org_import
    from portal.jobs.engine import rescue_jobs
    from portal.jobs.queue import enqueue

    real_apply = org_import.apply_sync

    def apply_then_die(*args, **kwargs):
        real_apply(*args, **kwargs)
        assert people_count() == 4  # written in the open transaction…
        raise ConsumerKilled()

    upload(client, GOOD.encode("utf-8"))
    client.post("/org/import/apply", data=_apply_form(client.get("/org/import/preview").get_data(as_text=True)))
    monkeypatch.setattr(org_import, "apply_sync", apply_then_die)
    with pytest.raises(ConsumerKilled):
        run_pending(app)
    db.session.rollback()  # …and lost with the process
    assert people_count() == 1 and audit_count("org.imported") == 0
    monkeypatch.setattr(org_import, "apply_sync", real_apply)
    job = _latest_job()
    assert job.state == "running" and rescue_jobs(clock.now) == []  # its claim still looks alive
    clock.advance(seconds=app.config["PORTAL_JOBS_LEASE_SECONDS"] + 1)
    assert rescue_jobs(clock.now) == [job.id]
    enqueue("jobs.run", job.id)
    run_pending(app)
    job = _latest_job()
    [work] = [part for part in job.parts if part.stage == 1]
    assert job.state == "done" and work.attempts == 2
    assert people_count() == 4 and audit_count("org.imported") == 1 and audit_count("org.roles_changed") == 1


def test_a_running_import_cannot_be_cancelled(app, client, admin):
    from portal.core.refusals import Refusal
    from portal.jobs.engine import claim_next_part, new_lease
    from portal.jobs.services import cancel_job

    upload(client, GOOD.encode("utf-8"))
    client.post("/org/import/apply", data=_apply_form(client.get("/org/import/preview").get_data(as_text=True)))
    job = _latest_job()
    claim_next_part(job.id, new_lease(), job.created_at)
    db.session.refresh(job)
    assert job.state == "running"
    with pytest.raises(Refusal) as refused:
        cancel_job(admin, job)
    assert refused.value.code == "already_started"
    assert 'action="/downloads/%d/cancel"' % job.id not in client.get("/downloads/").get_data(as_text=True)


def test_the_apply_request_queues_the_job_without_planning_the_file_again(app, client, admin, monkeypatch):
    from portal.org import import_views

    upload(client, GOOD.encode("utf-8"))
    html = client.get("/org/import/preview").get_data(as_text=True)

    def plan_50000_rows(*args, **kwargs):
        raise AssertionError("the apply request planned the file again (seconds for a large file)")

    monkeypatch.setattr(import_views, "plan_sync", plan_50000_rows)
    assert client.post("/org/import/apply", data=_apply_form(html)).status_code == 302
    assert _latest_job().state == "queued"


def test_a_consumer_whose_part_was_taken_over_mid_apply_writes_nothing(app, database_url, client, clock, admin,
                                                                        monkeypatch):
    """PostgreSQL: the heartbeat beside the apply finds another consumer's claim and stops the apply."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite: the apply holds the write lock, so no other consumer can take its part meanwhile")
    from portal.jobs import org_import
    from portal.jobs.engine import rescue_jobs
    from portal.jobs.models import JobPart
    from portal.jobs.queue import enqueue

    real_apply = org_import.apply_sync

    def taken_over_meanwhile(*args, **kwargs):
        with db.engine.begin() as other:  # another consumer, as after a long silence, claims the part
            other.execute(JobPart.__table__.update().where(JobPart.job_id == job.id, JobPart.stage == 1)
                          .values(lease="another-consumer", attempts=JobPart.attempts + 1))
        return real_apply(*args, **kwargs)

    upload(client, GOOD.encode("utf-8"))
    client.post("/org/import/apply", data=_apply_form(client.get("/org/import/preview").get_data(as_text=True)))
    job = _latest_job()
    monkeypatch.setattr(org_import, "HEARTBEAT_SECONDS", 0)  # beat at every step of the apply
    monkeypatch.setattr(org_import, "apply_sync", taken_over_meanwhile)
    run_pending(app)
    assert people_count() == 1 and audit_count("org.imported") == 0 and _latest_job().state == "running"
    monkeypatch.setattr(org_import, "apply_sync", real_apply)
    clock.advance(seconds=app.config["PORTAL_JOBS_LEASE_SECONDS"] + 1)  # …and then that consumer died
    assert rescue_jobs(clock.now) == [job.id]
    enqueue("jobs.run", job.id)
    run_pending(app)
    assert _latest_job().state == "done" and people_count() == 4 and audit_count("org.imported") == 1
