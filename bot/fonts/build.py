"""Maintainers: rebuild the chart's CJK font after the catalogs gain new characters.

    python -m bot.fonts.build /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

(Debian: apt-get install fonts-noto-cjk.) Keeps only the characters the zh_Hans and zh_Hant
catalogs and the demo shops' names use (163 KB), renamed "DepositDesk CJK" (SIL OFL 1.1: OFL.txt).
tests/test_chart_font.py fails when a catalog character is missing from the shipped file.
A shop name with characters no font here has is drawn as the short title (market · shop id);
a host with a full CJK font (bot.charts.CJK_FONTS) draws it whole.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FONT = Path(__file__).with_name("DepositDeskCJK-Regular.otf")
FAMILY = "DepositDesk CJK"
SOURCES = ("bot/sandbox/demo.py", "bot/demo_data.py")  # demo entity names in charts
SC_FACE = 2  # Noto Sans CJK SC inside NotoSansCJK-Regular.ttc
DATES = "年月日时時分"  # the chart's Chinese date ticks (bot.charts.CHINESE_DATES)


def needed() -> set[str]:
    """CJK characters (incl. CJK and full-width punctuation) of the catalogs and demo names."""
    from babel.messages.pofile import read_po

    text = DATES + "".join((ROOT / s).read_text(encoding="utf-8") for s in SOURCES)
    for lang in ("zh_Hans", "zh_Hant"):
        with open(ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
            for m in read_po(fh):
                text += "".join(m.string if isinstance(m.string, tuple) else (m.string or "",))
    return set(re.findall(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]", text))


def build(source: str) -> None:
    """Subset the SC face of `source` to needed() and write FONT."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    font = TTCollection(source).fonts[SC_FACE]
    options = subset.Options()
    options.layout_features, options.hinting, options.name_IDs = [], False, ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in needed()))
    subsetter.subset(font)
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY if record.nameID != 4 else f"{FAMILY} Regular"
        elif record.nameID in (3, 6):
            record.string = "DepositDeskCJK-Regular"
    font.save(FONT)
    print(f"{FONT}: {len(needed())} characters, {FONT.stat().st_size} bytes")


if __name__ == "__main__":
    build(sys.argv[1])
