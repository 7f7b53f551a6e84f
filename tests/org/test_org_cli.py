"""`portal org import` as an operator runs it: encodings, re-runs, dry runs, deactivation, refusals."""
from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.queries import verify_audit_trail
from portal.extensions import db
from portal.org.models import Department
from tests.conftest import https_client, sign_in
from tests.org_fixtures import audit_count, hr_file, people_count, person, row, run_import, write

SAMPLE = hr_file(
    row("E1001", "髙橋 優子", "たかはし ゆうこ", department="CUST-FRONT", department_name="お客様フロント部"),
    row("M2001", "山﨑 健一", "やまさき けんいち", department="CUST-FRONT", department_name="お客様フロント部",
        roles="manager", manages="CUST-FRONT AG1"),
    row("A3001", "伊藤 直樹", "いとう なおき", department="AG1", department_name="東北販売株式会社", kind="agency",
        roles="auditor"),
)


def test_utf8_with_bom_imports_people_departments_roles_and_manages(app, tmp_path):
    text = hr_file(row("G4001", "𠮷田 誠", "よしだ まこと", department="BACKYARD", department_name="バックヤード部"))
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (SAMPLE + text.split("\r\n", 1)[1]).encode("utf-8"))
    result = run_import(app, path)
    assert result.exit_code == 0, result.output
    assert people_count() == 4
    assert person("G4001").name == "𠮷田 誠"  # not in CP932, survives in UTF-8
    manager = person("M2001")
    assert manager.roles == {"employee", "manager"}
    assert [d.code for d in manager.managed_departments] == ["AG1", "CUST-FRONT"]
    agency = db.session.scalar(select(Department).where(Department.code == "AG1"))
    assert (agency.kind, agency.name_ja) == ("agency", "東北販売株式会社")
    assert person("A3001").roles == {"employee", "auditor"}
    imported = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "org.imported")).one()
    assert imported.actor_id is None and imported.source == "cli"
    assert imported.details["new_people"] == 4 and imported.details["file"] == "bom.csv"
    assert verify_audit_trail() is None


def test_cp932_file_with_encoding_option_keeps_ibm_extension_kanji(app, tmp_path):
    path = write(tmp_path, SAMPLE, encoding="cp932")
    result = run_import(app, path, "--encoding", "cp932")
    assert result.exit_code == 0, result.output
    assert person("E1001").name == "髙橋 優子"
    assert person("M2001").name == "山﨑 健一"
    assert person("E1001").department.name_ja == "お客様フロント部"


def test_cp932_file_read_as_utf8_is_refused_naming_the_line(app, tmp_path):
    path = write(tmp_path, SAMPLE, encoding="cp932")
    result = run_import(app, path)
    assert result.exit_code == 1
    assert "2行目" in result.output and "UTF-8" in result.output
    assert people_count() == 0


def test_utf8_file_read_as_cp932_is_refused_not_imported_as_mojibake(app, tmp_path):
    result = run_import(app, write(tmp_path, SAMPLE), "--encoding", "cp932")
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert people_count() == 0


def test_running_the_same_file_again_changes_nothing(app, tmp_path):
    path = write(tmp_path, SAMPLE)
    assert run_import(app, path).exit_code == 0
    events = audit_count()
    updated = person("M2001").updated_at
    again = run_import(app, path)
    assert again.exit_code == 0
    assert "変更はありません" in again.output
    assert audit_count() == events
    assert person("M2001").updated_at == updated


def test_dry_run_prints_the_changes_and_writes_nothing(app, tmp_path):
    result = run_import(app, write(tmp_path, SAMPLE), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "髙橋 優子（E1001）" in result.output
    assert "山﨑 健一（M2001）" in result.output and "管理者" in result.output
    assert "書き込んでいません" in result.output
    assert people_count() == 0 and audit_count() == 0
    assert db.session.scalar(select(Department).where(Department.code == "AG1")) is None


def test_missing_people_are_deactivated_only_when_asked_and_never_deleted(app, tmp_path):
    assert run_import(app, write(tmp_path, SAMPLE)).exit_code == 0
    shorter = write(tmp_path, hr_file(*SAMPLE.split("\r\n")[1:3]), name="shorter.csv")
    assert run_import(app, shorter).exit_code == 0
    assert person("A3001").active  # not asked: left alone
    version = person("A3001").session_version
    result = run_import(app, shorter, "--deactivate-missing")
    assert result.exit_code == 0, result.output
    gone = person("A3001")
    assert gone is not None and gone.active is False
    assert gone.session_version == version + 1
    assert people_count() == 3
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "org.imported")
                               .order_by(AuditEvent.seq.desc())).first()
    assert event.details["deactivated_people"] == ["A3001"]


