"""After attesting, the learner's training pages lead to the certificate of that manual and edition."""
from __future__ import annotations

import re
import shutil
import subprocess

from sqlalchemy import select

from portal.extensions import db
from portal.training.models import Attestation
from tests.certificates_fixtures import client_for


def _download_links(html: str) -> list[str]:
    return re.findall(r'href="(/certificates/\d+\.pdf)" download', html)


def test_the_attested_page_and_the_manual_page_link_the_certificate_of_that_edition(client, login, org, tmp_path):
    attestation = db.session.scalar(select(Attestation).where(Attestation.person_id == org.current.id))
    login(org.current)
    done = client.get(f"/training/attestations/{attestation.id}").get_data(as_text=True)
    assert _download_links(done) == [f"/certificates/{attestation.id}.pdf"]
    assert "修了証をダウンロード（PDF）" in done
    overview = client.get(f"/training/manuals/{org.manual.slug}").get_data(as_text=True)
    assert _download_links(overview) == [f"/certificates/{attestation.id}.pdf"]
    response = client.get(_download_links(done)[0])
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        path = tmp_path / "certificate.pdf"
        path.write_bytes(response.data)
        text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
        assert "髙橋 優子" in text and "第1版" in text and attestation.verification_code in text


def test_my_training_links_the_certificates_once_something_is_attested(app, org):
    page = client_for(app, org.current).get("/training/").get_data(as_text=True)
    assert 'href="/certificates/"' in page and "誓約したマニュアルの修了証をダウンロード" in page
    # assigned, nothing attested yet: no certificate to offer
    page = client_for(app, org.soon).get("/training/").get_data(as_text=True)
    assert "誓約したマニュアルの修了証をダウンロード" not in page


def test_nobody_else_downloads_the_linked_certificate(client, login, org):
    attestation = db.session.scalar(select(Attestation).where(Attestation.person_id == org.current.id))
    login(org.soon)
    assert client.get(f"/training/attestations/{attestation.id}").status_code == 404
    assert client.get(f"/certificates/{attestation.id}.pdf").status_code == 404

