"""The second factor of local sign-ins: TOTP (RFC 6238) with single-use recovery codes.

Required after a correct password for people holding a privileged role. A TOTP code is accepted
for its 30-second step and one step either side (clock drift), and never twice: the last accepted
step is remembered and only a later one is accepted (a conditional UPDATE, so two requests with
the same code at once cannot both win).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
import unicodedata
from datetime import datetime

import pyotp
import qrcode
from flask import current_app
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import delete, func, select, update

from portal.audit.services import record_event
from portal.auth.models import RecoveryCode, TwoFactor
from portal.core.refusals import Refusal
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.org.models import Person

#: Roles whose local sign-ins need the second factor.
PRIVILEGED_ROLES = ("admin", "training_admin", "grant_owner", "auditor")
STEP_SECONDS = 30
#: Steps either side of now whose code is still accepted (phone clocks drift).
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
#: 16 characters of a 32-letter alphabet: 80 random bits, so an unsalted SHA-256 is enough.
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16
#: Pixels per QR module on the enrolment page.
QR_SCALE = 5
#: What authenticator apps show above the code.
ISSUER = "研修ポータル"
_NOT_CODE = re.compile(r"[^0-9a-z]")


class SecondFactorRefused(Refusal):
    """A second-factor step that fails; its code (also str()) is why: wrong_code, replayed, own, not_enrolled."""


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def normalise_code(typed: str) -> str:
    """What was typed, without spaces, hyphens or full-width digits, lower case."""
    return _NOT_CODE.sub("", unicodedata.normalize("NFKC", typed or "").lower())


def is_totp_code(code: str) -> bool:
    """True for a six-digit code (anything else is tried as a recovery code)."""
    return len(code) == 6 and code.isdigit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step near now whose TOTP code this is, else None (pure)."""
    if not is_totp_code(code):
        return None
    totp, current = pyotp.TOTP(secret), _step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_secret() -> str:
    """A fresh TOTP secret (160 random bits, base32)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, person: Person) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=person.employee_no, issuer_name=ISSUER)


def qr_data_url(text: str, scale: int = QR_SCALE) -> tuple[str, int]:
    """The QR code of the text as a PNG data: URL and its width in pixels (the CSP allows data: images).

    Whole pixels per module and no scaling in the page keep every edge crisp for phone cameras.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), pixels).resize((size * scale, size * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), size * scale


def grouped(text: str, size: int = 4) -> str:
    """A secret or code in groups of four, easier to copy by hand."""
    return " ".join(text[i:i + size] for i in range(0, len(text), size))


def enrolment_of(person_id: int) -> TwoFactor | None:
    """The person's enrolled authenticator, or None."""
    return db.session.get(TwoFactor, person_id)


def second_factor_required(person: Person) -> bool:
    """True when a local password sign-in of this person needs a second step.

    PORTAL_DEMO_RELAX_2FA (the public demo only) lets privileged people who have not enrolled skip it.
    """
    if not person.has_role(*PRIVILEGED_ROLES):
        return False
    if current_app.config.get("PORTAL_DEMO_RELAX_2FA") and enrolment_of(person.id) is None:
        return False
    return True


def _hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode("ascii")).hexdigest()


def _new_recovery_codes() -> list[str]:
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODE_COUNT)]
    return ["-".join(code[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4)) for code in codes]


def enrol_second_factor(person: Person, secret: str, code: str) -> list[str]:
    """Enrol the authenticator once its first code is right; return 10 new recovery codes (shown once).

    Raises SecondFactorRefused("wrong_code"). Audited as auth.second_factor_enrolled.
    """
    now = utcnow()
    step = matching_step(secret, normalise_code(code), now)
    if step is None:
        raise SecondFactorRefused("wrong_code")
    db.session.execute(delete(TwoFactor).where(TwoFactor.person_id == person.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
    db.session.add(TwoFactor(person_id=person.id, secret=secret, enrolled_at=now, last_used_step=step))
    codes = _new_recovery_codes()
    db.session.add_all([RecoveryCode(person_id=person.id, code_hash=_hash_code(c), created_at=now) for c in codes])
    db.session.flush()
    record_event(person, "auth.second_factor_enrolled", object_type="person", object_id=person.employee_no,
                 details={"recovery_codes": len(codes)})
    return codes


def check_second_factor(person: Person, typed: str) -> str:
    """Accept a TOTP code (never the same step twice) or an unused recovery code; return which.

    Raises SecondFactorRefused: not_enrolled, replayed, wrong_code. Using a recovery code is audited.
    """
    enrolment = enrolment_of(person.id)
    if enrolment is None:
        raise SecondFactorRefused("not_enrolled")
    code, now = normalise_code(typed), utcnow()
    if is_totp_code(code):
        step = matching_step(enrolment.secret, code, now)
        if step is None:
            raise SecondFactorRefused("wrong_code")
        won = db.session.execute(
            update(TwoFactor).where(TwoFactor.person_id == person.id,
                                    (TwoFactor.last_used_step.is_(None)) | (TwoFactor.last_used_step < step))
            .values(last_used_step=step).execution_options(synchronize_session=False)).rowcount
        if won != 1:
            raise SecondFactorRefused("replayed")
        return "totp"
    won = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.person_id == person.id, RecoveryCode.code_hash == _hash_code(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if won != 1:
        raise SecondFactorRefused("wrong_code")
    left = db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None)))
    record_event(person, "auth.recovery_code_used", object_type="person", object_id=person.employee_no,
                 details={"recovery_codes_left": left})
    return "recovery_code"


def record_second_factor_failure(person: Person, why: str) -> None:
    """Audit a wrong or replayed code (the caller commits it; nothing else changed)."""
    record_event(person, "auth.second_factor_failed", object_type="person", object_id=person.employee_no,
                 details={"why": why})


def remove_second_factor(person: Person) -> bool:
    """Delete the person's authenticator and recovery codes and end their sessions (no audit: callers do)."""
    had = enrolment_of(person.id) is not None
    db.session.execute(delete(TwoFactor).where(TwoFactor.person_id == person.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
    person.session_version += 1
    return had


def reset_second_factor(actor: Person | None, person: Person, via: str = "admin") -> bool:
    """Remove the person's authenticator and recovery codes (they enrol again at next sign-in); audited.

    Never one's own (SecondFactorRefused("own")); the CLI passes actor None. Ends the person's sessions.
    Returns False when there was nothing to reset.
    """
    if actor is not None and actor.id == person.id:
        raise SecondFactorRefused("own")
    had = remove_second_factor(person)
    record_event(actor, "auth.second_factor_reset", object_type="person", object_id=person.employee_no,
                 details={"was_enrolled": had, "via": via})
    return had


def recovery_codes_left(person_id: int) -> int:
    """How many unused recovery codes the person has."""
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None))) or 0
