"""Dashboard pages: departments (managers see only theirs), one person's history, the organisation."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.certificates.queries import certificates_of
from portal.core.access import roles_required
from portal.core.i18n import current_locale, format_date
from portal.core.timeutil import utcnow
from portal.dashboards import charts, queries
from portal.dashboards.blueprint import bp
from portal.dashboards.forms import ActionForm
from portal.dashboards.jobs import start_recount
from portal.dashboards.tables import dashboard_status_label
from portal.extensions import db
from portal.jobs.services import announce_job
from portal.org.queries import visible_department_ids
from portal.outbox.services import queue_mail
from portal.reminders.queries import reminded_today
from portal.reminders.services import (
    AlreadyRemindedToday,
    NoAddress,
    NothingToRemind,
    mark_sent,
    message_key,
    new_claim,
    remind_person,
)
from portal.training.status import jst_today, manual_facts, status_rows

#: Who sees dashboards; managers only the departments they manage.
VIEWERS = ("manager", "training_admin", "auditor", "admin")
#: Who sees the whole organisation at once.
ORGANISATION_VIEWERS = ("training_admin", "auditor", "admin")
#: Who may remind people (auditors read and change nothing).
REMINDERS = ("manager", "training_admin", "admin")


def _viewer():
    return current_user._get_current_object()


@bp.app_template_filter("percent")
def percent_filter(share: float | None) -> str:
    """A share as a whole percentage."""
    return charts.percent(share)


def load_department(department_id: int):
    """The department if the viewer may see it; 404 otherwise, the same as one that does not exist."""
    department = queries.department_for_viewer(_viewer(), department_id)
    if department is None:
        abort(404)
    return department


def load_person(person_id: int):
    """A person in a department the viewer may see; 404 otherwise."""
    person = queries.person_for_viewer(_viewer(), person_id)
    if person is None:
        abort(404)
    return person


@bp.route("/")
@roles_required(*VIEWERS)
def index():
    """The departments the viewer may see, each with its share current and people behind."""
    viewer, today = _viewer(), jst_today()
    scope = visible_department_ids(viewer)
    if scope is None:
        by_department = queries.heat_map(today).by_department
    else:
        by_department = queries.counts_by_department(manual_facts(), today, scope)
    departments = queries.departments_by_id(scope)
    return render_template("dashboards/index.html", departments=list(departments.values()),
                           by_department=by_department, organisation=scope is None, locale=current_locale())


def department_data(department, today, locale: str) -> dict:
    """Everything the department page shows (a fixed six queries, one pass of the status rule)."""
    facts = manual_facts()
    counts, behind_pairs = queries.department_summary(facts, today, [department.id])
    manuals = queries.manuals_by_id(list(counts))
    people = queries.people_in([department.id])
    behind: dict[int, list] = {}
    for pair in behind_pairs:
        behind.setdefault(pair.person_id, []).append(pair)
    titles = {manual_id: manual.title(locale) for manual_id, manual in manuals.items()}
    slugs = {manual_id: manual.slug for manual_id, manual in manuals.items()}
    behind_people = [{"person": person, "manuals": sorted(behind[person.id], key=lambda p: slugs[p.manual_id])}
                     for person in people.values() if person.id in behind]
    rows = [(manual, counts[manual.id]) for manual in manuals.values()]
    chart = charts.stacked_bars([(titles[m.id], c.by_status) for m, c in rows], queries.STATUS_COLUMNS)
    points = queries.trend(today, [department.id])
    # A few distinct due dates, formatted once each (和暦 included) rather than once per line.
    due_text = {day: format_date(day) for day in {p.due_date for p in behind_pairs if p.due_date}}
    return {"department": department, "rows": rows, "manuals": manuals, "titles": titles, "slugs": slugs,
            "people": people, "behind": behind_people, "chart": chart, "trend": points, "due_text": due_text,
            "trend_chart": charts.line_chart([(p.day, p.share_current) for p in points]),
            "reminded": reminded_today(list(behind), today), "today": today}


@bp.route("/departments/<int:department_id>")
@roles_required(*VIEWERS)
def department(department_id: int):
    """One department per manual: current, due, in progress, not started, overdue, expired; who is behind."""
    data = department_data(load_department(department_id), jst_today(), current_locale())
    labels = {status: dashboard_status_label(status) for status in queries.STATUS_COLUMNS}
    return render_template("dashboards/department.html", form=ActionForm(), locale=current_locale(), labels=labels,
                           statuses=queries.STATUS_COLUMNS, may_remind=_viewer().has_role(*REMINDERS), **data)


def person_data(person, today) -> dict:
    """One person's statuses, certificates (attestations) and quiz attempts (five queries)."""
    rows = status_rows([person.id], None, today)
    manuals = queries.manuals_by_id([row.manual_id for row in rows])
    return {"person": person, "status_rows": sorted(rows, key=lambda r: manuals[r.manual_id].slug),
            "manuals": manuals, "certificates": certificates_of(person.id, today),
            "attempts": queries.attempts_of(person.id), "today": today}