def test_deactivation_by_import_ends_the_persons_open_session(app, tmp_path, make_person):
    signed_in = make_person("E1001", department=None)
    browser = https_client(app)
    assert sign_in(browser, signed_in).status_code == 302
    assert browser.get("/").status_code == 200
    text = hr_file(row("E1001", department="D1", department_name="D1部", active="false"))
    assert run_import(app, write(tmp_path, text)).exit_code == 0
    assert browser.get("/").status_code == 302


def test_a_file_with_bad_rows_is_refused_as_a_whole_listing_each_line(app, tmp_path):
    assert run_import(app, write(tmp_path, SAMPLE, name="first.csv")).exit_code == 0
    events = audit_count()
    bad = hr_file(
        row("E1001", "髙橋 優子 改", department="CUST-FRONT", department_name="お客様フロント部"),  # fine on its own
        row("", "名無し", email="x@example.co.jp"),
        row("E2", email="not-an-email"),
        row("E3", roles="boss"),
        row("E4", kind="partner"),
        row("E1001", department="CUST-FRONT", department_name="お客様フロント部"),
        row("E6", roles="manager", manages="NOWHERE"),
    )
    result = run_import(app, write(tmp_path, bad, name="bad.csv"))
    assert result.exit_code == 1
    out = result.output
    assert "3行目: employee_no（社員番号）が空です" in out
    assert "4行目: メールアドレス「not-an-email」の形式が正しくありません" in out
    assert "5行目: 役割「boss」はありません" in out
    assert "6行目: department_kind「partner」は使えません" in out
    assert "7行目: employee_no「E1001」が重複しています（最初は2行目）" in out
    assert "8行目: manages の部門「NOWHERE」" in out
    assert "6 件の問題" in out
    assert person("E1001").name == "髙橋 優子"  # the good row was not applied either
    assert people_count() == 3 and audit_count() == events


def test_english_messages_on_request(app, tmp_path):
    result = run_import(app, write(tmp_path, hr_file(row("E1", roles="boss"))), "--lang", "en")
    assert result.exit_code == 1
    assert "line 2: unknown role boss" in result.output


def test_changed_rows_update_the_person_and_audit_the_role_change(app, tmp_path):
    assert run_import(app, write(tmp_path, SAMPLE)).exit_code == 0
    changed = hr_file(
        row("E1001", "髙橋 優子", "たかはし ゆうこ", department="AG1", department_name="東北販売株式会社",
            kind="agency",
            roles="training_admin"),
        *SAMPLE.split("\r\n")[2:4],
    )
    result = run_import(app, write(tmp_path, changed, name="changed.csv"))
    assert result.exit_code == 0, result.output
    moved = person("E1001")
    assert moved.department.code == "AG1" and moved.roles == {"employee", "training_admin"}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "org.roles_changed",
                                                        AuditEvent.object_id == "E1001")).one()
    assert event.details["before"] == [] and event.details["after"] == ["training_admin"]


def test_a_renamed_department_and_a_changed_kind_are_applied(app, tmp_path):
    assert run_import(app, write(tmp_path, SAMPLE)).exit_code == 0
    renamed = SAMPLE.replace("お客様フロント部", "お客様窓口部").replace(",agency,", ",internal,")
    result = run_import(app, write(tmp_path, renamed, name="renamed.csv"), "--dry-run")
    assert "部門 CUST-FRONT: 名称（日本語）: お客様フロント部 → お客様窓口部" in result.output
    assert "部門 AG1: 種別: 販売委託会社 → 社内" in result.output
    assert run_import(app, write(tmp_path, renamed, name="renamed.csv")).exit_code == 0
    db.session.expire_all()
    departments = {d.code: (d.name_ja, d.kind) for d in db.session.scalars(select(Department))}
    assert departments == {"CUST-FRONT": ("お客様窓口部", "internal"), "AG1": ("東北販売株式会社", "internal")}
