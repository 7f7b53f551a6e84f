"""Protected systems, access requests, grants, their history, reviews, API tokens and decisions."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.i18n import in_language
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.history import department_at
from portal.org.models import Department, Person

REQUEST_STATUSES = ("awaiting_approval", "awaiting_grant", "granted", "refused_by_manager",
                    "refused_by_owner", "expired", "awaiting_training")
GRANT_STATES = ("in_force", "suspended", "waiting_for_room", "revoked", "expired")
EVENT_KINDS = ("requested", "approved", "refused", "granted", "grant_refused", "request_expired",
               "suspended", "resumed", "reviewed", "revoked", "expired", "awaiting_training", "training_completed",
               "queued", "transferred", "transfer_approved")
REVIEW_OUTCOMES = ("pending", "kept", "revoked", "missed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


#: The manuals a system requires: training on each must be current for a grant to be in force.
system_required_manuals = Table(
    "system_required_manuals",
    db.metadata,
    Column("system_id", ForeignKey("protected_systems.id", ondelete="CASCADE"), primary_key=True),
    Column("manual_id", ForeignKey("manuals.id"), primary_key=True),
)

#: Grant owners (権限付与責任者) of each system.
system_grant_owners = Table(
    "system_grant_owners",
    db.metadata,
    Column("system_id", ForeignKey("protected_systems.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id"), primary_key=True),
)


def _holder_department(context) -> int | None:
    """Default of access_grants.department_id: the holder's department now (any insert path)."""
    person_id = context.get_current_parameters().get("person_id")
    return context.connection.scalar(select(Person.department_id).where(Person.id == person_id))


def _requester_department(context) -> int | None:
    """Default of access_events.department_id: the requester's department when the step took effect."""
    parameters = context.get_current_parameters()
    person_id = context.connection.scalar(select(AccessRequest.person_id)
                                          .where(AccessRequest.id == parameters.get("request_id")))
    return department_at(context.connection, person_id, parameters.get("occurred_at"))


