"""PNG charts drawn with matplotlib's object API (no pyplot, so no global figure state)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: a server has no display

from matplotlib import font_manager, ft2font
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from domain.money import Money

# Chinese needs a CJK font: the project ships one (bot/fonts: the characters of the
# catalogs, SIL OFL), so a fresh machine draws every word the bot writes. A shop name with
# other characters is drawn by a host's full CJK font when it has one of these, else the
# chart uses the short title (market · shop id) rather than boxes.
SHIPPED_FONT = Path(__file__).with_name("fonts") / "DepositDeskCJK-Regular.otf"
SHIPPED_FAMILY = "DepositDesk CJK"
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans SC", "Source Han Sans SC",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
             "SimHei", "Heiti SC")
BALANCE_COLOUR = "#1f6feb"
REQUIRED_COLOUR = "#d1242f"


@dataclass(frozen=True)
class ChartText:
    """Every word on the chart, already translated by the caller."""

    title: str
    x_label: str
    y_label: str
    balance: str
    required: str
    language: str = "en"
    short_title: str = ""  # market · shop id: drawn when the title has a glyph no font has


# ConciseDateFormatter's six levels (years … seconds) in Chinese, numbers as CLDR zh writes
# them; English keeps matplotlib's defaults.
CHINESE_DATES = {
    "formats": ["%Y年", "%m月", "%d日", "%H:%M", "%H:%M", "%S.%f"],
    "zero_formats": ["", "%Y年", "%m月", "%m月%d日", "%H:%M", "%H:%M"],
    "offset_formats": ["", "%Y年", "%Y年%m月", "%Y年%m月%d日", "%Y年%m月%d日",
                       "%Y年%m月%d日 %H:%M"],
}


@cache
def font_families() -> tuple[str, ...]:
    """DejaVu Sans, the shipped CJK font, then any CJK font this machine has (matplotlib
    falls back glyph by glyph along this list)."""
    if SHIPPED_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(SHIPPED_FONT))
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", SHIPPED_FAMILY, *(name for name in CJK_FONTS if name in installed))


@cache
def _charmap(family: str) -> frozenset[int]:
    path = font_manager.findfont(font_manager.FontProperties(family=family),
                                 fallback_to_default=False)
    return frozenset(ft2font.FT2Font(path).get_charmap())


def drawable_title(text: ChartText) -> str:
    """The title, or the short one when some character of it no font here can draw."""
    covered = frozenset().union(*(_charmap(f) for f in font_families()))
    if text.short_title and any(ord(c) not in covered for c in text.title if not c.isspace()):
        return text.short_title
    return text.title


def _plain(text: str) -> str:
    # matplotlib reads $…$ as math; an entity name with dollar signs must stay text.
    return text.replace("$", r"\$")


def _y(amount: Money) -> float:
    # Plotting only: a pixel position, never stored, summed or shown as a figure.
    return float(amount.amount)


def balance_chart(steps: Sequence[tuple[datetime, Money]], required: Money, text: ChartText,
                  timezone: str) -> bytes:
    """Balance as a step line (each value holds until the next) against the required line."""
    out = io.BytesIO()
    figure(steps, required, text, timezone).savefig(out, format="png")
    return out.getvalue()


def figure(steps: Sequence[tuple[datetime, Money]], required: Money, text: ChartText,
           timezone: str) -> Figure:
    """The chart's figure: fonts that draw every word, dates in the reader's language."""
    tz = ZoneInfo(timezone)
    fonts = list(font_families())
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.step([m.astimezone(tz) for m, _ in steps], [_y(b) for _, b in steps], where="post",
            color=BALANCE_COLOUR, linewidth=2, label=_plain(text.balance))
    ax.axhline(_y(required), color=REQUIRED_COLOUR, linestyle="--", linewidth=1.5,
               label=_plain(text.required))
    locator = AutoDateLocator(tz=tz)
    ax.xaxis.set_major_locator(locator)
    dates = CHINESE_DATES if text.language.startswith("zh") else {}
    formatter = ConciseDateFormatter(locator, tz=tz, **dates)  # type: ignore[arg-type]
    ax.xaxis.set_major_formatter(formatter)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.get_offset_text()):
        label.set_fontfamily(fonts)
    ax.set_ylim(bottom=min(0.0, *(_y(b) for _, b in steps)))
    ax.set_title(_plain(drawable_title(text)), fontfamily=fonts)
    ax.set_xlabel(_plain(text.x_label), fontfamily=fonts)
    ax.set_ylabel(_plain(text.y_label), fontfamily=fonts)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", prop={"family": fonts})
    return fig