@bp.route("/people/<int:person_id>")
@roles_required(*VIEWERS)
def person(person_id: int):
    """One person's history: status per manual, editions attested (certificates), quiz attempts."""
    data = person_data(load_person(person_id), jst_today())
    return render_template("dashboards/person.html", locale=current_locale(), **data)


@bp.route("/departments/<int:department_id>/people/<int:person_id>/remind", methods=["POST"])
@roles_required(*REMINDERS)
def remind(department_id: int, person_id: int):
    """Send one person a reminder of their overdue training (once a day per person)."""
    department = load_department(department_id)
    person = load_person(person_id)
    if person.department_id != department.id or not ActionForm().validate_on_submit():
        abort(404 if person.department_id != department.id else 400)
    viewer, today, now, claim = _viewer(), jst_today(), utcnow(), new_claim()
    back = redirect(url_for(".department", department_id=department.id) + "#behind")
    label = f"{person.name}（{person.employee_no}）"
    try:
        message = remind_person(viewer, person, [department.id], today, now, claim)
        queue_mail(message.mail,
                   message_key(message.log_ids))  # sent by a consumer: a slow mail server never stalls this page
        mark_sent(message.log_ids, now)
        db.session.commit()
    except (AlreadyRemindedToday, IntegrityError):  # IntegrityError: another click won the race for today's row
        db.session.rollback()
        flash(_("%(person)s has already been reminded today.", person=label), "warning")
        return back
    except NothingToRemind:
        db.session.rollback()
        flash(_("%(person)s has no overdue training to be reminded of.", person=label), "warning")
        return back
    except NoAddress:
        db.session.rollback()
        flash(_("%(person)s has no e-mail address in the HR data, so no reminder can be sent.", person=label),
              "warning")
        return back
    flash(_("A reminder was sent to %(person)s.", person=label), "success")
    return back


@bp.route("/organisation")
@roles_required(*ORGANISATION_VIEWERS)
def organisation():
    """Departments × manuals heat map of the share current, and its trend over time."""
    today = jst_today()
    heat = queries.heat_map(today)
    departments = queries.departments_by_id({d for d, _m in heat.cells} or set())
    manuals = queries.manuals_by_id({m for _d, m in heat.cells} or set())
    rows = []
    for department in departments.values():
        shares = [heat.cells[(department.id, m)].share_current if (department.id, m) in heat.cells else None
                  for m in manuals]
        total = heat.by_department.get(department.id)
        rows.append((department, charts.heat_cells(shares), total.share_current if total else None))
    points = queries.trend(today)
    return render_template("dashboards/organisation.html", heat=heat, departments=departments, manuals=manuals,
                           rows=rows,
                           trend=points, trend_chart=charts.line_chart([(p.day, p.share_current) for p in points]),
                           heat_class=charts.heat_class, form=ActionForm(), locale=current_locale(),
                           may_refresh=_viewer().has_role("training_admin", "admin"))


@bp.route("/organisation/refresh", methods=["POST"])
@roles_required("training_admin", "admin")
def refresh():
    """Settle and record today's point of the trend, as a job (seconds on a large organisation); shows its progress."""
    if not ActionForm().validate_on_submit():
        abort(400)
    job = start_recount(_viewer())
    db.session.commit()
    announce_job(job.id)
    return redirect(url_for("downloads.index", _anchor=f"job-{job.id}"))

