"""Wiring the features together when the app is created: who hears which signal, which job kinds
and daily tasks the queue's consumers run. Lower features never import higher ones; this module,
above them all, tells each lower registry what the higher features provide."""
from __future__ import annotations


def wire_features() -> None:
    """Connect every subscriber and register every task, job kind and daily task (idempotent)."""
    from portal.access.recurring import start_due_campaigns
    from portal.access.subscribers import connect_signals as connect_access
    from portal.audit_pages.jobs import AUDIT_EXPORT
    from portal.certificates.jobs import CERTIFICATES_ZIP
    from portal.daily import (
        anchoring_is_on,
        expire_and_apply_deadlines,
        keep_coverage_snapshot,
        purge_links,
        write_daily_anchor,
    )
    from portal.dashboards.jobs import ORGANISATION_RECOUNT, PEOPLE_EXPORT
    from portal.dashboards.subscribers import connect_signals as connect_dashboards
    from portal.jobs.kinds import register_job_kind
    from portal.jobs.org_import import ORG_IMPORT, RUNNER
    from portal.jobs.schedules import register_daily_task
    from portal.jobs.tasks import install_tasks
    from portal.manuals.subscribers import connect_signals as connect_manuals
    from portal.org.import_runner import set_import_runner
    from portal.reminders.daily import send_daily_reminders
    from portal.training.jobs import STATUS_REBUILD
    from portal.training.subscribers import connect_signals as connect_training

    connect_manuals()
    connect_training()
    connect_access()
    connect_dashboards()
    install_tasks()
    for kind in (CERTIFICATES_ZIP, PEOPLE_EXPORT, AUDIT_EXPORT, STATUS_REBUILD, ORGANISATION_RECOUNT, ORG_IMPORT):
        register_job_kind(kind)
    set_import_runner(RUNNER)
    register_daily_task("reminders", send_daily_reminders)
    register_daily_task("access", expire_and_apply_deadlines)
    register_daily_task("reviews", start_due_campaigns)
    register_daily_task("links", purge_links)
    register_daily_task("coverage", keep_coverage_snapshot)
    register_daily_task("anchor", write_daily_anchor, enabled=anchoring_is_on)
