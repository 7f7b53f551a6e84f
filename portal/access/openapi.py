"""The OpenAPI 3.1 description of /api/v1 (served publicly at /api/v1/openapi.json)."""
from __future__ import annotations

from flask import current_app

from portal.access.decision import REASON_CODES

TRAINING_RULE = "/api/v1/people/<employee_no>/training"
TRAINING_STATUSES = ["not_required", "not_started", "in_progress", "current", "due", "overdue", "expired"]

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
          "additionalProperties": True}


def _responses(ok_schema: str, ok_text: str) -> dict:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "200": {"description": ok_text,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_schema}"}}}},
        "400": {"description": "A required parameter is missing.", **error},
        "401": {"description": "No token, or an unknown or revoked token.", **error},
        "403": {"description": "The token belongs to another system.", **error},
    }


def _decision_path() -> dict:
    return {"get": {
        "operationId": "getAccessDecision",
        "summary": "May this person use this system now?",
        "description": (
            "Answers from the portal's materialised decision for (system, person), recomputed first if a "
            "time rule (grant expiry, training due date or validity, review deadline) has come due. "
            "Never cached: a revocation is seen by the next call. Reason codes: "
            + ", ".join(f"`{c}`" for c in REASON_CODES)
            + " (`training_not_current:<manual slug>`, one per manual, for people who hold or held a grant). "
              "`grant_suspended` comes with its causes (`review_missed`, `training_not_current:…`, "
              "`person_inactive`)."),
        "security": [{"bearerAuth": []}],
        "parameters": [
            {"name": "system", "in": "query", "required": True, "description": "Code of the protected system.",
             "schema": {"type": "string", "minLength": 1, "maxLength": 40}},
            {"name": "employee", "in": "query", "required": True, "description": "Employee number.",
             "schema": {"type": "string", "minLength": 1, "maxLength": 40}},
        ],
        "responses": _responses("AccessDecision", "The decision (allow false with reasons when not allowed)."),
    }}


def _training_path() -> dict:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"get": {
        "operationId": "getPersonTraining",
        "summary": "A person's training status on each manual assigned to them.",
        "description": "For the signed-in person's browser session (not a system token): a person reads their "
                       "own, a manager their departments', training admins, auditors and admins anyone's.",
        "security": [{"sessionCookie": []}],
        "parameters": [{"name": "employee_no", "in": "path", "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 40}}],
        "responses": {
            "200": {"description": "Training per assigned manual, most urgent first.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PersonTraining"}}}},
            "401": {"description": "Not signed in.", **error},
            "404": {"description": "No such person, or one the viewer may not see.", **error},
        },
    }}


def _schemas() -> dict:
    return {
        "Error": _ERROR,
        "AccessDecision": {
            "type": "object",
            "required": ["allow", "reasons", "valid_until", "decided_at"],
            "properties": {
                "allow": {"type": "boolean"},
                "reasons": {"type": "array", "items": {
                    "type": "string",
                    "pattern": "^(" + "|".join(c for c in REASON_CODES if c != "training_not_current")
                               + r"|training_not_current:[a-z0-9][a-z0-9._-]*)$"}},
                "valid_until": {"type": ["string", "null"], "format": "date-time",
                                "description": "Until when this answer holds by time alone (UTC); "
                                               "null: no time limit."},
                "decided_at": {"type": "string", "format": "date-time"},
                "system": {"type": "string"},
                "employee": {"type": "string"},
            },
        },
        "PersonTraining": {
            "type": "object",
            "required": ["employee_no", "name", "as_of", "training"],
            "properties": {
                "employee_no": {"type": "string"},
                "name": {"type": "string"},
                "as_of": {"type": "string", "format": "date", "description": "Today in Japan."},
                "training": {"type": "array", "items": {
                    "type": "object", "required": ["manual", "status"],
                    "properties": {
                        "manual": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "string", "enum": TRAINING_STATUSES},
                        "due_date": {"type": ["string", "null"], "format": "date"},
                        "current_edition": {"type": ["integer", "null"]},
                        "attested_edition": {"type": ["integer", "null"]},
                        "attested_at": {"type": ["string", "null"], "format": "date-time"},
                        "valid_until": {"type": ["string", "null"], "format": "date"},
                    }, "additionalProperties": True}},
            },
            "additionalProperties": True,
        },
    }


def openapi_document() -> dict:
    """The whole description; the training path is listed once its endpoint exists."""
    paths = {"/api/v1/access-decisions": _decision_path()}
    if any(rule.rule == TRAINING_RULE for rule in current_app.url_map.iter_rules()):
        paths["/api/v1/people/{employee_no}/training"] = _training_path()
    return {
        "openapi": "3.1.0",
        "info": {"title": "Training portal API", "version": "1.0.0",
                 "description": "Machine API of the training and attestation portal. Tokens belong to one "
                                "protected system; admins create them with `portal systems token CODE`."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": _schemas(),
                       "securitySchemes": {
                           "bearerAuth": {"type": "http", "scheme": "bearer",
                                          "description": "A token of one protected system "
                                                         "(portal systems token CODE)."},
                           "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "portal_session",
                                             "description": "The portal's own sign-in session."}}},
    }
