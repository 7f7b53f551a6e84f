"""GET /api/v1/people/<employee_no>/training: a person's training status as JSON."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify
from flask_login import current_user
from sqlalchemy import select

from portal.core.access import signed_in
from portal.core.i18n import current_locale
from portal.extensions import db
from portal.org.models import Person
from portal.training.queries import my_training
from portal.training.status import jst_today

bp = Blueprint("training_api", __name__, url_prefix="/api/v1")

#: Roles that may read anyone's training status.
READ_ANYONE = ("training_admin", "auditor", "admin")


def visible_person(employee_no: str, viewer: Person) -> Person:
    """The person if the viewer may see their training (self, their manager, admins, auditors); else 404."""
    person = db.session.scalar(select(Person).where(Person.employee_no == employee_no))
    if person is None:
        abort(404)
    if person.id == viewer.id or viewer.has_role(*READ_ANYONE):
        return person
    if viewer.has_role("manager") and any(d.id == person.department_id for d in viewer.managed_departments):
        return person
    abort(404)  # the same answer as for someone who does not exist


def _iso(value):
    return value.isoformat() if value is not None else None


@bp.route("/people/<employee_no>/training")
@signed_in
def person_training(employee_no: str):
    """One entry per assigned manual: status, due date, editions, attestation and validity."""
    person = visible_person(employee_no, current_user)
    today = jst_today()
    tasks = my_training(person.id, today, current_locale())
    return jsonify({
        "employee_no": person.employee_no,
        "name": person.name,
        "as_of": today.isoformat(),
        "training": [{
            "manual": task.slug, "title": task.title, "status": task.status, "due_date": _iso(task.due_date),
            "current_edition": task.current_edition_number, "attested_edition": task.attested_edition_number,
            "attested_at": _iso(task.attested_at), "valid_until": _iso(task.valid_until),
        } for task in tasks],
    })
