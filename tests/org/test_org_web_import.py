"""The HR import in the web UI: upload, preview, apply exactly what was previewed (as a job the test's
queue runs by hand: the request itself changes nothing), refusals."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import run_pending
from portal.org.uploads import MAX_UPLOAD_BYTES
from tests.conftest import csrf_token_from, https_client, sign_in
from tests.org_fixtures import (
    audit_count,
    hr_file,
    multipart,
    people_count,
    person,
    row,
    run_import,
    upload,
    write,
)

GOOD = hr_file(
    row("E1001", "髙橋 優子", "たかはし ゆうこ", department="CUST-FRONT", department_name="お客様フロント部"),
    row("M2001", "山﨑 健一", "やまさき けんいち", department="CUST-FRONT", department_name="お客様フロント部",
        roles="manager", manages="CUST-FRONT"),
    row("G4001", "𠮷田 誠", "よしだ まこと", department="AG1", department_name="東北販売株式会社", kind="agency"),
)


@pytest.fixture
def app_overrides(import_job_overrides) -> dict:
    """Uploads and job files in this test's folder; the queue runs when the test says (run_pending)."""
    return import_job_overrides


def _latest_job() -> Job | None:
    db.session.expire_all()
    return db.session.scalars(select(Job).order_by(Job.id.desc())).first()


def _apply_form(html: str) -> dict:
    fields = dict(re.findall(r'name="(csrf_token|token|digest)" type="hidden" value="([^"]*)"', html))
    assert {"csrf_token", "token", "digest"} <= fields.keys(), "no apply form on the page"
    return fields


def _uploaded_files(tmp_path):
    folder = tmp_path / "org_imports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_preview_shows_the_changes_and_applies_nothing_until_asked(app, client, admin, tmp_path):
    response = upload(client, GOOD.encode("utf-8"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/org/import/preview")
    preview = client.get("/org/import/preview")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "髙橋 優子（E1001）" in html and "𠮷田 誠（G4001）" in html
    assert "山﨑 健一（M2001）" in html and "管理者" in html  # the grant is shown before it happens
    assert "販売委託会社" in html
    assert people_count() == 1 and audit_count("org.imported") == 0  # only the admin, nothing applied yet
    assert len(_uploaded_files(tmp_path)) == 2

    applied = client.post("/org/import/apply", data=_apply_form(html))
    assert applied.status_code == 302 and applied.headers["Location"].endswith("/downloads/")
    assert people_count() == 1 and audit_count("org.imported") == 0  # queued, not applied in the request
    job = _latest_job()
    assert (job.kind, job.state, job.started_by_id) == ("org.import", "queued", admin.id)
    assert _uploaded_files(tmp_path) == [] and (tmp_path / "files" / "jobs" / str(job.id) / "hr-upload.csv").exists()
    assert "取り込みを開始しました" in client.get("/downloads/").get_data(as_text=True)
    run_pending(app)
    job = _latest_job()
    assert (job.state, job.done, job.total) == ("done", 7, 7)  # 2 departments, 3 people, 1 role, 1 manages
    assert not (tmp_path / "files" / "jobs" / str(job.id) / "hr-upload.csv").exists()  # personal data goes
    assert people_count() == 4
    assert person("M2001").roles == {"employee", "manager"}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "org.imported")).one()
    assert event.actor_id == admin.id and event.object_id == "hr.csv" and event.details["new_people"] == 3
    assert event.details["job"] == job.id
    roles_event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "org.roles_changed")).one()
    assert roles_event.actor_id == admin.id
    assert audit_count("org.import_started") == 1
    downloads = client.get("/downloads/").get_data(as_text=True)
    assert "hr.csv を取り込みました" in downloads and "新しい社員 3" in downloads


def test_applying_twice_does_not_import_twice(app, client, admin):
    upload(client, GOOD.encode("utf-8"))
    form = _apply_form(client.get("/org/import/preview").get_data(as_text=True))
    assert client.post("/org/import/apply", data=form).status_code == 302
    run_pending(app)
    events = audit_count()
    again = client.post("/org/import/apply", data=form)
    assert again.status_code == 302 and again.headers["Location"].endswith("/org/import")
    assert audit_count() == events


