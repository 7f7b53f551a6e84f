"""Words for the access pages: statuses, reason codes and refusals, in the viewer's language."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l

from portal.core.i18n import format_jst
from portal.core.labels import StateLabels
from portal.core.workflow import StepLost

REQUEST_STATUS_LABELS = StateLabels({
    "awaiting_approval": _l("Waiting for the manager's approval"),
    "awaiting_grant": _l("Approved; waiting for the grant owner"),
    "granted": _l("Granted"),
    "refused_by_manager": _l("Refused by the manager"),
    "refused_by_owner": _l("Refused by the grant owner"),
    "expired": _l("Expired (not decided in time)"),
    "awaiting_training": _l("Waiting for the requester's training"),
})
GRANT_STATE_LABELS = StateLabels({
    "in_force": _l("In force"),
    "suspended": _l("Suspended"),
    "waiting_for_room": _l("Waiting for room under the cap"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
})
EVENT_LABELS = StateLabels({
    "requested": _l("Requested"),
    "approved": _l("Approved by the manager"),
    "refused": _l("Refused by the manager"),
    "granted": _l("Granted"),
    "grant_refused": _l("Refused by the grant owner"),
    "request_expired": _l("Request expired"),
    "suspended": _l("Suspended"),
    "resumed": _l("Back in force"),
    "reviewed": _l("Reviewed"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
    "awaiting_training": _l("Put on hold until the requester's training is current"),
    "training_completed": _l("Training completed: back to the grant owners"),
    "queued": _l("Waiting for room under the cap"),
    "transferred": _l("Moved to another department: suspended until its manager approves"),
    "transfer_approved": _l("Approved again by the new department's manager"),
})
REVIEW_OUTCOME_LABELS = StateLabels({
    "pending": _l("Not reviewed yet"),
    "kept": _l("Kept"),
    "revoked": _l("Revoked"),
    "missed": _l("Missed the deadline"),
})
TRAINING_STATUS_LABELS = StateLabels({
    "not_required": _l("Not assigned to you"),
    "not_started": _l("Not started"),
    "in_progress": _l("In progress"),
    "current": _l("Current"),
    "due": _l("Re-training due (still valid until the due date)"),
    "overdue": _l("Overdue"),
    "expired": _l("Expired"),
})
#: What the person must do next, per training status that does not count.
TRAINING_NEXT_STEP = {
    "not_required": _l("This manual is not assigned to you. Ask the training administrator to assign it."),
    "not_started": _l("Read the current edition, pass its quiz and attest."),
    "in_progress": _l("Finish the quiz on the current edition, then attest."),
    "overdue": _l("The due date has passed: read the current edition, pass its quiz and attest."),
    "expired": _l("Your attestation is no longer valid: read the current edition, pass its quiz and attest again."),
}
ERRORS = {
    "purpose_unknown": _l("Choose a purpose from the list."),
    "explanation_empty": _l("Explain what you need the access for."),
    "explanation_too_short": _l("Explain the purpose in at least 20 letters or digits."),
    "explanation_repetitive": _l("Explain the purpose in words; repeated characters are not an explanation."),
    "request_open": _l("You already have an open request for this system."),
    "request_expired": _l("This request has expired: it was not decided in time."),
    "request_not_open": _l("This request has already been decided."),
    "own_request": _l("Nobody may decide their own request or grant."),
    "approver_cannot_grant": _l("You approved this request, so another grant owner must decide it."),
    "not_the_manager": _l("Only the requester's manager may decide this."),
    "not_grant_owner": _l("Only a grant owner of this system may do this."),
    "not_allowed_to_revoke": _l("Only a grant owner of the system or the person's manager may revoke this grant."),
    "reason_too_short": _l("Enter a reason (at least 4 letters or digits)."),
    "days_out_of_range": _l("Enter a number of days from 1 to %(max_days)s."),
    "cap_reached": _l("This would exceed the department's cap (%(in_force)s of %(headcount)s people in force, "
                      "limit %(limit)s at %(cap_percent)s%%). Tick the override and give the reason to grant anyway."),
    "grant_not_live": _l("This grant is no longer in force or suspended."),
    "already_reviewed": _l("This grant has already been reviewed in this campaign."),
    "campaign_closed": _l("The deadline of this review has passed."),
    "title_missing": _l("Enter a title."),
    "deadline_in_past": _l("The deadline must be in the future."),
    "date_invalid": _l("Enter a real date (year, month and day)."),
    "code_invalid": _l("Use 2 to 40 lower-case letters, digits or hyphens, starting with a letter or digit."),
    "code_taken": _l("Another system already uses this code."),
    "name_missing": _l("Enter the name."),
    "purposes_missing": _l("Enter at least one purpose of use, one per line."),
    "purposes_invalid": _l("Each purpose must be different and at most 200 characters."),
    "max_grant_days_invalid": _l("Enter a number of days from 1 to 3660."),
    "request_expiry_days_invalid": _l("Enter a number of days from 1 to 365."),
    "review_every_months_invalid": _l("Enter the review interval as a number of months from 1 to 24, or leave it "
                                      "empty."),
    "review_deadline_days_invalid": _l("Enter the review deadline as a number of days from 1 to 90."),
    "manual_unknown": _l("These manuals do not exist: %(names)s"),
    "person_unknown": _l("These employee numbers do not exist: %(names)s"),
    "not_grant_owner_role": _l("Grant owners must be active people with the grant owner role: %(names)s"),
    "department_unknown": _l("These departments do not exist: %(names)s"),
    "cap_invalid": _l("Each cap must be a percentage from 0 to 100, or a number of people."),
    "caps_line_invalid": _l("Line %(line)s: write DEPARTMENT-CODE=PERCENT or DEPARTMENT-CODE=PEOPLE人, for "
                            "example CUST-FRONT=52%% or SALES-PLAN=3人."),
    "token_already_revoked": _l("This token was already revoked."),
    "grant_not_waiting": _l("This grant no longer waits for room: someone decided it meanwhile."),
    "transfer_decided": _l("This move has already been decided."),
}


def error_text(code: str, **details) -> str:
    """The message for a refusal code, with its details filled in."""
    message = ERRORS.get(code)
    if message is None:
        return _("This action is not allowed.")
    return str(message) % details if details else str(message)


def reason_text(code: str) -> str:
    """A decision reason code in words (training_not_current:<slug> names the manual)."""
    base, _sep, slug = code.partition(":")
    labels = {
        "unknown_person": _("Unknown person"),
        "person_inactive": _("The person is not active"),
        "no_grant": _("No grant"),
        "grant_revoked": _("The grant was revoked"),
        "grant_expired": _("The grant has expired"),
        "grant_suspended": _("The grant is suspended"),
        "review_missed": _("The grant was not reviewed by the deadline"),
        "transfer_unconfirmed": _("Moved to another department: its manager has not approved the grant again yet"),
        "waiting_for_room": _("Waiting for room under the department's cap"),
        "training_not_current": _("Training not current: %(manual)s", manual=slug),
    }
    return labels.get(base, code)


#: What the winner of a race did, per subject and state the row is in now ({name}: who did it).
_DONE_BY = {
    ("access_request", "awaiting_grant"): _l("%(name)s has already approved this request."),
    ("access_request", "refused_by_manager"): _l("%(name)s has already refused this request."),
    ("access_request", "granted"): _l("%(name)s has already granted this request."),
    ("access_request", "refused_by_owner"): _l("%(name)s has already refused this request."),
    ("access_request", "awaiting_training"): _l("%(name)s has already put this request on hold until the "
                                                "requester's training is current."),
    ("access_grant", "revoked"): _l("%(name)s has already revoked this grant."),
    ("review_item", "kept"): _l("%(name)s has already reviewed this grant and kept it."),
    ("review_item", "revoked"): _l("%(name)s has already reviewed this grant and revoked it."),
}
_DONE = {
    ("access_request", "expired"): _l("This request has expired: it was not decided in time."),
    ("access_grant", "expired"): _l("This grant has already expired."),
    ("review_item", "missed"): _l("This review missed its deadline."),
}


def meanwhile_text(lost: StepLost) -> str:
    """What happened while the person looked at the page, e.g. 「この申請はすでに山﨑 健一さんが承認しました。」"""
    meanwhile = lost.meanwhile
    key = (lost.subject, meanwhile.state)
    if key in _DONE_BY and meanwhile.by is not None:
        text = str(_DONE_BY[key]) % {"name": meanwhile.by.name}
    elif key in _DONE:
        text = str(_DONE[key])
    else:
        labels = {"access_request": REQUEST_STATUS_LABELS, "access_grant": GRANT_STATE_LABELS,
                  "review_item": REVIEW_OUTCOME_LABELS}.get(lost.subject, {})
        text = _("This changed in the meantime: it is now “%(state)s”.",
                 state=labels.get(meanwhile.state, meanwhile.state or "—"))
    if meanwhile.at is not None:
        text += _(" (%(when)s, Japan time)", when=format_jst(meanwhile.at))
    return text
