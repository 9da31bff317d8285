"""Catalogs, per-user locale and Babel formatting of money and dates.

No process-global gettext: a Translator is resolved per update and passed along.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_currency_precision,
)
from babel.support import NullTranslations, Translations

from domain.money import Money

log = logging.getLogger(__name__)
LANGUAGES = ("en", "zh_Hans", "zh_Hant")
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
_HANT = {"hant", "tw", "hk", "mo"}
_TIGHT = re.compile(r"([0-9])[ \u00a0\u202f]+(?=\D)")


def locales_dir() -> Path:
    """Where the compiled catalogs live (the top-level `locales` package)."""
    return Path(str(resources.files("locales")))


@lru_cache(maxsize=256)
def resolve_language(code: str | None, default: str = "en") -> str:
    """Map a Telegram language_code (zh-hans, zh-TW, en-US…) to one of LANGUAGES (kept per
    code: Telegram sends a handful of codes, and Locale.parse builds a Locale each time)."""
    if not code:
        return default
    try:
        loc = Locale.parse(code.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return default
    if loc.language == "zh":
        parts = {p.lower() for p in code.replace("_", "-").split("-")[1:]}
        return "zh_Hant" if (loc.script == "Hant" or parts & _HANT) else "zh_Hans"
    if loc.language == "en":
        return "en"
    return default


@cache
def _catalog(language: str) -> NullTranslations:
    found = Translations.load(str(locales_dir()), locales=[language], domain="messages")
    if not isinstance(found, Translations):
        log.warning("no compiled catalog for %s; showing source strings", language)
    return found


@cache
def _locale(language: str) -> Locale:
    """Parsed once per language (every amount and date on a card is formatted with it)."""
    return Locale.parse(language)


@dataclass(frozen=True)
class Translator:
    """gettext and Babel formatting for one language."""

    language: str

    @property
    def locale(self) -> Locale:
        return _locale(self.language)

    def gettext(self, message: str) -> str:
        return _catalog(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalog(self.language).ngettext(singular, plural, n)

    def money(self, amount: Money) -> str:
        """£1,234.50 / US$1,234.50 / CN¥809.01 in the user's locale."""
        return _money(str(amount.amount), amount.currency, self.language)

    def number(self, value: object) -> str:
        return format_decimal(value, locale=self.locale)  # type: ignore[arg-type]

    def percent(self, rate: object) -> str:
        """0.01 → 1% (1.5% when the policy says 0.015)."""
        return format_percent(rate, "#,##0.##%", locale=self.locale)  # type: ignore[arg-type]

    def duration(self, period: timedelta) -> str:
        """An exact period in its largest whole unit: 2 hours, 15 minutes, 90 minutes."""
        seconds = int(period.total_seconds())
        unit = next(u for n, u in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))
                    if seconds % n == 0)
        text = _exact(period, unit, self.locale)
        # CLDR spaces zh_Hant units ("2 小時"); the glossary writes them together (2小時)
        return _TIGHT.sub(r"\1", text) if self.language.startswith("zh") else text

    def days(self, window: tuple[int, int]) -> str:
        """A business-day window: 1–7, 3–5 (the numbers as the locale writes them)."""
        return f"{self.number(window[0])}–{self.number(window[1])}"

    def date(self, moment: datetime | date, timezone: str | None = None) -> str:
        """A medium date, in the shop's timezone when given."""
        if isinstance(moment, datetime) and timezone:
            moment = moment.astimezone(ZoneInfo(timezone)).date()
        elif isinstance(moment, datetime):
            moment = moment.date()
        return format_date(moment, format="medium", locale=self.locale)

    def datetime(self, moment: datetime, timezone: str) -> str:
        """A short date and time in the shop's timezone, with the zone shown."""
        local = moment.astimezone(ZoneInfo(timezone))
        day = format_date(local.date(), format="medium", locale=self.locale)
        clock = format_time(local.time(), "HH:mm", locale=self.locale)
        return f"{day} {clock} ({_zone_label(local)})"


@lru_cache(maxsize=4096)
def _money(amount: str, currency: str, language: str) -> str:
    """Babel's currency format, kept per amount (as written: -0 and 0 apart), currency and
    language: a visit shows the same balance and requirement on each of its cards, and
    Babel's formatting costs more than the rest of a card's line. Where Babel's layout is
    a fixed prefix and suffix around a number grouped by thousands (every currency of the
    three languages), the number is written by Python's own formatting: the same text
    (tests/unit/test_money_format.py holds the two equal), a tenth of the CPU (a reminder
    wave formats thousands of distinct amounts)."""
    shape = _money_shape(currency, language)
    value = Decimal(amount)
    if shape is None or not value.is_finite():
        return format_currency(value, currency, locale=_locale(language))
    digits, (prefix, suffix), (minus_prefix, minus_suffix) = shape
    rounded = value.quantize(_STEPS[digits], rounding=ROUND_HALF_EVEN)
    number = f"{abs(rounded):,.{digits}f}"
    if value.is_signed():
        return minus_prefix + number + minus_suffix
    return prefix + number + suffix


_STEPS = [Decimal(1).scaleb(-n) for n in range(5)]
_PROBE = Decimal("1234567.25")


@cache
def _money_shape(currency: str, language: str
                 ) -> tuple[int, tuple[str, str], tuple[str, str]] | None:
    """Babel's layout for this currency and language read off two probes (1,234,567.25 and
    its negative): the currency's digits and the text before and after the number; None
    when the number is not written as Python writes it (another grouping or separator)."""
    digits = get_currency_precision(currency)
    if digits >= len(_STEPS):
        return None
    number = f"{_PROBE.quantize(_STEPS[digits], rounding=ROUND_HALF_EVEN):,.{digits}f}"
    around = []
    for probe in (_PROBE, -_PROBE):
        text = format_currency(probe, currency, locale=_locale(language))
        if text.count(number) != 1:
            return None
        before, after = text.split(number)
        around.append((before, after))
    return digits, around[0], around[1]


def _zone_label(local: datetime) -> str:
    offset = local.utcoffset()
    if offset is None:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def translator(language: str) -> Translator:
    """The translator of a supported language (English otherwise)."""
    return Translator(language if language in LANGUAGES else "en")


def N_(message: str) -> str:
    """Mark a string for extraction; translated later with a Translator."""
    return message


_UNIT_SECONDS = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}


def _exact(period: timedelta, unit: str, locale: Locale) -> str:
    """format_timedelta rounds to the largest unit; this keeps 90 minutes as 90 minutes."""
    count = int(period.total_seconds()) // _UNIT_SECONDS[unit]
    return format_timedelta(timedelta(seconds=count * _UNIT_SECONDS[unit]), threshold=count + 1,
                            granularity=unit, add_direction=False, format="long",
                            locale=locale)
