"""Downloads carry one exact Content-Type: a single charset on CSV, none on binary formats."""
from __future__ import annotations

from sqlalchemy import select

from portal.core.exports import Sheet, csv_response, xlsx_response
from portal.extensions import db
from portal.training.models import Attestation
from tests.conftest import csrf_token_from

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_csv_and_xlsx_responses_name_their_charset_once(app):
    with app.test_request_context():
        for response, expected in ((csv_response("a.csv", ["列"], [["値"]]), CSV),
                                   (xlsx_response("a.xlsx", [Sheet("表", ["列"], [["値"]])]), XLSX)):
            try:
                assert response.headers["Content-Type"] == expected
                assert response.headers.getlist("Content-Type") == [expected]
            finally:
                response.close()


def test_dashboard_exports_send_the_exact_content_type(client, login, org):
    login(org.manager)
    response = client.get(f"/dashboards/departments/{org.sales.id}/export.csv?table=summary")
    assert response.status_code == 200 and response.headers["Content-Type"] == CSV
    response = client.get(f"/dashboards/departments/{org.sales.id}/export.xlsx")
    assert response.status_code == 200 and response.headers["Content-Type"] == XLSX


def test_certificate_downloads_send_the_exact_content_type(client, login, org):
    login(org.training_admin)
    certificate = db.session.scalar(select(Attestation.id).where(Attestation.person_id == org.current.id))
    response = client.get(f"/certificates/{certificate}.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    token = csrf_token_from(client, "/certificates/export")
    started = client.post("/certificates/export", data={"department": org.sales.id, "csrf_token": token})
    job_id = started.headers["Location"].rsplit("-", 1)[1]  # …/downloads/#job-N; the queue ran it at once (tests)
    response = client.get(f"/downloads/{job_id}/file")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    response.close()
