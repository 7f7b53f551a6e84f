"""`portal publish`: editions are immutable, publishing is all or nothing, bad files are refused by name."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.manuals.assignments import today_jst
from portal.manuals.models import Manual, ManualEdition, QuizVersion, TrainingAssignment
from tests.manuals_fixtures import manual_text, quiz_text, run_publish

pytestmark = pytest.mark.usefixtures("app")


def _counts() -> tuple[int, int, int, int, int]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in
                 (Manual, ManualEdition, QuizVersion, TrainingAssignment, AuditEvent))


def _assignments(slug: str = "handbook") -> dict[str, tuple[int, date]]:
    db.session.expire_all()
    from portal.org.models import Person
    rows = db.session.execute(
        select(Person.employee_no, ManualEdition.number, TrainingAssignment.due_date)
        .join(TrainingAssignment, TrainingAssignment.person_id == Person.id)
        .join(ManualEdition, ManualEdition.id == TrainingAssignment.since_edition_id)
        .join(Manual, Manual.id == TrainingAssignment.manual_id).where(Manual.slug == slug))
    return {no: (number, due) for no, number, due in rows}


def test_publish_creates_the_edition_quiz_assignments_and_an_audit_event(app, repo, make_person):
    make_person("E1"), make_person("E2"), make_person("E3", active=False)
    repo.standard()
    result = run_publish(app, repo)
    assert result.exit_code == 0, result.output
    assert "handbook [new manual]: edition 1 (material" in result.output and "audience 2" in result.output
    edition = db.session.scalars(select(ManualEdition)).one()
    assert edition.manual.slug == "handbook" and edition.manual.title_en == "Test handbook"
    assert edition.source_text == manual_text() and len(edition.content_hash) == 64
    assert '<h2 id="purpose">' in edition.html and [t["id"] for t in edition.toc] == ["purpose", "rules"]
    assert edition.quiz_version.spec["draw"] == 2 and edition.quiz_version.source_yaml == quiz_text()
    due = max(date(2026, 4, 1), today_jst()) + timedelta(days=30)
    assert _assignments() == {"E1": (1, due), "E2": (1, due)}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "manual.published")).one()
    assert event.object_id == "handbook#1"
    assert event.details["plan"]["retrain"] == 2 and event.details["content_hash"] == edition.content_hash


def test_check_prints_the_plan_and_writes_nothing(app, repo, make_person):
    make_person("E1")
    repo.standard()
    before = _counts()
    result = run_publish(app, repo, "--check")
    assert result.exit_code == 0, result.output
    assert "back to training 1" in result.output and "nothing written" in result.output
    assert _counts() == before


def test_publishing_the_same_files_again_changes_nothing(app, repo, make_person):
    make_person("E1")
    repo.standard()
    assert run_publish(app, repo).exit_code == 0
    before, dates = _counts(), _assignments()
    result = run_publish(app, repo)
    assert result.exit_code == 0 and "nothing to publish" in result.output
    assert "handbook: unchanged (edition 1)" in result.output
    assert _counts() == before and _assignments() == dates


def _refused(app, repo, *needles: str):
    before = _counts()
    result = run_publish(app, repo)
    assert result.exit_code == 1, result.output
    for needle in needles:
        assert needle in result.output, result.output
    assert "nothing was published" in result.output
    assert _counts() == before
    return result


def test_broken_front_matter_is_refused_naming_file_and_line(app, repo):
    repo.standard("other")  # a valid manual in the same run is not published either (all or nothing)
    repo.write_manual("handbook.md", manual_text().replace("days_allowed: 30", "days_allowed: [30"))
    repo.write_quiz("handbook.yaml", quiz_text())
    line = manual_text().split("\n").index("days_allowed: 30") + 1
    result = _refused(app, repo, "handbook.md:")
    assert f"handbook.md:{line}" in result.output or f"handbook.md:{line + 1}" in result.output
    assert db.session.scalar(select(func.count()).select_from(Manual)) == 0


def test_unknown_audience_code_is_refused_naming_its_line(app, repo, make_department):
    make_department("SALES")
    text = manual_text(audience="\n  departments:\n    - SALES\n    - NOPE")
    repo.write_manual("handbook.md", text)
    repo.write_quiz("handbook.yaml", quiz_text())
    _refused(app, repo, f"manuals/handbook.md:{text.split(chr(10)).index('    - NOPE') + 1}", "NOPE")


def test_missing_quiz_file_is_refused(app, repo):
    repo.write_manual("handbook.md", manual_text())
    line = manual_text().split("\n").index("quiz: handbook.yaml") + 1
    _refused(app, repo, f"manuals/handbook.md:{line}", "quizzes/handbook.yaml")


def test_duplicate_slug_is_refused_naming_both_files(app, repo):
    repo.standard()
    repo.write_manual("copy.md", manual_text())
    _refused(app, repo, "manuals/handbook.md:2: slug handbook is also used by manuals/copy.md")


def test_a_bad_quiz_is_refused_naming_the_question(app, repo):
    repo.write_manual("handbook.md", manual_text())
    repo.write_quiz("handbook.yaml", quiz_text().replace("section: rules", "section: nowhere"))
    _refused(app, repo, "quizzes/handbook.yaml:", "rules-1", "nowhere")


def test_edited_text_of_a_published_edition_is_refused(app, repo):
    repo.standard()
    assert run_publish(app, repo).exit_code == 0
    repo.write_manual("handbook.md", manual_text().replace("画面を撮影しない。", "画面を撮影してもよい。"))
    _refused(app, repo, "manuals/handbook.md:6", "already published")


def test_a_lower_edition_number_is_refused(app, repo):
    repo.standard(edition=2, summary="第2版")
    assert run_publish(app, repo).exit_code == 0
    repo.write_manual("handbook.md",
                      manual_text(edition=1, body="## 目的 {#purpose}\n\n別\n\n## 規則 {#rules}\n\n別\n"))
    _refused(app, repo, "manuals/handbook.md:6", "lower than the published edition 2")


def test_a_changed_quiz_needs_a_new_edition(app, repo):
    repo.standard()
    assert run_publish(app, repo).exit_code == 0
    repo.write_quiz("handbook.yaml", quiz_text().replace("規則のとおり。", "規則第2項のとおり。"))
    _refused(app, repo, "quizzes/handbook.yaml", "new edition")
    repo.write_manual("handbook.md", manual_text(edition=2, change_kind="minor", summary="設問の解説を修正"))
    assert run_publish(app, repo).exit_code == 0
    versions = db.session.scalars(select(ManualEdition.quiz_version_id).order_by(ManualEdition.number)).all()
    assert len(set(versions)) == 2


def test_the_first_edition_must_be_material(app, repo):
    repo.standard(change_kind="minor")
    _refused(app, repo, "must be material")


def test_a_later_edition_without_summary_is_refused(app, repo):
    repo.standard(edition=2)
    _refused(app, repo, "manuals/handbook.md", "change_summary")


def test_material_edition_sends_everyone_back_and_minor_keeps_dates(app, repo, make_person, make_department):
    sales, other = make_department("SALES"), make_department("OTHER")
    make_person("S1", department=sales), make_person("S2", department=sales), make_person("O1", department=other)
    repo.standard(audience="{departments: [SALES]}", effective_date="2020-01-01")
    assert run_publish(app, repo).exit_code == 0
    first = _assignments()
    assert set(first) == {"S1", "S2"}
    # Pretend time passed: due dates set at edition 1 are older than a new material edition's.
    db.session.execute(TrainingAssignment.__table__.update().values(due_date=date(2020, 1, 31)))
    db.session.commit()
    repo.write_manual("handbook.md", manual_text(edition=2, change_kind="minor", summary="誤字の修正",
                                                 audience="{departments: [SALES, OTHER]}", effective_date="2020-02-01"))
    result = run_publish(app, repo)
    assert result.exit_code == 0 and "back to training 0, newly assigned 1" in result.output
    after_minor = _assignments()
    assert after_minor["S1"] == (1, date(2020, 1, 31)) and after_minor["S2"] == (1, date(2020, 1, 31))
    assert after_minor["O1"] == (1, today_jst() + timedelta(days=30))  # joined the audience: due from today
    repo.write_manual("handbook.md", manual_text(edition=3, summary="規則を強化", audience="{departments: [SALES]}",
                                                 effective_date="2020-03-01", days_allowed=14))
    result = run_publish(app, repo)
    assert "back to training 2" in result.output and "no longer assigned 1" in result.output
    due = today_jst() + timedelta(days=14)
    assert _assignments() == {"S1": (3, due), "S2": (3, due)}


def test_folder_per_manual_publishes_its_history_in_order_and_old_files_may_go(app, repo, make_person):
    make_person("E1")
    repo.write_manual("handbook/edition-1.md", manual_text())
    repo.write_manual("handbook/edition-2.md", manual_text(edition=2, summary="規則を追加",
                                                           body=manual_text().split("---\n", 2)[2] + "- 三\n"))
    repo.write_quiz("handbook.yaml", quiz_text())
    result = run_publish(app, repo)
    assert result.exit_code == 0, result.output
    assert "edition 1 (material, manuals/handbook/edition-1.md), edition 2 (material" in result.output
    assert db.session.scalars(select(ManualEdition.number).order_by(ManualEdition.number)).all() == [1, 2]
    assert _assignments()["E1"][0] == 2
    (repo.manuals / "handbook" / "edition-1.md").unlink()
    assert run_publish(app, repo).exit_code == 0  # the older file is not needed: it is stored
    assert len(db.session.scalars(select(ManualEdition)).all()) == 2


def test_a_folder_may_not_hold_two_manuals_or_the_same_edition_twice(app, repo):
    repo.write_manual("handbook/edition-1.md", manual_text())
    repo.write_manual("handbook/copy-1.md", manual_text().replace("画面", "端末の画面"))
    repo.write_quiz("handbook.yaml", quiz_text())
    _refused(app, repo, "edition 1 is also in manuals/handbook/")
    (repo.manuals / "handbook" / "copy-1.md").unlink()
    repo.write_manual("handbook/other.md", manual_text("other"))
    _refused(app, repo, "manuals/handbook/other.md:2")


def test_organisation_changes_move_assignments(app, repo, make_department):
    from portal.org.hr_csv import HR_COLUMNS, parse_hr_csv
    from portal.org.services import apply_sync, plan_sync

    def sync(lines: list[str], deactivate_missing: bool = False):
        rows, errors = parse_hr_csv(",".join(HR_COLUMNS) + "\n" + "\n".join(lines) + "\n")
        assert errors == []
        apply_sync(None, plan_sync(rows, deactivate_missing=deactivate_missing), "test.csv")
        db.session.commit()

    sync(["A1,甲,こう,a1@example.co.jp,SALES,営業,internal,,,true",
          "A2,乙,おつ,a2@example.co.jp,SALES,営業,internal,,,true",
          "B1,丙,へい,b1@example.co.jp,BACK,後方,internal,,,true"])
    repo.standard(audience="{departments: [SALES]}")
    assert run_publish(app, repo).exit_code == 0
    before = _assignments()
    assert set(before) == {"A1", "A2"}
    sync(["A1,甲,こう,a1@example.co.jp,SALES,営業,internal,,,true",
          "A2,乙,おつ,a2@example.co.jp,BACK,後方,internal,,,true",  # moved out of the audience
          "B1,丙,へい,b1@example.co.jp,SALES,営業,internal,,,true",  # moved in
          "C1,丁,てい,c1@example.co.jp,SALES,営業,internal,,,true"])  # joined
    after = _assignments()
    assert after["A1"] == before["A1"]  # unchanged people keep their dates
    assert "A2" not in after
    assert after["B1"] == after["C1"] == (1, max(date(2026, 4, 1), today_jst()) + timedelta(days=30))
    sync(["A1,甲,こう,a1@example.co.jp,SALES,営業,internal,,,true",
          "B1,丙,へい,b1@example.co.jp,SALES,営業,internal,,,true"], deactivate_missing=True)  # A2, C1 left
    assert set(_assignments()) == {"A1", "B1"}


def test_assignments_take_the_same_statements_whatever_the_headcount(app, make_department, count_queries):
    from sqlalchemy import insert

    from portal.manuals.assignments import assign_for_material_edition, reconcile_assignments
    from portal.org.models import Person

    department = make_department("SALES")
    manual = Manual(slug="m", title_ja="手引")
    db.session.add(manual)
    db.session.flush()
    edition = ManualEdition(manual_id=manual.id, number=1, change_kind="material", effective_date=date(2026, 4, 1),
                            source_text="x", content_hash="0" * 64, html="", audience_json='{"everyone": true}',
                            days_allowed=30)
    db.session.add(edition)
    db.session.commit()

    def statements_for(headcount: int) -> int:
        db.session.execute(insert(Person),
                           [{"employee_no": f"H{headcount}-{n}", "name": "試験", "department_id": department.id}
                                            for n in range(headcount)])
        with count_queries() as seen:
            assign_for_material_edition(edition, today_jst())
            reconcile_assignments(today_jst())
        db.session.commit()
        return len(seen)

    assert statements_for(3) == statements_for(300)
    assert db.session.scalar(select(func.count()).select_from(TrainingAssignment)) == 303
