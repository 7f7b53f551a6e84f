"""Materialised training statuses: settling pending rows, rebuilding from the facts, finding drift.

training_status_rows holds, per assigned pair of an active person, what rule.training_status
needs (standing, due date, last valid day) plus the status counted for it in
training_status_counts and the day that count may stop holding (`stale_from`). The
database's triggers (migration 0008) mark a pair pending in the same transaction as any
change to its facts; until it is settled again, reads decide it from the facts (live SQL
rule), so a read is exact whoever changed what. settle() re-derives every stale row with
the pure rule and moves its count; it runs daily with the completion pass, after
publishing, and from `portal training settle-status`. rebuild() starts again from the
facts; check() compares everything with the facts and the pure rule.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, and_, delete, func, insert, literal, select, text, tuple_, update

from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.manuals.models import TrainingAssignment
from portal.org.models import Person
from portal.training.models import (
    Attestation,
    CertificateRevocation,
    TrainingProgress,
    TrainingStatusCount,
    TrainingStatusRow,
    TrainingStatusSettle,
)
from portal.training.status.facts import manual_facts, settled_on
from portal.training.status.rule import (
    AttestationFact,
    TrainingFacts,
    counting_attestation,
    jst_date,
    next_status_change,
    settled_status,
    standing_of,
    validity_end,
)
from portal.training.status.sql import COUNTED, live_status_counts, status_counts

#: stale_from of a row whose facts changed (the triggers write the same literal).
STALE_NOW = date(1900, 1, 1)
#: Settle this many people's rows at a time when many rows are stale (bounded memory).
_CHUNK_PEOPLE = 2_000
_CHUNK_ABOVE_ROWS = 50_000


@dataclass(frozen=True)
class Derived:
    """A settled row as the facts and the pure rule decide it."""

    person_id: int
    manual_id: int
    department_id: int
    standing: int
    due_date: date
    valid_until: date | None
    attested_edition_number: int | None
    attested_at: datetime | None

    def status(self, today: date) -> str:
        """The pair's status on `today`."""
        return settled_status(self.standing, self.due_date, self.valid_until, today)

    def row(self, today: date) -> dict:
        """The training_status_rows values settled on `today`."""
        return {"person_id": self.person_id, "manual_id": self.manual_id, "pending": False,
                "department_id": self.department_id, "standing": self.standing, "due_date": self.due_date,
                "valid_until": self.valid_until, "attested_edition_number": self.attested_edition_number,
                "attested_at": self.attested_at, "counted_status": self.status(today),
                "stale_from": next_status_change(self.standing, self.due_date, self.valid_until, today)}


def _facts_select(where):
    """Each row with its pair's facts (outer joins: an assignment or person may be gone)."""
    r, a, p, pr = TrainingStatusRow, TrainingAssignment, Person, TrainingProgress
    return (select(r.person_id, r.manual_id, r.department_id, r.counted_status, r.pending, r.standing, r.due_date,
                   r.valid_until, r.attested_edition_number, r.attested_at, r.stale_from,
                   a.due_date.label("assigned_due"), p.department_id.label("person_department"), p.active,
                   pr.attested_edition_number.label("fact_attested"), pr.attested_at.label("fact_attested_at"),
                   pr.started_edition_number)
            .select_from(r)
            .outerjoin(a, and_(a.person_id == r.person_id, a.manual_id == r.manual_id))
            .outerjoin(p, p.id == r.person_id)
            .outerjoin(pr, and_(pr.person_id == r.person_id, pr.manual_id == r.manual_id))
            .where(where))


def derive(row, facts_by_manual) -> Derived | None:
    """The settled row the facts give (None: not assigned, or the person is gone or inactive)."""
    if row.assigned_due is None or not row.active:
        return None
    manual = facts_by_manual.get(row.manual_id)
    required = manual.required_number if manual else None
    months = manual.validity_months if manual else None
    attested_at = row.fact_attested_at if row.fact_attested is not None else None
    valid_until = validity_end(jst_date(attested_at), months) if months and attested_at is not None else None
    facts = TrainingFacts(True, row.assigned_due, required, row.fact_attested, valid_until, row.started_edition_number)
    return Derived(row.person_id, row.manual_id, row.person_department, standing_of(facts), row.assigned_due,
                   valid_until, row.fact_attested, attested_at)


