"""What attackers and accidents try against corrective instructions (SECURITY.md rows 7–9, 14, 15, 21, 23)."""
from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.instructions.models import Instruction, InstructionAttachment
from tests.conftest import csrf_token_from
from tests.instructions_fixtures import PDF_BYTES, PNG_BYTES, client_for, english, form_data, issue_directly, post_issue

MARKDOWN_PAYLOADS = [
    "<script>alert('md')</script>",
    "<img src=x onerror=alert('md')>",
    "[click](javascript:alert('md'))",
    "[click](JaVaScRiPt:alert('md'))",
    "[click](java&#x09;script:alert('md'))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox('md'))",
    "![pic](javascript:alert('md'))",
    "<javascript:alert('md')>",
    "[ref]\n\n[ref]: javascript:alert('md')",
    '<a href="javascript:alert(1)">raw</a>',
    "<iframe src=//evil.example></iframe>",
    '"><svg onload=alert(1)>',
    "<style>body{display:none}</style>",
    "| a |\n|:-:|\n| <b onmouseover=alert(1)>x</b> |",
]


class LiveHtml(HTMLParser):
    """Collects what would run or navigate in a browser: tags, event handlers, URLs."""

    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")
            if name in ("href", "src", "action", "formaction", "data") and value:
                self.urls.append(value)
            if name == "style":
                self.styles.append(value or "")


def _main(html: str) -> str:
    return html[html.index("<main"):html.index("</main>")]


