"""The list of feature blueprints, in one place."""
from __future__ import annotations


def BLUEPRINTS():  # noqa: N802 - reads as a constant list at the call site
    """Every blueprint the app registers."""
    from portal.audit.views import bp as audit_bp
    from portal.auth.views import bp as auth_bp
    from portal.home.views import bp as home_bp
    from portal.org.views import bp as org_bp

    return [auth_bp, home_bp, org_bp, audit_bp]
