"""Words for import problems, in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as _

from portal.org.hr_csv import RowError


def describe_error(error: RowError) -> str:
    """One line such as "line 4: unknown role 'boss'"."""
    p = error.params
    texts = {
        "empty_file": _("the file is empty"),
        "missing_columns": _("missing columns: %(columns)s", columns=p.get("columns", "")),
        "missing_employee_no": _("employee_no is empty"),
        "bad_employee_no": _("employee_no %(value)s may only contain letters, digits, '.', '_' and '-'", value=p.get("value", "")),
        "duplicate_employee_no": _("employee_no %(value)s appears again (first on line %(first)s)", value=p.get("value", ""), first=p.get("first_line", "")),
        "missing_name": _("name is empty"),
        "bad_email": _("e-mail address %(value)s is not valid", value=p.get("value", "")),
        "missing_department_code": _("department_code is empty"),
        "bad_department_code": _("department_code %(value)s may only contain letters, digits, '.', '_' and '-'", value=p.get("value", "")),
        "unknown_department_kind": _("unknown department_kind %(value)s (use internal or agency)", value=p.get("value", "")),
        "department_conflict": _("department %(code)s has a different name or kind than on line %(first)s", code=p.get("code", ""), first=p.get("first_line", "")),
        "unknown_role": _("unknown role %(value)s", value=p.get("value", "")),
        "bad_active": _("active must be true or false, not %(value)s", value=p.get("value", "")),
        "manages_without_manager_role": _("manages is set but roles does not include manager"),
        "unknown_managed_department": _("manages names department %(code)s, which is neither in the file nor in the portal", code=p.get("code", "")),
        "not_decodable": _("the file is not valid text in the chosen encoding"),
    }
    return _("line %(line)s: %(text)s", line=error.line, text=texts.get(error.code, error.code))
