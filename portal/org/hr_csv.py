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
_TRUE = {"", "1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


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


def decode(raw: bytes, encoding: str = "utf-8") -> str:
    """Bytes to text: UTF-8 with or without BOM, or CP932 when asked. Raises UnicodeDecodeError."""
    if encoding.lower().replace("-", "").replace("_", "") in {"utf8", "utf8sig"}:
        return raw.decode("utf-8-sig")
    return raw.decode("cp932")


def parse_hr_csv(text: str, known_department_codes: frozenset[str] = frozenset()) -> tuple[list[HrRow], list[RowError]]:
    """Check every row; the file is usable only when the error list is empty.

    known_department_codes: departments already in the portal, which `manages` may name.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        return [], [RowError(1, "empty_file")]
    missing = [column for column in HR_COLUMNS if column not in header]
    if missing:
        return [], [RowError(1, "missing_columns", {"columns": ", ".join(missing)})]
    index = {column: header.index(column) for column in HR_COLUMNS}
    rows: list[HrRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    departments: dict[str, tuple[str, str, int]] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        cells = {column: (record[i].strip() if i < len(record) else "") for column, i in index.items()}
        row_errors = _check_row(line, cells, seen, departments)
        errors.extend(row_errors)
        if not row_errors:
            rows.append(_to_row(line, cells))
    codes = {row.department_code for row in rows} | set(known_department_codes)
    for row in rows:
        for code in row.manages:
            if code not in codes:
                errors.append(RowError(row.line, "unknown_managed_department", {"code": code}))
    return rows, sorted(errors, key=lambda error: error.line)


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
    if not cells["name"]:
        errors.append(RowError(line, "missing_name"))
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
    for role in cells["roles"].split():
        if role not in ROLES:
            errors.append(RowError(line, "unknown_role", {"value": role}))
    if cells["active"].lower() not in _TRUE | _FALSE:
        errors.append(RowError(line, "bad_active", {"value": cells["active"]}))
    if cells["manages"] and "manager" not in cells["roles"].split():
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
