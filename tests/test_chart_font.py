"""Chinese charts render on a machine with no CJK font installed: the project ships one
(bot/fonts, a subset of Noto Sans CJK SC under the SIL OFL) and dates follow the language
(issue 14.21). These fail when any glyph is missing."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from matplotlib import ft2font

from bot import charts
from bot.fonts.build import FONT, needed
from domain.money import Money

START = datetime.fromisoformat("2026-09-01T10:00:00+08:00")


@pytest.fixture
def no_system_cjk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a fresh machine: only DejaVu Sans and what the project ships."""
    monkeypatch.setattr(charts, "CJK_FONTS", ())
    charts.font_families.cache_clear()
    yield
    charts.font_families.cache_clear()


def test_the_shipped_font_has_every_character_of_the_chinese_catalogs() -> None:
    charmap = ft2font.FT2Font(str(FONT)).get_charmap()

    missing = sorted(c for c in needed() if ord(c) not in charmap)

    assert not missing, f"rebuild bot/fonts (python -m bot.fonts.build): {''.join(missing)}"


@pytest.mark.parametrize(("language", "title", "labels"), [
    ("zh_Hans", "Acme Trading Ltd · 英国店铺（S-GB）", ("日期 (Asia/Shanghai)", "保证金余额")),
    ("zh_Hant", "Pearl Gadgets Ltd · 新加坡店鋪（S-SG）", ("日期 (Asia/Shanghai)", "保證金餘額")),
])
def test_a_chinese_chart_draws_every_glyph_and_dates_in_chinese(
        no_system_cjk: None, language: str, title: str, labels: tuple[str, str]) -> None:
    steps = [(START + timedelta(days=d), Money(Decimal(v), "GBP"))
             for d, v in ((0, "0"), (5, "300"), (40, "180"), (80, "500"))]
    text = charts.ChartText(title, labels[0], labels[1], labels[1], "应缴额", language)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = charts.figure(steps, Money(Decimal("500"), "GBP"), text, "Asia/Shanghai")
        figure.canvas.draw()

    assert not [w for w in caught if "missing from font" in str(w.message)]
    ticks = "".join(t.get_text() for t in figure.axes[0].get_xticklabels())
    ticks += figure.axes[0].xaxis.get_offset_text().get_text()
    assert "月" in ticks or "年" in ticks, ticks
    assert not any(m in ticks for m in ("Sep", "Oct", "Nov", "Dec"))


def test_a_title_the_fonts_cannot_draw_falls_back_to_the_short_one(no_system_cjk: None) -> None:
    text = charts.ChartText("𠀀𠀁 Ltd · 英国店铺（S-GB）", "x", "y", "b", "r", "zh_Hans",
                            short_title="英国 · S-GB")

    assert charts.drawable_title(text) == "英国 · S-GB"
