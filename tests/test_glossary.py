"""The catalogs and the FAQ knowledge base hold to locales/glossary.toml: one term per
concept per locale, numbers written together with their Chinese units (issue 14.17)."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from bot.i18n import translator

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = tomllib.loads((ROOT / "locales" / "glossary.toml").read_text(encoding="utf-8"))
CHINESE = ("zh_Hans", "zh_Hant")
UNITS = "天日月年时時小分秒个個位笔筆次周週倍"
SPACED_UNIT = re.compile(rf"(?:[0-9]|\}})[ \u00a0\u202f]+[{UNITS}]")


def catalog_texts(language: str) -> list[str]:
    with open(ROOT / "locales" / language / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return [s for m in read_po(fh) if m.id
                for s in (m.string if isinstance(m.string, tuple) else (m.string,))]


def kb_texts(language: str) -> list[str]:
    """Titles and answers: what the bot says (the `ask` phrasings are what sellers type)."""
    kb: dict[str, Any] = tomllib.loads((ROOT / "bot" / "faq" / "kb.toml").read_text("utf-8"))
    texts = []
    for entry in kb.get("entry", []):
        own = entry.get(language, {})
        texts += [own.get("title", ""), own.get("answer", "")]
    return texts


def written(language: str) -> dict[str, list[str]]:
    return {"catalog": catalog_texts(language), "kb.toml": kb_texts(language)}


@pytest.mark.parametrize("language", CHINESE)
def test_every_text_uses_the_glossary_term_of_each_concept(language: str) -> None:
    found = []
    for concept, term in GLOSSARY["term"].items():
        for variant in term.get("avoid", {}).get(language, []):
            for source, texts in written(language).items():
                found += [(concept, variant, source, t[:60]) for t in texts if variant in t]

    assert not found, found[:5]


@pytest.mark.parametrize("language", CHINESE)
def test_numbers_are_written_together_with_their_chinese_units(language: str) -> None:
    spaced = [(source, t[:80]) for source, texts in written(language).items()
              for t in texts if SPACED_UNIT.search(t)]

    assert not spaced, spaced[:5]


@pytest.mark.parametrize("language", CHINESE)
def test_durations_are_written_together_too(language: str) -> None:
    t = translator(language)

    assert not SPACED_UNIT.search(t.duration(timedelta(hours=2)))
    assert not SPACED_UNIT.search(t.duration(timedelta(minutes=15)))


def test_every_concept_has_a_term_in_each_locale() -> None:
    for concept, term in GLOSSARY["term"].items():
        assert all(term.get(k) for k in ("en", *CHINESE)), concept
