"""Demo access data: the customer-information system, its history of grants (the seed's 92% → 50%),
grants in every state, requests at every step (one waiting for training that is not current), and
review campaigns, one with a missed review.

A believable demo needs grants from months ago; the functions that write backdated rows say so in
their names and are for the demo only.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from portal.access.models import AccessEvent, AccessGrant, AccessRequest, ReviewCampaign, ReviewItem
from portal.access.queries import training_overview
from portal.access.refresh import refresh_access_decisions
from portal.access.reviews import start_campaign
from portal.access.services import GrantDecision, decide_approval, decide_grant, expire_requests, request_access
from portal.access.systems import SystemData, save_system
from portal.approvals.queries import approver_ids_for
from portal.audit.services import record_event
from portal.core.timeutil import utcnow
from portal.demo.organisation import DEMO_ACCOUNTS
from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Department, Person

CODE = "customer-info"
REQUIRED = ("partner-subscriber-information", "lookup-purpose-approval")
PURPOSES = ["光回線契約有無の確認（付加サービス申込対応）", "オーダー投入", "お客様からの問い合わせ対応"]
CAPS = {"SALES-PLAN": 13, "CUST-FRONT": 52, "BACKYARD": 90}
#: Staff granted before the review and kept after it, per department (seed: 76→13%, 99→52%, 92→90%).
HISTORY = {"SALES-PLAN": (10, 1), "CUST-FRONT": (20, 11), "BACKYARD": (14, 13)}
REVIEW_REASON = "閲覧できる者の範囲を制限的に見直したため（照会依頼で対応）"
OWNER = "G4001"


def _person(employee_no: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.employee_no == employee_no))


def _staff(code: str) -> list[Person]:
    signed_in = {account[0] for account in DEMO_ACCOUNTS}
    people = db.session.scalars(select(Person).join(Department).where(Department.code == code, Person.active.is_(True))
                                .order_by(Person.employee_no)).all()
    return [p for p in people if p.employee_no not in signed_in]


def load_demo_access(now: datetime | None = None) -> dict[str, int]:
    """Register customer-info and its demo history; {} when the demo manuals or grant owner are absent."""
    now = now or utcnow()
    slugs = set(db.session.scalars(select(Manual.slug).where(Manual.slug.in_(REQUIRED))))
    owner = _person(OWNER)
    if slugs != set(REQUIRED) or owner is None:
        return {}
    # The organisation existed before the measures: past headcounts in the coverage report need that.
    db.session.execute(update(Person).values(created_at=now - timedelta(days=400)))
    system = save_system(None, SystemData(
        code=CODE, name_ja="顧客情報管理システム", name_en="Customer information system", purposes=PURPOSES,
        manual_slugs=list(REQUIRED), grant_owner_nos=[OWNER], max_grant_days=180, request_expiry_days=14,
        caps=dict(CAPS)), None)
    _history(system, owner, now)
    _reviews(system, owner, now)
    requests = _requests(system, owner, now)
    expire_requests(now)
    refresh_access_decisions(now=now)
    counts = dict(db.session.execute(select(AccessGrant.state, func.count()).group_by(AccessGrant.state)).all())
    record_event(None, "access.demo_loaded", object_type="protected_system", object_id=CODE,
                 details={"grants": counts, "requests": requests})
    return {**counts, "requests": requests}


def _manager_of(person: Person) -> Person:
    return db.session.get(Person, min(approver_ids_for(person)))


def _history(system, owner: Person, now: datetime) -> None:
    """Grants for most staff 75 days ago, most of them revoked when the measures took effect 45 days ago."""
    before, review_day = now - timedelta(days=75), now - timedelta(days=45)
    for code, (granted, keep) in HISTORY.items():
        staff = _staff(code)[:granted]
        # Those whose training counts today are the ones kept after the review (a few are not: suspended).
        staff.sort(key=lambda p: (not all(r.counts for r in training_overview(p, system, now)), p.employee_no))
        for index, person in enumerate(staff):
            days = 30 if code == "SALES-PLAN" and index == granted - 1 else 180  # one lapses by itself
            grant = record_backdated_grant_for_demo(person, system, _manager_of(person), owner,
                                                    before + timedelta(hours=index), days)
            if index >= keep and days == 180:
                revoke_backdated_for_demo(grant, owner, review_day + timedelta(minutes=index), REVIEW_REASON)


def record_backdated_grant_for_demo(person: Person, system, approver: Person, owner: Person, at: datetime,
                                    days: int) -> AccessGrant:
    """Demo only: a request approved and granted at a past moment, with its three history steps."""
    requested_at, approved_at = at - timedelta(days=2), at - timedelta(days=1)
    request = AccessRequest(system_id=system.id, person_id=person.id, purpose=PURPOSES[len(person.name) % 3],
                            explanation="お客様からの付加サービスのお申込みに即時に対応するため、光回線の契約有無を確認する必要がある。",
                            status="granted", requested_at=requested_at, expires_at=requested_at + timedelta(days=14),
                            approver_id=approver.id, approved_at=approved_at, approval_reason="業務上必要と確認した。",
                            decided_by_id=owner.id, decided_at=at, decision_reason="研修の修了と承認を確認した。")
    db.session.add(request)
    db.session.flush()
    grant = AccessGrant(request_id=request.id, system_id=system.id, person_id=person.id, granted_by_id=owner.id,
                        granted_at=at, expires_at=at + timedelta(days=days), state="in_force")
    db.session.add(grant)
    db.session.flush()
    for kind, moment, actor, state, reason in (
            ("requested", requested_at, person, None, ""),
            ("approved", approved_at, approver, None, request.approval_reason),
            ("granted", at, owner, "in_force", request.decision_reason)):
        db.session.add(AccessEvent(request_id=request.id, grant_id=grant.id if state else None, kind=kind,
                                   state_after=state, occurred_at=moment, recorded_at=moment, actor_id=actor.id,
                                   reason=reason, details_json=json.dumps({"demo": True})))
    return grant


def revoke_backdated_for_demo(grant: AccessGrant, actor: Person, at: datetime, reason: str) -> None:
    """Demo only: revoke a grant at a past moment."""
    grant.state, grant.revoked_at, grant.revoked_by_id, grant.revoke_reason = "revoked", at, actor.id, reason
    db.session.add(AccessEvent(request_id=grant.request_id, grant_id=grant.id, kind="revoked", state_after="revoked",
                               occurred_at=at, recorded_at=at, actor_id=actor.id, reason=reason,
                               details_json=json.dumps({"demo": True})))
    db.session.flush()


def _reviews(system, owner: Person, now: datetime) -> None:
    """A finished campaign with one grant missed (suspended), and an open one waiting for managers."""
    record_backdated_campaign_for_demo(system, owner, "2026年度 第2四半期 権限付与状況の点検",
                                       now - timedelta(days=30), now - timedelta(days=16))
    start_campaign(owner, system, "2026年度 第3四半期 権限付与状況の点検", now + timedelta(days=12), now=now)


def record_backdated_campaign_for_demo(system, owner: Person, title: str, started_at: datetime,
                                       deadline: datetime) -> ReviewCampaign:
    """Demo only: a past campaign in which every live grant was kept by its manager but one."""
    campaign = ReviewCampaign(system_id=system.id, title=title, started_by_id=owner.id, started_at=started_at,
                              deadline=deadline)
    db.session.add(campaign)
    db.session.flush()
    grants = db.session.scalars(select(AccessGrant).where(AccessGrant.system_id == system.id,
                                                          AccessGrant.state == "in_force")
                                .order_by(AccessGrant.id)).all()
    missed = next((g for g in grants if g.person.department.code == "CUST-FRONT"), None)
    reviewed_at = deadline - timedelta(days=3)
    for grant in grants:
        kept = grant is not missed
        manager = _manager_of(grant.person)
        db.session.add(ReviewItem(campaign_id=campaign.id, grant_id=grant.id, outcome="kept" if kept else "pending",
                                  reviewed_by_id=manager.id if kept else None,
                                  reviewed_at=reviewed_at if kept else None,
                                  reason="業務上引き続き必要と確認した。" if kept else ""))
        if kept:
            db.session.add(AccessEvent(request_id=grant.request_id, grant_id=grant.id, kind="reviewed",
                                       occurred_at=reviewed_at, recorded_at=reviewed_at, actor_id=manager.id,
                                       reason="業務上引き続き必要と確認した。",
                                       details_json=json.dumps({"campaign": campaign.id, "outcome": "kept",
                                                                "demo": True})))
    db.session.flush()
    return campaign


def _requests(system, owner: Person, now: datetime) -> int:
    """Requests at every step: waiting for approval, for the grant, for training (受講完了待ち), refused, expired."""
    holders = set(db.session.scalars(select(AccessGrant.person_id).where(AccessGrant.state.in_(("in_force",
                                                                                                "suspended")))))
    free = {code: [p for p in _staff(code) if p.id not in holders] for code in HISTORY}
    made = 0
    lapsed = next((p for p in free["CUST-FRONT"] if not all(r.counts for r in training_overview(p, system, now))), None)
    trained = [p for code in ("BACKYARD", "CUST-FRONT", "SALES-PLAN") for p in free[code]
               if p is not lapsed and all(r.counts for r in training_overview(p, system, now))]
    explanation = "お客様から付加サービスの申込みがあり、光回線の契約有無を確認してオーダーを投入するため。"
    if lapsed is not None:  # approved; the grant owner would grant, so it waits for the training
        request = request_access(lapsed, system, PURPOSES[0], explanation, now=now - timedelta(days=3))
        decide_approval(_manager_of(lapsed), request, True, "業務上必要。研修の状況は要確認。",
                        now=now - timedelta(days=2))
        decide_grant(owner, request, GrantDecision(True, "研修の修了後に付与する。", days=90),
                     now=now - timedelta(days=1))
        made += 1
    steps = ["awaiting_grant", "awaiting_approval", "refused_by_manager", "expired"]
    for person, step in zip(trained, steps):
        when = now - timedelta(days=20 if step == "expired" else 1)
        request = request_access(person, system, PURPOSES[1], explanation, now=when)
        if step == "awaiting_grant":
            decide_approval(_manager_of(person), request, True, "オーダー投入業務の担当者のため。", now=now)
        elif step == "refused_by_manager":
            decide_approval(_manager_of(person), request, False, "照会依頼で対応できるため不要。", now=now)
        made += 1
    return made
