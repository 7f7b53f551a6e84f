"""Certificates in the browser: own downloads, other people's ids, verification, supersession, revocation."""
from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import select

from portal.certificates.models import CertificateRevocation
from portal.certificates.queries import certificate_by_id
from portal.certificates.status import is_superseded
from portal.extensions import db
from portal.manuals.models import ManualEdition
from portal.training.models import Attestation
from tests.certificates_fixtures import add_edition, assign, attest, client_for, count, events
from tests.conftest import csrf_token_from


def _page(response) -> str:
    """The page without the language switch's return address (which names the URL asked for) and token."""
    html = re.sub(r'name="next" value="[^"]*"', "", response.get_data(as_text=True))
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)  # signed with a timestamp: differs by the second


def _own_attestation(org_):
    return db.session.scalar(select(Attestation).where(Attestation.person_id == org_.current.id))


def test_holder_downloads_their_certificate_as_a_pdf_with_a_server_set_name(client, login, org):
    attestation = _own_attestation(org)
    login(org.current)
    response = client.get(f"/certificates/{attestation.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="certificate-E1-partner-data-ed1-')
    assert events("certificate.exported") == []  # the holder's own download is not a privileged act
    page = client.get("/certificates/").get_data(as_text=True)
    assert "パートナー情報の取扱い" in page and f"/certificates/{attestation.id}.pdf" in page


def test_someone_elses_certificate_looks_like_one_that_does_not_exist(app, client, login, org):
    attestation = _own_attestation(org)
    login(org.soon)
    missing = client.get("/certificates/999999.pdf")
    for url in (f"/certificates/{attestation.id}.pdf", f"/certificates/{attestation.id}"):
        response = client.get(url)
        assert response.status_code == 404
        assert _page(response) == _page(missing)
    manager = client_for(app, org.manager)  # managers see dashboards, not other people's certificates
    assert manager.get(f"/certificates/{attestation.id}.pdf").status_code == 404


@pytest.mark.parametrize("role", ["admin", "training_admin", "auditor"])
def test_admins_and_auditors_download_anyones_certificate_and_it_is_audited(client, login, org, role):
    attestation = _own_attestation(org)
    login({"admin": org.admin, "training_admin": org.training_admin, "auditor": org.auditor}[role])
    response = client.get(f"/certificates/{attestation.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    [event] = events("certificate.exported")
    assert event.object_id == str(attestation.id) and event.details["employee_no"] == "E1"


def test_verification_page_shows_the_stored_facts(client, org):
    attestation = _own_attestation(org)
    response = client.get(f"/verify/{attestation.verification_code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in ("髙橋 優子（E1）", "パートナー情報の取扱い", "第1版", "有効です"):
        assert text in page
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_a_wrong_code_reveals_nothing_more_than_any_unknown_page(client, org):
    attestation = _own_attestation(org)
    guessed = attestation.verification_code[:-1] + ("A" if attestation.verification_code[-1] != "A" else "B")
    wrong = client.get(f"/verify/{guessed}")
    unknown = client.get("/no-such-page")
    assert wrong.status_code == unknown.status_code == 404
    assert _page(wrong) == _page(unknown)
    assert "髙橋" not in wrong.get_data(as_text=True)


def test_verification_codes_carry_at_least_128_random_bits(org):
    codes = {_own_attestation(org).verification_code}
    import base64
    raw = base64.urlsafe_b64decode(next(iter(codes)) + "==")
    assert len(raw) * 8 >= 128


@pytest.fixture
def app_overrides(tmp_path):
    """A low verification limit so the test reaches it quickly."""
    return {"PORTAL_VERIFY_RATE_LIMIT": "5 per minute"}


def test_verification_is_rate_limited_per_client(client, org):
    statuses = [client.get(f"/verify/guess{n}").status_code for n in range(7)]
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429, 429]
    attestation = _own_attestation(org)
    assert client.get(f"/verify/{attestation.verification_code}").status_code == 429  # even the right code waits


def test_attesting_a_new_material_edition_supersedes_the_old_certificate(client, login, org):
    old = _own_attestation(org)
    add_edition(org.manual, 2, change_kind="minor", validity_months=12)
    db.session.expire_all()
    assert certificate_by_id(old.id, org.today).status == "current"  # a minor edition changes nothing
    add_edition(org.manual, 3, change_kind="material", validity_months=12)
    db.session.expire_all()
    assert certificate_by_id(old.id, org.today).status == "current"  # not yet re-attested
    new = attest(org.current, org.manual)
    assert new.id != old.id and new.verification_code != old.verification_code
    assert "置き換えられています" in client.get(f"/verify/{old.verification_code}").get_data(as_text=True)
    assert "有効です" in client.get(f"/verify/{new.verification_code}").get_data(as_text=True)


def test_the_sql_supersession_agrees_with_the_pure_rule(app, make_person, org):
    """Every combination of edition kinds over three editions, attested in every order the rules allow."""
    for pattern_no, kinds in enumerate(itertools.product(("material", "minor"), repeat=2)):
        manual_slug = f"combo-{pattern_no}"
        from tests.training_fixtures import make_manual

        manual = make_manual(manual_slug)
        person = make_person(f"C{pattern_no}")
        assign(person, manual)
        first = attest(person, manual)
        later = []
        for number, kind in enumerate(kinds, start=2):
            add_edition(manual, number, change_kind=kind)
            db.session.expire_all()
            if kind == "material":
                later.append(attest(person, manual).edition_number)
        material = [e.number for e in db.session.scalars(select(ManualEdition).where(
            ManualEdition.manual_id == manual.id, ManualEdition.change_kind == "material"))]
        expected = is_superseded(first.edition_number, later, material)
        actual = certificate_by_id(first.id, org.today).status == "superseded"
        assert actual == expected, (kinds, later, material)


def test_admin_revokes_a_certificate_with_a_reason_and_it_reads_revoked(client, login, org):
    attestation = _own_attestation(org)
    login(org.admin)
    page = client.get(f"/certificates/{attestation.id}")
    assert "取り消す" in page.get_data(as_text=True) or "Revoke" in page.get_data(as_text=True)
    token = csrf_token_from(client, f"/certificates/{attestation.id}")
    refused = client.post(f"/certificates/{attestation.id}/revoke", data={"csrf_token": token, "reason": "  "})
    assert refused.status_code == 400 and count(CertificateRevocation) == 0
    response = client.post(f"/certificates/{attestation.id}/revoke",
                           data={"csrf_token": token, "reason": "他人のアカウントで受講していたため"})
    assert response.status_code == 302
    [event] = events("certificate.revoked")
    assert event.reason == "他人のアカウントで受講していたため" and event.object_id == str(attestation.id)
    verify = client.get(f"/verify/{attestation.verification_code}").get_data(as_text=True)
    assert "取り消されて" in verify
    assert "他人のアカウント" not in verify  # the reason is for auditors, not the public
    again = client.post(f"/certificates/{attestation.id}/revoke", data={"csrf_token": token, "reason": "二度目の取消"})
    assert again.status_code == 409 and count(CertificateRevocation) == 1 and len(events("certificate.revoked")) == 1
    assert f"この修了証はすでに{org.admin.name}さんが取り消しました" in again.get_data(as_text=True)


@pytest.mark.parametrize("role", ["training_admin", "auditor", "manager", "employee"])
def test_only_admins_may_revoke(client, login, org, role):
    attestation = _own_attestation(org)
    person = {"training_admin": org.training_admin, "auditor": org.auditor, "manager": org.manager,
              "employee": org.current}[role]
    login(person)
    token = csrf_token_from(client, "/")
    response = client.post(f"/certificates/{attestation.id}/revoke", data={"csrf_token": token, "reason": "理由あり"})
    assert response.status_code == 403
    assert count(CertificateRevocation) == 0


def test_the_download_name_is_set_by_the_server_whatever_the_employee_number(client, login, org):
    attestation = _own_attestation(org)
    org.current.employee_no = 'E1";\r\nX-Evil: 1/../../'
    db.session.commit()
    login(org.admin)
    response = client.get(f"/certificates/{attestation.id}.pdf")
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "X-Evil" not in response.headers
    name = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert "/" not in name and '"' not in name and name.endswith(".pdf")
