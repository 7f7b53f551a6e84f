"""The shared safe exporters (portal.core.exports): formula neutralisation, CSV framing, XLSX
cell types, and the server-set file name. Pure unit tests, plus one response in an app."""
from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from portal.core.exports import (
    Sheet,
    ascii_filename,
    clean_filename,
    content_disposition,
    csv_lines,
    csv_response,
    safe_cell,
    write_xlsx,
)

TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]


@pytest.mark.parametrize("lead", TRIGGERS)
def test_each_leading_trigger_is_neutralised(lead):
    assert safe_cell(lead + "1+1") == "'" + lead + "1+1"


@pytest.mark.parametrize("text", [" =1+1", "\u3000=1+1", "\n@SUM(A1)", "  -2"])
def test_a_trigger_behind_blanks_is_neutralised(text):
    assert safe_cell(text).startswith("'")


def test_a_leading_nul_is_neutralised_and_replaced():
    assert safe_cell("\x00=1") == "'\ufffd=1"


@pytest.mark.parametrize("text", ["山田 太郎", "a=b", "1-2", "O'Brien", "", "メール@例"])
def test_ordinary_text_is_left_alone(text):
    assert safe_cell(text) == text


def test_numbers_stay_numbers_and_none_is_empty():
    assert safe_cell(-5) == -5 and safe_cell(2.5) == 2.5 and safe_cell(None) == ""


def test_control_characters_are_replaced_but_line_breaks_kept():
    assert safe_cell("a\x07b\r\nc\td") == "a\ufffdb\r\nc\td"


def _parse(chunks) -> list[list[str]]:
    data = b"".join(chunks)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel then reads UTF-8 Japanese correctly
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_cells_with_line_breaks_cannot_forge_rows():
    hostile = 'ok"\r\n=HYPERLINK("http://evil.example","x"),forged,row\r\n'
    rows = _parse(csv_lines(["氏名", "理由"], [["髙橋 𠮷子", hostile], ["次", "普通"]]))
    assert len(rows) == 3
    assert rows[1] == ["髙橋 𠮷子", hostile]  # kept as data, inside one cell
    assert rows[2] == ["次", "普通"]


def test_csv_neutralises_formulas_and_header_cells():
    rows = _parse(csv_lines(["=cmd"], [["=HYPERLINK(\"http://evil.example\")"], ["@SUM(1)"]]))
    assert rows == [["'=cmd"], ["'=HYPERLINK(\"http://evil.example\")"], ["'@SUM(1)"]]


def test_csv_streams_in_chunks():
    chunks = list(csv_lines(["n"], ([i] for i in range(2000)), batch=500))
    assert len(chunks) >= 4
    assert len(_parse(chunks)) == 2001


def test_xlsx_writes_text_as_text_never_as_formula(tmp_path):
    path = tmp_path / "x.xlsx"
    with path.open("wb") as handle:
        write_xlsx(handle, [Sheet("監査ログ", ["理由", "数"], [["=HYPERLINK(\"http://evil.example\")", 3],
                                                          ["a\x01b\r\nc", -1], ["=1+1", None]])])
    workbook = load_workbook(path)
    try:
        sheet = workbook["監査ログ"]
        assert sheet["A2"].value == "'=HYPERLINK(\"http://evil.example\")" and sheet["A2"].data_type == "s"
        # Illegal XML character replaced (not a crash); XML reads CR LF back as one LF.
        assert sheet["A3"].value == "a\ufffdb\nc"
        assert sheet["A4"].data_type == "s" and sheet["B2"].value == 3 and sheet["B3"].value == -1
    finally:
        workbook.close()


def test_japanese_filename_gets_rfc5987_and_an_ascii_fallback():
    header = content_disposition("監査ログ_as-of-2026-11-30.csv")
    assert header.startswith('attachment; filename="as-of-2026-11-30.csv"')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "監査ログ_as-of-2026-11-30.csv"
    assert all(ord(c) < 128 for c in header)


def test_plain_ascii_filename_needs_no_extended_form():
    assert content_disposition("report.csv") == 'attachment; filename="report.csv"'


@pytest.mark.parametrize("hostile", [
    '../../etc/passwd', 'a"; filename="evil.exe', "a\r\nSet-Cookie: x=1.csv", "..\\..\\boot.ini",
    "invoice\u202eslx.exe", ".htaccess", "a;b,c%20d.csv", "\x00\x01.csv",
])
def test_hostile_filename_characters_are_stripped(hostile):
    header = content_disposition(hostile)
    for bad in ("/", "\\", "\r", "\n", "\u202e", "\x00"):
        assert bad not in unquote(header)
    assert header.count('"') == 2 and header.count(";") <= 2
    assert not clean_filename(hostile).startswith(".")


def test_empty_names_fall_back_to_download():
    assert clean_filename("") == "download" and ascii_filename("監査.csv") == "download.csv"


def test_csv_response_is_a_streamed_attachment(app):
    with app.test_request_context():
        response = csv_response("監査ログ.csv", ["a"], [["=x"]])
        try:
            assert response.is_streamed
            assert response.mimetype == "text/csv"
            disposition = response.headers["Content-Disposition"]
            assert "filename*=UTF-8''%E7%9B%A3%E6%9F%BB%E3%83%AD%E3%82%B0.csv" in disposition
            assert response.get_data().decode("utf-8-sig").splitlines()[1] == '"\'=x"'
        finally:
            response.close()