def test_a_bad_file_lists_every_line_and_keeps_nothing(app, client, admin, tmp_path):
    bad = hr_file(row("E1"), row("E2", email="nope"), row("E3", roles="root"), row("E1"))
    response = upload(client, bad.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "3行目: メールアドレス「nope」の形式が正しくありません" in html
    assert "4行目: 役割「root」はありません" in html
    assert "5行目: employee_no「E1」が重複しています（最初は2行目）" in html
    assert "3 件の問題" in html
    assert people_count() == 1 and audit_count("org.imported") == 0
    assert _uploaded_files(tmp_path) == []


def test_cp932_upload_with_the_encoding_choice(app, client, admin):
    in_cp932 = GOOD.replace("𠮷", "吉").encode("cp932")  # 𠮷 has no CP932 code
    upload(client, in_cp932, encoding="cp932")
    html = client.get("/org/import/preview").get_data(as_text=True)
    assert "髙橋 優子（E1001）" in html and "山﨑 健一（M2001）" in html
    wrong = upload(client, in_cp932, encoding="utf-8")
    assert wrong.status_code == 422 and "UTF-8 として読めない" in wrong.get_data(as_text=True)


def test_a_change_after_the_preview_fails_the_job_and_a_new_upload_shows_the_new_plan(app, client, admin, tmp_path):
    upload(client, GOOD.encode("utf-8"))
    form = _apply_form(client.get("/org/import/preview").get_data(as_text=True))
    meanwhile = hr_file(row("M2001", "山崎 健一", department="CUST-FRONT", department_name="お客様フロント部"))
    assert run_import(app, write(tmp_path, meanwhile, name="meanwhile.csv")).exit_code == 0
    assert client.post("/org/import/apply", data=form).status_code == 302  # answers at once: the job checks
    run_pending(app)
    assert (_latest_job().state, _latest_job().error) == ("failed", "changed_meanwhile")
    assert person("E1001") is None and person("M2001").name == "山崎 健一"
    upload(client, GOOD.encode("utf-8"))
    html = client.get("/org/import/preview").get_data(as_text=True)
    assert "山崎 健一 → 山﨑 健一" in html  # the new preview compares with the new state
    assert client.post("/org/import/apply", data=_apply_form(html)).status_code == 302
    run_pending(app)
    assert person("M2001").name == "山﨑 健一" and person("E1001") is not None


def test_a_form_from_an_older_preview_shows_the_preview_again(app, client, admin, tmp_path):
    upload(client, GOOD.encode("utf-8"))
    form = _apply_form(client.get("/org/import/preview").get_data(as_text=True))
    meanwhile = hr_file(row("M2001", "山崎 健一", department="CUST-FRONT", department_name="お客様フロント部"))
    assert run_import(app, write(tmp_path, meanwhile, name="meanwhile.csv")).exit_code == 0
    assert "山崎 健一 → 山﨑 健一" in client.get("/org/import/preview").get_data(as_text=True)  # another tab
    stale = client.post("/org/import/apply", data=form)
    assert stale.status_code == 409 and "組織情報が変わったため" in stale.get_data(as_text=True)
    assert _latest_job() is None and person("E1001") is None


def test_another_admins_token_is_useless(app, client, admin, make_person):
    upload(client, GOOD.encode("utf-8"))
    form = _apply_form(client.get("/org/import/preview").get_data(as_text=True))
    second = https_client(app)
    assert sign_in(second, make_person("S2", roles=("admin",))).status_code == 302
    form["csrf_token"] = csrf_token_from(second, "/org/import")
    response = second.post("/org/import/apply", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/org/import")
    assert person("E1001") is None and audit_count("org.imported") == 0


@pytest.mark.parametrize("size", [MAX_UPLOAD_BYTES + 1, 11 * 1024 * 1024])
def test_a_file_over_10_mb_is_refused_with_a_clear_message(app, client, admin, tmp_path, size):
    big = GOOD.encode("utf-8") + b"x" * (size - len(GOOD.encode("utf-8")))
    response = upload(client, big)
    assert response.status_code == 413
    assert "10 MBを超えています" in response.get_data(as_text=True)
    assert _uploaded_files(tmp_path) == [] and people_count() == 1


def test_upload_without_csrf_token_is_refused(app, client, admin, tmp_path):
    body, content_type = multipart({"encoding": "utf-8"}, "file", GOOD.encode("utf-8"), "hr.csv")
    response = client.post("/org/import", data=body, content_type=content_type)
    assert response.status_code == 400
    assert _uploaded_files(tmp_path) == []


def test_cancel_discards_the_upload(app, client, admin, tmp_path):
    upload(client, GOOD.encode("utf-8"))
    token = csrf_token_from(client, "/org/import/preview")
    assert client.post("/org/import/cancel", data={"csrf_token": token}).status_code == 302
    assert _uploaded_files(tmp_path) == []
    assert client.get("/org/import/preview").status_code == 302
    assert people_count() == 1


def test_deactivate_missing_from_the_web_ends_sessions_and_keeps_the_person(app, client, admin, make_person):
    leaver = make_person("L1", name="退職 予定", name_kana="たいしょく よてい")
    browser = https_client(app)
    assert sign_in(browser, leaver).status_code == 302 and browser.get("/").status_code == 200
    keep_admin = row("S6001", "渡辺 聡", "わたなべ さとし", department="D1", department_name="D1部", roles="admin")
    upload(client, (GOOD + keep_admin + "\r\n").encode("utf-8"), deactivate=True)
    html = client.get("/org/import/preview").get_data(as_text=True)
    assert "退職 予定（L1）" in html and "無効化" in html
    assert client.post("/org/import/apply", data=_apply_form(html)).status_code == 302
    assert person("L1").active is True and browser.get("/").status_code == 200  # not yet: the job applies it
    run_pending(app)
    assert person("L1").active is False
    assert browser.get("/").status_code == 302


@pytest.mark.parametrize("method, url", [
    ("POST", "/org/import"), ("POST", "/org/import/apply"), ("POST", "/org/import/cancel"),
    ("GET", "/org/import"), ("GET", "/org/import/preview"),
])
def test_auditor_and_training_admin_cannot_import(app, client, make_person, login, method, url):
    login(make_person("A1", roles=("auditor", "training_admin", "manager")))
    token = csrf_token_from(client, "/")
    response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
    assert response.status_code == 403


def test_an_upload_expires_by_the_portal_clock_not_by_the_file_time(app, clock):
    """Six hours after the upload (by the clock the preview judges by) it is gone; a newer one stays."""
    from portal.org.uploads import load_pending, save_pending, upload_dir

    with app.app_context():
        old = save_pending(1, GOOD.encode("utf-8"), "old.csv", "utf-8", False)
        clock.advance(hours=5, minutes=59)
        assert load_pending(old, 1) is not None
        clock.advance(minutes=2)
        new = save_pending(1, GOOD.encode("utf-8"), "new.csv", "utf-8", False)  # purges what is stale
        assert sorted(path.name for path in upload_dir().iterdir()) == sorted([f"{new}.csv", f"{new}.json"])
        assert load_pending(new, 1).filename == "new.csv"
