"""The learner's pages: My training, a manual's quiz, the attempt, its result, the attestation."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.access import signed_in
from portal.core.i18n import current_locale, format_jst
from portal.core.refusals import Refusal, apply_refusal_to_form
from portal.core.timeutil import utcnow
from portal.extensions import db, limiter
from portal.training import loaders
from portal.training.blueprint import bp
from portal.training.forms import QuizAnswersForm, StartQuizForm
from portal.training.presenters import (
    STATUS_WORDS,
    attempt_questions,
    graded_questions,
    next_step,
    pass_needed,
    quiz_rules,
    reason_message,
    task_groups,
)
from portal.training.queries import my_training as my_training_rows, reader_status_row
from portal.training.services import (
    attempt_to_grade,
    attest_edition,
    close_if_timed_out,
    start_attempt,
    statement_texts,
    submit_attempt as grade_submission,
)
from portal.training.signing import (
    OIDC,
    SignatureRefused,
    check_signature,
    current_signing_method,
    record_signature_refusal,
)
from portal.training.signing_views import (
    attest_page_context,
    install,
    signature_message,
    signing_form,
    start_oidc_signature,
)
from portal.training.status import NOT_REQUIRED, jst_today, status_rows

bp.record_once(install)  # signatures made at the company's provider come back to signing_views


def _me():
    return current_user._get_current_object()


def _compare_url(manual, from_number: int, to_number: int) -> str | None:
    """The manuals feature's comparison page, when it is installed."""
    if "manuals.compare" not in current_app.view_functions:
        return None
    return url_for("manuals.compare", slug=manual.slug, **{"from": from_number, "to": to_number})


def _read_url(manual) -> str | None:
    return url_for("manuals.read", slug=manual.slug) if "manuals.read" in current_app.view_functions else None


@bp.route("/")
@signed_in
def my_training():
    """Every manual the person must train on, most urgent first, with the next step."""
    today = jst_today()
    tasks = my_training_rows(current_user.id, today, current_locale())
    groups = task_groups(tasks, today)
    first = next((task for task in tasks if task.status != "current"), None)
    return render_template("training/my_training.html", person=current_user, groups=groups, tasks=tasks,
                           first=first, today=today)


@bp.route("/manuals/<slug>")
@signed_in
def overview(slug: str):
    """One manual's training: status, what changed, the quiz rules and the next step."""
    manual = loaders.manual_by_slug(slug)
    now = utcnow()
    today = jst_today(now)
    state = loaders.learner_state(_me(), manual, now, today)
    rows = status_rows([current_user.id], [manual.id], today)
    row = rows[0] if rows else None
    compare = None
    if state.attested_edition is not None and state.edition is not None:
        compare = _compare_url(manual, state.attested_edition.number, state.edition.number)
    return render_template(
        "training/overview.html", manual=manual, state=state, row=row, status=row.status if row else NOT_REQUIRED,
        compare_url=compare, read_url=_read_url(manual), step=next_step(state), form=StartQuizForm(),
        blocker_text=reason_message(state.blocker, until=state.wait_until) if state.blocker else None,
    )


@bp.route("/manuals/<slug>/attempts", methods=["POST"])
@signed_in
def start_quiz(slug: str):
    """Start the quiz (or resume the open attempt): questions are drawn and saved on the server."""
    manual = loaders.manual_by_slug(slug)
    if not StartQuizForm().validate_on_submit():
        abort(400)
    try:
        attempt = start_attempt(_me(), manual)
    except Refusal as error:
        db.session.commit()  # an abandoned attempt may just have been closed as timed out
        flash(reason_message(error.code, **error.details), "warning")
        return redirect(url_for(".overview", slug=slug))
    db.session.commit()
    return redirect(url_for(".attempt_page", attempt_id=attempt.id), 303)


def _render_attempt(attempt, form, answers=None, missing=(), status: int = 200):
    questions = attempt_questions(attempt, current_locale(), answers or {}, missing)
    return render_template("training/attempt.html", attempt=attempt, questions=questions, form=form,
                           missing=missing), status


@bp.route("/attempts/<int:attempt_id>")
@signed_in
def attempt_page(attempt_id: int):
    """The drawn questions of an open attempt: text and choices only, never the key."""
    attempt = loaders.own_attempt(attempt_id, _me())
    if attempt.submitted_at is None and close_if_timed_out(attempt, utcnow()):
        db.session.commit()
    if attempt.submitted_at is not None:
        return redirect(url_for(".attempt_result", attempt_id=attempt.id))
    return _render_attempt(attempt, QuizAnswersForm())


