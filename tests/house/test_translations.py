"""Both catalogues stay complete: a string added without a translation fails here."""
from __future__ import annotations

from portal.core.catalogues import missing_translations


def test_every_string_has_a_japanese_translation():
    assert missing_translations("ja") == []


def test_every_string_is_in_the_english_catalogue():
    assert missing_translations("en") == []
