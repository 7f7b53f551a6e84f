"""Bulk export of current certificates: a streamed ZIP on the web, and the same from the command line."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest

from portal.certificates.bulk import zip_chunks
from portal.training.models import Attestation
from tests.certificates_fixtures import add_edition, assign, attest, events, org  # noqa: F401
from tests.training_fixtures import make_manual


@pytest.fixture
def certified(org, make_person):
    """Certificates in both departments, one superseded, and one of a person who has left."""
    org.other = make_manual("lookup-rules", title_ja="照会ルール")
    for person in (org.current, org.soon, org.outsider):
        assign(person, org.other)
        attest(person, org.other)
    add_edition(org.other, 2, change_kind="material")
    org.superseded = attest(org.current, org.other)  # the edition-1 certificate is now superseded
    leaver = make_person("E9", department=org.sales, name="退職 者")
    assign(leaver, org.other)
    attest(leaver, org.other)
    leaver.active = False
    from portal.extensions import db

    db.session.commit()
    return org


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def _manifest(archive: zipfile.ZipFile) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))


def test_admin_downloads_a_departments_current_certificates_as_a_streamed_zip(client, login, certified):
    login(certified.training_admin)
    page = client.get("/certificates/export").get_data(as_text=True)
    assert "営業企画部（SALES）" in page and "全社" in page
    response = client.get(f"/certificates/export.zip?department={certified.sales.id}")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="certificates-SALES-')
    archive = _zip(response.get_data())
    names = sorted(archive.namelist())
    pdfs = [n for n in names if n.endswith(".pdf")]
    # E1's edition-1 lookup certificate is superseded; E3's stays current until E3 attests edition 2 too;
    # the leaver's is left out; FRONT is another department.
    assert pdfs == sorted([f"SALES/E1-partner-data-ed1-{_id('E1', 'partner-data')}.pdf",
                           f"SALES/E1-lookup-rules-ed2-{certified.superseded.id}.pdf",
                           f"SALES/E3-lookup-rules-ed1-{_id('E3', 'lookup-rules')}.pdf"])
    assert all(archive.read(n).startswith(b"%PDF-") for n in pdfs)
    rows = _manifest(archive)
    assert rows[0][:3] == ["ファイル", "社員番号", "氏名"]
    assert {row[1] for row in rows[1:]} == {"E1", "E3"}
    assert any(row[2] == "髙橋 優子" for row in rows[1:])
    [event] = events("certificates.exported")
    assert event.object_id == "SALES" and event.details["via"] == "web"


def _id(employee_no: str, slug: str) -> int:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.manuals.models import Manual
    from portal.org.models import Person

    return db.session.scalar(select(Attestation.id).join(Person, Person.id == Attestation.person_id)
                             .join(Manual, Manual.id == Attestation.manual_id)
                             .where(Person.employee_no == employee_no, Manual.slug == slug)
                             .order_by(Attestation.edition_number).limit(1))


def test_the_whole_organisation_in_one_zip(client, login, certified):
    login(certified.admin)
    archive = _zip(client.get("/certificates/export.zip?department=all").get_data())
    folders = {name.split("/")[0] for name in archive.namelist() if name.endswith(".pdf")}
    assert folders == {"SALES", "FRONT"}


def test_bad_choices_change_nothing_and_say_why(client, login, certified):
    login(certified.admin)
    for query in ("", "?department=999999", "?department=../../etc"):
        response = client.get(f"/certificates/export.zip{query}")
        assert response.status_code == 400
    assert events("certificates.exported") == []


def test_zip_chunks_stream_entry_by_entry_and_make_a_valid_archive():
    entries = ((f"dir/{n}.pdf", bytes([n]) * 10_000) for n in range(5))
    chunks = list(zip_chunks(entries))
    assert len(chunks) >= 5  # one chunk per entry at least: nothing waits for the end
    archive = _zip(b"".join(chunks))
    assert archive.testzip() is None
    assert archive.read("dir/3.pdf") == bytes([3]) * 10_000


def test_cli_exports_a_department_and_everyone(app, certified, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "sales.zip"
    result = runner.invoke(args=["certificates", "export", "--department", "SALES", "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "3 certificates written" in result.output
    assert len([n for n in _zip(out.read_bytes()).namelist() if n.endswith(".pdf")]) == 3
    everyone = tmp_path / "all.zip"
    result = runner.invoke(args=["certificates", "export", "--all", "--out", str(everyone), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    archive = _zip(everyone.read_bytes())
    assert len([n for n in archive.namelist() if n.endswith(".pdf")]) == 4
    assert archive.testzip() is None
    assert [e.details["via"].split(":")[0] for e in events("certificates.exported")] == ["cli", "cli"]


def test_cli_refuses_unknown_departments_and_ambiguous_choices(app, certified, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "x.zip"
    result = runner.invoke(args=["certificates", "export", "--department", "NOPE", "--out", str(out)])
    assert result.exit_code == 1 and "NOPE" in result.output
    result = runner.invoke(args=["certificates", "export", "--department", "SALES", "--all", "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists() and events("certificates.exported") == []


def test_rendering_beside_forked_workers_gives_the_same_archive_as_one_process(app, certified, tmp_path):
    runner = app.test_cli_runner()
    archives = []
    for jobs in ("1", "3"):  # 3: this process and two workers forked after the warm-up render
        out = tmp_path / f"all-{jobs}.zip"
        result = runner.invoke(args=["certificates", "export", "--all", "--out", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        archives.append(_zip(out.read_bytes()))
    one, parallel = archives
    assert parallel.namelist() == one.namelist()  # same order: by attestation, then the manifest
    for name in one.namelist():
        assert parallel.read(name) == one.read(name), name  # every certificate identical, byte for byte
