"""Amounts as people type them: 100, 100.50, 100 GBP, £100, 100英镑, 100美元, １００, 100。50,
1 000."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

SYMBOLS = {"£": "GBP", "$": "USD", "us$": "USD", "usd$": "USD", "＄": "USD", "￡": "GBP"}
WORDS = {
    "gbp": "GBP", "usd": "USD", "pound": "GBP", "pounds": "GBP", "dollar": "USD",
    "dollars": "USD", "英镑": "GBP", "英鎊": "GBP", "镑": "GBP", "鎊": "GBP", "美元": "USD",
    "美金": "USD", "刀": "USD",
}
# The chat grammar: ASCII (or full-width, which Chinese input produces) digits, optional
# thousands commas, an optional fraction with digits on both sides. Not ".5", "5.", "1_000",
# "1e2", "+5", Arabic-Indic or mathematical digits.
_NUMBER = r"(?P<number>[0-9][0-9,]*(?:\.[0-9]+)?)"
_PATTERN = re.compile(
    rf"^(?P<pre>[^\d\s.,\-]*)\s*(?P<sign>-)?\s*{_NUMBER}\s*(?P<post>[^\d.,\-]*)$",
    re.IGNORECASE)
_GROUPED = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
# Decisions (issue 14.15): 100。50 is a decimal point typed in a Chinese input method, so
# 100.50; 1 000 groups thousands with spaces, so 1000; 100,50 is refused with its own reason
# (a decimal comma, or a mistyped 1,500? guessing could move the wrong amount).
_CHINESE_POINT = re.compile(r"(?<=[0-9])。(?=[0-9])")
_SPACE_GROUPED = re.compile(r"(?<![0-9])[0-9]{1,3}(?: [0-9]{3})+(?![0-9])")
_DECIMAL_COMMA = re.compile(r"^[0-9]+,[0-9]{1,2}$")


@dataclass(frozen=True)
class Parsed:
    """An amount the user typed, and the currency they named (if any)."""

    amount: Decimal
    currency: str | None


class AmountUnreadable(ValueError):
    """The text is not an amount; `reason` picks the explanation shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        # "empty" | "not_a_number" | "decimal_comma" | "unknown_currency" | "two_currencies"
        self.reason = reason


def _currency(token: str) -> str | None:
    key = token.strip().lower().rstrip(".")
    if not key:
        return None
    if key in SYMBOLS:
        return SYMBOLS[key]
    if key in WORDS:
        return WORDS[key]
    raise AmountUnreadable("unknown_currency")


def _foreign_digit(ch: str) -> bool:
    """A digit that is neither ASCII nor full-width (NFKC would turn 𝟏 into 1)."""
    if ch.isascii() or "\uff10" <= ch <= "\uff19":
        return False
    return unicodedata.category(ch) == "Nd" or unicodedata.normalize("NFKC", ch).isdigit()


def parse_amount(text: str) -> Parsed:
    """Read one amount with an optional currency before or after it."""
    if any(_foreign_digit(ch) for ch in text or ""):
        raise AmountUnreadable("not_a_number")
    clean = _CHINESE_POINT.sub(".", unicodedata.normalize("NFKC", text or "")).strip()
    clean = _SPACE_GROUPED.sub(lambda m: m.group().replace(" ", ""), clean).rstrip("。")
    if len(clean) > 1 and clean.endswith(".") and not clean[-2].isdigit():
        clean = clean[:-1]
    if not clean:
        raise AmountUnreadable("empty")
    match = _PATTERN.match(clean)
    if not match:
        raise AmountUnreadable("not_a_number")
    number = match["number"]
    if "," in number and not _GROUPED.match(number):
        raise AmountUnreadable("decimal_comma" if _DECIMAL_COMMA.match(number)
                               else "not_a_number")
    before, after = _currency(match["pre"]), _currency(match["post"])
    if before and after and before != after:
        raise AmountUnreadable("two_currencies")
    try:
        amount = Decimal(number.replace(",", ""))
    except InvalidOperation:
        raise AmountUnreadable("not_a_number") from None
    return Parsed(-amount if match["sign"] else amount, before or after)
