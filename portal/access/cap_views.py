"""The standing cap on the pages: the waiting queue and its override, transfers to approve again, states by
the clock."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from portal.access.blueprint import bp, found, viewer
from portal.access.cap import waiting_queue
from portal.access.cap_excess import open_excesses
from portal.access.cap_override import admit_over_cap
from portal.access.cap_rules import effective_grant_state
from portal.access.control_models import CapExcess, CoverageSnapshot, TransferConfirmation
from portal.access.forms import ReasonForm
from portal.access.messages import error_text
from portal.access.models import AccessEvent, AccessGrant
from portal.access.transfers import decide_transfer, transfers_waiting_for
from portal.approvals.forms import ApprovalForm
from portal.approvals.queries import approver_ids_for
from portal.audit.services import register_history_table
from portal.core.access import no_auditor_writes, roles_required
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.history import PersonDepartmentHistory


def _install(_state) -> None:
    """Seal the history tables the access reports read into the audit chain (see portal.audit.history)."""
    register_history_table(AccessEvent.__table__)
    register_history_table(CoverageSnapshot.__table__)
    register_history_table(PersonDepartmentHistory.__table__, always_sealed=False)


bp.record_once(_install)


@bp.app_template_global("grant_state")
def grant_state(grant) -> str:
    """The grant's state as of now (a live grant past its end shows as expired at once)."""
    return effective_grant_state(grant.state, grant.expires_at, utcnow())


@bp.app_template_global("waiting_queue_of")
def waiting_queue_of(system) -> list[AccessGrant]:
    """The system's grants waiting for room under their department's cap, oldest first."""
    return waiting_queue(system.id)


@bp.app_template_global("transfers_waiting")
def transfers_waiting(person) -> list[TransferConfirmation]:
    """Grants of people who moved into this manager's departments, to approve again or refuse."""
    return transfers_waiting_for(person)


@bp.app_template_global("open_cap_excesses")
def open_cap_excesses(system) -> dict[int, CapExcess]:
    """{department: open excess} of a system, for the coverage page."""
    return open_excesses(system.id)


@bp.route("/grants/<int:grant_id>/admit", methods=["POST"])
@roles_required("grant_owner")
@no_auditor_writes
def admit(grant_id: int):
    """A grant owner brings a waiting grant into force above the department's cap, with a reason."""
    grant = found(db.session.get(AccessGrant, grant_id))
    if viewer().id not in {o.id for o in grant.system.grant_owners}:
        found(None)
    form = ReasonForm(prefix=f"admit{grant.id}")
    if form.validate_on_submit():
        try:
            admit_over_cap(viewer(), grant, form.reason.data)
        except Refusal as error:
            db.session.rollback()
            apply_refusal_to_form(form, error, error_text)
        else:
            db.session.commit()
            flash(_("The grant is in force above the department's cap; the override was recorded."), "success")
            return redirect(url_for("access.grants", system=grant.system.code))
    for message in form.reason.errors:
        flash(message, "error")
    return redirect(url_for("access.grants", system=grant.system.code), code=303)


def _confirmation(confirmation_id: int) -> TransferConfirmation:
    """The confirmation if the viewer approves for its person (their new department's manager); else 404."""
    confirmation = found(db.session.get(TransferConfirmation, confirmation_id))
    person = viewer()
    if person.id == confirmation.person_id or person.id not in approver_ids_for(confirmation.person):
        found(None)
    return confirmation


def _transfer_page(confirmation: TransferConfirmation, form: ApprovalForm | None = None, code: int = 200):
    may_decide = confirmation.outcome == "pending" and confirmation.grant.state in ("in_force", "suspended",
                                                                                    "waiting_for_room")
    return render_template("access/transfer_detail.html", confirmation=confirmation, grant=confirmation.grant,
                           form=form or (ApprovalForm() if may_decide else None), may_decide=may_decide), code


@bp.route("/transfers/<int:confirmation_id>", methods=["GET", "POST"])
@roles_required("manager")
@no_auditor_writes
def transfer(confirmation_id: int):
    """The new department's manager approves a moved person's grant again, or refuses it (revoked)."""
    confirmation = _confirmation(confirmation_id)
    form = ApprovalForm()
    if form.is_submitted():
        if form.validate():
            try:
                decide_transfer(viewer(), confirmation, form.decision.data == "approve", form.reason.data)
            except Refusal as error:
                db.session.rollback()
                apply_refusal_to_form(form, error, error_text)
            else:
                db.session.commit()
                flash(_("Approved: the grant comes back in force if the department's cap has room.")
                      if form.decision.data == "approve" else _("Refused: the grant was revoked."), "success")
                return redirect(url_for("access.inbox"))
        return _transfer_page(confirmation, form, 400)
    return _transfer_page(confirmation)
