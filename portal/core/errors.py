"""Error pages: short, in the user's language, never a stack trace."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.core.workflow import StepLost
from portal.extensions import db


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("You do not have permission to see this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed this way."),
        409: _("This was already done."),
        413: _("The file is too large."),
        429: _("Too many attempts. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Please try again later."),
        503: _("The service is temporarily unavailable."),
    }


def _render(code: int, message: str | None = None):
    message = message or _messages().get(code, _messages()[500])
    if request.path.startswith("/api/"):
        return jsonify(error=message, status=code), code
    return render_template("errors/error.html", code=code, message=message), code


def conflict_page(message: str, back_url: str | None = None, back_label: str | None = None):
    """The loser of a workflow race: what happened meanwhile, HTTP 409 (JSON under /api/)."""
    if request.path.startswith("/api/"):
        return jsonify(error=message, status=409), 409
    return render_template("errors/conflict.html", message=message, back_url=back_url,
                           back_label=back_label), 409


def _roll_back() -> None:
    """Undo the failed transaction, so the error page can read (the signed-in person, their language)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection: start afresh rather than fail the error page
        db.session.remove()


def register_error_handlers(app: Flask) -> None:
    """Map HTTP errors, CSRF failures and crashes to calm pages."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(400, _("The form expired or did not come from this site. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        body, code = _render(error.code or 500)
        response = app.make_response((body, code))
        # Keep what the error says beyond its page: Allow on a 405 (RFC 9110 requires it),
        # Retry-After on a 429/503, WWW-Authenticate on a 401.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(StepLost)
    def step_lost(error: StepLost):
        # Views word their own conflicts; this is the net under any that does not.
        _roll_back()
        return conflict_page(_("Someone else changed this in the meantime; your action changed nothing. "
                               "Reload the page to see where it stands now."))

    @app.errorhandler(Exception)
    def crash(error: Exception):
        app.logger.exception("unhandled error")
        _roll_back()
        return _render(500)

