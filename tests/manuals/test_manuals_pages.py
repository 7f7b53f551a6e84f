"""Manual pages as people use them: read, see one's due date, compare editions, publish from the UI."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.manuals.models import ManualEdition
from tests.conftest import csrf_token_from
from tests.manuals_fixtures import manual_text, quiz_text, run_publish

EDITION_2_BODY = """# テスト用の手引

## 目的 {#purpose}

この手引は、コラボ事業者の契約者情報を目的外に利用しないための規則を定める。

## 規則 {#rules}

- 業務に必要な範囲でのみ閲覧する。
- 画面を撮影しない。
- 照会は管理者の承認を得て行う。

## 照会 {#lookup}

利用目的を明確にする。
"""


@pytest.fixture
def app_overrides(repo):
    """The publish page reads the test repository, not the real one."""
    return {"PORTAL_MANUALS_DIR": str(repo.manuals), "PORTAL_QUIZZES_DIR": str(repo.quizzes)}


@pytest.fixture
def two_editions(app, repo, make_department, make_person):
    """A manual for department SALES (where S1 works), published twice (edition 2 material)."""
    make_person("S1", department=make_department("SALES"))
    repo.standard(audience="{departments: [SALES]}")
    assert run_publish(app, repo).exit_code == 0
    repo.write_manual("handbook.md", manual_text(edition=2, summary="照会の規則を追加", body=EDITION_2_BODY,
                                                 audience="{departments: [SALES]}"))
    assert run_publish(app, repo).exit_code == 0
    return repo


def _page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def _person(employee_no: str):
    from portal.org.models import Person

    return db.session.scalar(select(Person).where(Person.employee_no == employee_no))


def test_list_shows_my_manuals_first_with_due_dates(client, login, make_person, make_department, two_editions):
    login(_person("S1"))
    page = _page(client, "/manuals/")
    mine = page.index("受講が必要なマニュアル")
    assert mine < page.index("テスト用の手引") and "第2版" in page
    assert "その他のマニュアル" not in page


def test_people_outside_the_audience_see_it_under_other_manuals(client, login, make_person, make_department,
                                                                two_editions):
    login(make_person("O1", department=make_department("OTHER")))
    page = _page(client, "/manuals/")
    assert "受講が必要なマニュアル" not in page and "その他のマニュアル" in page


def test_an_employee_reads_the_current_edition_with_toc_and_due_date(client, login, make_person, two_editions):
    login(_person("S1"))
    page = _page(client, "/manuals/handbook")
    assert '<nav class="manual-toc"' in page and 'href="#lookup"' in page
    assert '<h2 id="lookup">照会' in page
    assert "reader-status" in page and "要受講" in page
    assert "照会の規則を追加" in page  # what changed in this edition
    assert "/manuals/handbook/compare?from=1&amp;to=2" in page


def test_a_person_outside_the_audience_may_still_read(client, login, make_person, make_department, two_editions):
    login(make_person("O1", department=make_department("OTHER")))
    page = _page(client, "/manuals/handbook")
    assert "対象外" in page and "この手引は" in page


def test_an_older_edition_is_marked_superseded(client, login, make_person, two_editions):
    login(make_person("E1"))
    page = _page(client, "/manuals/handbook/editions/1")
    assert "旧版: これは第1版です。現行の版は第2版です。" in page
    assert '<h2 id="lookup">' not in page
    _page(client, "/manuals/handbook/editions/9", 404)
    _page(client, "/manuals/nothing", 404)


def test_compare_marks_sections_and_characters(client, login, make_person, two_editions):
    login(make_person("E1"))
    page = _page(client, "/manuals/handbook/compare?from=1&to=2")
    assert 'id="cmp-lookup"' in page and "diff-section--added" in page
    assert 'id="cmp-rules"' in page and "<ins>・照会は管理者の承認を得て行う。</ins>" in page
    assert "<details" in page and "diff-unchanged" in page  # unchanged sections collapsed
    assert "<ins>" in page and "<del>" in page  # the legend
    assert "照会の規則を追加" in page
    reverse = _page(client, "/manuals/handbook/compare?from=2&to=1")
    assert "diff-section--removed" in reverse
    _page(client, "/manuals/handbook/compare?from=1&to=7", 404)
    _page(client, "/manuals/handbook/compare?from=x", 404)


def test_a_person_who_attested_an_older_edition_sees_what_changed_since(client, login, make_person, two_editions,
                                                                         monkeypatch):
    from portal.manuals import views

    monkeypatch.setattr(views, "last_attested_edition_number", lambda person_id, manual_id: 1)
    login(make_person("E1"))
    page = _page(client, "/manuals/handbook")
    assert "changes-since-title" in page
    assert 'href="#lookup"' in page and "diff-status--added" in page and "diff-status--changed" in page
    since = page[page.index("changes-since-title"):page.index('class="manual-layout"')]
    assert "照会の規則を追加" in since  # the change summary of every edition since the attested one
    assert "/manuals/handbook/compare?from=1&amp;to=2" in page


def test_reading_page_needs_a_fixed_number_of_queries(client, login, make_person, two_editions, app, count_queries):
    login(make_person("E1"))
    with count_queries() as statements:
        _page(client, "/manuals/handbook")
    assert len(statements) <= 12  # the manual, its editions, the assignment, the training include's few


def test_training_admin_previews_and_publishes_from_the_ui(client, login, make_person, repo, make_department):
    make_department("SALES")
    repo.standard(audience="{departments: [SALES]}")
    admin = make_person("T1", roles=("training_admin",))
    login(admin)
    preview = _page(client, "/manuals/admin/publish")
    assert "handbook" in preview and "manuals/handbook.md" in preview
    assert db.session.scalar(select(func.count()).select_from(ManualEdition)) == 0
    token = csrf_token_from(client, "/manuals/admin/publish")
    marker = 'name="fingerprint" type="hidden" value="'
    fingerprint = preview[preview.index(marker) + len(marker):][:64]
    response = client.post("/manuals/admin/publish", data={"csrf_token": token, "fingerprint": fingerprint})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ManualEdition)) == 1
    event_row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "manual.published")).one()
    assert event_row.actor_id == admin.id


def test_publish_refuses_when_the_files_changed_since_the_preview(client, login, make_person, repo):
    repo.standard()
    login(make_person("T1", roles=("admin",)))
    preview = _page(client, "/manuals/admin/publish")
    marker = 'name="fingerprint" type="hidden" value="'
    fingerprint = preview[preview.index(marker) + len(marker):][:64]
    repo.write_manual("handbook.md", manual_text().replace("画面を撮影しない。", "画面を撮影しない。印刷しない。"))
    response = client.post("/manuals/admin/publish",
                           data={"csrf_token": csrf_token_from(client, "/"), "fingerprint": fingerprint})
    assert response.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(ManualEdition)) == 0


def test_publish_page_lists_problems_and_offers_no_button(client, login, make_person, repo):
    repo.write_manual("handbook.md", manual_text(audience="{departments: [NOPE]}"))
    repo.write_quiz("handbook.yaml", quiz_text())
    login(make_person("T1", roles=("training_admin",)))
    page = _page(client, "/manuals/admin/publish")
    assert "manuals/handbook.md:" in page and "NOPE" in page
    assert 'name="fingerprint"' not in page


def test_auditor_sees_the_plan_but_cannot_publish(client, login, make_person, repo):
    repo.standard()
    login(make_person("A1", roles=("auditor",)))
    page = _page(client, "/manuals/admin/publish")
    assert "handbook" in page and 'name="fingerprint"' not in page
    response = client.post("/manuals/admin/publish", data={"csrf_token": csrf_token_from(client, "/"),
                                                          "fingerprint": "0" * 64})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ManualEdition)) == 0


def test_publish_without_csrf_token_is_refused(client, login, make_person, repo):
    repo.standard()
    login(make_person("T1", roles=("training_admin",)))
    response = client.post("/manuals/admin/publish", data={"fingerprint": "0" * 64})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ManualEdition)) == 0
