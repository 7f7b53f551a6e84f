"""Organisation pages: people (scoped for managers), one person with their roles, departments."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.core.access import roles_required
from portal.core.i18n import current_locale
from portal.core.refusals import apply_refusal_to_form
from portal.extensions import db
from portal.org import import_views  # noqa: F401  (the HR import pages, on the same blueprint)
from portal.org.blueprint import bp
from portal.org.forms import PeopleFilterForm, RolesForm
from portal.org.messages import person_label
from portal.org.models import Department, Person
from portal.org.queries import (
    PeopleFilter,
    department_choices,
    departments_overview,
    people_page,
    person_for_viewer,
)
from portal.org.services import RoleChangeRefused, change_roles, role_state

__all__ = ["bp"]

#: Who may open the people pages; managers see only the departments they manage.
PEOPLE_VIEWERS = ("admin", "training_admin", "auditor", "manager")


def _viewer() -> Person:
    return current_user._get_current_object()


def _department_label(department: Department) -> str:
    return f"{department.display_name(current_locale())}（{department.code}）"


@bp.route("/people")
@roles_required(*PEOPLE_VIEWERS)
def people():
    """People the viewer may see: search, filter by department and status, by kana reading."""
    viewer = _viewer()
    form = PeopleFilterForm(formdata=request.args)
    form.department.choices = [SelectChoice("", _("All departments"))] + [
        SelectChoice(str(d.id), _department_label(d)) for d in department_choices(viewer)]
    form.validate()  # a bad value is shown as an error and left out of the filter
    wanted = PeopleFilter(
        text="" if form.q.errors else (form.q.data or ""),
        department_id=int(form.department.data) if form.department.data and not form.department.errors else None,
        status=form.status.data if form.status.data and not form.status.errors else "all",
    )
    result = people_page(viewer, wanted, request.args.get("page", 1, type=int))
    filters = {"q": wanted.text or None, "department": wanted.department_id, "status": wanted.status}
    return render_template("org/people.html", form=form, result=result, filters=filters,
                           scoped=not viewer.has_role("admin", "training_admin", "auditor"))


def _load_person(person_id: int) -> Person:
    """The person if the viewer may see them; 404 otherwise, the same as a person who does not exist."""
    person = person_for_viewer(_viewer(), person_id)
    if person is None:
        abort(404)
    return person


def _roles_form(person: Person, submitted: bool = False) -> RolesForm:
    data = None if submitted else {
        "roles": sorted(person.roles - {"employee"}),
        "managed": [d.id for d in person.managed_departments],
        "state": role_state(person),
    }
    form = RolesForm(data=data) if data else RolesForm()
    form.managed.choices = [SelectChoice(str(d.id), _department_label(d)) for d in department_choices(_viewer())]
    return form


def _may_edit_roles(person: Person) -> bool:
    viewer = _viewer()
    return viewer.has_role("admin") and viewer.id != person.id


@bp.route("/people/<int:person_id>")
@roles_required(*PEOPLE_VIEWERS)
def person(person_id: int):
    """One person: department, roles, managed departments, status; admins may change the roles."""
    target = _load_person(person_id)
    form = _roles_form(target) if _may_edit_roles(target) else None
    return render_template("org/person.html", person=target, form=form)


#: HTTP status and words per role-change refusal code.
_REFUSALS = {
    "own_roles": (403, lambda: _("You cannot change your own roles. Ask another administrator.")),
    "manages_without_manager": (400, lambda: _("Only a manager can manage departments: tick Manager as well, or "
                                               "clear the departments.")),
    "unknown_role": (400, lambda: _("Choose roles from the list.")),
    "unknown_department": (400, lambda: _("Choose departments from the list.")),
    "reason_required": (400, lambda: _("Enter the reason for the change.")),
    "stale": (409, lambda: _("Someone changed this person's roles after you opened the page. Check the current roles "
                             "below and try again.")),
}


def _refusal_words(code: str) -> str:
    return _REFUSALS[code][1]()


@bp.route("/people/<int:person_id>/roles", methods=["POST"])
@roles_required("admin")
def person_roles(person_id: int):
    """Change a person's roles and managed departments, with a reason (never one's own)."""
    target = _load_person(person_id)
    if target.id == _viewer().id:
        status = _REFUSALS["own_roles"][0]
        flash(_refusal_words("own_roles"), "error")
        return render_template("org/person.html", person=target, form=None), status
    form = _roles_form(target, submitted=True)
    if not form.validate_on_submit():
        return render_template("org/person.html", person=target, form=form), 400
    try:
        changed = change_roles(_viewer(), target, form.roles.data, form.managed.data, form.reason.data,
                               expected_state=form.state.data or None)
    except RoleChangeRefused as refusal:
        db.session.rollback()
        status = _REFUSALS[refusal.code][0]
        target = _load_person(person_id)
        fresh = _roles_form(target) if status == 409 else form
        apply_refusal_to_form(fresh, refusal, _refusal_words)
        return render_template("org/person.html", person=target, form=fresh), status
    db.session.commit()
    who = person_label(target.name, target.employee_no)
    flash(_("The roles of %(person)s were changed.", person=who) if changed
          else _("Nothing was changed for %(person)s.", person=who), "success" if changed else "warning")
    return redirect(url_for("org.person", person_id=target.id))


@bp.route("/departments")
@roles_required("admin", "training_admin", "auditor")
def departments():
    """Every department and sales agency, with kind, parent and headcount."""
    return render_template("org/departments.html", rows=departments_overview())
