"""The main menu and the per-role home sections, filtered by the viewer's roles."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    """A menu entry shown to holders of any of `roles` (empty: everyone signed in)."""

    endpoint: str
    label: object
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class HomeSection:
    """A card on the home page for holders of `role`: what to do next, with links."""

    role: str
    title: object
    text: object
    endpoints: tuple[tuple[str, object], ...]


#: Features add their entries here; endpoints not (yet) registered are skipped.
NAV_ENTRIES: list[NavEntry] = [
    NavEntry("home.index", _l("Home")),
    NavEntry("manuals.index", _l("Manuals")),  # manuals
    NavEntry("training.my_training", _l("My training")),  # training
    NavEntry("org.people", _l("People"), ("admin", "training_admin", "auditor", "manager")),
    NavEntry("org.departments", _l("Departments"), ("admin", "training_admin", "auditor")),
    NavEntry("org.import_upload", _l("HR import"), ("admin",)),
    NavEntry("audit.events", _l("Audit trail"), ("auditor", "admin")),
    NavEntry("instructions.register", _l("Corrective instructions")),  # corrective instructions
    NavEntry("dashboards.index", _l("Training dashboard"), ("manager", "training_admin", "auditor", "admin")),
    NavEntry("certificates.mine", _l("My certificates")),  # certificates
    NavEntry("access.index", _l("Access")),  # access to protected systems
    NavEntry("lookups.index", _l("Look-up requests")),  # look-up requests
    NavEntry("downloads.index", _l("Downloads")),  # jobs: my downloads
]

HOME_SECTIONS: list[HomeSection] = [
    HomeSection("employee", _l("Your training"),
                _l("Read the manuals required of you, pass their quizzes and attest before the due date."),
                (("training.my_training", _l("My training")),)),  # training
    HomeSection("manager", _l("Your departments"),
                _l("See who in your departments is behind on training, and remind them."),
                (("dashboards.index", _l("Training dashboard")),
                 ("org.people", _l("People")))),  # + dashboard
    HomeSection("training_admin", _l("Training administration"),
                _l("Publish manuals and quizzes, set audiences and due dates, keep the organisation up to date."),
                (("org.people", _l("People")), ("org.departments", _l("Departments")))),
    HomeSection("grant_owner", _l("Access grants"),
                _l("Carry out approved access requests and review existing grants."),
                (("access.inbox", _l("Waiting for you")), ("access.grants", _l("Grants")),  # access
                 ("access.reviews", _l("Review campaigns")), ("access.coverage", _l("Coverage report")))),
    HomeSection("auditor", _l("Audit"),
                _l("Browse and verify the audit trail; everything here is read-only for you."),
                (("audit.events", _l("Audit trail")), ("audit.verify", _l("Verify the audit trail")))),
    HomeSection("admin", _l("Administration"),
                _l("Import the organisation from HR and manage roles."),
                (("org.import_upload", _l("HR import")), ("org.people", _l("People")))),
    # corrective instructions
    HomeSection("manager", _l("Corrective instructions"),
                _l("Instruct your departments or sales agencies to correct improper conduct, and follow who has "
                   "acknowledged."),
                (("instructions.new", _l("Issue a corrective instruction")),
                 ("instructions.register", _l("Instruction register")))),
    # manuals
    HomeSection("training_admin", _l("Manuals"),
                _l("Publish new manual editions and quizzes from the repository, after checking the plan."),
                (("manuals.publish_preview", _l("Publish from repository")), ("manuals.index", _l("Manuals")))),
    # dashboards and certificates
    HomeSection("training_admin", _l("Completion and certificates"),
                _l("See the share of people whose training is current, per department and manual, and download "
                   "certificates in bulk."),
                (("dashboards.organisation", _l("Organisation heat map")),
                 ("certificates.export", _l("Download certificates")))),
    HomeSection("auditor", _l("Training completion"),
                _l("See the share of people whose training is current, per department and manual, and its trend."),
                (("dashboards.organisation", _l("Organisation heat map")),)),
    # access to protected systems
    HomeSection("employee", _l("Access to protected systems"),
                _l("Ask for access to the customer-information system, stating the purpose; see your grants."),
                (("access.index", _l("Your access")),)),
    HomeSection("manager", _l("Access requests and reviews"),
                _l("Approve or refuse your staff's access requests, with a reason, and review their grants."),
                (("access.inbox", _l("Waiting for you")),)),
    HomeSection("admin", _l("Background work"),
                _l("Follow everybody's exports, and mail the portal could not send."),
                (("downloads.everyone", _l("Everyone's downloads")), ("outbox.index", _l("Outgoing mail")))),
    HomeSection("admin", _l("Protected systems"),
                _l("Register protected systems, their required manuals and grant owners; revoke API tokens."),
                (("access.systems", _l("Protected systems")),)),
    HomeSection("auditor", _l("Access grants"),
                _l("Read every grant's history, the coverage per department and the review campaigns."),
                (("access.grants", _l("Grants")), ("access.coverage", _l("Coverage report")),
                 ("access.reviews", _l("Review campaigns")))),
    # look-up requests
    HomeSection("employee", _l("Look-up requests"),
                _l("Without access yourself, ask an authorised colleague to check customer data, stating the "
                   "purpose; handle look-ups if your own access is in force."),
                (("lookups.index", _l("Your look-up requests")), ("lookups.queue", _l("Look-ups to handle")))),
    HomeSection("manager", _l("Look-up requests"),
                _l("Approve or refuse your staff's look-up requests, with a reason, and see how often and why "
                   "data is looked up."),
                (("lookups.inbox", _l("Look-ups to approve")), ("lookups.statistics", _l("Look-up statistics")))),
    HomeSection("auditor", _l("Look-up requests"),
                _l("See every look-up request with its history, and the statistics per department and purpose."),
                (("lookups.register", _l("Look-up register")), ("lookups.statistics", _l("Look-up statistics")))),
]


def _allowed(roles: tuple[str, ...]) -> bool:
    return not roles or current_user.has_role(*roles)


def nav_items() -> list[dict]:
    """Menu entries the current person may use."""
    views = current_app.view_functions
    return [
        {"url": url_for(e.endpoint), "label": e.label, "current": request.endpoint == e.endpoint}
        for e in NAV_ENTRIES
        if e.endpoint in views and _allowed(e.roles)
    ]


def home_sections(person) -> list[dict]:
    """Home cards for the person's roles, in a fixed order."""
    views = current_app.view_functions
    return [
        {"title": s.title, "text": s.text,
         "links": [{"url": url_for(ep), "label": label} for ep, label in s.endpoints if ep in views]}
        for s in HOME_SECTIONS
        if person.has_role(s.role)
    ]


def register_navigation(app: Flask) -> None:
    """Expose the menu and home sections to templates."""
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["home_sections"] = home_sections
