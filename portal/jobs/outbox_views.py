"""Admins see mail that could not be sent (and how much waits), and queue a failed message again.

The outbox itself (portal.outbox) sits below the audit trail, which queues mail; this page writes
audit events and wakes the consumers, so it lives with the queue's consumers.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.audit.services import record_event
from portal.core.access import roles_required
from portal.extensions import db
from portal.jobs.blueprint import outbox_bp as bp
from portal.jobs.forms import ActionForm
from portal.jobs.queue import enqueue
from portal.outbox.models import OutboxMail
from portal.outbox.sending import retry_mail

#: Failed messages listed at most, newest first.
LISTED = 200


@bp.route("/")
@roles_required("admin")
def index():
    """Messages by state, and every failed one with the mail server's last answer."""
    counts = dict(db.session.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state)).all())
    failed = db.session.scalars(select(OutboxMail).where(OutboxMail.state == "failed")
                                .order_by(OutboxMail.id.desc()).limit(LISTED)).all()
    return render_template("outbox/index.html", counts=counts, failed=failed, form=ActionForm())


@bp.route("/<int:mail_id>/retry", methods=["POST"])
@roles_required("admin")
def retry(mail_id: int):
    """Queue a failed message again (audited)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if not retry_mail(mail_id):
        abort(404)
    record_event(current_user._get_current_object(), "mail.retried", object_type="mail", object_id=mail_id)
    db.session.commit()
    enqueue("outbox.drain")
    flash(_("The message will be sent again."), "success")
    return redirect(url_for(".index"))
