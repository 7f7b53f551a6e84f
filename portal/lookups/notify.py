"""Telling the next person about a look-up, through the approval workflows' notices (portal/approvals):
rendered inside the transaction, put in the outbox by the same commit, dropped on rollback."""
from __future__ import annotations

from typing import Iterable

from portal.approvals.notices import portal_link, queue_notices
from portal.approvals.queries import approver_ids_for, people_with_ids
from portal.org.models import Person


def _link(lookup) -> str:
    return portal_link(f"/lookups/{lookup.id}")


def _queue(people: Iterable[Person], template: str, **context) -> None:
    """One message per person (in their language) from lookups/mail/<template>, sent on commit."""
    queue_notices(people, f"lookups/mail/{template}", **context)


def approval_needed(lookup) -> None:
    """The requester's managers have a look-up to approve or refuse."""
    _queue(people_with_ids(approver_ids_for(lookup.requester)), "approval_needed", lookup=lookup, link=_link(lookup))


def handler_needed(lookup) -> None:
    """Grant holders are not all mailed (a department's worth of people): the approved request shows
    in their queue (/lookups/queue). The requester is told it was approved."""
    requester_told(lookup)


def requester_told(lookup) -> None:
    """The requester learns that their look-up was approved, refused or answered."""
    _queue([lookup.requester], "request_update", lookup=lookup, link=_link(lookup))
