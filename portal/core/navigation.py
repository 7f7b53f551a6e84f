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
    NavEntry("org.people", _l("People"), ("admin", "training_admin", "auditor")),
    NavEntry("org.departments", _l("Departments"), ("admin", "training_admin", "auditor")),
    NavEntry("org.import_upload", _l("HR import"), ("admin",)),
    NavEntry("audit.events", _l("Audit trail"), ("auditor", "admin")),
]

HOME_SECTIONS: list[HomeSection] = [
    HomeSection("employee", _l("Your training"),
                _l("Read the manuals required of you, pass their quizzes and attest before the due date."),
                ()),
    HomeSection("manager", _l("Your departments"),
                _l("See who in your departments is behind on training, and remind them."),
                ()),
    HomeSection("training_admin", _l("Training administration"),
                _l("Publish manuals and quizzes, set audiences and due dates, keep the organisation up to date."),
                (("org.people", _l("People")), ("org.departments", _l("Departments")))),
    HomeSection("grant_owner", _l("Access grants"),
                _l("Carry out approved access requests and review existing grants."),
                ()),
    HomeSection("auditor", _l("Audit"),
                _l("Browse and verify the audit trail; everything here is read-only for you."),
                (("audit.events", _l("Audit trail")),)),
    HomeSection("admin", _l("Administration"),
                _l("Import the organisation from HR and manage roles."),
                (("org.import_upload", _l("HR import")), ("org.people", _l("People")))),
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
