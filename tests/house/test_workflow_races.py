"""SECURITY.md row 27 over real HTTP: 20 identical and 20 conflicting submissions of a workflow step at
the same instant (gunicorn, 2 processes × 4 threads, SQLite and PostgreSQL) give one effect, one
history row, one audit event, the mail of one step, one 302 for the winner and 409 for the others
saying who won: never a 500.
"""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.access.models import AccessEvent, AccessGrant, AccessRequest, ReviewItem
from portal.access.reviews import start_campaign
from portal.access.services import GrantDecision, decide_approval, decide_grant, request_access
from portal.access.systems import SystemData, save_system
from portal.audit.models import AuditEvent
from portal.auth.passwords import hash_password
from portal.certificates.models import CertificateRevocation
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.instructions.models import InstructionAcknowledgement
from portal.lookups.models import LookupEvent, LookupRequest
from portal.lookups.services import LookupData, decide_lookup_approval, request_lookup
from portal.org.models import Department, Person, PersonRole
from portal.training.models import Attestation
from portal.training.status import jst_today
from tests.certificates_fixtures import attest
from tests.conftest import PASSWORD
from tests.instructions_fixtures import issue_directly
from tests.training_fixtures import assign, make_manual
from tests.workflow_fixtures import Browser, at_once

#: gunicorn serves from other processes, on the real clock: the test must see the same time.
pytestmark = [pytest.mark.races, pytest.mark.real_clock("gunicorn workers are separate processes on the real clock")]
SHOTS = 20
PURPOSE = "光回線契約有無の確認（付加サービス申込対応）"
EXPLANATION = "付加サービスの申込みを受けた際に、光回線の契約有無を確認するため。"
_numbers = itertools.count(1)


@dataclasses.dataclass
class Cast:
    """The people every scene uses, their signed-in browsers, the system and its manual."""

    served: object
    people: dict
    system: object
    manual: object
    front: Department
    browsers: dict = dataclasses.field(default_factory=dict)

    def browser(self, key: str, session: int = 0) -> Browser:
        """key's browser (signed in once per module); session 1, 2… are further tabs signed in separately."""
        if (key, session) not in self.browsers:
            self.browsers[(key, session)] = Browser(self.served.base, self.people[key].employee_no)
        return self.browsers[(key, session)]


def _person(code: str, name: str, department: Department, password: str, roles=(), manages=()) -> Person:
    person = Person(employee_no=code, name=name, name_kana="てすと", email=f"{code.lower()}@example.co.jp",
                    department=department, active=True, password_hash=password)
    person.role_rows = [PersonRole(role=role) for role in roles]
    person.managed_departments = list(manages)
    db.session.add(person)
    return person


@pytest.fixture(scope="module")
def cast(served) -> Cast:
    """Two managers of the customer front, two grant owners, two admins, two handlers with grants in force."""
    password = hash_password(PASSWORD)
    front = Department(code="CUST-FRONT", name_ja="お客様フロント部", name_en="Customer front", kind="internal")
    back = Department(code="BACKYARD", name_ja="バックヤード部", name_en="Back office", kind="internal")
    db.session.add_all([front, back])
    people = {
        "m1": _person("M1", "山﨑 健一", front, password, ("manager",), [front]),
        "m2": _person("M2", "中村 恵", front, password, ("manager",), [front]),
        "mb": _person("MB", "小林 大輔", back, password, ("manager",), [back]),
        "g1": _person("G1", "𠮷田 誠", back, password, ("grant_owner",)),
        "g2": _person("G2", "鈴木 一郎", back, password, ("grant_owner",)),
        "s1": _person("S1", "渡辺 聡", back, password, ("admin",)),
        "s2": _person("S2", "佐藤 花子", back, password, ("admin",)),
        "h1": _person("H1", "中村 結衣", back, password),
        "h2": _person("H2", "佐々木 結衣", back, password),
    }
    db.session.commit()
    manual = make_manual("partner-data")
    system = save_system(people["s1"], SystemData(
        code="customer-info", name_ja="顧客情報管理システム", name_en="Customer information system",
        purposes=[PURPOSE], manual_slugs=["partner-data"], grant_owner_nos=["G1", "G2"], max_grant_days=180,
        request_expiry_days=14))
    db.session.commit()
    result = Cast(served, people, system, manual, front)
    for key in ("h1", "h2"):
        _grant(result, people[key], approver=people["mb"])
    return result


def _trained(cast: Cast) -> Person:
    """A new employee of the customer front whose training on the system's manual is current."""
    number = next(_numbers)
    person = _person(f"E{number:03d}", f"髙橋 優子{number}", cast.front, cast.people["m1"].password_hash)
    db.session.commit()
    assign(person, cast.manual, due=jst_today() + timedelta(days=30))
    attest(person, cast.manual)
    return person


