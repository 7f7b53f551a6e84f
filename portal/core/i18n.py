"""Language choice (Japanese by default, English on request) and display filters."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from portal.core.timeutil import to_jst, wareki


def select_locale() -> str:
    """Session choice, then the person's preference, then Accept-Language, then ja."""
    locales = current_app.config["PORTAL_LOCALES"]
    if not has_request_context():  # CLI and background work: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in locales:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in locales:
        return current_user.locale
    return request.accept_languages.best_match(locales) or "ja"


def current_locale() -> str:
    """The active interface language code."""
    return str(get_locale() or "ja")


def format_jst(moment: datetime | None, with_time: bool = True) -> str:
    """A stored UTC moment as Japan time (YYYY-MM-DD HH:MM JST)."""
    if moment is None:
        return "—"
    local = to_jst(moment)
    return local.strftime("%Y-%m-%d %H:%M") if with_time else local.strftime("%Y-%m-%d")


def format_date(day: date | datetime | None) -> str:
    """A date, with 和暦 beside it in Japanese."""
    if day is None:
        return "—"
    if isinstance(day, datetime):
        day = to_jst(day).date()
    text = day.isoformat()
    if current_locale() == "ja":
        text += f"（{wareki(day)}）"
    return text


def in_language(locale: str | None, ja: str, en: str | None) -> str:
    """The English text for a reader of English when there is one, else the Japanese (names, titles)."""
    return en if locale == "en" and en else ja


def register_i18n(app: Flask) -> None:
    """Template filters and globals for language and time."""
    app.jinja_env.filters["jst"] = format_jst
    app.jinja_env.filters["date_ja"] = format_date
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["in_language"] = in_language
