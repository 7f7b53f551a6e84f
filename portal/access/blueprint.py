"""The access blueprint; views.py, grant_views.py, review_views.py and admin_views.py add its pages."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from portal.access import messages
from portal.approvals import notices
from portal.core.errors import conflict_page
from portal.extensions import db
from portal.org.models import Person

bp = Blueprint("access", __name__, url_prefix="/access")
bp.record_once(lambda _state: notices.install())


@bp.context_processor
def _wording() -> dict:
    """Labels the access templates use for statuses, states, steps and reason codes."""
    return {"request_status_label": messages.REQUEST_STATUS_LABELS.label_for,
            "grant_state_label": messages.GRANT_STATE_LABELS.label_for,
            "event_label": messages.EVENT_LABELS.label_for,
            "review_outcome_label": messages.REVIEW_OUTCOME_LABELS.label_for,
            "training_status_label": messages.TRAINING_STATUS_LABELS.label_for,
            "training_next_step": lambda s: messages.TRAINING_NEXT_STEP.get(s, ""),
            "reason_text": messages.reason_text}


def viewer() -> Person:
    """The signed-in person."""
    return current_user._get_current_object()


def found(thing):
    """The object, or 404 (the same answer as for an object the viewer may not see)."""
    if thing is None:
        abort(404)
    return thing


def lost_page(lost, back_url: str):
    """The loser of a race: roll back and say what happened meanwhile (HTTP 409)."""
    db.session.rollback()
    return conflict_page(messages.meanwhile_text(lost), back_url)
