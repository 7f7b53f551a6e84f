"""The shared PDF renderer: Japanese fonts embedded, no local file or network access."""
from __future__ import annotations

import base64
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from portal.core.pdf import FONT_CONFIG, PortalURLFetcher, RefusedURL, render_pdf

pytestmark = pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler-utils (pdffonts) is not installed")

PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<link rel="stylesheet" href="css/pdf-report.css">{extra_head}</head>
<body><h1>是正指示 第1号 髙橋 﨑</h1><p>電話勧奨を直ちに停止してください。</p>{extra_body}</body></html>"""
SECRET_FILE_MARKER = "root:x:0:0"
ONE_PIXEL_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")).decode()


def _run(tool: str, pdf: bytes, tmp_path, *args: str) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                          check=True, capture_output=True, text=True).stdout


def test_japanese_text_is_set_in_embedded_ipaex_fonts(tmp_path):
    pdf = render_pdf(PAGE.format(extra_head="", extra_body=""))
    assert pdf.startswith(b"%PDF-")
    fonts = _run("pdffonts", pdf, tmp_path)
    embedded = [line for line in fonts.splitlines() if "IPAex" in line]
    assert embedded, fonts
    assert all(" yes " in line for line in embedded)  # emb column: not substituted by the viewer
    text = _run("pdftotext", pdf, tmp_path)
    assert "是正指示 第1号 髙橋 﨑" in text and "電話勧奨を直ちに停止してください。" in text


def test_local_files_and_the_network_are_not_pulled_in(tmp_path):
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"remote")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    remote = f"http://127.0.0.1:{server.server_port}"
    try:
        pdf = render_pdf(PAGE.format(
            extra_head=f'<link rel="attachment" href="file:///etc/passwd"><link rel="stylesheet" href="{remote}/x.css">'
                       '<link rel="stylesheet" href="file:///etc/passwd">',
            extra_body=f'<img src="file:///etc/passwd"><img src="{remote}/p.png"><img src="../../../../etc/passwd">'
                       '<img src="data:text/plain;base64,cm9vdDp4OjA6MA=="><img src="css/../../app.py">'
                       '<object data="file:///etc/passwd"></object><embed src="file:///etc/passwd">'
                       '<iframe src="file:///etc/passwd"></iframe>'))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert hits == []
    assert SECRET_FILE_MARKER.encode() not in pdf
    assert "0 embedded files" in _run("pdfdetach", pdf, tmp_path, "-list")
    assert SECRET_FILE_MARKER not in _run("pdftotext", pdf, tmp_path)


def test_a_static_file_can_be_attached_so_the_check_above_can_fail(tmp_path):
    pdf = render_pdf(PAGE.format(extra_head='<link rel="attachment" href="css/pdf-report.css">', extra_body=""))
    assert "1 embedded files" in _run("pdfdetach", pdf, tmp_path, "-list")


def test_the_fetcher_serves_static_files_and_raster_data_only():
    fetcher = PortalURLFetcher()
    from portal.core.pdf import STATIC_BASE_URL

    response = fetcher(STATIC_BASE_URL + "css/pdf-report.css")
    assert b"@page" in response.read()
    response.close()
    image = fetcher(f"data:image/png;base64,{ONE_PIXEL_PNG}")
    assert image.read().startswith(b"\x89PNG")
    image.close()
    for url in ("file:///etc/passwd", STATIC_BASE_URL + "../app.py", "http://example.com/a.png",
                "https://example.com/", "data:image/svg+xml;base64,PHN2Zy8+", "data:text/html,<b>x</b>",
                "ftp://example.com/x"):
        with pytest.raises(RefusedURL):
            fetcher(url)


def test_one_font_configuration_is_shared_by_every_render():
    import portal.core.pdf as pdf_module

    before = pdf_module.FONT_CONFIG
    render_pdf(PAGE.format(extra_head="", extra_body=""))
    render_pdf(PAGE.format(extra_head="", extra_body=""))
    assert pdf_module.FONT_CONFIG is before is FONT_CONFIG


def test_rare_gaiji_fall_back_to_ipamj_mincho_in_the_report_stylesheet(tmp_path):
    from portal.core.pdf import static_stylesheet

    pdf = render_pdf("<p>𠮷田 誠（G4001）</p>", stylesheets=[static_stylesheet("css/pdf-report.css")])
    assert "IPAmjMincho" in _run("pdffonts", pdf, tmp_path), "install fonts-ipamj-mincho (Makefile RUN_PACKAGES)"
    assert "𠮷田 誠" in _run("pdftotext", pdf, tmp_path)


def test_two_threads_never_render_at_once(monkeypatch):
    # Pango and fontconfig behind the shared FONT_CONFIG are not thread-safe (a consumer with two threads crashed).
    import time

    from weasyprint import HTML

    original, inside, most = HTML.write_pdf, [0], [0]

    def counting(self, *args, **kwargs):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.05)  # long enough for the other thread to arrive
        try:
            return original(self, *args, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(HTML, "write_pdf", counting)
    results = []
    threads = [threading.Thread(target=lambda: results.append(render_pdf(PAGE.format(extra_head="", extra_body=""))))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and all(pdf.startswith(b"%PDF-") for pdf in results)
    assert most[0] == 1
