"""The decision API: may person X use system S now? One indexed lookup, always fresh.

GET /api/v1/access-decisions?system=CODE&employee=EMPLOYEE_NO with Authorization: Bearer TOKEN.
The token, the system, the person and the materialised decision come back in one query, on a lean
connection of its own (decision_query.py). A row whose recheck_at has passed is recomputed (and
stored) before answering; if storing fails (a concurrent writer), the answer is computed in memory
instead, never read from the stale row.
"""
from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal.access.decision import AccessFacts, decide_access
from portal.access.decision_query import find_decision_row, note_token_used
from portal.access.facts import gather_facts
from portal.access.models import AccessDecision
from portal.access.openapi import openapi_document
from portal.access.refresh import refresh_access_decisions
from portal.access.systems import hash_token
from portal.core.access import public, token_protected
from portal.core.timeutil import utcnow
from portal.extensions import csrf, db
from portal.training.status import jst_today

bp = Blueprint("access_api", __name__, url_prefix="/api/v1")
#: last_used_at is written at most this often per token (a write per call would cost throughput).
LAST_USED_GRANULARITY = timedelta(minutes=5)


def parse_bearer(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer …` header value, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def bearer_token() -> str | None:
    """The token from the request's `Authorization: Bearer …`, or None."""
    return parse_bearer(request.headers.get("Authorization"))


def _unauthorized(error: str) -> tuple[int, dict, dict]:
    """401 with a JSON error and the Bearer challenge."""
    return 401, {"error": error}, {"WWW-Authenticate": f'Bearer realm="portal", error="{error}"'}


def unauthorized(error: str):
    """401 with a JSON error and the Bearer challenge, as a response."""
    return _as_response(*_unauthorized(error))


def _as_response(status: int, payload: dict, headers: dict):
    response = jsonify(payload)
    response.status_code = status
    response.headers.update(headers)
    return response


@bp.route("/access-decisions")
@token_protected
@csrf.exempt
def access_decision():
    """Answer allow/deny with reason codes for one person and one system."""
    token = bearer_token()
    if token is None:
        return unauthorized("missing_token")
    # Taken as given (no trimming): " x" is simply a code or number nobody has.
    return _as_response(*decision_answer(hash_token(token), request.args.get("employee", ""),
                                         request.args.get("system", ""), utcnow()))


def decision_answer(token_hash: str, employee_no: str, system_code: str, now) -> tuple[int, dict, dict]:
    """(status, JSON body, extra headers) of one call: the one place the API's rules live.

    Both the Flask view above and the WSGI fast path (fast_api.py) answer with this; it needs an app context.
    """
    # PostgreSQL text cannot hold NUL: such a number matches nobody, so make it match nobody.
    row = find_decision_row(token_hash, employee_no[:40].replace("\x00", "\ufffd"))
    if row is None or row.revoked_at is not None:
        return _unauthorized("invalid_token")
    if not system_code or not employee_no:
        return 400, {"error": "missing_parameter", "parameters": ["system", "employee"]}, {}
    if row.code != system_code:
        return 403, {"error": "token_not_for_system"}, {}
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
    return 200, {"allow": bool(allow), "reasons": reasons, "system": system_code, "employee": employee_no,
                 "valid_until": valid_until.isoformat() if valid_until else None,
                 "decided_at": now.isoformat()}, {}


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
        note_token_used(row.id, now)
    except SQLAlchemyError:
        pass  # a busy database: the next call tries again


@bp.route("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of the portal's machine API (public: it holds no data)."""
    return jsonify(openapi_document())
