"""A random history of grants, moves, leavers, re-hires, reviews and trainings, several seeds.

After every step (and the clock applied, as the daily job and every page do): no department holds
more grants in force than its cap unless an override or an HR excess is on record, and the
coverage of every day that has ended is what it was the first time it was read.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.access.control_models import TransferConfirmation
from portal.access.coverage import catch_up, coverage_cells, coverage_report, moment_of
from portal.access.decision import end_of_day_jst
from portal.access.models import AccessEvent, AccessGrant, AccessRequest, ReviewCampaign, ReviewItem
from portal.access.refresh import refresh_access_decisions
from portal.access.reviews import review_grant, start_campaign
from portal.access.services import (
    OPEN_STATUSES,
    GrantDecision,
    decide_approval,
    decide_grant,
    request_access,
    revoke_grant,
)
from portal.access.transfers import decide_transfer
from portal.approvals.queries import approver_ids_for
from portal.core.timeutil import to_jst
from portal.extensions import db
from portal.org.models import Person
from tests.access_fixtures import EXPLANATION, PURPOSES, add_edition, assign, attest, train
from tests.cap_fixtures import hr_import, over_cap_without_record, set_caps

STEPS = 45
SEEDS = (7, 2026, 4242)
LIVE = ("in_force", "suspended", "waiting_for_room")


class History:
    """The organisation the random steps act on, and the figures already read for ended days."""

    def __init__(self, world, clock, rng: random.Random, departments, employees):
        self.world, self.clock, self.rng = world, clock, rng
        self.departments = departments
        self.employees = employees
        self.seen: dict[date, dict] = {}
        self.first_day = to_jst(clock.now).date()
        self.edition = 1
        #: People who have not attested the latest edition yet.
        self.untrained: set[int] = set()

    # --- steps ---------------------------------------------------------------------------------

    def _live(self) -> list[AccessGrant]:
        return list(db.session.scalars(select(AccessGrant).where(AccessGrant.state.in_(LIVE))))

    def grant(self) -> None:
        holders = {g.person_id for g in self._live()}
        # A request of an untrained person waits for the training (awaiting_training): no second one meanwhile.
        waiting = set(db.session.scalars(
            select(AccessRequest.person_id).where(AccessRequest.status.in_(OPEN_STATUSES))))
        people = [p for p in self.employees
                  if p.active and p.id not in holders | waiting and approver_ids_for(p)]
        trained = [p for p in people if p.id not in self.untrained]
        people = trained if trained and self.rng.random() < 0.85 else people
        if not people:
            return
        person = self.rng.choice(people)
        request = request_access(person, self.world.system, PURPOSES[0], EXPLANATION)
        approver = db.session.get(Person, sorted(approver_ids_for(person))[0])
        decide_approval(approver, request, True, "業務上必要と確認")
        decision = GrantDecision(True, "研修修了を確認", days=self.rng.randint(3, 40),
                                 override_cap=self.rng.random() < 0.1)
        decide_grant(self.world.owner, request, decision)

    def revoke(self) -> None:
        live = self._live()
        if live:
            revoke_grant(self.world.owner, self.rng.choice(live), "利用の必要がなくなったため")

    def _someone_active(self) -> Person | None:
        """An active person, most often one who holds a live grant (where moves and leavers matter)."""
        active = [p for p in self.employees if p.active]
        holders = {g.person_id for g in self._live()}
        holding = [p for p in active if p.id in holders]
        chosen = holding if holding and self.rng.random() < 0.75 else active
        return self.rng.choice(chosen) if chosen else None

    def move(self) -> None:
        person = self._someone_active()
        if person is not None:
            target = self.rng.choice([d for d in self.departments if d.id != person.department_id])
            hr_import((person, target, None))

    def leave(self) -> None:
        person = self._someone_active()
        if person is not None:
            hr_import((person, None, False))

    def rehire(self) -> None:
        away = [p for p in self.employees if not p.active]
        if away:
            hr_import((self.rng.choice(away), None, True))

    def review(self) -> None:
        now = self.clock.now
        open_campaign = db.session.scalar(select(ReviewCampaign.id).where(ReviewCampaign.deadline > now))
        if open_campaign is None and self.rng.random() < 0.3:
            start_campaign(self.world.owner, self.world.system, "点検", now + timedelta(days=self.rng.randint(1, 4)))
            return
        items = db.session.scalars(select(ReviewItem).join(AccessGrant, AccessGrant.id == ReviewItem.grant_id).where(
            ReviewItem.outcome.in_(("pending", "missed")), AccessGrant.state.in_(LIVE))).all()
        items = [i for i in items if approver_ids_for(i.grant.person) - {i.grant.person_id}]
        if items:
            item = self.rng.choice(items)
            reviewer = db.session.get(Person, sorted(approver_ids_for(item.grant.person))[0])
            review_grant(reviewer, item, self.rng.random() < 0.8, "点検の結果を記録")

    def publish(self) -> None:
        self.edition += 1
        today = to_jst(self.clock.now).date()
        edition = add_edition(self.world.manual, self.edition, effective=today, published_at=self.clock.now,
                              days_allowed=2)
        for person in self.employees:
            if person.active:
                assign(person, self.world.manual, today + timedelta(days=self.rng.randint(0, 3)), edition)
        self.untrained = {p.id for p in self.employees}
        refresh_access_decisions()

    def train(self) -> None:
        waiting = [p for p in self.employees if p.active and p.id in self.untrained]
        if waiting:
            person = self.rng.choice(waiting)
            attest(person, self.world.manual, self.edition, at=self.clock.now)
            self.untrained.discard(person.id)
            refresh_access_decisions([person.id])

    def confirm(self) -> None:
        pending = db.session.scalars(
            select(TransferConfirmation).where(TransferConfirmation.outcome == "pending")).all()
        pending = [c for c in pending if c.grant.state in LIVE and approver_ids_for(c.person) - {c.person_id}]
        if pending:
            confirmation = self.rng.choice(pending)
            manager = db.session.get(Person, sorted(approver_ids_for(confirmation.person))[0])
            decide_transfer(manager, confirmation, self.rng.random() < 0.8, "異動先での業務を確認")

    # --- checks --------------------------------------------------------------------------------

    def check(self, label: str) -> None:
        assert over_cap_without_record() == [], label
        today = to_jst(self.clock.now).date()
        day = self.first_day - timedelta(days=1)
        while end_of_day_jst(day) <= self.clock.now:
            figures = coverage_cells(self.world.system.id, moment_of(day, self.clock.now))
            if day in self.seen:
                assert self.seen[day] == {k: v for k, v in figures.items() if k in self.seen[day]}, (label, day)
            else:
                self.seen[day] = figures
            day += timedelta(days=1)
        assert day <= today + timedelta(days=1)


STEP_WEIGHTS = {"grant": 7, "revoke": 1, "move": 2, "leave": 2, "rehire": 2, "review": 4, "publish": 1,
                "train": 6, "confirm": 3}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_history_keeps_the_cap_and_the_past(clock, world, make_department, make_person, seed):
    rng = random.Random(seed)
    sales = make_department("SALES-PLAN", "営業企画部")
    back_manager = make_person("MB", roles=("manager",), department=world.back, manages=[world.back])
    sales_manager = make_person("MS", roles=("manager",), department=sales, manages=[sales])
    departments = [world.front, world.back, sales]
    employees = [world.employee, world.colleague]
    for n in range(10):
        employees.append(make_person(f"R{n:02d}", department=departments[n % 3]))
    for person in employees + [back_manager, sales_manager]:
        train(person, world)
    db.session.commit()
    set_caps(world, **{"CUST-FRONT": "40%", "BACKYARD": "1人", "SALES-PLAN": "30%"})
    history = History(world, clock, rng, departments, employees)
    names, weights = zip(*STEP_WEIGHTS.items())
    for step in range(STEPS):
        clock.advance(hours=rng.randint(1, 20))
        name = rng.choices(names, weights)[0]
        getattr(history, name)()
        db.session.commit()
        catch_up()
        db.session.commit()
        db.session.expire_all()
        history.check(f"seed {seed}, step {step}: {name}")
    assert len(history.seen) >= 5
    # The report reads the same figures as the check: its rows for the last ended day.
    last = max(history.seen)
    rows = {r.department_id: r.after for r in coverage_report(world.system, last) if r.code}
    assert all(history.seen[last].get(d) == cell for d, cell in rows.items() if cell.headcount or cell.in_force)
    kinds = set(db.session.scalars(select(AccessEvent.kind)))
    assert {"granted", "suspended"} <= kinds and len(kinds) >= 7  # the history went through many kinds of step