def _lock() -> None:
    """Writers of the facts wait while rows are settled (their triggers write these rows)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE training_status_rows IN EXCLUSIVE MODE"))


def _chunks(today: date):
    """Row filters covering every row stale on `today`: one, or person ranges when many are stale."""
    r = TrainingStatusRow
    stale = r.stale_from <= today
    count = db.session.scalar(select(func.count()).select_from(r).where(stale))
    if count <= _CHUNK_ABOVE_ROWS:
        return [stale] if count else []
    low, high = db.session.execute(select(func.min(r.person_id), func.max(r.person_id))).one()
    # coalesce(): not the stale_from index but the primary key's person range drives each chunk
    stale = func.coalesce(r.stale_from, date.max) <= today
    return [and_(r.person_id >= start, r.person_id < start + _CHUNK_PEOPLE, stale)
            for start in range(low, high + 1, _CHUNK_PEOPLE)]


def settle(today: date, now: datetime | None = None) -> int:
    """Re-derive every row stale on `today` and move its count; returns the rows settled. Flushes only."""
    _lock()
    r = TrainingStatusRow
    facts_by_manual = manual_facts()
    delta: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(COUNTED))
    settled = 0
    for where in _chunks(today):
        fresh = []
        for row in db.session.execute(_facts_select(where)).all():
            if row.counted_status is not None:
                delta[(row.department_id, row.manual_id)][COUNTED.index(row.counted_status)] -= 1
            derived = derive(row, facts_by_manual)
            if derived is not None:
                values = derived.row(today)
                delta[(derived.department_id, derived.manual_id)][COUNTED.index(values["counted_status"])] += 1
                fresh.append(values)
            settled += 1
        db.session.execute(delete(r).where(where).execution_options(synchronize_session=False))
        if fresh:  # Core executemany: the ORM's bulk path would send one statement per row here
            # In key order, so that a person's rows sit together on disk (a department is read by person).
            fresh.sort(key=lambda values: (values["person_id"], values["manual_id"]))
            db.session.execute(insert(r.__table__), fresh)
    _apply_counts(delta)
    db.session.execute(update(TrainingStatusSettle).where(TrainingStatusSettle.id == 1).values(
        settled_on=func.max(TrainingStatusSettle.settled_on, today) if _sqlite() else func.greatest(
            TrainingStatusSettle.settled_on, today), settled_at=now or utcnow()))
    db.session.flush()
    return settled


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _apply_counts(delta: dict[tuple[int, int], list[int]]) -> None:
    """Add the moves to training_status_counts (rows that reach zero everywhere are removed)."""
    delta = {key: moves for key, moves in delta.items() if any(moves)}
    if not delta:
        return
    c = TrainingStatusCount
    keys = list(delta)
    columns = [c.__table__.c[status] for status in COUNTED]
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        key_filter = tuple_(c.department_id, c.manual_id).in_(part)
        for department_id, manual_id, *counts in db.session.execute(
                select(c.department_id, c.manual_id, *columns).where(key_filter)).all():
            moves = delta[(department_id, manual_id)]
            delta[(department_id, manual_id)] = [old + move for old, move in zip(counts, moves)]
        db.session.execute(delete(c).where(key_filter).execution_options(synchronize_session=False))
    rows = [{"department_id": d, "manual_id": m, **dict(zip(COUNTED, counts))}
            for (d, m), counts in delta.items() if any(counts)]
    if any(n < 0 for row in rows for n in row.values()):
        raise RuntimeError("training_status_counts would go negative: run `portal training rebuild-status`")
    if rows:
        db.session.execute(insert(c.__table__), rows)


def rebuild(today: date, now: datetime | None = None) -> int:
    """Forget every row and count, mark every assigned pair pending and settle them all; returns pairs."""
    _lock()
    db.session.execute(delete(TrainingStatusCount))
    db.session.execute(delete(TrainingStatusRow))
    db.session.execute(insert(TrainingStatusRow).from_select(
        ["person_id", "manual_id", "pending", "stale_from"],
        select(TrainingAssignment.person_id, TrainingAssignment.manual_id, literal(True), literal(STALE_NOW, Date()))))
    db.session.execute(update(TrainingStatusSettle).values(settled_on=today, settled_at=now or utcnow()))
    return settle(today, now)


def progress_problems(limit: int = 20) -> list[str]:
    """Progress rows that do not name the attestation that counts (rule.counting_attestation): a revoked
    certificate's attestation still counted, or one that counts is missing."""
    revoked = select(CertificateRevocation.id).where(CertificateRevocation.attestation_id == Attestation.id).exists()
    by_pair: dict[tuple[int, int], list[AttestationFact]] = defaultdict(list)
    for person_id, manual_id, number, attested_at, attestation_id, is_revoked in db.session.execute(
            select(Attestation.person_id, Attestation.manual_id, Attestation.edition_number, Attestation.attested_at,
                   Attestation.id, revoked)).yield_per(20_000):
        by_pair[(person_id, manual_id)].append(AttestationFact(number, attested_at, bool(is_revoked), attestation_id))
    stored = {(p, m): (n, at) for p, m, n, at in db.session.execute(select(
        TrainingProgress.person_id, TrainingProgress.manual_id, TrainingProgress.attested_edition_number,
        TrainingProgress.attested_at).where(TrainingProgress.attested_edition_number.is_not(None)))}
    problems = []
    for pair in sorted(set(by_pair) | set(stored)):
        counting = counting_attestation(by_pair.get(pair, ()))
        want = (counting.edition_number, counting.attested_at) if counting else None
        if want != stored.get(pair) and pair in by_pair:  # progress written without attestations is a test double
            problems.append(f"pair {pair[0]}×{pair[1]}: progress names {stored.get(pair)}, the attestation "
                            f"that counts is {want}")
            if len(problems) >= limit:
                break
    return problems


