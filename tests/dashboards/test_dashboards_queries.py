"""Dashboards read set-based: the number of SQL statements a page makes does not grow with headcount,
and the counts computed in SQL agree with the training status rule."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from portal.core.timeutil import utcnow
from portal.dashboards.queries import department_pairs, department_summary
from portal.dashboards.services import refresh_completion
from portal.extensions import db
from portal.training.status import department_status_rows, manual_facts
from tests.certificates_fixtures import assign, attest, make_manual, started


def _build(make_department, make_person, headcount: int, prefix: str):
    """A department of `headcount` people over three manuals, every status present."""
    department = make_department(prefix, name_ja=f"{prefix}部")
    manager = make_person(f"{prefix}-M", roles=("manager",), department=department, manages=[department])
    manuals = [make_manual(f"{prefix.lower()}-{n}", title_ja=f"マニュアル{n}", validity_months=12) for n in range(3)]
    today = utcnow().date()
    for n in range(headcount):
        person = make_person(f"{prefix}{n:03d}", department=department, name=f"社員 {n}", name_kana=f"しゃいん {n:03d}")
        for index, manual in enumerate(manuals):
            assign(person, manual, due=today + timedelta(days=-3 if (n + index) % 3 == 0 else 10))
            if (n + index) % 4 == 1:
                started(person, manual)
    attest(person, manuals[0])  # the last person is current on one manual
    return department, manager


@pytest.fixture
def org_admin(make_person, make_department):
    return make_person("T-ADMIN", roles=("training_admin",), department=make_department("HQ"))


def _statements(count_queries, client, urls) -> dict[str, int]:
    counts = {}
    for url in urls:
        with count_queries() as statements:
            response = client.get(url)
            assert response.status_code == 200, url
            response.close()
        counts[url] = len(statements)
    return counts


def test_page_queries_do_not_grow_with_headcount(app, make_department, make_person, org_admin, count_queries):
    from tests.certificates_fixtures import client_for

    small, small_manager = _build(make_department, make_person, 5, "SMALL")
    large, large_manager = _build(make_department, make_person, 50, "LARGE")
    refresh_completion(utcnow().date(), utcnow())
    db.session.commit()
    pages = lambda department: [f"/dashboards/departments/{department.id}",  # noqa: E731
                                f"/dashboards/departments/{department.id}/export.csv?table=people",
                                f"/dashboards/departments/{department.id}/export.xlsx", "/dashboards/"]
    small_counts = _statements(count_queries, client_for(app, small_manager), pages(small))
    large_counts = _statements(count_queries, client_for(app, large_manager), pages(large))
    assert list(small_counts.values()) == list(large_counts.values()), (small_counts, large_counts)
    assert 3 <= min(small_counts.values()) and max(small_counts.values()) <= 15, small_counts
    admin = client_for(app, org_admin)
    assert _statements(count_queries, admin, ["/dashboards/organisation"])["/dashboards/organisation"] <= 12


def test_sql_counts_agree_with_the_status_rule(app, make_department, make_person):
    department, _manager = _build(make_department, make_person, 24, "RULE")
    today = utcnow().date()
    facts = manual_facts()
    pairs = department_pairs(facts, today, [department.id])
    counts, behind = department_summary(facts, today, [department.id])
    in_sql = {manual_id: c.by_status for manual_id, c in counts.items()}
    in_python = {}
    for row in department_status_rows([department.id], None, today):
        in_python.setdefault(row.manual_id, Counter())[row.status] += 1
    assert {m: {s: n for s, n in c.items() if n} for m, c in in_sql.items()} == \
        {m: dict(c) for m, c in in_python.items()}
    assert len({s for c in in_python.values() for s in c}) >= 3
    assert sorted(b[:4] for b in behind) == sorted((p.person_id, p.manual_id, p.status, p.due_date) for p in pairs
                                    if p.status in ("overdue", "expired"))
    by_pair = {(p.person_id, p.manual_id): p.status for p in pairs}
    assert by_pair == {(r.person_id,
                        r.manual_id): r.status for r in department_status_rows([department.id], None, today)}
