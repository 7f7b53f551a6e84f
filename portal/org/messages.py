"""Words for the organisation: import problems, plan lines, role and kind labels, in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l

from portal.org.hr_csv import RowError
from portal.org.sync_plan import FieldChange, SyncPlan

ROLE_LABELS = {
    "employee": _l("Employee"),
    "manager": _l("Manager"),
    "training_admin": _l("Training admin"),
    "grant_owner": _l("Grant owner"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
}
KIND_LABELS = {"internal": _l("Internal"), "agency": _l("Sales agency")}
FIELD_LABELS = {
    "name": _l("Full name"), "name_kana": _l("Reading (kana)"), "email": _l("E-mail"),
    "department": _l("Department"), "active": _l("Status"), "name_ja": _l("Name (Japanese)"), "kind": _l("Kind"),
}
COUNT_LABELS = {
    "new_departments": _l("New departments"), "changed_departments": _l("Changed departments"),
    "new_people": _l("New people"), "changed_people": _l("Changed people"),
    "role_changes": _l("Role changes"), "manages_changes": _l("Changes to managed departments"),
    "deactivated": _l("Deactivated (missing from the file)"),
}


def role_label(role: str) -> str:
    """A role in words."""
    return str(ROLE_LABELS.get(role, role))


def roles_text(roles) -> str:
    """Roles in words, or a dash for none beyond employee."""
    return "、".join(role_label(role) for role in roles) or "—"


def codes_text(codes) -> str:
    """Department codes, or a dash for none."""
    return " ".join(codes) or "—"


def person_label(name: str, employee_no: str) -> str:
    """A person as 氏名（社員番号）: names repeat, numbers do not."""
    return f"{name}（{employee_no}）"


def value_text(field: str, value: object) -> str:
    """A stored value in words (status, kind), else as is."""
    if field == "active":
        return _("Active") if value else _("Inactive")
    if field == "kind":
        return str(KIND_LABELS.get(str(value), value))
    return str(value) if value not in (None, "") else "—"


def field_change_text(change: FieldChange) -> str:
    """One column change, e.g. "氏名: 山崎 → 山﨑"."""
    return _("%(field)s: %(before)s → %(after)s", field=FIELD_LABELS.get(change.field, change.field),
             before=value_text(change.field, change.before), after=value_text(change.field, change.after))


def describe_error(error: RowError) -> str:
    """One line such as "line 4: unknown role 'boss'"."""
    p = error.params
    column = p.get("column", "")
    texts = {
        "empty_file": _("the file is empty"),
        "no_rows": _("the file has a header but no people"),
        "bad_csv": _("the CSV is broken here (for example a quote that is never closed)"),
        "missing_columns": _("missing columns: %(columns)s", columns=p.get("columns", "")),
        "duplicate_columns": _("columns appear twice in the header: %(columns)s", columns=p.get("columns", "")),
        "missing_employee_no": _("employee_no is empty"),
        "bad_employee_no": _("employee_no %(value)s may only contain letters, digits, '.', '_' and '-'",
                             value=p.get("value", "")),
        "duplicate_employee_no": _("employee_no %(value)s appears again (first on line %(first)s)",
                                   value=p.get("value", ""), first=p.get("first_line", "")),
        "missing_name": _("name is empty"),
        "missing_email": _("email is empty"),
        "missing_department_name": _("department_name is empty"),
        "too_long": _("%(column)s is longer than %(limit)s characters", column=column, limit=p.get("limit", "")),
        "control_character": _("%(column)s contains a control character (such as a line break)", column=column),
        "private_use_character": _("%(column)s contains a private-use character (外字) that no font can show; replace "
                                   "it in the HR system", column=column),
        "bad_email": _("e-mail address %(value)s is not valid", value=p.get("value", "")),
        "missing_department_code": _("department_code is empty"),
        "bad_department_code": _("department_code %(value)s may only contain letters, digits, '.', '_' and '-'",
                                 value=p.get("value", "")),
        "unknown_department_kind": _("unknown department_kind %(value)s (use internal or agency)",
                                     value=p.get("value", "")),
        "department_conflict": _("department %(code)s has a different name or kind than on line %(first)s",
                                 code=p.get("code", ""), first=p.get("first_line", "")),
        "unknown_role": _("unknown role %(value)s", value=p.get("value", "")),
        "bad_active": _("active must be true or false, not %(value)s", value=p.get("value", "")),
        "manages_without_manager_role": _("manages is set but roles does not include manager"),
        "unknown_managed_department": _("manages names department %(code)s, which is neither in the file nor in the "
                                        "portal", code=p.get("code", "")),
        "not_decodable": _("the file is not valid %(encoding)s text: choose the encoding the file was saved in",
                           encoding=p.get("encoding", "")),
        "looks_like_utf8": _("the file is UTF-8, not CP932: choose UTF-8"),
    }
    return _("line %(line)s: %(text)s", line=error.line, text=texts.get(error.code, error.code))


def describe_plan(plan: SyncPlan) -> list[str]:
    """Every change of a plan as one line each (for the CLI's dry run)."""
    lines = []
    for row in plan.new_departments:
        lines.append(_("new department %(code)s %(name)s (%(kind)s)", code=row.department_code,
                       name=row.department_name, kind=value_text("kind", row.department_kind)))
    for change in plan.changed_departments:
        lines.append(_("department %(code)s: %(changes)s", code=change.key,
                       changes="; ".join(field_change_text(f) for f in change.fields)))
    for row in plan.new_people:
        lines.append(_("new person %(person)s in %(code)s", person=person_label(row.name, row.employee_no),
                       code=row.department_code))
    for change in plan.changed_people:
        lines.append(_("changed %(person)s: %(changes)s", person=person_label(change.name, change.key),
                       changes="; ".join(field_change_text(f) for f in change.fields)))
    for change in plan.role_changes:
        lines.append(_("roles of %(person)s: %(before)s → %(after)s", person=person_label(change.name, change.key),
                       before=roles_text(change.before), after=roles_text(change.after)))
    for change in plan.manages_changes:
        lines.append(_("departments managed by %(person)s: %(before)s → %(after)s",
                       person=person_label(change.name, change.key),
                       before=codes_text(change.before), after=codes_text(change.after)))
    for ref in plan.deactivated:
        lines.append(_("deactivate %(person)s (missing from the file)", person=person_label(ref.name, ref.key)))
    return lines
