"""Who may call every route. A route missing here fails test_access_matrix.

Each feature adds its routes. `allowed` is ANYONE (no sign-in), SIGNED_IN (any role),
or a set of roles. URLs with ids use objects made by the `world` fixture in that test.
"""
from __future__ import annotations

from dataclasses import dataclass

ANYONE = "anyone"
SIGNED_IN = "signed_in"
TOKEN = "token"
ROLES = ("employee", "manager", "training_admin", "grant_owner", "auditor", "admin")


@dataclass(frozen=True)
class Route:
    """One endpoint, how to call it, and who gets in."""

    endpoint: str
    method: str
    url: str
    allowed: object


ROUTES = [
    Route("static", "GET", "/static/css/portal.css", ANYONE),
    Route("home.healthz", "GET", "/healthz", ANYONE),
    Route("auth.login", "GET", "/login", ANYONE),
    Route("auth.language", "POST", "/language", ANYONE),
    Route("home.index", "GET", "/", SIGNED_IN),
    Route("auth.logout", "POST", "/logout", SIGNED_IN),
    Route("auth.password", "GET", "/account/password", SIGNED_IN),
    # Local accounts: links and the second step answer anyone (a bad link is a 404 page,
    # the second step without a half-finished sign-in says "sign in again"); invitations and
    # second-factor resets are for admins. Person 999999 does not exist: 404 for admins.
    Route("auth.account_link", "GET", "/account/link/not-a-real-token", ANYONE),
    Route("auth.forgot_password", "GET", "/login/forgot", ANYONE),
    Route("auth.second_factor", "GET", "/login/two-factor", ANYONE),
    Route("auth.second_factor_enrol", "GET", "/login/two-factor/enrol", ANYONE),
    Route("auth.invite_person", "POST", "/accounts/people/999999/invitation", {"admin"}),
    Route("auth.bulk_invitations", "GET", "/accounts/invitations", {"admin"}),
    Route("auth.reset_second_factor_of", "POST", "/accounts/people/999999/two-factor/reset", {"admin"}),
    # Company SSO (OpenID Connect). Not configured in this table's app: both answer 404 to everyone;
    # tests/auth/test_oidc_sign_in.py drives them against a real provider.
    Route("auth.oidc_login", "GET", "/auth/oidc/login", ANYONE),
    Route("auth.oidc_callback", "GET", "/auth/oidc/callback", ANYONE),
    Route("org.departments", "GET", "/org/departments", {"admin", "training_admin", "auditor"}),
    # Organisation (people, roles, HR import). Person 999999 does not exist: 404 for those allowed in.
    Route("org.people", "GET", "/org/people", {"admin", "training_admin", "auditor", "manager"}),
    Route("org.person", "GET", "/org/people/999999", {"admin", "training_admin", "auditor", "manager"}),
    Route("org.person_roles", "POST", "/org/people/999999/roles", {"admin"}),
    Route("org.import_upload", "GET", "/org/import", {"admin"}),
    Route("org.import_preview", "GET", "/org/import/preview", {"admin"}),
    Route("org.import_apply", "POST", "/org/import/apply", {"admin"}),
    Route("org.import_cancel", "POST", "/org/import/cancel", {"admin"}),
    # audit: audit trail browsing, verification and export (all GET; /audit/events/1 is the
    # sign-in event the matrix test itself records)
    Route("audit.events", "GET", "/audit/", {"auditor", "admin"}),
    Route("audit.event", "GET", "/audit/events/1", {"auditor", "admin"}),
    Route("audit.verify", "GET", "/audit/verify", {"auditor", "admin"}),
    Route("audit.export_csv", "GET", "/audit/export.csv", {"auditor", "admin"}),
    Route("audit.export_xlsx", "GET", "/audit/export.xlsx", {"auditor", "admin"}),
    Route("audit.export_job", "POST", "/audit/export-job", {"auditor", "admin"}),
    # Corrective instructions. Instruction 999999 does not exist: 404 for those let in.
    # Auditors read everything but get 403 on every write, acknowledging included.
    Route("instructions.register", "GET", "/instructions/", SIGNED_IN),
    Route("instructions.register_csv", "GET", "/instructions/register.csv", SIGNED_IN),
    Route("instructions.register_pdf", "GET", "/instructions/register.pdf", SIGNED_IN),
    Route("instructions.new", "GET", "/instructions/new", {"manager", "admin"}),
    Route("instructions.detail", "GET", "/instructions/999999", SIGNED_IN),
    Route("instructions.attachment", "GET", "/instructions/999999/attachments/1", SIGNED_IN),
    Route("instructions.record_pdf", "GET", "/instructions/999999/record.pdf", SIGNED_IN),
    Route("instructions.acknowledgements_csv", "GET", "/instructions/999999/acknowledgements.csv", SIGNED_IN),
    Route("instructions.acknowledge", "POST", "/instructions/999999/acknowledge",
          {"employee", "manager", "training_admin", "grant_owner", "admin"}),
    Route("instructions.remind", "POST", "/instructions/999999/remind", {"manager", "admin"}),
    # Look-up requests. System "nope" and request 999999 do not exist: 404 for those let in.
    # Handlers need no role (a grant in force is checked per request); auditors get 403 on every write.
    Route("lookups.index", "GET", "/lookups/", SIGNED_IN),
    Route("lookups.new", "GET", "/lookups/systems/nope/new", SIGNED_IN),
    Route("lookups.new", "POST", "/lookups/systems/nope/new",
          {"employee", "manager", "training_admin", "grant_owner", "admin"}),
    Route("lookups.detail", "GET", "/lookups/999999", SIGNED_IN),
    Route("lookups.approve", "POST", "/lookups/999999/approval", {"manager"}),
    Route("lookups.take", "POST", "/lookups/999999/take",
          {"employee", "manager", "training_admin", "grant_owner", "admin"}),
    Route("lookups.answer", "POST", "/lookups/999999/answer",
          {"employee", "manager", "training_admin", "grant_owner", "admin"}),
    Route("lookups.withdraw", "POST", "/lookups/999999/withdraw",
          {"employee", "manager", "training_admin", "grant_owner", "admin"}),
    Route("lookups.inbox", "GET", "/lookups/inbox", {"manager"}),
    Route("lookups.queue", "GET", "/lookups/queue", SIGNED_IN),
    Route("lookups.statistics", "GET", "/lookups/statistics", {"manager", "auditor", "admin"}),
    Route("lookups.register", "GET", "/lookups/register", {"manager", "auditor", "admin"}),
    Route("lookups.statistics_csv", "GET", "/lookups/statistics.csv", {"manager", "auditor", "admin"}),
    Route("lookups.register_export", "GET", "/lookups/register.csv", {"manager", "auditor", "admin"}),
    # Access to protected systems. System "nope" and ids 999999 do not exist: 404 for
    # those let in. Auditors read everything and get 403 on every write (whatever else they hold).
    Route("access.index", "GET", "/access/", SIGNED_IN),
    Route("access.request_form", "GET", "/access/systems/nope/request", SIGNED_IN),
    Route("access.request_form", "POST", "/access/systems/nope/request",
          {"employee", "manager", "training_admin", "grant_owner", "admin"}),
    Route("access.request_detail", "GET", "/access/requests/999999", SIGNED_IN),
    Route("access.approve", "POST", "/access/requests/999999/approval", {"manager"}),
    Route("access.grant", "POST", "/access/requests/999999/grant", {"grant_owner"}),
    Route("access.inbox", "GET", "/access/inbox", {"manager", "grant_owner"}),
    Route("access.grants", "GET", "/access/grants", {"grant_owner", "auditor", "admin"}),
    Route("access.grant_detail", "GET", "/access/grants/999999", SIGNED_IN),
    Route("access.revoke", "POST", "/access/grants/999999/revoke", {"grant_owner", "manager"}),
    Route("access.caps", "GET", "/access/systems/nope/caps", {"grant_owner"}),
    Route("access.caps", "POST", "/access/systems/nope/caps", {"grant_owner"}),
    Route("access.coverage", "GET", "/access/coverage", {"grant_owner", "auditor", "admin"}),
    Route("access.coverage_export", "GET", "/access/coverage/export.csv", {"grant_owner", "auditor", "admin"}),
    Route("access.reviews", "GET", "/access/reviews", {"grant_owner", "auditor", "admin"}),
    Route("access.start_review", "POST", "/access/reviews/new", {"grant_owner"}),
    Route("access.review_detail", "GET", "/access/reviews/999999", {"grant_owner", "auditor", "admin"}),
    Route("access.remind", "POST", "/access/reviews/999999/remind", {"grant_owner"}),
    Route("access.review_item", "POST", "/access/review-items/999999", {"manager"}),
    Route("access.review_export", "GET", "/access/reviews/999999/export.csv", {"grant_owner", "auditor", "admin"}),
    Route("access.systems", "GET", "/access/systems", {"admin", "grant_owner", "auditor"}),
    Route("access.system_detail", "GET", "/access/systems/nope", {"admin", "grant_owner", "auditor"}),
    Route("access.system_new", "GET", "/access/systems/new", {"admin"}),
    Route("access.system_new", "POST", "/access/systems/new", {"admin"}),
    Route("access.system_edit", "GET", "/access/systems/nope/edit", {"admin"}),
    Route("access.token_revoke", "POST", "/access/tokens/999999/revoke", {"admin"}),
    # The standing cap and the registers: a waiting grant brought in above the cap, a moved
    # person's grant approved again by the new manager, the grant register and its export.
    Route("access.admit", "POST", "/access/grants/999999/admit", {"grant_owner"}),
    Route("access.transfer", "GET", "/access/transfers/999999", {"manager"}),
    Route("access.transfer", "POST", "/access/transfers/999999", {"manager"}),
    Route("access.grant_register", "GET", "/access/registers/grants", {"grant_owner", "auditor", "admin"}),
    Route("access.grant_register_export", "GET", "/access/registers/grants.csv", {"grant_owner", "auditor", "admin"}),
    Route("access_api.access_decision", "GET", "/api/v1/access-decisions", TOKEN),
    Route("access_api.openapi", "GET", "/api/v1/openapi.json", ANYONE),
    # Manuals: any signed-in person reads every published manual; publishing is for training admins.
    Route("manuals.index", "GET", "/manuals/", SIGNED_IN),
    Route("manuals.read", "GET", "/manuals/nope", SIGNED_IN),
    Route("manuals.edition", "GET", "/manuals/nope/editions/1", SIGNED_IN),
    Route("manuals.compare", "GET", "/manuals/nope/compare?from=1&to=2", SIGNED_IN),
    Route("manuals.publish_preview", "GET", "/manuals/admin/publish", {"training_admin", "admin", "auditor"}),
    Route("manuals.publish", "POST", "/manuals/admin/publish", {"training_admin", "admin"}),
    # Training: every signed-in person trains on their own manuals (auditors too: it is
    # their own training, not the organisation's data). Manual "nope" and ids 999999 do not exist:
    # 404 for those let in; someone else's attempt or attestation is 404 as well.
    Route("training.my_training", "GET", "/training/", SIGNED_IN),
    Route("training.overview", "GET", "/training/manuals/nope", SIGNED_IN),
    Route("training.start_quiz", "POST", "/training/manuals/nope/attempts", SIGNED_IN),
    Route("training.attempt_page", "GET", "/training/attempts/999999", SIGNED_IN),
    Route("training.submit_answers", "POST", "/training/attempts/999999", SIGNED_IN),
    Route("training.attempt_result", "GET", "/training/attempts/999999/result", SIGNED_IN),
    Route("training.attest", "GET", "/training/manuals/nope/attest", SIGNED_IN),
    Route("training.attestation_done", "GET", "/training/attestations/999999", SIGNED_IN),
    Route("training_api.person_training", "GET", "/api/v1/people/nobody/training", SIGNED_IN),
    # Dashboards and certificates. Ids 999999 do not exist: 404 for those let in. Managers
    # see only departments they manage (404 otherwise); auditors read everything and get 403 on writes.
    Route("dashboards.index", "GET", "/dashboards/", {"manager", "training_admin", "auditor", "admin"}),
    Route("dashboards.department", "GET", "/dashboards/departments/999999",
          {"manager", "training_admin", "auditor", "admin"}),
    Route("dashboards.department_export", "GET", "/dashboards/departments/999999/export.csv",
          {"manager", "training_admin", "auditor", "admin"}),
    Route("dashboards.person", "GET", "/dashboards/people/999999", {"manager", "training_admin", "auditor", "admin"}),
    Route("dashboards.person_export", "GET", "/dashboards/people/999999/export.xlsx",
          {"manager", "training_admin", "auditor", "admin"}),
    Route("dashboards.remind", "POST", "/dashboards/departments/999999/people/999999/remind",
          {"manager", "training_admin", "admin"}),
    Route("dashboards.organisation", "GET", "/dashboards/organisation", {"training_admin", "auditor", "admin"}),
    Route("dashboards.organisation_export", "GET", "/dashboards/organisation/export.csv",
          {"training_admin", "auditor", "admin"}),
    Route("dashboards.refresh", "POST", "/dashboards/organisation/refresh", {"training_admin", "admin"}),
    Route("dashboards.people_export", "POST", "/dashboards/organisation/people-export",
          {"training_admin", "auditor", "admin"}),
    Route("certificates.mine", "GET", "/certificates/", SIGNED_IN),
    Route("certificates.detail", "GET", "/certificates/999999", SIGNED_IN),
    Route("certificates.download", "GET", "/certificates/999999.pdf", SIGNED_IN),
    Route("certificates.revoke", "POST", "/certificates/999999/revoke", {"admin"}),
    Route("certificates.export", "GET", "/certificates/export", {"training_admin", "admin"}),
    Route("certificates.export", "POST", "/certificates/export", {"training_admin", "admin"}),
    Route("verify.certificate", "GET", "/verify/not-a-real-code", ANYONE),
    # Jobs: My downloads. Job 999999 does not exist: 404 for those let in (a job someone else started
    # is 404 too, except for admins). Auditors cancel their own exports (not a change to the organisation).
    Route("downloads.index", "GET", "/downloads/", SIGNED_IN),
    Route("downloads.status", "GET", "/downloads/status.json", SIGNED_IN),
    Route("downloads.everyone", "GET", "/downloads/all", {"admin"}),
    Route("downloads.cancel", "POST", "/downloads/999999/cancel", SIGNED_IN),
    Route("downloads.file", "GET", "/downloads/999999/file", SIGNED_IN),
    Route("outbox.index", "GET", "/admin/mail/", {"admin"}),
    Route("outbox.retry", "POST", "/admin/mail/999999/retry", {"admin"}),
]
