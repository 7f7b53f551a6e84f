"""The look-up register: every request the viewer oversees (auditors and admins: all; managers: their
departments), filtered by status and department, each row linking to its history."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.access import roles_required
from portal.core.i18n import current_locale
from portal.lookups import messages, queries, rules
from portal.lookups.forms import RegisterForm
from portal.lookups.views import _status, bp


@bp.route("/register")
@roles_required("manager", "auditor", "admin")
def register():
    """Look-up requests the viewer oversees, newest first."""
    form = RegisterForm(formdata=request.args)
    departments = queries.register_departments(current_user)
    form.department.choices = [("", _("All"))] + [(str(d.id), d.display_name(current_locale())) for d in departments]
    form.status.choices = [("", _("All"))] + [(s, messages.status_label(s)) for s in rules.STATUS_FILTERS]
    status = form.status.data if form.status.data in rules.STATUS_FILTERS else ""
    chosen = form.department.data or ""
    allowed = {str(d.id) for d in departments}
    department_id = int(chosen) if chosen in allowed else None
    items, total = queries.register_page(current_user, status, department_id)
    return render_template("lookups/register.html", form=form, items=items, total=total, status_of=_status)
