"""Bulk export of current certificates: a job on the web (made by the queue, downloaded from My downloads),
and the same ZIP written by the command line."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from sqlalchemy import select

from portal.certificates.bulk import zip_chunks
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import run_pending
from portal.training.models import Attestation
from tests.certificates_fixtures import add_edition, assign, attest, events
from tests.conftest import csrf_token_from
from tests.training_fixtures import make_manual


@pytest.fixture
def app_overrides(queue_by_hand) -> dict:
    """The queue runs by hand (tests/jobs_fixtures.py)."""
    return queue_by_hand


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
    db.session.commit()
    return org


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def _manifest(archive: zipfile.ZipFile) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))


def _download(client, job) -> zipfile.ZipFile:
    response = client.get(f"/downloads/{job.id}/file")
    data = response.get_data()
    response.close()
    assert response.status_code == 200
    return _zip(data)


def _start(client, department) -> str:
    token = csrf_token_from(client, "/certificates/export")
    return client.post("/certificates/export", data={"department": department, "csrf_token": token})


def test_admin_starts_a_departments_zip_as_a_job_and_downloads_it_when_ready(app, client, login, certified):
    login(certified.training_admin)
    page = client.get("/certificates/export").get_data(as_text=True)
    assert "営業企画部（SALES）" in page and "全社" in page
    response = _start(client, certified.sales.id)
    assert response.status_code == 302 and "/downloads/#job-" in response.headers["Location"]
    [job] = db.session.scalars(select(Job)).all()
    assert job.state == "queued" and job.started_by_id == certified.training_admin.id  # nothing rendered yet
    [event] = events("certificates.exported")
    assert event.object_id == "SALES" and event.details == {"scope": "SALES", "via": "web", "job": job.id}
    run_pending(app)
    page = client.get("/downloads/").get_data(as_text=True)
    db.session.refresh(job)
    assert (job.state, job.done, job.total) == ("done", 3, 3), job.error
    assert "完了" in page and f"/downloads/{job.id}/file" in page
    response = client.get(f"/downloads/{job.id}/file")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="certificates-SALES-')
    archive = _zip(response.get_data())
    response.close()
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
    assert sorted(row[0] for row in rows[1:]) == pdfs
    assert any(row[2] == "髙橋 優子" for row in rows[1:])
    [download] = events("job.downloaded")
    assert download.object_id == str(job.id) and download.actor_id == certified.training_admin.id


def _id(employee_no: str, slug: str) -> int:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.manuals.models import Manual
    from portal.org.models import Person

    return db.session.scalar(select(Attestation.id).join(Person, Person.id == Attestation.person_id)
                             .join(Manual, Manual.id == Attestation.manual_id)
                             .where(Person.employee_no == employee_no, Manual.slug == slug)
                             .order_by(Attestation.edition_number).limit(1))


def test_the_whole_organisation_in_one_zip_made_of_parts(app, client, login, certified):
    app.config["PORTAL_JOBS_CERTIFICATES_PER_PART"] = 1  # 4 certificates: 4 parts, joined in order
    login(certified.admin)
    _start(client, "all")
    run_pending(app)
    [job] = db.session.scalars(select(Job)).all()
    assert (job.state, job.done, job.total) == ("done", 4, 4)
    assert len([p for p in job.parts if p.stage == 1]) == 4
    archive = _download(client, job)
    assert archive.testzip() is None
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert {name.split("/")[0] for name in pdfs} == {"SALES", "FRONT"} and len(pdfs) == 4
    assert pdfs == sorted(pdfs, key=lambda name: int(name.rsplit("-", 1)[1][:-4]))  # by attestation
    assert archive.namelist()[-1] == "manifest.csv" and len(_manifest(archive)) == 5


def test_bad_choices_change_nothing_and_say_why(app, client, login, certified):
    login(certified.admin)
    for choice in ("", "999999", "../../etc"):
        response = _start(client, choice)
        assert response.status_code == 400
    assert events("certificates.exported") == [] and db.session.scalars(select(Job)).all() == []


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


def test_an_export_is_cut_into_enough_parts_that_consumers_finish_together():
    from portal.certificates.jobs import part_ranges, part_size

    assert part_size(600, 200) == 10  # 60 parts, not 3 (with 2 consumers one would sit out the third)
    assert part_size(3000, 200) == 47 and part_size(50_000, 200) == 200  # 64 parts; at most the configured size
    assert part_size(4, 200) == 10 and part_size(4, 1) == 1 and part_size(0, 200) == 10
    ranges = part_ranges([3, 5, 8, 13, 21], 2)
    assert ranges == [(0, 5, 2), (5, 13, 2), (13, 21, 1)]
    assert sum(count for *_bounds, count in ranges) == 5 and part_ranges([], 10) == []
