"""The second step of a local sign-in (TOTP or a recovery code), enrolment, and an admin's reset."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal.auth.account_forms import ActionForm, EnrolForm, SecondFactorForm
from portal.auth.blueprint import bp
from portal.auth.sign_in import (
    PENDING_KEY,
    SECOND_FACTOR_KEY,
    keep_pending_value,
    open_session,
    pending_person,
    pending_value,
    remember_device,
    start_session,
)
from portal.auth.two_factor import (
    SecondFactorRefused,
    check_second_factor,
    enrol_second_factor,
    enrolment_of,
    grouped,
    new_secret,
    provisioning_uri,
    qr_data_url,
    record_second_factor_failure,
    recovery_codes_left,
    reset_second_factor,
    second_factor_required,
)
from portal.core.access import access_rule, public, roles_required
from portal.extensions import db, limiter
from portal.org.models import Person
from portal.org.queries import person_for_viewer

# Wrong codes are throttled like wrong passwords (only 401 answers count): per client address, and
# per person half-way through signing in (reaching this step needs their password already).
CODE_LIMIT_PER_CLIENT = "30 per 15 minutes"
CODE_LIMIT_PER_PERSON = "10 per 15 minutes"


def _wrong_code(response) -> bool:
    return response.status_code == 401


def _pending_key() -> str:
    note = session.get(PENDING_KEY)
    return f"2fa:{note.get('person') if isinstance(note, dict) else 'none'}"


def _start_again():
    """No sign-in is half-way in this browser (never started, took too long, or the account changed)."""
    return render_template("auth/two_factor_expired.html")


def _next_url() -> str:
    return pending_value("next") or url_for("home.index")


_REFUSALS = {
    "wrong_code": lambda: _("The code is not correct. Check the time on your phone, or use a recovery code."),
    "replayed": lambda: _("This code has already been used. Wait for the next code and enter that."),
}


@bp.route("/login/two-factor", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT_PER_CLIENT, methods=["POST"], deduct_when=_wrong_code)
@limiter.limit(CODE_LIMIT_PER_PERSON, methods=["POST"], key_func=_pending_key, deduct_when=_wrong_code)
def second_factor():
    """The second step after a correct password: a code from the authenticator app or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    person = pending_person()
    if person is None:
        return _start_again()
    if enrolment_of(person.id) is None:
        return redirect(url_for("auth.second_factor_enrol"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            method = check_second_factor(person, form.code.data)
        except SecondFactorRefused as refusal:
            db.session.rollback()
            record_second_factor_failure(person, str(refusal))
            db.session.commit()
            form.code.errors.append(_REFUSALS.get(str(refusal), _REFUSALS["wrong_code"])())
            return render_template("auth/two_factor.html", form=form), 401
        db.session.commit()
        response = start_session(person, _next_url(), method)
        if method == "recovery_code":
            flash(_("You signed in with a recovery code, which now no longer works. Recovery codes left: %(count)s.",
                    count=recovery_codes_left(person.id)), "warning")
        return response
    return render_template("auth/two_factor.html", form=form), 400 if form.errors else 200


@bp.route("/login/two-factor/enrol", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT_PER_CLIENT, methods=["POST"], deduct_when=_wrong_code)
@limiter.limit(CODE_LIMIT_PER_PERSON, methods=["POST"], key_func=_pending_key, deduct_when=_wrong_code)
def second_factor_enrol():
    """Add an authenticator app (QR code or the key as text), confirm one code, receive recovery codes once."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    person = pending_person()
    if person is None:
        return _start_again()
    if enrolment_of(person.id) is not None:
        return redirect(url_for("auth.second_factor"))
    secret = pending_value("secret")
    if not secret:
        secret = new_secret()  # kept in this browser's session only, until the first code confirms it
        keep_pending_value("secret", secret)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = enrol_second_factor(person, secret, form.code.data)
        except SecondFactorRefused:
            db.session.rollback()
            form.code.errors.append(_("The code is not correct. Check that the app shows the code for this portal "
                                      "and that your phone's clock is right."))
            status = 401
        else:
            db.session.commit()
            next_url = _next_url()
            open_session(person, "totp")
            response = make_response(render_template("auth/recovery_codes.html", codes=codes, next_url=next_url))
            remember_device(response, person)
            return response
    else:
        status = 400 if form.errors else 200
    qr, qr_size = qr_data_url(provisioning_uri(secret, person))
    return render_template("auth/two_factor_enrol.html", form=form, qr=qr, qr_size=qr_size,
                           secret=grouped(secret), person=person), status


@bp.route("/accounts/people/<int:person_id>/two-factor/reset", methods=["POST"])
@roles_required("admin")
def reset_second_factor_of(person_id: int):
    """Remove another person's authenticator (lost phone): they enrol again at their next sign-in."""
    if not ActionForm().validate_on_submit():
        abort(400)
    viewer = current_user._get_current_object()
    target = person_for_viewer(viewer, person_id)
    if target is None:
        abort(404)
    try:
        had = reset_second_factor(viewer, target)
    except SecondFactorRefused:
        db.session.rollback()
        return render_template("errors/error.html", code=403, message=_(
            "You cannot reset your own second factor. Ask another administrator.")), 403
    db.session.commit()
    flash(_("The second factor was reset. The person sets it up again at their next sign-in.") if had
          else _("This person had no second factor; their sessions were ended."), "success")
    return redirect(url_for("org.person", person_id=person_id))


@bp.before_app_request
def _second_factor_after_promotion():
    """A password session that needed no second factor ends when its person now holds a privileged role.

    Checked only on role-gated pages, whose roles are loaded anyway (no extra query on other requests).
    """
    if session.get(SECOND_FACTOR_KEY) != "not_needed" or not isinstance(access_rule(request.endpoint), frozenset):
        return None
    person: Person = current_user
    if not person.is_authenticated or not second_factor_required(person):
        return None
    logout_user()
    session.clear()
    flash(_("Your roles have changed: sign in again with your second factor."), "warning")
    return redirect(url_for("auth.login"))