def check(today: date) -> list[str]:
    """Every way the materialised rows and counts disagree with the facts and the pure rule (empty: none)."""
    problems = progress_problems()
    r, a, p = TrainingStatusRow, TrainingAssignment, Person
    missing = db.session.execute(
        select(a.person_id, a.manual_id).join(p, and_(p.id == a.person_id, p.active.is_(True)))
        .outerjoin(r, and_(r.person_id == a.person_id, r.manual_id == a.manual_id))
        .where(r.person_id.is_(None)).limit(20)).all()
    problems += [f"pair {person}×{manual}: assigned but has no status row" for person, manual in missing]
    facts_by_manual = manual_facts()
    counted: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * len(COUNTED))
    on = settled_on()
    for row in db.session.execute(_facts_select(r.pending.is_(False))).yield_per(20_000):
        if row.counted_status is not None:
            counted[(row.department_id, row.manual_id)][COUNTED.index(row.counted_status)] += 1
        derived = derive(row, facts_by_manual)
        stored = (row.department_id, row.standing, row.due_date, row.valid_until, row.attested_edition_number)
        if derived is None:
            problems.append(f"pair {row.person_id}×{row.manual_id}: settled but no longer assigned to an active person")
        elif stored != (derived.department_id, derived.standing, derived.due_date, derived.valid_until,
                        derived.attested_edition_number):
            problems.append(f"pair {row.person_id}×{row.manual_id}: stored {stored}, facts say {derived}")
        elif row.counted_status is not None and (row.stale_from is None or row.stale_from > on) and \
                row.counted_status != derived.status(on):
            problems.append(f"pair {row.person_id}×{row.manual_id}: counted {row.counted_status}, "
                            f"the rule says {derived.status(on)} on {on}")
    c = TrainingStatusCount
    stored_counts = {(d, m): list(n) for d, m, *n in db.session.execute(
        select(c.department_id, c.manual_id, *(c.__table__.c[s] for s in COUNTED))).all()}
    for key in set(stored_counts) | set(counted):
        if stored_counts.get(key, [0] * len(COUNTED)) != counted.get(key, [0] * len(COUNTED)):
            problems.append(f"counts of department {key[0]} × manual {key[1]}: stored {stored_counts.get(key)}, "
                            f"rows say {counted.get(key)}")
    if today >= on:
        fast, live = status_counts(today, by_department=True), live_status_counts(today, by_department=True)
        for key in set(fast) | set(live):
            if fast.get(key, 0) != live.get(key, 0):
                problems.append(f"{key}: materialised count {fast.get(key, 0)}, live rule {live.get(key, 0)}")
    return problems[:200]
