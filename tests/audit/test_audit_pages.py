"""Auditors and admins browse, filter, page, inspect and verify the trail; nobody else gets in."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from portal.audit.services import record_event
from portal.extensions import db
from tests.access_table import ANYONE, ROUTES, SIGNED_IN, TOKEN
from tests.audit_fixtures import add_events, tamper
from tests.conftest import csrf_token_from

XSS = "<img src=x onerror=alert(1)>"
AUDIT_PAGES = ["/audit/", "/audit/events/1", "/audit/verify", "/audit/export.csv", "/audit/export.xlsx"]


@pytest.fixture
def auditor(make_person, login):
    """A signed-in auditor (signing in records event 1)."""
    person = make_person("A1", roles=("auditor",), name="監査 花子")
    login(person)
    return person


def _get(client, url: str, **params):
    response = client.get(url, query_string=params)
    body = response.get_data(as_text=response.mimetype.startswith("text/"))
    response.close()
    return response.status_code, body


def _seqs(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/audit/events/(\d+)"', body)]


@pytest.mark.parametrize("role", ["employee", "manager", "training_admin", "grant_owner"])
def test_other_roles_get_403_on_every_audit_page(client, make_person, login, role):
    login(make_person("P1", roles=(role,)))
    for url in AUDIT_PAGES:
        assert _get(client, url)[0] == 403, url


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditor_and_admin_read_every_audit_page(client, make_person, login, role):
    login(make_person("P1", roles=(role,)))
    for url in AUDIT_PAGES:
        assert _get(client, url)[0] == 200, url


def test_auditor_reads_but_every_post_is_refused(client, auditor):
    token = csrf_token_from(client, "/audit/")
    for url in AUDIT_PAGES:
        response = client.post(url, data={"csrf_token": token})
        response.close()
        assert response.status_code == 405, url  # audit pages change nothing, whatever the role
    writes = [r for r in ROUTES if r.method == "POST" and r.allowed not in (SIGNED_IN, ANYONE, TOKEN)
              and "auditor" not in r.allowed]
    for route in writes:
        response = client.post(route.url, data={"csrf_token": token})
        response.close()
        assert response.status_code == 403, route.url
    _, body = _get(client, "/audit/")
    forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', body)
    # The one POST is a large export made in the background (a job): it reads, and is audited as an export.
    assert set(forms) <= {"/language", "/logout", "/audit/export-job"}


def test_reasons_and_names_are_escaped_everywhere(client, make_person, auditor):
    villain = make_person("E9", name=XSS)
    event = record_event(villain, "test.xss", object_type="person", object_id=XSS[:40],
                         reason=f"{XSS}\r\nsecond line", details={"note": XSS})
    db.session.commit()
    for url in ("/audit/", f"/audit/events/{event.seq}"):
        status, body = _get(client, url)
        assert status == 200
        assert "<img src=x" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body
    _, body = _get(client, f"/audit/events/{event.seq}")
    assert "&lt;img src=x onerror=alert(1)&gt;\r\nsecond line</td>" in body  # CR/LF kept as text, no new row
    assert "&#34;note&#34;: &#34;&lt;img src=x onerror=alert(1)&gt;&#34;" in body


def test_filters_by_action_actor_object_and_words(client, make_person, auditor):
    alice, bob = make_person("E1"), make_person("E2")
    record_event(alice, "org.roles_changed", object_type="person", object_id="E7", reason="昇格の申請 Approved")
    record_event(bob, "org.imported", object_type="organisation", object_id="hr.csv", reason="定例取込")
    record_event(bob, "auth.login_failed", object_type="person", object_id="E7", reason="50%_off")
    db.session.commit()
    def seqs(**params):
        status, body = _get(client, "/audit/", **params)
        assert status == 200
        return sorted(_seqs(body))
    assert seqs(action="org.imported") == [3]
    assert seqs(action="org.*") == [2, 3]
    assert seqs(action="org") == []
    assert seqs(actor_no="E2") == [3, 4]
    assert seqs(object_type="person", object_id="E7") == [2, 4]
    assert seqs(text="approved") == [2]
    assert seqs(text="%") == [4] and seqs(text="_") == [4]  # LIKE wildcards are searched literally


def test_date_range_uses_jst_day_boundaries(client, clock, auditor, login):
    times = [datetime(2026, 3, 31, 14, 59, 59), datetime(2026, 3, 31, 15, 0, 0),  # 3/31 23:59:59, 4/1 00:00 JST
             datetime(2026, 4, 1, 14, 59, 59), datetime(2026, 4, 1, 15, 0, 0)]    # 4/1 23:59:59, 4/2 00:00 JST
    for moment in times:
        clock.set(moment.replace(tzinfo=timezone.utc))
        record_event(None, "test.dated")
    db.session.commit()
    login(auditor)  # the clock moved past the first session's lifetime
    range_ = {"date_from_year": "2026", "date_from_month": "4", "date_from_day": "1",
              "date_to_year": "2026", "date_to_month": "4", "date_to_day": "1", "action": "test.dated"}
    status, body = _get(client, "/audit/", **range_)
    assert status == 200 and sorted(_seqs(body)) == [3, 4]
    full_width = range_ | {"date_from_year": "２０２６", "date_from_month": "０４", "date_from_day": "１"}
    assert sorted(_seqs(_get(client, "/audit/", **full_width)[1])) == [3, 4]


@pytest.mark.parametrize("params, message, field_id", [
    ({"date_from_year": "2026", "date_from_month": "2", "date_from_day": "30"}, "この日付は存在しません",
     "date_from_day"),
    ({"date_from_year": "2026", "date_from_month": "", "date_from_day": "1"}, "年・月・日をすべて", "date_from_month"),
    ({"date_to_year": "二〇二六", "date_to_month": "1", "date_to_day": "1"}, "数字で", "date_to_year"),
    ({"as_of_year": "2026", "as_of_month": "13", "as_of_day": "1"}, "この日付は存在しません", "as_of_month"),
    ({"date_from_year": "2026", "date_from_month": "5", "date_from_day": "1",
      "date_to_year": "2026", "date_to_month": "4", "date_to_day": "1"}, "開始日より前", "date_to_year"),
])
def test_bad_dates_are_refused_with_a_message_naming_the_field(client, auditor, params, message, field_id):
    for url in ("/audit/", "/audit/export.csv"):
        status, body = _get(client, url, **params)
        assert status == 400
        assert message in body and f'href="#{field_id}"' in body
        assert 'aria-invalid="true"' in body


def test_pages_are_keyset_pages_newest_first(client, auditor):
    add_events(119)  # 120 with the sign-in
    status, body = _get(client, "/audit/")
    first = _seqs(body)
    assert first == list(range(120, 70, -1))
    assert "120 件が該当します" in body
    older = int(re.search(r'rel="next" href="[^"]*before=(\d+)', body).group(1))
    second = _seqs(_get(client, "/audit/", before=older)[1])
    assert second == list(range(70, 20, -1))
    status, body = _get(client, "/audit/", before=21)
    assert _seqs(body) == list(range(20, 0, -1)) and 'rel="next"' not in body
    newer = int(re.search(r'rel="prev" href="[^"]*after=(\d+)', body).group(1))
    assert _seqs(_get(client, "/audit/", after=newer)[1]) == list(range(70, 20, -1))


def test_list_page_runs_a_fixed_number_of_queries(app, client, make_person, auditor, count_queries):
    def list_page_queries() -> int:
        with count_queries() as statements:
            assert _get(client, "/audit/", action="test.*")[0] == 200
        return len(statements)
    add_events(5, make_person("E1"))
    few = list_page_queries()
    for n in range(2, 40):
        add_events(3, make_person(f"E{n}"))
    assert list_page_queries() == few


def test_event_page_shows_every_field_and_both_hashes(client, make_person, auditor):
    actor = make_person("E5", name="髙橋 優子")
    event = record_event(actor, "org.roles_changed", object_type="person", object_id="E6",
                         reason="理由あり", details={"after": ["manager"], "before": []})
    db.session.commit()
    status, body = _get(client, f"/audit/events/{event.seq}")
    assert status == 200
    for text in ("髙橋 優子（E5）", "org.roles_changed", "E6", "理由あり", event.prev_hash, event.hash,
                 "&#34;after&#34;: [\n    &#34;manager&#34;\n  ]", "ハッシュと一致し、"):
        assert text in body, text
    assert _get(client, "/audit/events/9999")[0] == 404


def test_event_page_flags_an_edited_event(client, auditor):
    add_events(3)
    tamper("UPDATE audit_events SET reason = 'edited' WHERE seq = 2")
    _, body = _get(client, "/audit/events/2")
    assert "内容がハッシュと一致しません" in body


def test_verify_page_shows_intact_or_the_first_broken_event(client, auditor):
    add_events(4)
    status, body = _get(client, "/audit/verify")
    head = db.session.execute(db.text("SELECT hash FROM audit_events WHERE seq = 5")).scalar_one()
    assert status == 200 and "改ざんは見つかりませんでした" in body and "5 件" in body and head in body
    tamper("DELETE FROM audit_events WHERE seq = 3")
    status, body = _get(client, "/audit/verify")
    assert status == 200 and "3 番" in body and "削除" in body and 'href="/audit/events/3"' in body