def _approved(cast: Cast, person: Person) -> AccessRequest:
    request = request_access(person, cast.system, PURPOSE, EXPLANATION)
    decide_approval(cast.people["m1"] if person.department_id == cast.front.id else cast.people["mb"], request, True,
                    "業務上必要と確認")
    db.session.commit()
    return request


def _grant(cast: Cast, person: Person, approver: Person | None = None) -> AccessGrant:
    if approver is not None:
        assign(person, cast.manual, due=jst_today() + timedelta(days=30))
        attest(person, cast.manual)
        request = request_access(person, cast.system, PURPOSE, EXPLANATION)
        decide_approval(approver, request, True, "業務上必要と確認")
    else:
        request = _approved(cast, person)
    grant = decide_grant(cast.people["g1"], request, GrantDecision(True, "研修修了を確認", days=90)).grant
    db.session.commit()
    return grant


@dataclasses.dataclass
class Scene:
    """One workflow step ready to be taken: where to post, what each side posts, and how to judge the outcome."""

    path: str
    sides: list[tuple[str, int, dict]]
    #: (the winner's name, or None when the loser must not be told) and the check of the outcome.
    judge: Callable[[], "Outcome"]


@dataclasses.dataclass
class Outcome:
    """What one step writes (its history rows are checked by the judge): audit actions, mails, the losers' page."""

    audit: list[str]
    mails: int
    loser_says: str


def _kinds(request_id: int) -> list[str]:
    return list(db.session.scalars(select(AccessEvent.kind).where(AccessEvent.request_id == request_id)
                                   .order_by(AccessEvent.id)))


def _actions_since(seq: int) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)))


def _approval(cast: Cast) -> Scene:
    request = request_access(_trained(cast), cast.system, PURPOSE, EXPLANATION)
    db.session.commit()

    def judge() -> Outcome:
        row = db.session.get(AccessRequest, request.id)
        approved = row.status == "awaiting_grant"
        kinds = _kinds(request.id)
        assert kinds == ["requested", "approved" if approved else "refused"]
        return Outcome(["access.request_approved" if approved else "access.request_refused"],
                       2 if approved else 1,  # both grant owners / the requester
                       f"この申請はすでに{row.approver.name}さんが{'承認' if approved else '却下'}しました")

    return Scene(f"/access/requests/{request.id}/approval",
                 [("m1", 0, {"decision": "approve", "reason": "業務上必要と確認"}),
                  ("m2", 0, {"decision": "refuse", "reason": "業務上不要と判断"})], judge)


def _grant_decision(cast: Cast) -> Scene:
    request = _approved(cast, _trained(cast))

    def judge() -> Outcome:
        row = db.session.get(AccessRequest, request.id)
        granted = row.status == "granted"
        assert row.status in ("granted", "refused_by_owner")
        assert db.session.scalar(select(func.count(AccessGrant.id)).where(AccessGrant.request_id == request.id)) == (
            1 if granted else 0)
        kinds = _kinds(request.id)
        assert kinds == ["requested", "approved", "granted" if granted else "grant_refused"]
        return Outcome(["access.granted" if granted else "access.grant_refused"], 1,
                       f"この申請はすでに{row.decided_by.name}さんが{'付与' if granted else '却下'}しました")

    return Scene(f"/access/requests/{request.id}/grant",
                 [("g1", 0, {"decision": "grant", "days": "90", "reason": "研修修了を確認"}),
                  ("g2", 0, {"decision": "refuse", "reason": "必要性が認められない"})], judge)


def _revocation(cast: Cast) -> Scene:
    grant = _grant(cast, _trained(cast))

    def judge() -> Outcome:
        row = db.session.get(AccessGrant, grant.id)
        assert row.state == "revoked"
        assert db.session.scalar(select(func.count(AccessEvent.id)).where(
            AccessEvent.grant_id == grant.id, AccessEvent.kind == "revoked")) == 1
        return Outcome(["access.revoked"], 1, f"この権限はすでに{row.revoked_by.name}さんが取り消しました")

    return Scene(f"/access/grants/{grant.id}/revoke",
                 [("g1", 0, {"reason": "異動のため取り消す"}), ("m1", 0, {"reason": "業務終了のため取り消す"})], judge)


def _review(cast: Cast) -> Scene:
    grant = _grant(cast, _trained(cast))
    campaign = start_campaign(cast.people["g1"], cast.system, f"点検 {grant.id}", utcnow() + timedelta(days=10))
    db.session.commit()
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id,
                                                      ReviewItem.grant_id == grant.id))
    prefix = f"item{item.id}"

    def judge() -> Outcome:
        row = db.session.get(ReviewItem, item.id)
        state = db.session.get(AccessGrant, grant.id).state
        assert (row.outcome, state) in (("kept", "in_force"), ("revoked", "revoked"))
        assert db.session.scalar(select(func.count(AccessEvent.id)).where(
            AccessEvent.grant_id == grant.id, AccessEvent.kind == "reviewed")) == 1
        kept = row.outcome == "kept"
        return Outcome(["access.reviewed"] if kept else ["access.reviewed", "access.revoked"], 0 if kept else 1,
                       f"この権限はすでに{row.reviewed_by.name}さんが点検し、"
                       f"{'継続とし' if kept else '取り消し'}ました")

    return Scene(f"/access/review-items/{item.id}",
                 [("m1", 0, {f"{prefix}-decision": "keep", f"{prefix}-reason": "引き続き業務で必要"}),
                  ("m2", 0, {f"{prefix}-decision": "revoke", f"{prefix}-reason": "業務終了のため不要"})], judge)


