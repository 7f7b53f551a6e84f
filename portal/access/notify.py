"""Telling the next person about an access request or grant: through the approval workflows' notices
(portal/approvals/notices.py), rendered inside the transaction and put in the outbox by the same
commit; a rolled-back change sends nothing.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select

from portal.access.models import AccessGrant
from portal.approvals.notices import portal_link, queue_notices
from portal.approvals.queries import approver_ids_for, people_with_ids
from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Person


def _queue(people: Iterable[Person], template: str, **context) -> None:
    """One message per person (in their language) from access/mail/<template>, sent on commit."""
    queue_notices(people, f"access/mail/{template}", **context)


def request_waiting_approval(request) -> None:
    """The requester's managers have a request to approve or refuse."""
    _queue(people_with_ids(approver_ids_for(request.person)), "approval_needed", request=request,
           link=portal_link(f"/access/requests/{request.id}"))


def request_waiting_grant(request) -> None:
    """The system's grant owners (but not the requester or approver) have a request to decide."""
    owners = [o for o in request.system.grant_owners if o.id not in (request.person_id, request.approver_id)]
    _queue(owners, "grant_needed", request=request, link=portal_link(f"/access/requests/{request.id}"))


def request_decided(request) -> None:
    """The requester learns what was decided."""
    _queue([request.person], "request_decided", request=request, link=portal_link(f"/access/requests/{request.id}"))


def request_awaiting_training(request, lacking: list[str]) -> None:
    """The requester learns that the request waits for their training, and which manuals to finish."""
    slugs = [code.split(":", 1)[1] for code in lacking if code.startswith("training_not_current:")]
    manuals = list(db.session.scalars(select(Manual).where(Manual.slug.in_(slugs)).order_by(Manual.slug)))
    _queue([request.person], "request_awaiting_training", request=request, manuals=manuals,
           link=portal_link(f"/access/requests/{request.id}"), training_link=portal_link("/training/"))


def grant_revoked(grant) -> None:
    """The person learns their grant was revoked."""
    _queue([grant.person], "grant_revoked", grant=grant, link=portal_link("/access/"))


def reviews_waiting(reviewer_ids, campaign, count: int, reminder: bool) -> None:
    """Managers have grants to keep or revoke before the campaign's deadline."""
    _queue(people_with_ids(reviewer_ids), "review_needed", campaign=campaign, count=count, reminder=reminder,
           link=portal_link("/access/inbox"))


def grant_state_changed(grant_id: int, kind: str, reasons: list[str]) -> None:
    """The holder learns that their grant was suspended (and why) or is back in force."""
    grant = db.session.get(AccessGrant, grant_id)
    _queue([grant.person], f"grant_{kind}", grant=grant, reasons=reasons,
           link=portal_link(f"/access/grants/{grant_id}"))
