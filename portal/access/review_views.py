"""Review campaigns: start one, follow it, remind, review a grant, export the results."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.access.blueprint import bp, found, lost_page, viewer
from portal.access.cap_rules import effective_grant_state
from portal.access.decision import end_of_day_jst
from portal.access.forms import CampaignForm, ReviewForm, date_from_parts
from portal.access.grant_views import visible_systems
from portal.access.messages import REVIEW_OUTCOME_LABELS, error_text
from portal.access.models import ReviewCampaign, ReviewItem
from portal.access.queries import campaign_items, systems_owned_by
from portal.access.reviews import apply_review_deadlines, remind_reviewers, review_grant, start_campaign
from portal.approvals.queries import approver_ids_for
from portal.audit.services import record_event
from portal.core.access import no_auditor_writes, roles_required
from portal.core.exports import Sheet, csv_response, xlsx_response
from portal.core.i18n import current_locale
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.timeutil import to_jst, utcnow
from portal.core.workflow import StepLost
from portal.extensions import db

READERS = ("grant_owner", "auditor", "admin")


def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    form.system.choices = [SelectChoice(s.code, s.display_name(current_locale())) for s in systems_owned_by(viewer())]
    return form


def _list(form: CampaignForm | None, code: int = 200):
    systems = visible_systems()
    campaigns = db.session.scalars(select(ReviewCampaign).where(
        ReviewCampaign.system_id.in_([s.id for s in systems])).order_by(ReviewCampaign.id.desc())).all()
    return render_template("access/reviews.html", campaigns=campaigns, form=form, now=utcnow()), code


@bp.route("/reviews")
@roles_required(*READERS)
def reviews():
    """Review campaigns of the systems the viewer may read; grant owners may start one."""
    if apply_review_deadlines():
        db.session.commit()
    form = _campaign_form() if viewer().has_role("grant_owner") and systems_owned_by(viewer()) else None
    if form is not None and not form.is_submitted():
        default = to_jst(utcnow()).date() + timedelta(days=14)
        form.deadline_year.data, form.deadline_month.data = default.year, default.month
        form.deadline_day.data = default.day
    return _list(form)


@bp.route("/reviews/new", methods=["POST"])
@roles_required("grant_owner")
@no_auditor_writes
def start_review():
    """Start a campaign: every live grant of the system goes to the holder's manager."""
    form = _campaign_form()
    if form.validate_on_submit():
        day = date_from_parts(form.deadline_year.data, form.deadline_month.data, form.deadline_day.data)
        system = next((s for s in systems_owned_by(viewer()) if s.code == form.system.data), None)
        try:
            if day is None:
                raise Refusal("date_invalid", "deadline_year")
            if system is None:
                raise Refusal("not_grant_owner", "system")
            campaign = start_campaign(viewer(), system, form.title.data, end_of_day_jst(day))
        except Refusal as error:
            db.session.rollback()
            apply_refusal_to_form(form, error, error_text)
        else:
            db.session.commit()
            flash(_("The review has started; the managers have been told."), "success")
            return redirect(url_for("access.review_detail", campaign_id=campaign.id))
    return _list(form, 400)


def _campaign(campaign_id: int) -> ReviewCampaign:
    campaign = found(db.session.get(ReviewCampaign, campaign_id))
    if campaign.system.id not in {s.id for s in visible_systems()}:
        found(None)
    return campaign


@bp.route("/reviews/<int:campaign_id>")
@roles_required(*READERS)
def review_detail(campaign_id: int):
    """One campaign: every grant, its reviewer's decision, and what was missed."""
    campaign = _campaign(campaign_id)
    if apply_review_deadlines():
        db.session.commit()
    items = campaign_items(campaign)
    counts = {outcome: sum(1 for i in items if i.outcome == outcome) for outcome in REVIEW_OUTCOME_LABELS}
    may_remind = (viewer().id in {o.id for o in campaign.system.grant_owners} and utcnow() < campaign.deadline
                  and counts["pending"] > 0)
    return render_template("access/review_detail.html", campaign=campaign, items=items, counts=counts,
                           may_remind=may_remind, now=utcnow())


@bp.route("/reviews/<int:campaign_id>/remind", methods=["POST"])
@roles_required("grant_owner")
@no_auditor_writes
def remind(campaign_id: int):
    """Remind the managers who still have grants to review."""
    campaign = _campaign(campaign_id)
    try:
        reviewers = remind_reviewers(viewer(), campaign)
    except Refusal as error:
        db.session.rollback()
        flash(error_text(error.code), "error")
    else:
        db.session.commit()
        flash(_("%(count)s managers were reminded.", count=reviewers), "success")
    return redirect(url_for("access.review_detail", campaign_id=campaign.id))


@bp.route("/review-items/<int:item_id>", methods=["POST"])
@roles_required("manager")
@no_auditor_writes
def review_item(item_id: int):
    """The holder's manager keeps or revokes one grant, with a reason."""
    item = found(db.session.get(ReviewItem, item_id))
    person = viewer()
    # Who may review this grant (not only while it waits: the loser of a race is told what happened).
    if person.id == item.grant.person_id or person.id not in approver_ids_for(item.grant.person):
        found(None)
    form = ReviewForm(prefix=f"item{item.id}")
    if form.validate_on_submit():
        try:
            review_grant(person, item, form.decision.data == "keep", form.reason.data)
        except StepLost as lost:
            return lost_page(lost, url_for("access.inbox"))
        except Refusal as error:
            db.session.rollback()
            apply_refusal_to_form(form, error, error_text)
        else:
            db.session.commit()
            flash(_("Your review was recorded."), "success")
            return redirect(url_for("access.inbox"))
    for field in form:
        for message in field.errors:
            flash(f"{field.label.text}: {message}", "error")
    return redirect(url_for("access.inbox"))


@bp.route("/reviews/<int:campaign_id>/export.<any(csv, xlsx):fmt>")
@roles_required(*READERS)
def review_export(campaign_id: int, fmt: str):
    """The campaign's results as CSV or XLSX; the export is audited."""
    campaign = _campaign(campaign_id)
    apply_review_deadlines()
    header = [_("Grant"), _("Employee number"), _("Name"), _("Department"), _("Grant state"), _("Review"),
              _("Reviewed by"), _("Reviewed at (JST)"), _("Reason")]
    now = utcnow()
    rows = [[i.grant.id, i.grant.person.employee_no, i.grant.person.name, i.grant.person.department.code,
             effective_grant_state(i.grant.state, i.grant.expires_at, now), i.outcome,
             i.reviewed_by.employee_no if i.reviewed_by else "",
             to_jst(i.reviewed_at).strftime("%Y-%m-%d %H:%M") if i.reviewed_at else "", i.reason]
            for i in campaign_items(campaign)]
    record_event(viewer(), "access.review_exported", object_type="review_campaign", object_id=campaign.id,
                 details={"format": fmt, "rows": len(rows)})
    db.session.commit()
    name = f"review-{campaign.system.code}-{campaign.id}.{fmt}"
    if fmt == "csv":
        return csv_response(name, header, rows)
    return xlsx_response(name, [Sheet(title=_("Review"), header=header, rows=rows)])
