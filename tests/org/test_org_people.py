"""People and department pages: search, filters, order, scope for managers, escaping, query counts."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.org.models import Department, Person

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def org(make_department, make_person):
    """Two departments, a manager of the first, and people in both."""
    sales = make_department("SALES", name_ja="営業企画部")
    front = make_department("FRONT", name_ja="お客様フロント部")
    people = {
        "manager": make_person("M1", roles=("manager",), department=sales, manages=[sales],
                               name="山﨑 健一", name_kana="やまさき けんいち"),
        "sato": make_person("E1", department=sales, name="佐藤 花子", name_kana="さとう はなこ"),
        "ito": make_person("E2", department=sales, name="伊藤 直樹", name_kana="いとう なおき"),
        "yoshida": make_person("E3", department=front, name="𠮷田 誠", name_kana="よしだ まこと"),
        "gone": make_person("E4", department=sales, name="退職 済", name_kana="たいしょく ずみ", active=False),
    }
    return {"sales": sales, "front": front, **people}


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/org/people/\d+">([^<]+)</a>', html)


def test_list_is_sorted_by_kana_and_shows_name_with_number(client, make_person, login, org):
    login(make_person("T1", roles=("training_admin",), department=org["front"], name="研修 担当",
                      name_kana="けんしゅう"))
    html = client.get("/org/people").get_data(as_text=True)
    assert "入力内容に問題があります" not in html
    assert _names(html) == ["伊藤 直樹（E2）", "研修 担当（T1）", "佐藤 花子（E1）", "退職 済（E4）",
                            "山﨑 健一（M1）", "𠮷田 誠（E3）"]


@pytest.mark.parametrize("query, expected", [
    ("佐藤", ["佐藤 花子（E1）"]),
    ("よしだ", ["𠮷田 誠（E3）"]),
    ("ヨシダ", ["𠮷田 誠（E3）"]),  # katakana finds a hiragana reading
    ("Ｅ２", ["伊藤 直樹（E2）"]),  # full-width employee number
    ("山﨑", ["山﨑 健一（M1）"]),
    ("%", []),  # a LIKE wildcard is a literal character
])
def test_search_by_name_reading_or_number(client, make_person, login, org, query, expected):
    login(make_person("A1", roles=("auditor",), department=org["front"], name="監査 役", name_kana="んかんさ"))
    assert _names(client.get("/org/people", query_string={"q": query}).get_data(as_text=True)) == expected


def test_filter_by_department_and_status(client, make_person, login, org):
    login(make_person("A1", roles=("auditor",), department=org["front"], name="監査 役", name_kana="んかんさ"))
    sales = _names(client.get("/org/people", query_string={"department": org["sales"].id}).get_data(as_text=True))
    assert sales == ["伊藤 直樹（E2）", "佐藤 花子（E1）", "退職 済（E4）", "山﨑 健一（M1）"]
    inactive = client.get("/org/people", query_string={"status": "inactive"}).get_data(as_text=True)
    assert _names(inactive) == ["退職 済（E4）"]
    active_sales = client.get("/org/people", query_string={"department": org["sales"].id, "status": "active"})
    assert "退職 済" not in active_sales.get_data(as_text=True)


def test_pagination(client, make_person, login, make_department):
    dept = make_department("BIG")
    db.session.add_all([Person(employee_no=f"P{i:03d}", name=f"社員 {i:03d}", name_kana=f"しゃいん {i:03d}",
                               email="p@example.co.jp", department=dept) for i in range(60)])
    db.session.commit()
    login(make_person("A1", roles=("admin",), department=dept, name="管理 者", name_kana="ん"))
    first = client.get("/org/people").get_data(as_text=True)
    assert len(_names(first)) == 50 and "61 人" in first
    second = client.get("/org/people", query_string={"page": 2}).get_data(as_text=True)
    assert _names(second)[0] == "社員 050（P050）" and len(_names(second)) == 11
    assert len(_names(client.get("/org/people", query_string={"page": 99}).get_data(as_text=True))) == 11


def test_person_page_shows_department_roles_managed_status_and_times(client, make_person, login, org):
    login(make_person("A1", roles=("auditor",), department=org["front"]))
    html = client.get(f"/org/people/{org['manager'].id}").get_data(as_text=True)
    assert "山﨑 健一（M1）" in html and "やまさき けんいち" in html
    assert "営業企画部（SALES）" in html and "管理者" in html and "有効" in html
    assert re.search(r"登録日時</dt><dd>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</dd>", html)
    assert re.search(r"更新日時</dt><dd>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</dd>", html)
    assert "役割の変更" not in html  # the auditor reads, never changes


def test_manager_sees_only_people_of_the_departments_they_manage(client, login, org):
    login(org["manager"])
    html = client.get("/org/people").get_data(as_text=True)
    assert _names(html) == ["伊藤 直樹（E2）", "佐藤 花子（E1）", "退職 済（E4）", "山﨑 健一（M1）"]
    assert "お客様フロント部" not in html  # not even as a filter choice
    assert client.get(f"/org/people/{org['sato'].id}").status_code == 200
    assert client.get(f"/org/people/{org['yoshida'].id}").status_code == 404
    assert client.get("/org/people/999999").status_code == 404
    other = client.get("/org/people", query_string={"department": org["front"].id}).get_data(as_text=True)
    assert "𠮷田" not in other
    assert client.get("/org/departments").status_code == 403


def test_a_manager_without_departments_sees_nobody(client, make_person, login, org):
    login(make_person("M9", roles=("manager",), department=org["front"]))
    assert _names(client.get("/org/people").get_data(as_text=True)) == []
    assert client.get(f"/org/people/{org['yoshida'].id}").status_code == 404


def test_employees_cannot_see_the_people_pages(client, login, org):
    login(org["sato"])
    assert client.get("/org/people").status_code == 403
    assert client.get(f"/org/people/{org['sato'].id}").status_code == 403


def test_hostile_names_are_escaped_in_list_detail_and_departments(client, make_person, login, make_department):
    bad_dept = make_department("X1", name_ja=HOSTILE)
    victim = make_person("E666", department=bad_dept, name=HOSTILE, name_kana=HOSTILE)
    login(make_person("A1", roles=("admin",), department=bad_dept))
    pages = [client.get("/org/people"), client.get(f"/org/people/{victim.id}"), client.get("/org/departments"),
             client.get("/org/people", query_string={"q": HOSTILE})]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<img" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_departments_show_kind_parent_and_active_headcount(client, make_person, login, org, make_department):
    agency = make_department("AG1", name_ja="東北販売株式会社", kind="agency")
    agency.parent_id = org["sales"].id
    db.session.commit()
    login(make_person("T1", roles=("training_admin",), department=org["front"]))
    html = client.get("/org/departments").get_data(as_text=True)
    rows = {m[0]: m for m in re.findall(r'<th scope="row">(\w+)</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*'
                                        r'<td>([^<]*)</td>\s*<td class="num"><a [^>]*>(\d+)</a>', html)}
    assert rows["SALES"][2:] == ("社内", "—", "3")  # the inactive person is not counted
    assert rows["FRONT"][4] == "2"
    assert rows["AG1"][2:] == ("販売委託会社", "営業企画部（SALES）", "0")


def _add_people(department: Department, count: int, start: int) -> None:
    db.session.add_all([Person(employee_no=f"Q{start + i:05d}", name=f"社員 {i}", name_kana=f"しゃいん {i}",
                               email="q@example.co.jp", department=department) for i in range(count)])
    db.session.commit()


@pytest.mark.parametrize("url", ["/org/people", "/org/departments"])
def test_list_pages_use_a_fixed_number_of_queries(client, make_person, login, make_department, url, count_queries):
    departments = [make_department(f"D{i}") for i in range(3)]
    login(make_person("A1", roles=("admin", "manager"), department=departments[0], manages=departments))
    _add_people(departments[1], 5, 0)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for department in departments:
        _add_people(department, 40, 1000 * (departments.index(department) + 1))
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few) <= 8, many
