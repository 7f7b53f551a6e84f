"""Large exports as jobs: the audit trail and everyone's training status, person by person; the
organisation recount. Each start answers at once and leads to My downloads."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import run_pending
from tests.certificates_fixtures import events
from tests.conftest import csrf_token_from


@pytest.fixture
def app_overrides(queue_by_hand) -> dict:
    """The queue runs by hand (tests/jobs_fixtures.py)."""
    return queue_by_hand


def _latest_job() -> Job:
    db.session.expire_all()
    return db.session.scalars(select(Job).order_by(Job.id.desc())).first()


def _download(client, job) -> bytes:
    response = client.get(f"/downloads/{job.id}/file")
    data = response.get_data()
    response.close()
    assert response.status_code == 200, response.status_code
    return data


def test_an_auditor_exports_the_filtered_trail_in_the_background(app, client, login, org):
    login(org.auditor)
    page = client.get("/audit/?action=auth.*").get_data(as_text=True)
    assert 'action="/audit/export-job"' in page and 'name="action" value="auth.*"' in page
    token = csrf_token_from(client, "/audit/")
    response = client.post("/audit/export-job", data={"csrf_token": token, "action": "auth.*", "format": "csv"})
    assert response.status_code == 302 and "/downloads/" in response.headers["Location"]
    job = _latest_job()
    [started] = events("audit.exported")
    assert started.details["filter"] == {"action": "auth.*"} and job.params["event_seq"] == started.seq
    run_pending(app)
    text = _download(client, _latest_job()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "番号" and len(rows) == 1 + started.details["rows"] and started.details["rows"] >= 1
    assert all(row[6].startswith("auth.") for row in rows[1:])  # the sign-in, not the export event itself
    assert [e.actor_id for e in events("job.downloaded")] == [org.auditor.id]


def test_a_refused_audit_export_changes_nothing(app, client, login, org):
    login(org.auditor)
    token = csrf_token_from(client, "/audit/")
    assert client.post("/audit/export-job", data={"csrf_token": token, "format": "pdf"}).status_code == 400
    assert client.post("/audit/export-job", data={"format": "csv"}).status_code == 400  # no token
    bad_date = {"csrf_token": token, "format": "csv", "date_from_year": "2026", "date_from_month": "13",
                "date_from_day": "1"}
    assert client.post("/audit/export-job", data=bad_date).status_code == 400
    assert events("audit.exported") == [] and _latest_job() is None


def test_everyone_s_training_status_person_by_person_in_parts(app, client, login, org, monkeypatch):
    from portal.dashboards import jobs as dashboard_jobs

    monkeypatch.setattr(dashboard_jobs, "DEPARTMENTS_PER_PART", 1)  # two departments: two parts, joined in order
    login(org.training_admin)
    token = csrf_token_from(client, "/dashboards/organisation")
    response = client.post("/dashboards/organisation/people-export", data={"csrf_token": token, "format": "xlsx"})
    assert response.status_code == 302
    run_pending(app)
    job = _latest_job()
    assert (job.state, job.done, job.total) == ("done", 2, 2) and job.result_name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(_download(client, job)), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["部門コード", "社員番号", "氏名"]
    assert sorted((row[0], row[1]) for row in rows[1:]) == [("FRONT", "E4"), ("SALES", "E1"), ("SALES", "E2"),
                                                            ("SALES", "E3")]
    [started] = events("dashboard.exported")
    assert started.details["scope"] == {"job": job.id}


def test_the_recount_runs_as_a_job_and_links_to_the_heat_map(app, client, login, org):
    login(org.training_admin)
    token = csrf_token_from(client, "/dashboards/organisation")
    client.post("/dashboards/organisation/refresh", data={"csrf_token": token})
    run_pending(app)
    [status] = client.get("/downloads/status.json").get_json()["jobs"]
    assert status["state"] == "done" and status["result_url"] == "/dashboards/organisation"
    assert status["download_url"] == ""
    assert "33%" in client.get("/dashboards/organisation").get_data(as_text=True)


def test_the_status_rebuild_can_run_as_a_job(app, org):
    from portal.training.status import check

    result = app.test_cli_runner().invoke(args=["training", "rebuild-status", "--in-background"])
    assert result.exit_code == 0 and "queued" in result.output
    job = _latest_job()
    assert job.state == "queued" and job.kind == "training.rebuild_status"
    run_pending(app)
    assert _latest_job().state == "done" and check(org.today) == []