@bp.route("/attempts/<int:attempt_id>", methods=["POST"])
@signed_in
def submit_answers(attempt_id: int):
    """Grade the answers once; a replay gets 409 and changes nothing.

    Kept lean (200 people may submit at once): CSRFProtect has checked the token before the
    view runs, and only the columns grading needs are read; a page is built only on refusal.
    """
    to_grade = attempt_to_grade(attempt_id, _me())
    if to_grade is None:
        abort(404)  # someone else's attempt looks nonexistent
    posted = {question["id"]: request.form.getlist(f"answer-{question['id']}") for question in to_grade.drawn}
    try:
        grade_submission(_me(), to_grade, posted)
    except Refusal as error:
        db.session.rollback()
        attempt = loaders.own_attempt(attempt_id, _me())
        if error.code == "unanswered":
            return _render_attempt(attempt, QuizAnswersForm(), error.details["answers"], error.details["questions"],
                                   400)
        return render_template("training/already_submitted.html", attempt=attempt), 409
    db.session.commit()
    return redirect(url_for(".attempt_result", attempt_id=attempt_id), 303)


@bp.route("/attempts/<int:attempt_id>/result")
@signed_in
def attempt_result(attempt_id: int):
    """After submission only: the score, what was wrong and why, and the next step."""
    attempt = loaders.own_attempt(attempt_id, _me())
    if attempt.submitted_at is None:
        return redirect(url_for(".attempt_page", attempt_id=attempt.id))
    now = utcnow()
    state = loaders.learner_state(_me(), attempt.manual, now, jst_today(now))
    return render_template("training/result.html", attempt=attempt, state=state, step=next_step(state),
                           questions=graded_questions(attempt, current_locale()), read_url=_read_url(attempt.manual),
                           blocker_text=reason_message(state.blocker,
                                                       until=state.wait_until) if state.blocker else None)


def _attest_key() -> str:
    return f"attest:{current_user.get_id() if current_user.is_authenticated else request.remote_addr}"


@bp.route("/manuals/<slug>/attest", methods=["GET", "POST"])
@signed_in
@limiter.limit("10 per 10 minutes", methods=["POST"], key_func=_attest_key,
               deduct_when=lambda response: response.status_code in (400, 401))
def attest(slug: str):
    """Check what you confirm, then sign the declaration the way you signed in (portal/training/signing.py)."""
    manual = loaders.manual_by_slug(slug)
    now = utcnow()
    state = loaders.learner_state(_me(), manual, now, jst_today(now))
    if state.attested_latest or state.current or state.passed_attempt is None:
        flash(reason_message("not_passed" if state.passed_attempt is None and not state.current
                             and not state.attested_latest else "attested"), "warning")
        return redirect(url_for(".overview", slug=slug))
    method = current_signing_method()
    form = signing_form(method)
    refused = False
    if form.validate_on_submit():
        if method == OIDC:
            return start_oidc_signature(manual, state)
        try:
            signature = check_signature(_me(), method, form.data)
            attestation = attest_edition(_me(), manual, signature=signature, locale=current_locale(),
                                         client_address=request.remote_addr or "",
                                         user_agent=request.user_agent.string or "")
        except SignatureRefused as refusal:
            db.session.rollback()
            record_signature_refusal(_me(), manual, method, refusal.code)
            db.session.commit()
            apply_refusal_to_form(form, refusal, signature_message)
            refused = True
        except Refusal as error:
            db.session.rollback()
            flash(reason_message(error.code), "warning")
            return redirect(url_for(".overview", slug=slug))
        else:
            db.session.commit()
            return redirect(url_for(".attestation_done", attestation_id=attestation.id), 303)
    statement = statement_texts(state.edition)[current_locale() if current_locale() in ("ja", "en") else "ja"]
    return render_template("training/attest.html", manual=manual, state=state, form=form, statement=statement,
                           attempt=state.passed_attempt, **attest_page_context(method)),\
        401 if refused else (400 if form.errors else 200)


@bp.route("/attestations/<int:attestation_id>")
@signed_in
def attestation_done(attestation_id: int):
    """The confirmation after attesting: what was recorded."""
    attestation = loaders.own_attestation(attestation_id, _me())
    return render_template("training/attested.html", attestation=attestation,
                           attested_at=format_jst(attestation.attested_at))


bp.add_app_template_global(STATUS_WORDS.label_for, "training_status_word")


@bp.context_processor
def _helpers() -> dict:
    return {"quiz_rules": quiz_rules, "pass_needed": pass_needed}


@bp.app_template_global()
def training_reader_status(manual, assignment=None, editions=(), edition=None) -> dict:
    """For the manual reader: the signed-in person's status and next step, from what the page loaded."""
    row = None
    if current_user.is_authenticated:
        row = reader_status_row(current_user.id, assignment, editions, edition, jst_today())
    status = row.status if row else NOT_REQUIRED
    step = None
    if status not in (NOT_REQUIRED, "current"):
        step = {"url": url_for("training.overview", slug=manual.slug),
                "label": _("Continue your training") if status == "in_progress" else _("Go to the quiz")}
    return {"status": status, "row": row, "step": step}
