"""Every user-visible string is translated in en, zh_Hans and zh_Hant, and compiled fresh."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"gettext": None, "ngettext": (1, 2), "N_": None, "_": None}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def code_messages() -> set[str]:
    """msgids found in bot/ by the same extractor pybabel uses."""
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalog(language: str):  # type: ignore[no-untyped-def]
    with open(ROOT / "locales" / language / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_in_the_code_is_in_the_catalog(language: str) -> None:
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog(language) if m.id}

    missing = code_messages() - ids

    assert not missing, f"{language} lacks {sorted(missing)[:5]} — run make update-catalogs"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_is_left_empty_or_fuzzy(language: str) -> None:
    bad = [m.id for m in catalog(language) if m.id and (
        m.fuzzy or not all(s.strip() for s in (m.string if isinstance(m.string, tuple)
                                               else (m.string,))))]

    assert not bad, f"{language}: {bad[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language: str) -> None:
    broken = []
    for m in catalog(language):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        want = set(PLACEHOLDER.findall(" ".join(ids)))
        for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
            if set(PLACEHOLDER.findall(text)) != want:
                broken.append((m.id, text))

    assert not broken, f"{language}: {broken[:3]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_matches_its_source(language: str) -> None:
    mo = ROOT / "locales" / language / "LC_MESSAGES" / "messages.mo"
    assert mo.exists(), "compile the catalogs (make test does)"
    with open(mo, "rb") as fh:
        compiled = Translations(fh)

    stale = [m.id for m in catalog(language) if m.id and not isinstance(m.id, tuple)
             and compiled.gettext(m.id) != m.string]

    assert not stale, f"{language} .mo is stale for {stale[:3]}"


def test_the_extractor_sees_the_strings_of_the_balance_card() -> None:
    assert "Balance: {amount}" in code_messages()