class ProtectedSystem(db.Model):
    """A system whose access the portal gates (対象システム), e.g. the customer-information system."""

    __tablename__ = "protected_systems"
    __table_args__ = (
        CheckConstraint("max_grant_days >= 1", name="max_grant_days_positive"),
        CheckConstraint("request_expiry_days >= 1", name="request_expiry_days_positive"),
        CheckConstraint("review_every_months IS NULL OR (review_every_months >= 1 AND review_every_months <= 24)",
                        name="review_every_months_range"),
        CheckConstraint("review_deadline_days >= 1 AND review_deadline_days <= 90", name="review_deadline_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code the system's API calls use, e.g. customer-info.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: JSON list of the purposes of use a requester may choose from.
    purposes_json: Mapped[str] = mapped_column(Text, default="[]")
    #: The longest grant allowed, in days.
    max_grant_days: Mapped[int] = mapped_column(Integer, default=180)
    #: A request not decided within this many days expires.
    request_expiry_days: Mapped[int] = mapped_column(Integer, default=14)
    #: A review campaign starts by itself this many months after the last one began (None: only by hand).
    review_every_months: Mapped[int | None] = mapped_column(Integer)
    #: A campaign started by itself ends this many days after it began.
    review_deadline_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    required_manuals: Mapped[list[Manual]] = relationship(
        secondary=system_required_manuals, lazy="selectin", order_by=Manual.slug)
    grant_owners: Mapped[list[Person]] = relationship(
        secondary=system_grant_owners, lazy="selectin", order_by=Person.employee_no)

    @property
    def purposes(self) -> list[str]:
        """The purposes of use, in the order the admin gave them."""
        return json.loads(self.purposes_json or "[]")

    def display_name(self, locale: str) -> str:
        """Name in the viewer's language, falling back to Japanese."""
        return in_language(locale, self.name_ja, self.name_en)


class DepartmentCap(db.Model):
    """How many of a department's people may hold a grant in force: a share of its headcount, or a number."""

    __tablename__ = "system_department_caps"
    __table_args__ = (
        CheckConstraint("cap_percent >= 0 AND cap_percent <= 100", name="cap_percent_range"),
        CheckConstraint("cap_people IS NULL OR cap_people >= 0", name="cap_people_range"),
        CheckConstraint("(cap_percent IS NULL) <> (cap_people IS NULL)", name="one_kind"),
    )

    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    #: Percent of the active headcount (rounded down)...
    cap_percent: Mapped[int | None] = mapped_column(Integer)
    #: ...or a number of people; exactly one of the two is set.
    cap_people: Mapped[int | None] = mapped_column(Integer)

    department: Mapped[Department] = relationship(lazy="joined")


class AccessRequest(db.Model):
    """A person asks for access with a purpose (閲覧権限の申請); manager approves, grant owner grants."""

    __tablename__ = "access_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status_known"),
        Index("ix_access_requests_system_id_status", "system_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: One of the system's purposes, as chosen (kept even if the list changes later).
    purpose: Mapped[str] = mapped_column(String(200))
    explanation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="awaiting_approval")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Undecided after this moment, the request expires.
    expires_at: Mapped[datetime]
    #: What the requester's training lacked when they sent it: [{"slug", "status"}].
    training_gaps_json: Mapped[str] = mapped_column(Text, default="[]")
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approved_at: Mapped[datetime | None]
    approval_reason: Mapped[str] = mapped_column(Text, default="")
    #: The grant owner who granted or refused.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    system: Mapped[ProtectedSystem] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    approver: Mapped[Person | None] = relationship(foreign_keys=[approver_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def training_gaps(self) -> list[dict]:
        """Training that was not current when the request was sent."""
        return json.loads(self.training_gaps_json or "[]")


class AccessGrant(db.Model):
    """Time-bound access of one person to one system, in force only while every rule holds."""

    __tablename__ = "access_grants"
    __table_args__ = (
        CheckConstraint(_in("state", GRANT_STATES), name="state_known"),
        CheckConstraint("expires_at > granted_at", name="expires_after_granted"),
        Index("ix_access_grants_system_id_person_id", "system_id", "person_id"),
        Index("ix_access_grants_system_id_department_id_state", "system_id", "department_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id"), unique=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: in_force, suspended (a rule fails for now), revoked or expired (both final).
    state: Mapped[str] = mapped_column(String(16), default="in_force", index=True)
    #: Reason codes of the current suspension (JSON list), empty when in force.
    suspension_json: Mapped[str] = mapped_column(Text, default="[]")
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    #: Granted above the department's cap by a grant owner's override.
    cap_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The department the grant counts in under the cap: the holder's, as last confirmed (a move
    #: suspends the grant until the new department's manager confirms it).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), default=_holder_department)
    #: Since when the grant waits for room under the cap (空き待ち); the queue is oldest first.
    waiting_since: Mapped[datetime | None]

    request: Mapped[AccessRequest] = relationship(lazy="joined")
    system: Mapped[ProtectedSystem] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    granted_by: Mapped[Person] = relationship(foreign_keys=[granted_by_id])
    revoked_by: Mapped[Person | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def suspension(self) -> list[str]:
        """Why the grant is suspended (reason codes)."""
        return json.loads(self.suspension_json or "[]")


class AccessEvent(db.Model):
    """One step in the life of a request and its grant; only ever added, never changed or deleted."""

    __tablename__ = "access_events"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind_known"),
        Index("ix_access_events_grant_id_occurred_at", "grant_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("access_grants.id"))
    kind: Mapped[str] = mapped_column(String(20))
    #: The grant's state after this step; None for steps before a grant exists.
    state_after: Mapped[str | None] = mapped_column(String(16))
    #: When it took effect (a suspension takes effect when the due date passed, even if noticed later).
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    #: The requester's department when the step took effect: past figures count by it.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), default=_requester_department)

    actor: Mapped[Person | None] = relationship(lazy="joined")

    @property
    def details(self) -> dict:
        """Extra facts (reason codes, cap figures)."""
        return json.loads(self.details_json or "{}")


class AccessDecision(db.Model):
    """The materialised answer for (system, person): read by one indexed lookup in the API."""

    __tablename__ = "access_decisions"

    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    allow: Mapped[bool] = mapped_column(Boolean)
    reasons_json: Mapped[str] = mapped_column(Text, default="[]")
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("access_grants.id"))
    #: The next moment a time rule (expiry, due date, validity, review deadline) can change
    #: this row; at or after it the row is recomputed before anyone reads it.
    recheck_at: Mapped[datetime | None]
    decided_at: Mapped[datetime]


class ReviewCampaign(db.Model):
    """A review of every grant of one system (権限付与状況の点検), with a deadline."""

    __tablename__ = "access_review_campaigns"
    __table_args__ = (
        # Of two consumers starting the same recurring campaign, the second's insert fails.
        UniqueConstraint("system_id", "recurrence_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    #: The grant owner who started it; None when the schedule started it (a recurring campaign).
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    #: For a recurring campaign, which one it follows ("after:<campaign id>", or "first"); None when started by hand.
    recurrence_key: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Grants not reviewed by this moment are suspended.
    deadline: Mapped[datetime]

    system: Mapped[ProtectedSystem] = relationship(lazy="joined")
    started_by: Mapped[Person | None] = relationship()


class ReviewItem(db.Model):
    """One grant in a campaign, kept or revoked by the person's manager with a reason."""

    __tablename__ = "access_review_items"
    __table_args__ = (
        CheckConstraint(_in("outcome", REVIEW_OUTCOMES), name="outcome_known"),
        UniqueConstraint("campaign_id", "grant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("access_review_campaigns.id"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("access_grants.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reviewed_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    last_reminded_at: Mapped[datetime | None]

    campaign: Mapped[ReviewCampaign] = relationship(lazy="joined")
    grant: Mapped[AccessGrant] = relationship(lazy="joined")
    reviewed_by: Mapped[Person | None] = relationship()


class ApiToken(db.Model):
    """A bearer token for one protected system; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("protected_systems.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, so admins can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(60), default="")
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    system: Mapped[ProtectedSystem] = relationship(lazy="joined")
