"""The list of feature blueprints, in one place."""
from __future__ import annotations


def BLUEPRINTS():  # noqa: N802 - reads as a constant list at the call site
    """Every blueprint the app registers."""
    from portal.access.api import bp as access_api_bp  # access (issue 6)
    from portal.access.views import bp as access_bp  # access (issue 6)
    from portal.audit.views import bp as audit_bp
    from portal.auth.views import bp as auth_bp
    from portal.home.views import bp as home_bp
    from portal.instructions.views import bp as instructions_bp
    from portal.lookups.views import bp as lookups_bp  # look-up requests (issue 7)
    from portal.manuals.views import bp as manuals_bp
    from portal.org.views import bp as org_bp
    from portal.training.api import bp as training_api_bp  # training (issue 4)
    from portal.training.views import bp as training_bp  # training (issue 4)
    from portal.certificates.verify_views import bp as verify_bp  # certificates (issue 5)
    from portal.certificates.views import bp as certificates_bp  # certificates (issue 5)
    from portal.dashboards.views import bp as dashboards_bp  # dashboards (issue 5)
    from portal.jobs.views import bp as downloads_bp  # jobs and my downloads
    from portal.outbox.views import bp as outbox_bp  # the mail outbox

    return [auth_bp, home_bp, org_bp, audit_bp, instructions_bp, lookups_bp, manuals_bp,
            access_bp, access_api_bp,  # access (issue 6)
            training_bp, training_api_bp,  # training (issue 4)
            dashboards_bp, certificates_bp, verify_bp,  # dashboards, certificates (issue 5)
            downloads_bp, outbox_bp]  # jobs, my downloads, the mail outbox


def connect_signals() -> None:
    """Subscribe the features to the signals of the features below them (portal.core.signals)."""
    from portal.access.subscribers import connect_signals as connect_access
    from portal.manuals.subscribers import connect_signals as connect_manuals
    from portal.training.subscribers import connect_signals as connect_training

    connect_manuals()
    connect_training()
    connect_access()