def test_markdown_payloads_do_not_survive_as_live_html(app, instructions_org):
    instruction = issue_directly(instructions_org.manager, body="\n\n".join(MARKDOWN_PAYLOADS),
                                 title="<img src=x onerror=alert('title')>", reason="<script>alert('reason')</script>")
    browser = client_for(app, instructions_org.cust_staff[0])
    parser = LiveHtml()
    parser.feed(_main(browser.get(f"/instructions/{instruction.id}").get_data(as_text=True)))
    assert parser.tags.isdisjoint({"script", "iframe", "svg", "style", "img", "object", "embed"})
    assert parser.handlers == [] and parser.styles == []
    dangerous = [u for u in parser.urls if u.strip().lower().replace("\t", "").startswith(
        ("javascript:", "data:", "vbscript:"))]
    assert dangerous == []
    # The title and reason are text, shown escaped, on the page and on the home page too.
    page = browser.get(f"/instructions/{instruction.id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(&#39;title&#39;)&gt;" in page
    assert "&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;" in page
    home = LiveHtml()
    home.feed(_main(browser.get("/").get_data(as_text=True)))
    assert home.handlers == [] and "img" not in home.tags


# As a browser sends them: it percent-encodes " (and CR/LF) inside the multipart filename.
HOSTILE_NAMES = [
    "../../../etc/passwd.pdf",
    "%22; filename=evil.html; x=%22.pdf",
    "<script>alert(1)</script>.pdf",
    "\u202egpj.pdf",            # right-to-left override: would display as "fdp.jpg"
    "C:\\Windows\\system32\\x.pdf",
    "=HYPERLINK(%22http://evil%22).pdf",
    "%0D%0AX-Injected: 1.pdf",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_attachment_names_are_cleaned_and_served_safely(app, client, instructions_org, login, name):
    login(instructions_org.manager)
    assert post_issue(client, form_data(files=[(PDF_BYTES, name)])).status_code == 302
    stored = db.session.scalars(select(InstructionAttachment)).one()
    assert not set(stored.filename) & set('/\\"<>;\u202e') and stored.filename.endswith(".pdf")
    recipient = client_for(app, instructions_org.cust_staff[0])
    page = recipient.get(f"/instructions/{stored.instruction_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    response = recipient.get(f"/instructions/{stored.instruction_id}/attachments/{stored.id}")
    assert response.status_code == 200 and response.get_data() == PDF_BYTES
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
    parameters = [part.strip() for part in disposition.split(";")[1:]]
    assert len(parameters) in (1, 2) and parameters[0].startswith('filename="') and parameters[0].endswith('.pdf"')
    assert all(p.startswith(("filename=", "filename*=UTF-8''")) and p.endswith(('.pdf"', ".pdf")) for p in parameters)
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    response.close()


def test_an_image_is_served_as_that_image_type_only(app, client, instructions_org, login):
    login(instructions_org.manager)
    assert post_issue(client, form_data(files=[(PNG_BYTES, "写真.png")])).status_code == 302
    stored = db.session.scalars(select(InstructionAttachment)).one()
    response = client.get(f"/instructions/{stored.instruction_id}/attachments/{stored.id}")
    assert response.headers["Content-Type"] == "image/png"
    assert "filename*=UTF-8''%E5%86%99%E7%9C%9F.png" in response.headers["Content-Disposition"]
    response.close()


def test_html_disguised_as_a_pdf_is_refused(client, instructions_org, login):
    login(instructions_org.manager)
    english(client)
    response = post_issue(client, form_data(files=[(b"<html><body onload=alert(1)>", "invoice.pdf")]))
    assert response.status_code == 400
    assert "「invoice.pdf」 cannot be attached: its content is not the PDF or image its name says." in \
        response.get_data(as_text=True)
    assert db.session.scalars(select(Instruction)).all() == []


def test_attachments_are_404_for_people_not_addressed_and_for_other_instructions(app, client, instructions_org, login):
    login(instructions_org.manager)
    post_issue(client, form_data(files=[(PDF_BYTES, "a.pdf")]))
    other = issue_directly(instructions_org.sales_manager, departments=("SALES",))
    stored = db.session.scalars(select(InstructionAttachment)).one()
    outsider = client_for(app, instructions_org.sales_staff[0])
    assert outsider.get(f"/instructions/{stored.instruction_id}/attachments/{stored.id}").status_code == 404
    # The attachment id under an instruction the outsider may see, but that it does not belong to.
    assert outsider.get(f"/instructions/{other.id}/attachments/{stored.id}").status_code == 404


def test_auditor_gets_403_on_every_post_route_of_the_feature(app, instructions_org):
    instruction = issue_directly(instructions_org.manager)
    auditor = client_for(app, instructions_org.auditor)
    token = csrf_token_from(auditor, "/")
    posts = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("instructions.") and "POST" in rule.methods]
    assert len(posts) == 3
    for rule in posts:
        url = rule.rule.replace("<int:instruction_id>", str(instruction.id))
        assert auditor.post(url, data={"csrf_token": token}).status_code == 403, url


def test_posts_without_a_csrf_token_are_refused_and_gets_do_not_change_state(app, instructions_org):
    instruction = issue_directly(instructions_org.manager)
    recipient = client_for(app, instructions_org.cust_staff[0])
    assert recipient.post(f"/instructions/{instruction.id}/acknowledge").status_code == 400
    assert recipient.get(f"/instructions/{instruction.id}/acknowledge").status_code == 405


def test_posted_issuer_or_recipient_ids_are_ignored(app, client, instructions_org, login):
    login(instructions_org.manager)
    data = form_data(issuer_id=str(instructions_org.admin.id), issuer="S1",
                     person_id=str(instructions_org.sales_staff[0].id))
    assert post_issue(client, data).status_code == 302
    instruction = db.session.scalars(select(Instruction)).one()
    assert instruction.issuer_id == instructions_org.manager.id


def test_csv_cells_that_look_like_formulas_are_neutralised(app, instructions_org, make_person):
    evil = make_person("=1+2", department=instructions_org.cust, name="=HYPERLINK(\"http://evil\",\"x\")")
    issue_directly(instructions_org.manager, title="=cmd|' /C calc'!A0", reason="@SUM(1+1)")
    manager = client_for(app, instructions_org.manager)
    response = manager.get("/instructions/register.csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    response.close()
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    instruction_id = rows[1][0]
    response = manager.get(f"/instructions/{instruction_id}/acknowledgements.csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    response.close()
    by_no = {row[5]: row for row in rows[1:]}
    assert by_no["'=1+2"][6] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert evil.employee_no == "=1+2"


def test_search_parameters_cannot_forge_export_links(app, instructions_org):
    viewer = client_for(app, instructions_org.manager)
    page = viewer.get("/instructions/?_external=1&_scheme=javascript&q=x").get_data(as_text=True)
    assert "javascript:" not in page


def test_markup_in_names_and_department_names_is_escaped_everywhere(app, instructions_org, make_department,
                                                                    make_person):
    payload = "<img src=x onerror=alert(1)>"
    hostile_department = make_department("EVIL", name_ja=f"{payload}部", kind="agency")
    make_person("X<b>1</b>", department=hostile_department, name=payload)
    instruction = issue_directly(instructions_org.manager, departments=("CUST", "EVIL"))
    manager = client_for(app, instructions_org.manager)
    for url in (f"/instructions/{instruction.id}", "/instructions/"):
        parser = LiveHtml()
        parser.feed(_main(manager.get(url).get_data(as_text=True)))
        assert parser.handlers == [] and "img" not in parser.tags and "b" not in parser.tags, url
    response = manager.get(f"/instructions/{instruction.id}/record.pdf")
    pdf = response.get_data()
    response.close()
    assert response.status_code == 200 and pdf.startswith(b"%PDF-")
