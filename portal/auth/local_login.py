"""Which people may sign in with a local password (PORTAL_LOCAL_LOGIN): a pure rule and its settings."""
from __future__ import annotations

from collections.abc import Collection

from portal.core.refusals import Refusal

#: Everyone with a password may use it (the default, and the demo's).
ALL = "all"
#: Company staff sign in through the company's SSO; agency staff and admins keep local passwords.
AGENCIES_AND_ADMINS = "agencies-and-admins"
#: No password sign-in at all: SSO only.
OFF = "off"
MODES = (ALL, AGENCIES_AND_ADMINS, OFF)

#: Audit reasons of a refused local sign-in.
REFUSED_MODE_OFF = "local_login_off"
REFUSED_USE_SSO = "use_company_sso"


class LocalLoginRefused(Refusal):
    """A correct local sign-in that the configured mode does not allow; `code` says which rule."""


def checked_mode(value: str) -> str:
    """The mode, or ValueError naming the allowed values (checked when the app starts)."""
    mode = (value or ALL).strip().lower()
    if mode not in MODES:
        raise ValueError(f"PORTAL_LOCAL_LOGIN must be one of {', '.join(MODES)} (got {value!r})")
    return mode


def local_login_refusal(mode: str, *, department_kind: str | None, roles: Collection[str]) -> str | None:
    """Why this person may not sign in with a password under `mode`, or None when they may.

    `department_kind` is None before the person is known: only the "off" mode refuses then.
    """
    if mode == OFF:
        return REFUSED_MODE_OFF
    if mode == AGENCIES_AND_ADMINS and department_kind is not None:
        if department_kind != "agency" and "admin" not in roles:
            return REFUSED_USE_SSO
    return None


def password_form_shown(mode: str) -> bool:
    """Whether the sign-in page offers the password form at all."""
    return mode != OFF
