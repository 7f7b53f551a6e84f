"""Words for jobs that the page and the finished-job mail share: why a job failed."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.jobs.kinds import JobKind

ERRORS = {
    "stopped": _l("The work stopped several times (its consumer ended each time). Please start it again, or tell an "
                  "administrator."),
    "error": _l("Something went wrong. Please start it again, or tell an administrator."),
}


def error_text(kind: JobKind | None, code: str) -> str:
    """The words for a failed job: the kind's own message for its code, else the common ones."""
    if kind and code in kind.messages:
        return str(kind.messages[code])
    return str(ERRORS.get(code, ERRORS["error"]))
