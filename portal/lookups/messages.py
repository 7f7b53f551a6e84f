"""Words for the look-up pages: statuses, history steps and refusals, in the viewer's language."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l

from portal.core.i18n import format_jst
from portal.core.labels import StateLabels
from portal.core.workflow import StepLost

STATUS_LABELS = StateLabels({
    "awaiting_approval": _l("Waiting for the manager's approval"),
    "refused": _l("Refused by the manager"),
    "awaiting_handler": _l("Approved; waiting for a handler"),
    "in_progress": _l("Being checked"),
    "answered": _l("Answered"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired (not handled in time)"),
})
EVENT_LABELS = StateLabels({
    "requested": _l("Asked for the look-up"),
    "approved": _l("Approved by the manager"),
    "refused": _l("Refused by the manager"),
    "taken": _l("Taken by a handler"),
    "answered": _l("Answered and closed"),
    "withdrawn": _l("Withdrawn by the requester"),
    "expired": _l("Request expired"),
})
ERRORS = {
    "purpose_unknown": _l("Choose a purpose from the list."),
    "explanation_empty": _l("Explain what you need the look-up for."),
    "explanation_too_short": _l("Explain the purpose in at least 20 letters or digits."),
    "explanation_repetitive": _l("Explain the purpose in words; repeated characters are not an explanation."),
    "question_missing": _l("Enter what should be checked."),
    "checked_missing": _l("Enter what you checked."),
    "answer_missing": _l("Enter the answer you gave."),
    "too_long": _l("At most 2000 characters."),
    "email": _l("This looks like an e-mail address. Do not enter customers' personal data: use the customer "
                "reference or order number."),
    "phone": _l("This looks like a telephone number. Do not enter customers' personal data: use the customer "
                "reference or order number."),
    "postcode": _l("This looks like an address. Do not enter customers' personal data: use the customer "
                   "reference or order number."),
    "reference_invalid": _l("Enter only the reference or order number (letters, digits, - _ /), no names."),
    "reference_too_long": _l("At most 60 characters."),
    "reason_too_short": _l("Enter a reason (at least 4 letters or digits)."),
    "no_approver": _l("Your department has no other manager who could approve a look-up. Ask the administrator."),
    "has_access": _l("Your own grant for this system is in force: you do not need a look-up request."),
    "own_request": _l("Nobody may approve or handle their own look-up request."),
    "approver_cannot_handle": _l("You approved this request, so another authorised person must handle it."),
    "not_the_manager": _l("Only the requester's manager may decide this."),
    "no_grant_in_force": _l("Your grant for this system is not in force, so you may not handle look-ups for it."),
    "already_taken": _l("Someone else has already taken this request."),
    "wrong_state": _l("This cannot be done now: the request is %(status)s."),
    "request_expired": _l("This request has expired: it was not handled in time."),
    "not_the_handler": _l("Only the person who took this request may answer it."),
    "not_the_requester": _l("Only the requester may withdraw this request."),
}


def status_label(status: str) -> str:
    """A status in words."""
    return STATUS_LABELS.label_for(status)


def error_text(code: str, **details) -> str:
    """The message for a code, with its details filled in."""
    message = ERRORS.get(code)
    if message is None:
        return _("This action is not allowed.")
    if code == "wrong_state":
        return str(message) % {"status": status_label(details.get("status", ""))}
    return str(message)


def meanwhile_text(lost: StepLost, viewer) -> str:
    """What happened to the request while the person looked at it (a handler is never named to another)."""
    meanwhile = lost.meanwhile
    by = meanwhile.by
    if meanwhile.state == "in_progress":
        text = _("You have already taken this request.") if by is not None and by.id == viewer.id \
            else str(ERRORS["already_taken"])
    elif meanwhile.state == "awaiting_handler" and by is not None:
        text = _("%(name)s has already approved this look-up request.", name=by.name)
    elif meanwhile.state == "refused" and by is not None:
        text = _("%(name)s has already refused this look-up request.", name=by.name)
    elif meanwhile.state == "answered":
        text = _("This look-up request has already been answered.")
    elif meanwhile.state == "withdrawn":
        text = _("The requester has already withdrawn this look-up request.")
    elif meanwhile.state == "expired":
        text = str(ERRORS["request_expired"])
    else:
        text = str(ERRORS["wrong_state"]) % {"status": status_label(meanwhile.state or "")}
    if meanwhile.at is not None and meanwhile.state != "in_progress":
        text += _(" (%(when)s, Japan time)", when=format_jst(meanwhile.at))
    return text
