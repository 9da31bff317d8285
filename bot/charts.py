"""PNG charts drawn with matplotlib's object API (no pyplot, so no global figure state)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: a server has no display

from matplotlib import font_manager
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from domain.money import Money

# Chinese titles need a CJK font; the first installed one is used after DejaVu Sans.
# Without any (e.g. a slim container) Chinese characters draw as boxes: install
# fonts-noto-cjk or similar where the bot runs.
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


@cache
def font_families() -> tuple[str, ...]:
    """DejaVu Sans, then the CJK fonts this machine has (matplotlib falls back per glyph)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *(name for name in CJK_FONTS if name in installed))


def _plain(text: str) -> str:
    # matplotlib reads $…$ as math; an entity name with dollar signs must stay text.
    return text.replace("$", r"\$")


def _y(amount: Money) -> float:
    # Plotting only: a pixel position, never stored, summed or shown as a figure.
    return float(amount.amount)


def balance_chart(steps: Sequence[tuple[datetime, Money]], required: Money, text: ChartText,
                  timezone: str) -> bytes:
    """Balance as a step line (each value holds until the next) against the required line."""
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
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=tz))
    ax.set_ylim(bottom=min(0.0, *(_y(b) for _, b in steps)))
    ax.set_title(_plain(text.title), fontfamily=fonts)
    ax.set_xlabel(_plain(text.x_label), fontfamily=fonts)
    ax.set_ylabel(_plain(text.y_label), fontfamily=fonts)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", prop={"family": fonts})
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
