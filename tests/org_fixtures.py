"""Helpers for the organisation tests: HR files, running the import command, uploading in the web UI."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.org.hr_csv import HR_COLUMNS
from portal.org.models import Person
from tests.conftest import csrf_token_from

HEADER = ",".join(HR_COLUMNS)


def hr_file(*lines: str, header: str = HEADER) -> str:
    """An HR export: the header, then the given rows (already comma-joined), CRLF as Excel writes."""
    return "\r\n".join([header, *lines]) + "\r\n"


def row(employee_no: str, name: str = "山田 太郎", kana: str = "やまだ たろう", email: str | None = None,
        department: str = "D1", department_name: str = "営業企画部", kind: str = "", roles: str = "",
        manages: str = "", active: str = "") -> str:
    """One CSV row with sensible defaults."""
    email = f"{employee_no.lower()}@example.co.jp" if email is None else email
    return ",".join([employee_no, name, kana, email, department, department_name, kind, roles, manages, active])


def run_import(app, path, *options: str):
    """Run `portal org import PATH OPTIONS…` through click's runner; returns the click Result."""
    return app.test_cli_runner().invoke(args=["org", "import", str(path), *options])


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "hr.csv"):
    """Write an HR file and return its path."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def multipart(fields: dict[str, str], file_field: str, data: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart/form-data body built in memory (the test client's own encoder spools big
    bodies to a temporary file that it never closes)."""
    boundary = "portal-test-boundary-7f3a"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(client, data: bytes, encoding: str = "utf-8", deactivate: bool = False, filename: str = "hr.csv",
           token: str | None = None):
    """Post a file to the web import as the signed-in admin."""
    fields = {"csrf_token": token or csrf_token_from(client, "/org/import"), "encoding": encoding}
    if deactivate:
        fields["deactivate_missing"] = "y"
    body, content_type = multipart(fields, "file", data, filename)
    return client.post("/org/import", data=body, content_type=content_type)


def audit_count(action: str | None = None) -> int:
    """How many audit events (of one action) exist."""
    statement = select(func.count()).select_from(AuditEvent)
    if action:
        statement = statement.where(AuditEvent.action == action)
    db.session.expire_all()
    return db.session.scalar(statement)


def person(employee_no: str) -> Person | None:
    """Re-read a person from the database."""
    db.session.expire_all()
    return db.session.scalar(select(Person).where(Person.employee_no == employee_no))


def people_count() -> int:
    """How many people exist."""
    return db.session.scalar(select(func.count()).select_from(Person))


@pytest.fixture
def import_job_overrides(tmp_path) -> dict:
    """Uploads and job files in this test's folder; the queue runs when the test says (run_pending)."""
    return {"PORTAL_ORG_UPLOAD_DIR": str(tmp_path / "org_imports"), "PORTAL_JOBS_URL": "memory://",
            "PORTAL_FILES_DIR": str(tmp_path / "files")}


@pytest.fixture
def admin(make_person, login):
    """A signed-in administrator (the client is theirs)."""
    person = make_person("S6001", roles=("admin",), name="渡辺 聡", name_kana="わたなべ さとし")
    login(person)
    return person
