"""Fixtures for the corrective-instruction tests: a small organisation and form helpers.

Its fixtures are registered in tests/conftest.py (`pytest_plugins`).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db
from portal.instructions.services import IssueData, issue_instruction
from portal.org.models import Department, Person
from tests.conftest import csrf_token_from, https_client, sign_in

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Org:
    """Departments CUST and SALES (internal) and AGENCY (a sales agency), and people in them."""

    cust: Department
    sales: Department
    agency: Department
    manager: Person      # manages CUST, works in CUST
    sales_manager: Person  # manages SALES
    admin: Person
    auditor: Person      # works in CUST
    cust_staff: list[Person]
    agency_staff: list[Person]
    sales_staff: list[Person]


@pytest.fixture
def instructions_org(make_department, make_person) -> Org:
    """The organisation most instruction tests use."""
    cust = make_department("CUST", name_ja="お客様フロント部")
    sales = make_department("SALES", name_ja="営業企画部")
    agency = make_department("AGENCY", name_ja="東北販売株式会社", kind="agency")
    return Org(
        cust=cust, sales=sales, agency=agency,
        manager=make_person("M1", roles=("manager",), department=cust, manages=[cust], name="山﨑 健一",
                            name_kana="やまさき けんいち"),
        sales_manager=make_person("M2", roles=("manager",), department=sales, manages=[sales], name="中村 恵",
                                  name_kana="なかむら めぐみ"),
        admin=make_person("S1", roles=("admin",), department=sales, name="渡辺 聡", name_kana="わたなべ さとし"),
        auditor=make_person("A1", roles=("auditor",), department=cust, name="伊藤 直樹", name_kana="いとう なおき"),
        cust_staff=[make_person(f"C{n}", department=cust, name=name, name_kana=kana) for n, (name, kana) in
                    enumerate([("髙橋 優子", "たかはし ゆうこ"), ("佐藤 翔太", "さとう しょうた"),
                               ("鈴木 美咲", "すずき みさき")], start=1)],
        agency_staff=[make_person(f"G{n}", department=agency, name=name, name_kana=kana) for n, (name, kana) in
                      enumerate([("田中 蓮", "たなか れん"), ("吉田 葵", "よしだ あおい")], start=1)],
        sales_staff=[make_person(f"P{n}", department=sales, name=f"営業 {n}", name_kana=f"えいぎょう {n}")
                     for n in (1, 2)],
    )


def today_jst() -> date:
    """Today in Japan."""
    return to_jst(utcnow()).date()


def form_data(deadline: date | None = None, *, departments=("CUST",), people: str = "", files=(), **overrides) -> dict:
    """A complete, valid issue form (override any field; files as [(bytes, name)])."""
    deadline = deadline or today_jst() + timedelta(days=14)
    data = {
        "title": "コラボ事業者の契約者への電話勧奨の即時停止",
        "body": "## 指示\n\nコラボ事業者と調整するまで、電話勧奨を**直ちに停止**してください。\n\n- 対象：全営業活動",
        "reason": "コラボ事業者の契約者情報を利用した電話勧奨が確認されたため。",
        "departments": list(departments),
        "people": people,
        "acknowledge_by-year": str(deadline.year),
        "acknowledge_by-month": str(deadline.month),
        "acknowledge_by-day": str(deadline.day),
    }
    data.update(overrides)
    if files:
        data["attachments"] = [(io.BytesIO(content), name) for content, name in files]
    return data


def multipart(data: dict) -> tuple[bytes, str]:
    """Encode a form in memory. (Werkzeug's test client spools bodies over 500 KB to a temporary
    file it never closes, which pytest's warnings-as-errors would report.)"""
    fields = MultiDict()
    for name, value in data.items():
        if name == "attachments":
            for stream, filename in value:
                fields.add(name, FileStorage(stream, filename=filename))
        elif isinstance(value, (list, tuple)):
            for item in value:
                fields.add(name, item)
        else:
            fields.add(name, value)
    stream, _length, boundary = stream_encode_multipart(fields, use_tempfile=False)
    return stream.getvalue(), f"multipart/form-data; boundary={boundary}"


def post_issue(client, data: dict, query: str = ""):
    """Submit the issue form (fetching a CSRF token from it first)."""
    body, content_type = multipart({**data, "csrf_token": csrf_token_from(client, "/instructions/new" + query)})
    return client.post("/instructions/new" + query, data=body, content_type=content_type)


def issue_directly(actor: Person, *, departments=("CUST",), people=(), title: str = "電話勧奨の停止",
                   body: str = "電話勧奨を停止すること。", reason: str = "目的外利用の疑い",
                   deadline: date | None = None, corrects_id: int | None = None, attachments=()):
    """Issue through the service (no HTTP) and commit; return the instruction."""
    instruction = issue_instruction(actor, IssueData(
        title=title, body_md=body, reason=reason, acknowledge_by=deadline or today_jst() + timedelta(days=7),
        department_codes=list(departments), employee_numbers=list(people),
        attachments=[(name, content, len(content)) for name, content in attachments],
        corrects_id=corrects_id))
    db.session.commit()
    return instruction


def post_action(client, path: str, page: str = "/"):
    """POST a CSRF-only form (acknowledge, remind)."""
    return client.post(path, data={"csrf_token": csrf_token_from(client, page)})


def english(client) -> None:
    """Switch the signed-in client's interface to English."""
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token_from(client, "/")})


def client_for(app, person: Person):
    """Another browser, signed in as this person."""
    browser = https_client(app)
    response = sign_in(browser, person)
    assert response.status_code == 302
    return browser
