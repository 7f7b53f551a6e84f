"""The certificate PDF itself: page size, embedded Japanese fonts, the text a reader sees, the QR code,
and hostile names that must print as text and fetch nothing. pdffonts / pdftotext read the PDF,
because a missing font silently prints empty boxes."""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from datetime import date, datetime, timezone

import pytest
from PIL import Image

from portal.certificates.queries import CertificateFacts
from portal.certificates.rendering import certificate_html, qr_matrix, qr_png_data_url, render_certificate

pytestmark = pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler-utils (pdffonts, pdftotext) missing")

CODE = "Qm9n3x_Vd8kLzP0aR7tYw1cE"


def _facts(name: str = "𠮷田 髙橋 山﨑", title: str = "顧客情報の適正な取扱いマニュアル", status: str = "current",
           valid_until: date | None = date(2027, 11, 28)) -> CertificateFacts:
    return CertificateFacts(7, CODE, 3, name, "G4001", "BACKYARD", "バックヤード部", "Back Office", 1, "customer-info",
                            title, "Handling customer information", 3,
                            datetime(2026, 11, 28, 23, 30, tzinfo=timezone.utc),
                            valid_until, status)


def _tool(args: list[str], pdf: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run([*args, str(path), *(["-"] if args[0] == "pdftotext" else [])], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def app_overrides() -> dict:
    """A known base URL, so the verification address is predictable."""
    return {"PORTAL_BASE_URL": "https://training.example.co.jp"}


def test_a4_landscape_one_page_with_mincho_embedded_and_gaiji_printed(app, tmp_path):
    pdf = render_certificate(_facts())
    info = _tool(["pdfinfo"], pdf, tmp_path)
    assert "Pages:           1" in info
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (842, 595)  # A4 landscape
    fonts = _tool(["pdffonts"], pdf, tmp_path)
    embedded = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert any(name.endswith("+IPAexMincho") for name in embedded), fonts
    # IPAex has no 𠮷: IPAmj Mincho (Debian fonts-ipamj-mincho) supplies it, embedded as a subset.
    assert any(name.endswith("+IPAmjMincho") for name in embedded), fonts
    for line in fonts.splitlines()[2:]:
        assert line.split()[-5:-2] == ["yes", "yes", "yes"], line  # embedded, subset, with a Unicode map
    text = _tool(["pdftotext"], pdf, tmp_path)
    for expected in ("修", "了", "証", "𠮷田 髙橋 山﨑", "殿", "顧客情報の適正な取扱いマニュアル", "第3版",
                     "2026年11月29日（令和8年11月29日）",  # 08:30 JST on the 29th
                     "2027年11月28日（令和9年11月28日）", "東日本電信電話株式会社 研修管理部",
                     f"https://training.example.co.jp/verify/{CODE}", CODE):
        assert expected in text, expected
    assert "\ufffd" not in text and "□" not in text


def test_no_expiry_line_without_a_validity_period_and_a_note_when_no_longer_current(app, tmp_path):
    text = _tool(["pdftotext"], render_certificate(_facts(valid_until=None)), tmp_path)
    assert "有効期限" not in text
    text = _tool(["pdftotext"], render_certificate(_facts(status="superseded")), tmp_path)
    assert "置き換えられています" in text


def test_hostile_names_print_as_text_and_fetch_nothing(app, tmp_path):
    hostile = '<img src="file:///etc/passwd"><link rel="attachment" href="file:///etc/hostname">'
    html = certificate_html(_facts(name=hostile, title='<object data="http://127.0.0.1:9/x">'))
    assert "<img src=\"file:" not in html and "&lt;img" in html
    pdf = render_certificate(_facts(name=hostile, title='<object data="http://127.0.0.1:9/x">'))
    text = _tool(["pdftotext"], pdf, tmp_path)
    assert 'file:///etc/passwd' in text  # shown, literally, as the name
    assert b"root:" not in pdf and b"/EmbeddedFile" not in pdf


def test_the_qr_code_encodes_the_verification_url_module_for_module(app):
    url = f"https://training.example.co.jp/verify/{CODE}"
    expected = qr_matrix(url)
    data_url = qr_png_data_url(url, scale=4)
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("L")
    size = len(expected)
    assert image.size == (size * 4, size * 4)
    decoded = [[image.getpixel((x * 4 + 2, y * 4 + 2)) < 128 for x in range(size)] for y in range(size)]
    assert decoded == expected
    # Version 1 (21 modules) holds too little: a real URL needs a larger symbol, with a 4-module quiet zone.
    assert size >= 25 + 8 and not any(expected[0]) and not any(row[0] for row in expected)
    # The three finder patterns sit in their corners.
    for top, left in ((4, 4), (4, size - 11), (size - 11, 4)):
        assert all(expected[top][left + i] for i in range(7)) and all(expected[top + i][left] for i in range(7))
