"""The organisation blueprint; views.py and import_views.py add its pages."""
from __future__ import annotations

from flask import Blueprint

from portal.org import history
from portal.org.messages import codes_text, field_change_text, person_label, role_label, roles_text, value_text

bp = Blueprint("org", __name__, url_prefix="/org")
bp.record_once(lambda _state: history.install())  # people created or moved one at a time get their history row


@bp.context_processor
def _wording() -> dict:
    """Helpers the organisation templates use to put roles, kinds and changes into words."""
    return {"role_label": role_label, "roles_text": roles_text, "person_label": person_label,
            "value_text": value_text, "codes_text": codes_text, "field_change_text": field_change_text}
