"""The decision API: may person X use system S now? One indexed lookup, always fresh.

GET /api/v1/access-decisions?system=CODE&employee=EMPLOYEE_NO with Authorization: Bearer TOKEN.
The token, the system, the person and the materialised decision come back in one query. A row
whose recheck_at has passed is recomputed (and stored) before answering; if storing fails (a
concurrent writer), the answer is computed in memory instead, never read from the stale row.
"""
from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, jsonify, request
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal.access.decision import AccessFacts, decide_access
from portal.access.facts import gather_facts
from portal.access.models import AccessDecision, ApiToken, ProtectedSystem
from portal.access.openapi import openapi_document
from portal.access.refresh import refresh_access_decisions
from portal.access.systems import hash_token
from portal.core.access import public, token_protected
from portal.core.timeutil import utcnow
from portal.extensions import csrf, db
from portal.org.models import Person
from portal.training.status import jst_today

bp = Blueprint("access_api", __name__, url_prefix="/api/v1")
#: last_used_at is written at most this often per token (a write per call would cost throughput).
LAST_USED_GRANULARITY = timedelta(minutes=5)


def bearer_token() -> str | None:
    """The token from `Authorization: Bearer …`, or None."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def unauthorized(error: str):
    """401 with a JSON error and the Bearer challenge."""
    response = jsonify(error=error)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = f'Bearer realm="portal", error="{error}"'
    return response


#: Token, its system, the person and their decision row for that system: one query, built once.
_LOOKUP = (
    select(ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at, ProtectedSystem.id.label("system_id"),
           ProtectedSystem.code, Person.id.label("person_id"), Person.active, AccessDecision.allow,
           AccessDecision.reasons_json, AccessDecision.recheck_at)
    .select_from(ApiToken)
    .join(ProtectedSystem, ProtectedSystem.id == ApiToken.system_id)
    .outerjoin(Person, Person.employee_no == bindparam("employee_no"))
    .outerjoin(AccessDecision, and_(AccessDecision.system_id == ApiToken.system_id,
                                    AccessDecision.person_id == Person.id))
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def _lookup(token: str, employee_no: str):
    """The one indexed lookup behind every answer (unique token hash, unique employee_no, primary key)."""
    # One statement needs no transaction: in autocommit there is no BEGIN and no ROLLBACK round trip,
    # and Core execution skips the ORM's result processing (together about half the time).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(_LOOKUP, {"employee_no": employee_no, "token_hash": hash_token(token)}).first()


@bp.route("/access-decisions")
@token_protected
@csrf.exempt
def access_decision():
    """Answer allow/deny with reason codes for one person and one system."""
    token = bearer_token()
    if token is None:
        return unauthorized("missing_token")
    # Taken as given (no trimming): " x" is simply a code or number nobody has.
    system_code = request.args.get("system", "")
    employee_no = request.args.get("employee", "")
    # PostgreSQL text cannot hold NUL: such a number matches nobody, so make it match nobody.
    row = _lookup(token, employee_no[:40].replace("\x00", "\ufffd"))
    if row is None or row.revoked_at is not None:
        return unauthorized("invalid_token")
    if not system_code or not employee_no:
        return jsonify(error="missing_parameter", parameters=["system", "employee"]), 400
    if row.code != system_code:
        return jsonify(error="token_not_for_system"), 403
    now = utcnow()
    _touch(row, now)
    if row.person_id is None:
        allow, reasons, valid_until = False, ["unknown_person"], None
    elif row.allow is None:
        # Never held a grant: no row is kept for them.
        decision = decide_access(AccessFacts(person_known=True, person_active=bool(row.active)), now)
        allow, reasons, valid_until = decision.allow, list(decision.reasons), None
    elif row.recheck_at is not None and now >= row.recheck_at:
        allow, reasons, valid_until = _fresh(row.system_id, row.person_id, now)
    else:
        allow, reasons, valid_until = row.allow, json.loads(row.reasons_json), row.recheck_at
    return jsonify(allow=bool(allow), reasons=reasons, system=system_code, employee=employee_no,
                   valid_until=valid_until.isoformat() if valid_until else None, decided_at=now.isoformat())


def _fresh(system_id: int, person_id: int, now):
    """Recompute a row whose time has come; store it, or at least answer from fresh facts."""
    try:
        refresh_access_decisions([person_id], system_ids=[system_id], now=now)
        db.session.commit()
        stored = db.session.execute(select(AccessDecision.allow, AccessDecision.reasons_json, AccessDecision.recheck_at)
                                    .where(AccessDecision.system_id == system_id,
                                           AccessDecision.person_id == person_id)).one()
        return stored.allow, json.loads(stored.reasons_json), stored.recheck_at
    except SQLAlchemyError:
        db.session.rollback()
        facts, _grants = gather_facts([(system_id, person_id)], jst_today(now))
        decision = decide_access(facts[(system_id, person_id)], now)
        return decision.allow, list(decision.reasons), decision.valid_until


def _touch(row, now) -> None:
    """Note that the token is in use, at most every few minutes; never fails the answer."""
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_GRANULARITY:
        return
    try:
        db.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()


@bp.route("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of the portal's machine API (public: it holds no data)."""
    return jsonify(openapi_document())
