"""FAQ answers quote the policy's figures once, through placeholders, never also in words
(issue 14.18: "at most 2 hours (two hours)" would lie once the policy changes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.faq.engine import faq_for
from domain.policy import load_policy

SPELLED = ("two hours", "2 hours (", "两个小时", "兩個小時", "两小时", "兩小時")


@pytest.mark.parametrize("language", ["en", "zh_Hans", "zh_Hant"])
def test_no_answer_spells_out_the_hold_beside_its_placeholder(language: str) -> None:
    faq = faq_for(replace(load_policy(), hold=timedelta(hours=3)))

    answers = [faq.answer(e, language, date(2026, 11, 21)) for e in faq.kb.entries.values()]

    assert not [a for a in answers if any(word in a for word in SPELLED)]
