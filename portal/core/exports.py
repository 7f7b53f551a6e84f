"""Safe spreadsheet exports (CSV and XLSX) that every feature shares.

Spreadsheet programs run a cell as a formula when its text starts with = + - @ (and,
in some versions, tab, CR or NUL before one); a name or reason typed by a user must
never become a formula in an auditor's Excel. `safe_cell` neutralises such text with a
leading single quote (OWASP / ASVS 1.2.10). CSV cells are always quoted (RFC 4180), so
CR/LF inside a cell stays data and cannot start a forged row. In XLSX a line break stays a
line break inside its cell (XML reads CR LF back as LF).
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import quote

from flask import Response, current_app

#: Leading characters a spreadsheet may treat as the start of a formula. The
#: full-width forms are included because Japanese IMEs produce them and some
#: spreadsheet builds convert them to their ASCII forms on input.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\0\uff1d\uff0b\uff0d\uff20")
#: Control characters XML (XLSX) cannot hold and CSV readers choke on; tab, LF and CR stay.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LEADING_BLANKS = " \u3000\n"
XLSX_MAX_CELL = 32767  # Excel's own limit on characters in one cell
XLSX_MAX_ROWS = 1_048_576  # rows per sheet, header included
#: Full Content-Type values, sent as they are: passed as `mimetype`, Werkzeug would append a
#: second "; charset=utf-8" to a text/ type that already names one.
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 64 * 1024


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read this text as a formula (or a trigger hides behind blanks)."""
    if not text:
        return False
    if text[0] in FORMULA_TRIGGERS:
        return True
    stripped = text.lstrip(_LEADING_BLANKS)
    return stripped != text and bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def safe_text(text: str) -> str:
    """Text as a cell may hold it: control characters replaced, formula triggers neutralised."""
    if not text:
        return text
    risky = text[0] in FORMULA_TRIGGERS or (text[0] in _LEADING_BLANKS and is_formula_like(text))
    if _CONTROL.search(text):  # judged "risky" above, before a leading NUL is replaced here
        text = _CONTROL.sub("\ufffd", text)
    return "'" + text if risky else text


def safe_cell(value: Any) -> Any:
    """A value ready for a cell: numbers stay numbers, everything else becomes safe text."""
    if type(value) is str:  # the common case first: exports are mostly text
        return safe_text(value)
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, Decimal)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return safe_text(str(value))


# --- file names -----------------------------------------------------------------------------

_UNSAFE_NAME_CHARS = re.compile(r'[\\/:*?"<>|;,%\'`]')


def clean_filename(filename: str, default: str = "download") -> str:
    """A file name without paths, control/bidi characters or shell/header metacharacters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    name = re.sub(r"\s+", "_", name).strip("._ ")
    if not name or name.startswith("."):
        name = default
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:120]
    return name


def ascii_filename(filename: str, default: str = "download") -> str:
    """The ASCII fallback for old clients: letters, digits, dot, dash and underscore only."""
    name = clean_filename(filename, default)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    def to_ascii(part: str) -> str:
        part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", part)).strip("._")
    stem, ext = to_ascii(stem), to_ascii(ext)
    stem = stem or default
    return f"{stem}.{ext}" if ext else stem


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A server-set Content-Disposition: ASCII filename plus RFC 5987 filename*=UTF-8'' when needed."""
    name = clean_filename(filename)
    fallback = ascii_filename(name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def _download(body, content_type: str, filename: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- CSV --------------------------------------------------------------------------------------


def csv_lines(header: Sequence[Any], rows: Iterable[Sequence[Any]], batch: int = 500) -> Iterator[bytes]:
    """UTF-8 (with BOM, so Excel reads Japanese) CSV bytes, every cell quoted and neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([safe_cell(v) for v in header])
    pending = 1
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        pending += 1
        if pending >= batch:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def rows_in_app_context(make_rows: Callable[[], Iterable[Sequence[Any]]], chunk: int = 1000) -> Iterator[Sequence[Any]]:
    """Rows read inside an app context (own database session) while a response streams.

    The body of a streamed response is read after the view has returned and its request
    context is gone, so rows that come from the database need a context of their own. It is
    pushed and popped around each chunk of rows, never held across a `yield`: the server
    may resume the body in another context.
    """
    app = current_app._get_current_object()

    def generate() -> Iterator[Sequence[Any]]:
        rows: Iterator[Sequence[Any]] | None = None
        while True:
            with app.app_context():
                rows = rows if rows is not None else iter(make_rows())
                batch = list(islice(rows, chunk))
            if not batch:
                return
            yield from batch

    return generate()


def csv_response(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Response:
    """A streamed CSV download. Rows that read the database: wrap them in `rows_in_app_context`."""
    return _download(csv_lines(header, rows), CSV_CONTENT_TYPE, filename)


# --- XLSX -------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One worksheet of an XLSX export: a title, a header row and the data rows."""

    title: str
    header: Sequence[Any]
    rows: Iterable[Sequence[Any]] = field(default_factory=list)


def _xlsx_cell(sheet, value: Any):
    from openpyxl.cell import WriteOnlyCell

    value = safe_cell(value)
    if isinstance(value, str):
        value = value[:XLSX_MAX_CELL]
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # text is text: openpyxl would otherwise turn "=…" into a formula
        return cell
    return WriteOnlyCell(sheet, value=value)


def write_xlsx(handle, sheets: Sequence[Sheet]) -> None:
    """Write sheets into a binary file object (write-only mode: memory stays flat)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for spec in sheets:
        part = 1
        sheet = workbook.create_sheet(_sheet_title(spec.title, part))
        sheet.append([_xlsx_cell(sheet, v) for v in spec.header])
        used = 1
        for row in spec.rows:
            if used >= XLSX_MAX_ROWS:  # Excel's limit: carry on in a new sheet with the same header
                part += 1
                sheet = workbook.create_sheet(_sheet_title(spec.title, part))
                sheet.append([_xlsx_cell(sheet, v) for v in spec.header])
                used = 1
            sheet.append([_xlsx_cell(sheet, v) for v in row])
            used += 1
    workbook.save(handle)


def _sheet_title(title: str, part: int) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", title).strip("'") or "Sheet"
    suffix = f" ({part})" if part > 1 else ""
    return title[: 31 - len(suffix)] + suffix


def _file_chunks(handle) -> Iterator[bytes]:
    try:
        handle.seek(0)
        while chunk := handle.read(_CHUNK):
            yield chunk
    finally:
        handle.close()


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> Response:
    """An XLSX download, built in a temporary file and streamed from it."""
    handle = tempfile.TemporaryFile()
    try:
        write_xlsx(handle, sheets)
    except BaseException:
        handle.close()
        raise
    response = _download(_file_chunks(handle), XLSX_CONTENT_TYPE, filename)
    response.call_on_close(handle.close)
    return response
