"""Statistics of look-ups per department and purpose over a range of Japan-time days, and their CSV."""
from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.access import roles_required
from portal.core.exports import csv_response
from portal.core.i18n import current_locale, in_language
from portal.extensions import db
from portal.lookups import queries, rules
from portal.lookups.blueprint import bp
from portal.lookups.forms import StatisticsForm
from portal.lookups.services import record_statistics_export
from portal.training.status import jst_today

RANGE_MESSAGES = {
    "range_missing": lambda: _("Enter both dates."),
    "range_reversed": lambda: _("The end date must not be before the start date."),
    "range_too_long": lambda: _("Choose at most 366 days."),
}
ARGS = frozenset({"system"} | {f"{name}-{part}" for name in ("first", "last") for part in ("year", "month", "day")})


def _criteria():
    """The form from the query string and (first, last, system id, valid)."""
    today = jst_today()
    if request.args:
        form = StatisticsForm(formdata=request.args)
    else:  # the last 30 days, today included
        form = StatisticsForm(formdata=None, first=today - timedelta(days=29), last=today)
    systems = queries.systems()
    form.system.choices = [("", _("All"))] + [(s.code, s.display_name(current_locale())) for s in systems]
    valid = form.validate()
    problem = rules.range_problem(form.first.data, form.last.data) if valid else None
    if problem:
        target = form.first if problem == "range_missing" and form.first.data is None else form.last
        target.errors = [*target.errors, RANGE_MESSAGES[problem]()]
        valid = False
    system = next((s for s in systems if s.code == form.system.data), None)
    return form, form.first.data, form.last.data, system, valid


def _totals(rows) -> dict:
    by_department: dict[str, dict] = {}
    by_purpose: dict[str, dict] = {}
    for row in rows:
        for key, group, name in ((row.code, by_department, (row.name_ja, row.name_en)),
                                 (row.purpose, by_purpose, (row.purpose, row.purpose))):
            cell = group.setdefault(key, {"name": name, "requested": 0, "answered": 0, "refused": 0, "ended": 0,
                                          "open": 0})
            for column in ("requested", "answered", "refused", "ended", "open"):
                cell[column] += int(getattr(row, column) or 0)
    return {"departments": by_department, "purposes": by_purpose}


@bp.route("/statistics")
@roles_required("manager", "auditor", "admin")
def statistics():
    """How often, where and why data was looked up: counts per department and per purpose."""
    form, first, last, system, valid = _criteria()
    scope = queries.statistics_scope(current_user)
    rows = queries.statistics_rows(first, last, scope, system.id if system else None) if valid else []
    departments, purposes, cells = rules.pivot([(r.code, r.purpose, int(r.requested)) for r in rows])
    query_args = {k: v for k, v in request.args.items() if k in ARGS}
    return render_template("lookups/statistics.html", form=form, rows=rows, totals=_totals(rows),
                           departments=departments, purposes=purposes, cells=cells, first=first, last=last,
                           scoped=scope is not None, query_args=query_args), (200 if valid else 400)


@bp.route("/statistics.csv")
@roles_required("manager", "auditor", "admin")
def statistics_csv():
    """The statistics as CSV (one row per department and purpose); the export is audited."""
    form, first, last, system, valid = _criteria()
    if not valid:
        return statistics()
    scope = queries.statistics_scope(current_user)
    rows = queries.statistics_rows(first, last, scope, system.id if system else None)
    record_statistics_export(current_user, {"from": first.isoformat(), "until": last.isoformat(),
                                            "system": system.code if system else ""}, len(rows))
    db.session.commit()
    header = [_("Department code"), _("Department"), _("Purpose of use"), _("Requests"), _("Answered"),
              _("Refused"), _("Withdrawn or expired"), _("Still open")]
    locale = current_locale()
    body = [[r.code, in_language(locale, r.name_ja, r.name_en), r.purpose, int(r.requested),
             int(r.answered or 0), int(r.refused or 0), int(r.ended or 0), int(r.open or 0)] for r in rows]
    return csv_response(f"lookup-statistics-{first.isoformat()}-{last.isoformat()}.csv", header, body)
