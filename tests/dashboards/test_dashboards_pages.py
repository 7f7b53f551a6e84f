"""Dashboards as a manager, a training admin and an auditor: what each sees, and what stays hidden."""
from __future__ import annotations

import re

import pytest

from portal.dashboards.models import CompletionSnapshot
from portal.extensions import db
from portal.org.models import Person
from tests.certificates_fixtures import count, started
from tests.conftest import csrf_token_from


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _page(response) -> str:
    html = re.sub(r'name="next" value="[^"]*"', "", response.get_data(as_text=True))
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)  # signed with a timestamp: differs by the second


def test_manager_sees_their_department_per_manual_and_who_is_overdue(client, login, org):
    started(org.soon, org.manual)
    login(org.manager)
    response = client.get(f"/dashboards/departments/{org.sales.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _text(response)
    assert "営業企画部（SALES）" in text
    row = re.search(r"<tr>\s*<th scope=\"row\">パートナー情報の取扱い</th>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r'<td class="num">(?:<span[^>]*>)?([^<]*)', row)
    # current, re-training due, in progress, not started, overdue, expired, assigned, share current
    assert cells == ["1", "0", "1", "0", "1", "0", "3", "33%"]
    assert "𠮷田 誠（E2）" in text  # the overdue person, named as 氏名（社員番号）
    assert "宮﨑 葵（E3）" not in text.split("期限を過ぎている人")[1].split("受講済みの割合の推移")[0]
    assert f'/dashboards/departments/{org.sales.id}/people/{org.overdue.id}/remind' in html
    assert '<svg class="chart__svg"' in html and "style=" not in html  # server-drawn, CSP-clean
    assert "鈴木 一郎" not in text  # another department's overdue person


@pytest.mark.parametrize("suffix", ["", "/export.csv", "/export.csv?table=people", "/export.xlsx"])
def test_a_department_the_manager_does_not_manage_looks_nonexistent(client, login, org, suffix):
    login(org.manager)
    hidden = client.get(f"/dashboards/departments/{org.front.id}{suffix}")
    missing = client.get(f"/dashboards/departments/999999{suffix}")
    assert hidden.status_code == missing.status_code == 404
    assert _page(hidden) == _page(missing)


@pytest.mark.parametrize("suffix", ["", "/export.csv", "/export.xlsx"])
def test_people_outside_the_managers_departments_look_nonexistent(client, login, org, suffix):
    login(org.manager)
    assert client.get(f"/dashboards/people/{org.outsider.id}{suffix}").status_code == 404
    assert client.get(f"/dashboards/people/{org.overdue.id}{suffix}").status_code == 200


def test_manager_index_lists_only_managed_departments(client, login, org):
    login(org.manager)
    text = _text(client.get("/dashboards/"))
    assert "営業企画部（SALES）" in text and "お客様フロント部" not in text
    assert client.get("/dashboards/organisation").status_code == 403


def test_person_history_shows_status_attestations_and_attempts(client, login, org):
    login(org.manager)
    text = _text(client.get(f"/dashboards/people/{org.current.id}"))
    assert "髙橋 優子（E1）" in text
    assert "受講済み" in text and "第1版" in text
    assert "合格（4問中4問正解）" in text
    assert "有効" in text  # the certificate's status


def test_training_admin_sees_the_heat_map_as_of_now_and_records_the_trend(client, login, org):
    login(org.training_admin)
    before = client.get("/dashboards/organisation").get_data(as_text=True)
    assert 'class="num heat heat-3">33%' in before   # SALES: 1 of 3 current, counted now
    assert 'class="num heat heat-0">0%' in before    # FRONT: nobody current
    assert "日ごとの記録はまだありません" in before and count(CompletionSnapshot) == 0
    token = csrf_token_from(client, "/dashboards/organisation")
    response = client.post("/dashboards/organisation/refresh", data={"csrf_token": token})
    assert response.status_code == 302
    assert count(CompletionSnapshot) == 2
    html = client.get("/dashboards/organisation").get_data(as_text=True)
    assert 'class="num heat heat-3">33%' in html and 'class="num heat heat-0">0%' in html
    assert "パートナー情報の取扱い" in html and "日ごとの記録はまだありません" not in html
    index = _text(client.get("/dashboards/"))
    assert "営業企画部（SALES）" in index and "お客様フロント部（FRONT）" in index


def test_the_heat_map_and_the_index_follow_a_change_without_a_recount(client, login, org):
    from portal.core.timeutil import utcnow
    from portal.dashboards.services import refresh_completion

    refresh_completion(org.today, utcnow())
    db.session.commit()
    org.soon.active = False  # SALES: 1 of 2 current from now on
    db.session.commit()
    login(org.training_admin)
    assert 'class="num heat heat-5">50%' in client.get("/dashboards/organisation").get_data(as_text=True)
    index = client.get("/dashboards/").get_data(as_text=True)
    sales = re.search(r"（SALES）</a></th>(.*?)</tr>", index, re.S).group(1)
    assert re.findall(r'<td class="num">(?:<span[^>]*>)?([^<]*)', sales)[:3] == ["2", "1", "50%"]


def test_a_second_count_on_the_same_day_replaces_the_days_figures(app, org):
    from portal.core.timeutil import utcnow
    from portal.dashboards.services import refresh_completion

    refresh_completion(org.today, utcnow())
    db.session.commit()
    org.soon.active = False
    db.session.commit()
    refresh_completion(org.today, utcnow())
    db.session.commit()
    [sales] = [s for s in db.session.query(CompletionSnapshot).all() if s.department_id == org.sales.id]
    assert (sales.assigned_pairs, sales.current_pairs, sales.overdue_pairs) == (2, 1, 1)
    assert count(CompletionSnapshot) == 2


def test_auditor_reads_everything_and_changes_nothing(client, login, org):
    login(org.auditor)
    assert client.get(f"/dashboards/departments/{org.front.id}").status_code == 200
    assert client.get("/dashboards/organisation").status_code == 200
    token = csrf_token_from(client, "/dashboards/organisation")
    assert client.post("/dashboards/organisation/refresh", data={"csrf_token": token}).status_code == 403
    remind = client.post(f"/dashboards/departments/{org.sales.id}/people/{org.overdue.id}/remind",
                         data={"csrf_token": token})
    assert remind.status_code == 403
    assert "Remind" not in client.get(f"/dashboards/departments/{org.sales.id}").get_data(as_text=True)


def test_employees_have_no_dashboard(client, login, org):
    login(org.current)
    assert client.get("/dashboards/").status_code == 403
    assert client.get(f"/dashboards/departments/{org.sales.id}").status_code == 403


def test_hostile_names_are_shown_as_text(client, login, org):
    org.overdue.name = '<img src=x onerror="alert(1)">'
    db.session.commit()
    login(org.manager)
    html = client.get(f"/dashboards/departments/{org.sales.id}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html


def test_a_deactivated_person_leaves_the_counts(client, login, org):
    db.session.get(Person, org.overdue.id).active = False
    db.session.commit()
    login(org.manager)
    text = _text(client.get(f"/dashboards/departments/{org.sales.id}"))
    assert "𠮷田" not in text
    assert "この部門に期限を過ぎている人はいません。" in text
