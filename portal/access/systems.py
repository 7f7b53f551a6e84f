"""Registering protected systems, their caps and their API tokens (admins and grant owners)."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select

from portal.access.cap_rules import CapSpec
from portal.access.models import ApiToken, DepartmentCap, ProtectedSystem
from portal.access.refresh import refresh_access_decisions, settle_departments
from portal.audit.services import record_event
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.manuals.models import Manual
from portal.org.models import Department, Person

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
TOKEN_PREFIX = "pat_"


@dataclass
class SystemData:
    """What an admin enters for a system (plain data, from a form, the CLI or the demo)."""

    code: str
    name_ja: str
    name_en: str = ""
    purposes: list[str] = field(default_factory=list)
    manual_slugs: list[str] = field(default_factory=list)
    grant_owner_nos: list[str] = field(default_factory=list)
    max_grant_days: int = 180
    request_expiry_days: int = 14
    #: A campaign starts by itself every this many months (None: only by hand), ending after review_deadline_days.
    review_every_months: int | None = None
    review_deadline_days: int = 14
    #: {department code: cap percent, or a CapSpec (percent or people)}
    caps: dict[str, int | CapSpec] = field(default_factory=dict)


def _check(data: SystemData, existing: ProtectedSystem | None) -> tuple[list[Manual], list[Person]]:
    if not CODE_PATTERN.match(data.code or "") or data.code == "new":
        raise Refusal("code_invalid", "code")
    clash = db.session.scalar(select(ProtectedSystem.id).where(ProtectedSystem.code == data.code))
    if clash is not None and (existing is None or clash != existing.id):
        raise Refusal("code_taken", "code")
    if not data.name_ja.strip():
        raise Refusal("name_missing", "name_ja")
    purposes = [p.strip() for p in data.purposes if p.strip()]
    if not purposes:
        raise Refusal("purposes_missing", "purposes")
    if len(set(purposes)) != len(purposes) or any(len(p) > 200 for p in purposes):
        raise Refusal("purposes_invalid", "purposes")
    if not 1 <= data.max_grant_days <= 3660:
        raise Refusal("max_grant_days_invalid", "max_grant_days")
    if not 1 <= data.request_expiry_days <= 365:
        raise Refusal("request_expiry_days_invalid", "request_expiry_days")
    if data.review_every_months is not None and not 1 <= data.review_every_months <= 24:
        raise Refusal("review_every_months_invalid", "review_every_months")
    if not 1 <= data.review_deadline_days <= 90:
        raise Refusal("review_deadline_days_invalid", "review_deadline_days")
    manuals = list(db.session.scalars(select(Manual).where(Manual.slug.in_(data.manual_slugs))))
    unknown = sorted(set(data.manual_slugs) - {m.slug for m in manuals})
    if unknown:
        raise Refusal("manual_unknown", "manual_slugs", names=", ".join(unknown))
    owners = list(db.session.scalars(select(Person).where(Person.employee_no.in_(data.grant_owner_nos))))
    unknown = sorted(set(data.grant_owner_nos) - {p.employee_no for p in owners})
    if unknown:
        raise Refusal("person_unknown", "grant_owner_nos", names=", ".join(unknown))
    not_owners = sorted(p.employee_no for p in owners if not p.has_role("grant_owner") or not p.active)
    if not_owners or not owners:
        raise Refusal("not_grant_owner_role", "grant_owner_nos", names=", ".join(not_owners))
    data.purposes = purposes
    return manuals, owners


def save_system(actor: Person | None, data: SystemData, existing: ProtectedSystem | None = None) -> ProtectedSystem:
    """Register a system or change one; decisions of its grants are recomputed."""
    manuals, owners = _check(data, existing)
    system = existing or ProtectedSystem()
    before = None if existing is None else _summary(existing)
    system.code, system.name_ja, system.name_en = data.code, data.name_ja.strip(), data.name_en.strip()
    system.purposes_json = json.dumps(data.purposes, ensure_ascii=False)
    system.max_grant_days, system.request_expiry_days = data.max_grant_days, data.request_expiry_days
    system.review_every_months, system.review_deadline_days = data.review_every_months, data.review_deadline_days
    system.required_manuals, system.grant_owners = manuals, owners
    if existing is None:
        db.session.add(system)
    db.session.flush()
    if data.caps or existing is None:
        set_department_caps(actor, system, data.caps, audit=False)
    record_event(actor, "access.system_registered" if existing is None else "access.system_changed",
                 object_type="protected_system", object_id=system.code,
                 details={"before": before, "after": _summary(system)})
    refresh_access_decisions(system_ids=[system.id])
    return system


def _summary(system: ProtectedSystem) -> dict:
    return {"name_ja": system.name_ja, "purposes": system.purposes, "max_grant_days": system.max_grant_days,
            "request_expiry_days": system.request_expiry_days, "review_every_months": system.review_every_months,
            "review_deadline_days": system.review_deadline_days,
            "manuals": [m.slug for m in system.required_manuals],
            "grant_owners": [p.employee_no for p in system.grant_owners]}


def set_department_caps(actor: Person | None, system: ProtectedSystem, caps: dict[str, int | CapSpec],
                        audit: bool = True, reason: str = "") -> None:
    """Replace the system's caps: {department code: percent of headcount, or a CapSpec}; absent = no cap.

    A larger cap lets the oldest waiting grants in at once; a smaller one may leave a department
    over its cap, which is reported like an HR change (portal.access.cap_excess).
    """
    specs = {code: value if isinstance(value, CapSpec) else CapSpec(percent=value) for code, value in caps.items()}
    departments = dict(db.session.execute(select(Department.code, Department.id)
                                          .where(Department.code.in_(list(specs)))).all())
    unknown = sorted(set(specs) - set(departments))
    if unknown:
        raise Refusal("department_unknown", "caps", names=", ".join(unknown))
    if not all(_cap_valid(spec) for spec in specs.values()):
        raise Refusal("cap_invalid", "caps")
    before = {c.department.code: CapSpec(c.cap_percent, c.cap_people).text() for c in db.session.scalars(
        select(DepartmentCap).where(DepartmentCap.system_id == system.id))}
    db.session.execute(delete(DepartmentCap).where(DepartmentCap.system_id == system.id))
    if specs:
        db.session.execute(insert(DepartmentCap), [
            {"system_id": system.id, "department_id": departments[code], "cap_percent": spec.percent,
             "cap_people": spec.people} for code, spec in sorted(specs.items())])
    db.session.flush()
    if audit:
        record_event(actor, "access.caps_changed", object_type="protected_system", object_id=system.code,
                     reason=reason, details={"before": before,
                                             "after": {code: spec.text() for code, spec in sorted(specs.items())}})
    if system.id is not None:
        settle_departments([system.id], check_excess=True, now=utcnow())


def _cap_valid(spec: CapSpec) -> bool:
    if (spec.percent is None) == (spec.people is None):
        return False
    value = spec.percent if spec.percent is not None else spec.people
    return isinstance(value, int) and value >= 0 and (spec.people is not None or value <= 100)


def hash_token(token: str) -> str:
    """sha256 hex of a token (tokens are 256-bit random, so a plain hash is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(actor: Person | None, system: ProtectedSystem, name: str = "") -> tuple[ApiToken, str]:
    """A new token for one system; the clear token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(system_id=system.id, name=name.strip()[:100], token_hash=hash_token(token),
                   hint=token[:10], created_by=getattr(actor, "employee_no", "") or "cli")
    db.session.add(row)
    db.session.flush()
    record_event(actor, "access.token_created", object_type="api_token", object_id=row.id,
                 details={"system": system.code, "name": row.name, "hint": row.hint})
    return row, token


def revoke_api_token(actor: Person | None, token: ApiToken, now: datetime | None = None) -> None:
    """Revoke a token at once: its next call gets 401."""
    if token.revoked_at is not None:
        raise Refusal("token_already_revoked")
    token.revoked_at = now or utcnow()
    db.session.flush()
    record_event(actor, "access.token_revoked", object_type="api_token", object_id=token.id,
                 details={"system": token.system.code, "name": token.name, "hint": token.hint})