def _take(cast: Cast) -> Scene:
    requester = _trained(cast)
    lookup = request_lookup(requester, cast.system, LookupData(
        purpose=PURPOSE, explanation="付加サービスの申込みを受けたため、光回線の契約有無を確認したい。",
        question="このオーダーに対応する光回線の契約があるか確認してください。", reference="ORD-1"))
    decide_lookup_approval(cast.people["m1"], lookup, True, "業務上必要と確認した。")
    db.session.commit()

    def judge() -> Outcome:
        row = db.session.get(LookupRequest, lookup.id)
        assert row.status == "in_progress" and row.handler_id in (cast.people["h1"].id, cast.people["h2"].id)
        assert db.session.scalar(select(func.count(LookupEvent.id)).where(
            LookupEvent.request_id == lookup.id, LookupEvent.kind == "taken")) == 1
        return Outcome(["lookup.taken"], 0, "引き受けています")  # the handler is never named to another

    return Scene(f"/lookups/{lookup.id}/take", [("h1", 0, {}), ("h2", 0, {})], judge)


def _certificate(cast: Cast) -> Scene:
    person = _trained(cast)
    grant = _grant(cast, person)
    attestation_id = db.session.scalar(select(func.max(Attestation.id)).where(Attestation.person_id == person.id))

    def judge() -> Outcome:
        revocation = db.session.scalar(select(CertificateRevocation).where(
            CertificateRevocation.attestation_id == attestation_id))
        assert db.session.get(AccessGrant, grant.id).state == "suspended"  # the grant needed that training
        return Outcome(["certificate.revoked", "access.grant_suspended"], 1,  # the holder is told once
                       f"この修了証はすでに{revocation.revoked_by.name}さんが取り消しました")

    return Scene(f"/certificates/{attestation_id}/revoke",
                 [("s1", 0, {"reason": "他人のアカウントで受講していたため"}),
                  ("s2", 0, {"reason": "受講記録に不正が見つかったため"})], judge)


def _acknowledgement(cast: Cast) -> Scene:
    person = _trained(cast)
    cast.people[f"ack{person.id}"] = person
    instruction = issue_directly(cast.people["m1"], departments=("CUST-FRONT",), title=f"是正指示 {person.id}")

    def judge() -> Outcome:
        assert db.session.scalar(select(func.count(InstructionAcknowledgement.id)).where(
            InstructionAcknowledgement.instruction_id == instruction.id,
            InstructionAcknowledgement.person_id == person.id)) == 1
        return Outcome(["instruction.acknowledged"], 0, "この是正指示はすでに確認済みです")

    key = f"ack{person.id}"  # two tabs of the same recipient: the only one who may acknowledge
    return Scene(f"/instructions/{instruction.id}/acknowledge", [(key, 0, {}), (key, 1, {})], judge)


SCENES = {"approval": _approval, "grant": _grant_decision, "revocation": _revocation, "review": _review,
          "take": _take, "certificate": _certificate, "acknowledgement": _acknowledgement}


@pytest.mark.parametrize("together", ["identical", "conflicting"])
@pytest.mark.parametrize("step", list(SCENES))
def test_a_step_sent_twenty_times_at_once_happens_once(cast, step, together):
    scene = SCENES[step](cast)
    sides = scene.sides[:1] if together == "identical" else scene.sides
    browsers = [(cast.browser(key, session), data) for key, session, data in sides]
    tokens = [browser.token() for browser, _data in browsers]
    seq = db.session.scalar(select(func.max(AuditEvent.seq))) or 0
    mails = cast.served.mail_count()
    db.session.commit()  # the test process holds nothing while the server works
    shots = [(browsers[i % len(browsers)][0], scene.path, {"csrf_token": tokens[i % len(browsers)],
                                                           **browsers[i % len(browsers)][1]}) for i in range(SHOTS)]
    answers = at_once(shots)
    codes = sorted(status for status, _body in answers)
    assert 500 not in codes
    assert codes.count(302) == 1 and codes.count(409) == SHOTS - 1, codes
    db.session.expire_all()
    outcome = scene.judge()
    assert _actions_since(seq) == outcome.audit
    assert cast.served.mail_count() - mails == outcome.mails
    losers = [body for status, body in answers if status == 409]
    assert all(outcome.loser_says in body for body in losers), losers[0][:2000]
