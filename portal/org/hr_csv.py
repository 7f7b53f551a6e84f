"""Parsing and checking an HR export (pure: bytes in, rows and errors out)."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from portal.org.models import DEPARTMENT_KINDS, ROLES

HR_COLUMNS = (
    "employee_no", "name", "name_kana", "email", "department_code",
    "department_name", "department_kind", "roles", "manages", "active",
)
ENCODINGS = ("utf-8", "cp932")
_TRUE = {"", "1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+$")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
#: Unicode categories Cc (controls) and Co (private use), as character classes for speed.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd]")
#: Longest value each free-text column may hold (the database column sizes).
MAX_LENGTHS = {"name": 200, "name_kana": 200, "email": 254, "department_name": 200}
_REQUIRED = ("name", "email", "department_name")


@dataclass(frozen=True)
class HrRow:
    """One valid person row, normalised."""

    line: int
    employee_no: str
    name: str
    name_kana: str
    email: str
    department_code: str
    department_name: str
    department_kind: str
    roles: frozenset[str]
    manages: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class RowError:
    """A problem at a line of the file; code and params are turned into words by describe_error."""

    line: int
    code: str
    params: dict = field(default_factory=dict)


class UndecodableFile(ValueError):
    """The bytes are not text in the chosen encoding; `error` says where."""

    def __init__(self, error: RowError):
        super().__init__(error.code)
        self.error = error


def decode(raw: bytes, encoding: str = "utf-8") -> str:
    """Bytes to text: UTF-8 with or without BOM, or CP932 when asked. Raises UndecodableFile."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unsupported encoding {encoding}")
    if encoding == "cp932" and _looks_like_utf8(raw):
        # A UTF-8 file read as CP932 mostly decodes "successfully" into mojibake: refuse it.
        raise UndecodableFile(RowError(1, "looks_like_utf8"))
    try:
        return raw.decode("utf-8-sig" if encoding == "utf-8" else "cp932")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise UndecodableFile(RowError(line, "not_decodable", {"encoding": encoding.upper()})) from None


def _looks_like_utf8(raw: bytes) -> bool:
    if raw.startswith(b"\xef\xbb\xbf"):
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not raw.isascii()


def parse_hr_csv(text: str, known_department_codes: frozenset[str] = frozenset()) -> tuple[list[HrRow], list[RowError]]:
    """Check every row; the file is usable only when the error list is empty.

    known_department_codes: departments already in the portal, which `manages` may name.
    """
    # strict: an unclosed quote or stray quote is an error, not half the file swallowed into one cell
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        return [], [RowError(1, "empty_file")]
    except csv.Error:
        return [], [RowError(1, "bad_csv")]
    missing = [column for column in HR_COLUMNS if column not in header]
    if missing:
        return [], [RowError(1, "missing_columns", {"columns": ", ".join(missing)})]
    doubled = sorted({column for column in HR_COLUMNS if header.count(column) > 1})
    if doubled:
        return [], [RowError(1, "duplicate_columns", {"columns": ", ".join(doubled)})]
    index = {column: header.index(column) for column in HR_COLUMNS}
    rows: list[HrRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    departments: dict[str, tuple[str, str, int]] = {}
    line_before = reader.line_num
    try:
        for record in reader:
            line, line_before = line_before + 1, reader.line_num  # a quoted cell may span lines
            if not any(cell.strip() for cell in record):
                continue
            cells = {column: (record[i].strip() if i < len(record) else "") for column, i in index.items()}
            row_errors = _check_row(line, cells, seen, departments)
            errors.extend(row_errors)
            if not row_errors:
                rows.append(_to_row(line, cells))
    except csv.Error:
        errors.append(RowError(line_before + 1, "bad_csv"))
    if not rows and not errors:
        errors.append(RowError(1, "no_rows"))
    codes = {row.department_code for row in rows} | set(known_department_codes)
    for row in rows:
        for code in row.manages:
            if code not in codes:
                errors.append(RowError(row.line, "unknown_managed_department", {"code": code}))
    return rows, sorted(errors, key=lambda error: error.line)


def _text_errors(line: int, cells: dict) -> list[RowError]:
    """Empty required cells, over-long cells, control and private-use characters."""
    errors = [RowError(line, f"missing_{column}") for column in _REQUIRED if not cells[column]]
    for column, limit in MAX_LENGTHS.items():
        if len(cells[column]) > limit:
            errors.append(RowError(line, "too_long", {"column": column, "limit": limit}))
    whole = " ".join(cells.values())
    if not (_CONTROL.search(whole) or _PRIVATE_USE.search(whole)):
        return errors  # the usual case: one search per pattern, not one per cell
    for column, value in cells.items():
        if _CONTROL.search(value):
            errors.append(RowError(line, "control_character", {"column": column}))
        if _PRIVATE_USE.search(value):
            # CP932 user-defined characters (外字) land in the private-use area: no font shows them.
            errors.append(RowError(line, "private_use_character", {"column": column}))
    return errors


def _check_row(line: int, cells: dict, seen: dict, departments: dict) -> list[RowError]:
    errors = []
    employee_no = cells["employee_no"]
    if not employee_no:
        errors.append(RowError(line, "missing_employee_no"))
    elif not _CODE.match(employee_no):
        errors.append(RowError(line, "bad_employee_no", {"value": employee_no}))
    elif employee_no in seen:
        errors.append(RowError(line, "duplicate_employee_no", {"value": employee_no, "first_line": seen[employee_no]}))
    else:
        seen[employee_no] = line
    errors.extend(_text_errors(line, cells))
    if cells["email"] and not _EMAIL.match(cells["email"]):
        errors.append(RowError(line, "bad_email", {"value": cells["email"]}))
    code, kind = cells["department_code"], cells["department_kind"] or "internal"
    if not code:
        errors.append(RowError(line, "missing_department_code"))
    elif not _CODE.match(code):
        errors.append(RowError(line, "bad_department_code", {"value": code}))
    if kind not in DEPARTMENT_KINDS:
        errors.append(RowError(line, "unknown_department_kind", {"value": kind}))
    elif code and code in departments:
        name, first_kind, first_line = departments[code]
        if (cells["department_name"] and cells["department_name"] != name) or kind != first_kind:
            errors.append(RowError(line, "department_conflict", {"code": code, "first_line": first_line}))
    elif code and cells["department_name"]:
        departments[code] = (cells["department_name"], kind, line)
    roles = cells["roles"].split()
    for role in roles:
        if role not in ROLES:
            errors.append(RowError(line, "unknown_role", {"value": role}))
    if cells["active"].lower() not in _TRUE | _FALSE:
        errors.append(RowError(line, "bad_active", {"value": cells["active"]}))
    if cells["manages"] and "manager" not in roles:
        errors.append(RowError(line, "manages_without_manager_role"))
    return errors


def _to_row(line: int, cells: dict) -> HrRow:
    return HrRow(
        line=line,
        employee_no=cells["employee_no"],
        name=cells["name"],
        name_kana=cells["name_kana"],
        email=cells["email"],
        department_code=cells["department_code"],
        department_name=cells["department_name"],
        department_kind=cells["department_kind"] or "internal",
        roles=frozenset(cells["roles"].split()),
        manages=tuple(dict.fromkeys(cells["manages"].split())),
        active=cells["active"].lower() in _TRUE,
    )
