"""Local accounts on the auth blueprint: sign-in links (set a password), 「パスワードをお忘れの方」,
and the admins' invitations (one person, or a whole department or agency after an HR import)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth import account_links as links
from portal.auth.account_forms import ActionForm, BulkInvitationForm, ForgotPasswordForm, SetPasswordForm
from portal.auth.blueprint import bp
from portal.auth.password_rules import problem_messages
from portal.auth.services import PasswordPolicyError
from portal.auth.sign_in import begin_second_factor, start_session
from portal.auth.two_factor import enrolment_of, second_factor_required
from portal.core.access import public, roles_required
from portal.core.i18n import current_locale, format_jst
from portal.extensions import db, limiter
from portal.org.models import Department, Person
from portal.org.queries import person_for_viewer

#: Reset requests: every answered request counts, known account or not (the answer is the same).
RESET_LIMIT_PER_CLIENT = "20 per hour"
RESET_LIMIT_PER_ACCOUNT = "3 per hour"


def _link_refusal(state: str, purpose: str | None):
    """The page for a link that does not work, saying why and what to do."""
    messages = {
        "unknown": _("This link is not valid. Check that you opened the whole address from the mail."),
        "used": _("This link has already been used. Sign in with the password you set, or ask for a new link."),
        "superseded": _("A newer link has been sent to you. Use the link in the most recent mail."),
        "expired": _("This link has expired. Ask your administrator for a new invitation.") if purpose == "invitation"
        else _("This link has expired. Ask for a new one with \"Forgot your password?\" on the sign-in page."),
        "inactive": _("Your account is not active. Ask your administrator."),
    }
    return render_template("auth/link_refused.html", message=messages[state]), 404 if state == "unknown" else 410


@bp.route("/account/link/<token>", methods=["GET", "POST"])
@public
def account_link(token: str):
    """Set one's password through an invitation or reset link; then one is signed in."""
    row = links.find_link(token)
    state = links.link_state(row)
    if state != "valid":
        return _link_refusal(state, row.purpose if row else None)
    person = db.session.get(Person, row.person_id)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            person = links.set_password_with_link(token, form.new_password.data)
        except links.LinkRefused as refusal:
            db.session.rollback()
            return _link_refusal(str(refusal), row.purpose)
        except PasswordPolicyError as error:
            db.session.rollback()
            form.new_password.errors.extend(problem_messages(error.problems))
            return render_template("auth/set_password.html", form=form, person=person, purpose=row.purpose), 400
        db.session.commit()
        if second_factor_required(person):
            response = begin_second_factor(person, url_for("home.index"))  # a fresh session: flash after
            flash(_("Your password has been set. Now set up the second step of signing in."), "success")
        else:
            response = start_session(person, url_for("home.index"), "not_needed")
            flash(_("Your password has been set and you are signed in."), "success")
        return response
    status = 400 if form.errors else 200
    return render_template("auth/set_password.html", form=form, person=person, purpose=row.purpose), status


def _reset_client_counted(response) -> bool:
    return response.status_code == 200


def _reset_account_key() -> str:
    return "reset-acct:" + links.account_key(request.form.get("identifier", "") or "")


@bp.route("/login/forgot", methods=["GET", "POST"])
@public
@limiter.limit(RESET_LIMIT_PER_CLIENT, methods=["POST"], deduct_when=_reset_client_counted)
@limiter.limit(RESET_LIMIT_PER_ACCOUNT, methods=["POST"], key_func=_reset_account_key,
               deduct_when=_reset_client_counted)
def forgot_password():
    """Ask for a reset link by employee number or e-mail; the answer never says whether the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        links.request_reset(form.identifier.data)
        db.session.commit()
        return render_template("auth/forgot_password_sent.html")
    return render_template("auth/forgot_password.html", form=form), 400 if form.errors else 200


def _viewer() -> Person:
    return current_user._get_current_object()


def _person_or_404(person_id: int) -> Person:
    person = person_for_viewer(_viewer(), person_id)
    if person is None:
        abort(404)
    return person


@bp.route("/accounts/people/<int:person_id>/invitation", methods=["POST"])
@roles_required("admin")
def invite_person(person_id: int):
    """Send one person a sign-in invitation (a newer one replaces an open one)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    target = _person_or_404(person_id)
    try:
        row = links.invite_person(_viewer(), target)
    except links.InvitationRefused as refusal:
        db.session.rollback()
        flash(_("This person is not active: no invitation was sent.") if str(refusal) == "inactive" else
              _("This person has no e-mail address: no invitation was sent. Add it in the HR data first."),
              "error")
        return redirect(url_for("org.person", person_id=person_id))
    expires_at = row.expires_at
    db.session.commit()
    flash(_("An invitation was sent to %(email)s. The link works until %(time)s.", email=target.email,
            time=format_jst(expires_at)), "success")
    return redirect(url_for("org.person", person_id=person_id))


def _department_choice(value) -> Department | None:
    return db.session.get(Department, int(value)) if str(value or "").isdigit() and len(str(value)) < 10 else None


@bp.route("/accounts/invitations", methods=["GET", "POST"])
@roles_required("admin")
def bulk_invitations():
    """Invite everyone of a department or agency who has no password and no open invitation yet."""
    departments = links.departments_for_invitations()
    form = BulkInvitationForm(formdata=request.form if request.method == "POST" else request.args or None)
    locale = current_locale()
    form.department.choices = [("", _("Choose…"))] + [
        (str(d.id), f"{d.display_name(locale)}（{d.code}）" + (_(" (sales agency)") if d.kind == "agency" else ""))
        for d in departments]
    department = _department_choice(form.department.data)
    if request.method == "POST":
        if not form.validate_on_submit() or department is None:
            return render_template("auth/bulk_invitations.html", form=form, departments=departments,
                                   department=None, candidates=[]), 400
        result = links.invite_department(_viewer(), department)
        db.session.commit()
        return render_template("auth/bulk_invitations_sent.html", department=department, result=result)
    candidates = links.uninvited_people(department) if department else []
    return render_template("auth/bulk_invitations.html", form=form, departments=departments,
                           department=department, candidates=candidates, action_form=ActionForm())


@bp.app_template_global()
def account_overview(person: Person) -> dict:
    """What the person page shows an admin about a person's local account."""
    enrolment = enrolment_of(person.id)
    return {
        "has_password": bool(person.password_hash),
        "invitation": links.open_links_of([person.id]).get(person.id),
        "enrolled_at": enrolment.enrolled_at if enrolment else None,
        "form": ActionForm(formdata=None),
    }
