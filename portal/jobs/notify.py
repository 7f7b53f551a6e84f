"""The mail that tells a person their long job has finished (or failed), with the link to My downloads.

Only jobs that took at least PORTAL_JOBS_MAIL_AFTER_SECONDS (default 60 s) from the click to their
end mail anyone. A shorter job ends while its starter still looks at My downloads, which moves
the bar and shows the file or the error by itself: a mail for every quick export would be noise
people learn to ignore, and would fill the outbox when an admin exports a few files in a row. A
long job (everyone's certificates, a 50,000-row HR import) outlasts the person's attention, so
they hear when it is over. Set 0 to mail for every job. Jobs started from the command line or the
schedule (nobody started them in the portal) and cancelled jobs (the person did it) mail nobody.

The mail is queued in the transaction that moves the job to done or failed, which only the
consumer that wins that move commits, and under the key job-finished:<id>: it goes once.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale

from portal.core.mail import render_mail
from portal.core.timeutil import as_utc
from portal.extensions import db
from portal.jobs.kinds import job_kinds
from portal.jobs.messages import error_text
from portal.jobs.models import Job
from portal.org.models import Person
from portal.outbox.services import queue_mail

#: Where the mail sends people: My downloads (the page lists the job, its file or its error).
DOWNLOADS_PATH = "/downloads/"


def worth_a_mail(created_at: datetime, finished_at: datetime, after_seconds: int) -> bool:
    """Whether a job that ran from created_at to finished_at is long enough to mail about."""
    return (as_utc(finished_at) - as_utc(created_at)).total_seconds() >= after_seconds


def queue_finished_mail(job_id: int, now: datetime) -> bool:
    """Queue the mail for a job that has just become done or failed, if it is owed; flushes nothing else."""
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None or job.started_by_id is None or job.state not in ("done", "failed"):
        return False
    if not worth_a_mail(job.created_at, now, current_app.config["PORTAL_JOBS_MAIL_AFTER_SECONDS"]):
        return False
    person = db.session.get(Person, job.started_by_id)
    if person is None or not person.active or not person.email:
        return False
    locale = "en" if person.locale == "en" else "ja"
    kind = job_kinds().get(job.kind)
    with force_locale(locale):
        label = str(kind.label) if kind else job.kind
        summary = str(kind.summary(job)) if job.state == "done" and kind and kind.summary else ""
        error = error_text(kind, job.error) if job.state == "failed" else ""
        mail = render_mail(f"jobs/mail/finished.{locale}.txt", to=person.email, person=person, job=job,
                           label=label, summary=summary, error=error,
                           link=current_app.config["PORTAL_BASE_URL"].rstrip("/") + DOWNLOADS_PATH,
                           days=current_app.config["PORTAL_JOBS_KEEP_DAYS"])
    return queue_mail(mail, key=f"job-finished:{job.id}")
