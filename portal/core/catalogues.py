"""Keeping the ja and en message catalogues complete (msgids are English)."""
from __future__ import annotations

import fcntl
import io
from contextlib import contextmanager
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2), "_n": (1, 2)}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]


def extract_messages() -> Catalog:
    """Every translatable string in the package's code and templates."""
    catalog = Catalog(project="portal")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE_DIR, METHODS, keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _po_path(locale: str) -> Path:
    return TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"


def load_catalogue(locale: str) -> Catalog:
    """The stored catalogue of one language."""
    with _po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def missing_translations(locale: str) -> list[str]:
    """msgids used in the code that the locale's catalogue lacks, leaves empty, or marks fuzzy."""
    template = extract_messages()
    catalogue = load_catalogue(locale)
    problems = []
    for message in template:
        if not message.id:
            continue
        stored = catalogue.get(message.id, context=message.context)
        text = stored.string if stored else None
        empty = not text or (isinstance(text, tuple) and not all(text))
        if stored is None or empty or stored.fuzzy:
            problems.append(message.id if isinstance(message.id, str) else message.id[0])
    return problems


@contextmanager
def _catalogue_lock():
    """Several people (or helpers) may add translations at once: one writer at a time."""
    with (TRANSLATIONS_DIR / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write(locale: str, catalogue: Catalog) -> None:
    with _po_path(locale).open("wb") as handle:
        write_po(handle, catalogue, width=0, omit_header=False, sort_output=False)


def add_translations(locale: str, mapping: dict[str, str]) -> int:
    """Set msgid -> translation in a catalogue (adding msgids it lacks); compile it."""
    with _catalogue_lock():
        catalogue = load_catalogue(locale)
        for msgid, text in mapping.items():
            existing = catalogue.get(msgid)
            if existing is None:
                catalogue.add(msgid, text)
            else:
                existing.string = text
                existing.flags.discard("fuzzy")
        _write(locale, catalogue)
        compile_catalogue(locale)
    return len(mapping)


def update_catalogues() -> dict[str, int]:
    """Merge new msgids into ja and en; en copies the English msgid; write .po and .mo."""
    with _catalogue_lock():
        return _update_catalogues()


def _update_catalogues() -> dict[str, int]:
    template = extract_messages()
    counts = {}
    for locale in ("ja", "en"):
        catalogue = load_catalogue(locale)
        catalogue.update(template, no_fuzzy_matching=True)
        if locale == "en":
            for message in catalogue:
                if message.id and not message.string:
                    message.string = message.id
                message.flags.discard("fuzzy")
        catalogue.obsolete.clear()
        _write(locale, catalogue)
        counts[locale] = len([m for m in catalogue if m.id])
        compile_catalogue(locale)
    return counts


def compile_catalogue(locale: str) -> None:
    """Write messages.mo beside messages.po."""
    catalogue = load_catalogue(locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    _po_path(locale).with_suffix(".mo").write_bytes(buffer.getvalue())
