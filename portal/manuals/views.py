"""Manual pages: the list, reading an edition, comparing editions, publishing from the repository.

Any signed-in person may read any published manual: they are the company's internal rules.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.core.access import roles_required, signed_in
from portal.extensions import db
from portal.manuals.assignments import today_jst
from portal.manuals.blueprint import bp
from portal.manuals.comparison import compare_sections, summarise_changes
from portal.manuals.forms import PublishForm
from portal.manuals.planning import build_publish_plan, repository_dirs
from portal.manuals.problems import PublishRefused, message
from portal.manuals.queries import (
    assignment_for,
    edition_list,
    edition_or_404,
    editions_pair,
    last_attested_edition_number,
    manual_or_404,
    manuals_for,
)
from portal.manuals.services import publish_from_repository

PUBLISHERS = ("training_admin", "admin")


@bp.route("/")
@signed_in
def index():
    """Every published manual; the ones the reader must train on first, by due date."""
    return render_template("manuals/index.html", rows=manuals_for(current_user.id))


def _reading_page(slug: str, number: int | None):
    manual = manual_or_404(slug)
    editions = edition_list(manual.id)
    if not editions:
        abort(404)
    current_number = editions[-1].number
    edition = edition_or_404(manual.id, current_number if number is None else number)
    assignment = assignment_for(current_user.id, manual.id)
    attested = last_attested_edition_number(current_user.id, manual.id)
    since = None
    if number is None and attested is not None and attested < current_number:
        older = editions_pair(manual.id, attested, attested).get(attested)
        if older is not None:
            since = {"number": attested, "changes": summarise_changes(older.sections, edition.sections)}
    previous = next((e.number for e in reversed(editions) if e.number < edition.number), None)
    return render_template(
        "manuals/read.html", manual=manual, edition=edition, editions=editions, current_number=current_number,
        superseded=edition.number < current_number, assignment=assignment, since=since, previous=previous,
        attested=attested,
    )


@bp.route("/<slug>")
@signed_in
def read(slug: str):
    """The current edition, with its table of contents and the reader's own due date."""
    return _reading_page(slug, None)


@bp.route("/<slug>/editions/<int:number>")
@signed_in
def edition(slug: str, number: int):
    """Any edition; older ones are marked as superseded."""
    return _reading_page(slug, number)


def _edition_number(name: str, default: int | None) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit():
        abort(404)
    return int(raw)


@bp.route("/<slug>/compare")
@signed_in
def compare(slug: str):
    """Any two editions side by side, section by section, with character-level marks."""
    manual = manual_or_404(slug)
    editions = edition_list(manual.id)
    if not editions:
        abort(404)
    numbers = [e.number for e in editions]
    to_number = _edition_number("to", numbers[-1])
    from_number = _edition_number("from", numbers[-2] if len(numbers) > 1 else numbers[-1])
    pair = editions_pair(manual.id, from_number, to_number)
    if from_number not in pair or to_number not in pair:
        abort(404)
    old, new = pair[from_number], pair[to_number]
    low, high = sorted((from_number, to_number))
    between = [e for e in editions if low < e.number <= high]
    return render_template(
        "manuals/compare.html", manual=manual, old=old, new=new, editions=editions, between=between,
        comparison=compare_sections(old.sections, new.sections), reverse=from_number > to_number,
    )


def _preview(form: PublishForm, plan, status: int = 200, refused: bool = False):
    return render_template("manuals/publish.html", form=form, plan=plan, message=message, refused=refused,
                           may_publish=current_user.has_role(*PUBLISHERS)), status


@bp.route("/admin/publish", methods=["GET"])
@roles_required(*PUBLISHERS, "auditor")
def publish_preview():
    """What publishing the repository's manuals would do: new editions, their kind, who goes back to training."""
    plan = build_publish_plan(*repository_dirs())
    db.session.rollback()
    form = PublishForm(fingerprint=plan.fingerprint)
    return _preview(form, plan)


@bp.route("/admin/publish", methods=["POST"])
@roles_required(*PUBLISHERS)
def publish():
    """Publish exactly the previewed plan, in one transaction; refuse if the files changed meanwhile."""
    form = PublishForm()
    if not form.validate_on_submit():
        plan = build_publish_plan(*repository_dirs())
        db.session.rollback()
        return _preview(PublishForm(formdata=None, fingerprint=plan.fingerprint), plan, 400)
    try:
        plan, editions = publish_from_repository(current_user._get_current_object(), *repository_dirs(),
                                                 today=today_jst(), expected_fingerprint=form.fingerprint.data)
        db.session.commit()
    except (PublishRefused, IntegrityError):
        db.session.rollback()
        plan = build_publish_plan(*repository_dirs())
        db.session.rollback()
        flash(_("Nothing was published: the files or the portal changed since the preview. "
                "Review the new plan below."), "error")
        return _preview(PublishForm(formdata=None, fingerprint=plan.fingerprint), plan, 409, refused=True)
    if editions:
        flash(_("Published %(count)s new edition(s).", count=len(editions)), "success")
    else:
        flash(_("Nothing to publish: every manual is already up to date."), "success")
    return redirect(url_for("manuals.publish_preview"))
