"""The list of feature blueprints, in one place.

Each feature defines `bp` in its blueprint.py; its view modules add routes to it. Importing the
view modules here (not from each other) is what registers their routes, so no view module
imports another to get its routes on the blueprint.
"""
from __future__ import annotations


def BLUEPRINTS():  # noqa: N802 - reads as a constant list at the call site
    """Every blueprint the app registers, after importing the view modules that fill them."""
    from portal.access import views as _access_views  # noqa: F401 - it imports its sibling view modules
    from portal.access.api import bp as access_api_bp
    from portal.access.blueprint import bp as access_bp
    from portal.audit_pages import views as _audit_views  # noqa: F401
    from portal.audit_pages.blueprint import bp as audit_bp
    from portal.auth import account_views, oidc_views, two_factor_views, views as _auth_views  # noqa: F401
    from portal.auth.blueprint import bp as auth_bp
    from portal.certificates import views as _certificate_views  # noqa: F401
    from portal.certificates.blueprint import bp as certificates_bp
    from portal.certificates.verify_views import bp as verify_bp
    from portal.dashboards import export_views, views as _dashboard_views  # noqa: F401
    from portal.dashboards.blueprint import bp as dashboards_bp
    from portal.home import views as _home_views  # noqa: F401
    from portal.home.blueprint import bp as home_bp
    from portal.instructions import export_views as _instruction_exports, views as _instruction_views  # noqa: F401
    from portal.instructions.blueprint import bp as instructions_bp
    from portal.jobs import outbox_views, views as _job_views  # noqa: F401
    from portal.jobs.blueprint import bp as downloads_bp, outbox_bp
    from portal.lookups import register_views, statistics_views, views as _lookup_views  # noqa: F401
    from portal.lookups.blueprint import bp as lookups_bp
    from portal.manuals import views as _manual_views  # noqa: F401
    from portal.manuals.blueprint import bp as manuals_bp
    from portal.org import views as _org_views  # noqa: F401 - it imports import_views
    from portal.org.blueprint import bp as org_bp
    from portal.training import views as _training_views  # noqa: F401
    from portal.training.api import bp as training_api_bp
    from portal.training.blueprint import bp as training_bp

    return [auth_bp, home_bp, org_bp, audit_bp, instructions_bp, lookups_bp, manuals_bp,
            access_bp, access_api_bp, training_bp, training_api_bp,
            dashboards_bp, certificates_bp, verify_bp, downloads_bp, outbox_bp]
