"""The FAQ knowledge base (kb.toml): topics, entries in three languages, handoff intents."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from domain.money import D
from domain.policy import Policy

LANGS = ("en", "zh_Hans", "zh_Hant")


@dataclass(frozen=True)
class Text:
    """One entry in one language."""

    title: str
    ask: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Entry:
    """A question the bot answers; `personal` names the seller's figures it can add."""

    id: str
    topic: str
    texts: dict[str, Text]
    personal: str | None = None

    def text(self, language: str) -> Text:
        return self.texts.get(language) or self.texts["en"]


@dataclass(frozen=True)
class Handoff:
    """Things people ask that a human must answer (a match declines)."""

    id: str
    ask: tuple[str, ...]


@dataclass(frozen=True)
class Fusion:
    """How the character n-gram similarity joins BM25 ([similarity] in kb.toml).

    Order: (1 - alpha) × BM25 / best BM25 + alpha × similarity / best similarity.
    Confidence: (1 - beta) × BM25 coverage + beta × min(similarity / scale, 1).
    The similarity itself mixes the nearest phrasing, the centroid and a k-NN vote.
    """

    enabled: bool = False
    alpha: float = 0.3
    beta: float = 0.3
    scale: float = 0.5
    best: float = 0.5
    centroid: float = 0.25
    vote: float = 0.25
    k: int = 5


@dataclass(frozen=True)
class KnowledgeBase:
    topics: dict[str, dict[str, str]]
    entries: dict[str, Entry]
    handoffs: tuple[Handoff, ...]
    threshold: float
    synonyms: dict[str, dict[str, list[str]]]
    handoff_veto: float = 1.0
    sure: float = 1.0
    strong_words: tuple[str, ...] = ()
    weak_words: tuple[str, ...] = ()
    vouch: tuple[float, float] = (1.1, 1.1)  # a match's confidence standing for a domain word
    fusion: Fusion = Fusion()
    min_coverage: float = 0.0  # the share of the question the best entry's words must cover

    def in_topic(self, topic: str) -> list[Entry]:
        """The topic's entries in file order."""
        return [e for e in self.entries.values() if e.topic == topic]


def default_path() -> Path:
    return Path(str(resources.files("bot.faq").joinpath("kb.toml")))


def load_kb(path: Path | None = None) -> KnowledgeBase:
    """Read and check the knowledge base file."""
    with open(path or default_path(), "rb") as fh:
        raw = tomllib.load(fh)
    topics = {t["id"]: {lang: t[lang] for lang in LANGS} for t in raw["topic"]}
    entries = {e["id"]: _entry(e) for e in raw["entry"]}
    for entry in entries.values():
        if entry.topic not in topics:
            raise ValueError(f"FAQ entry {entry.id}: unknown topic {entry.topic!r}")
    handoffs = tuple(Handoff(h["id"], tuple(a for lang in LANGS for a in h.get(lang, ())))
                     for h in raw.get("handoff", ()))
    words = raw.get("domain_words", {})
    return KnowledgeBase(topics, entries, handoffs, float(raw.get("threshold", 0.5)),
                         raw.get("synonyms", {}), float(raw.get("handoff_veto", 1.0)),
                         float(raw.get("sure", 1.0)), tuple(words.get("strong", ())),
                         tuple(words.get("weak", ())),
                         (float(words.get("vouch_alone", 1.1)),
                          float(words.get("vouch_one_weak", 1.1))),
                         Fusion(**raw.get("similarity", {})),
                         float(raw.get("min_coverage", 0.0)))


def _entry(raw: dict[str, Any]) -> Entry:
    texts = {}
    for lang in LANGS:
        part = raw.get(lang)
        if part is None:
            raise ValueError(f"FAQ entry {raw['id']} lacks {lang}")
        texts[lang] = Text(part["title"], tuple(part.get("ask", ())), part["answer"].strip())
    return Entry(raw["id"], raw["topic"], texts, raw.get("personal"))


def _span(days: tuple[int, int], dash: str) -> str:
    return f"{days[0]}{dash}{days[1]}"


def _number(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def policy_figures(policy: Policy, language: str, today: date) -> dict[str, str]:
    """The policy numbers answers quote, as text ({fee} → '1%')."""
    dash = "–" if language == "en" else "-"
    tiers = policy.tier_table("*", today).amounts
    fee = policy.fee_rate * 100
    pay = ((D("100") + D("100") * policy.fee_rate) * D("8.01")).quantize(D("0.01"))
    hours = Decimal(policy.hold.total_seconds()) / 3600
    return {
        "fee": f"{_number(fee)}%", "quote_minutes": str(int(policy.quote_validity.seconds // 60)),
        "min_withdrawal": _number(policy.min_withdrawal), "hold_hours": _number(hours),
        "payout_days": _span(policy.payout_business_days, dash),
        "refund_days": _span(policy.refund_business_days, dash),
        "transfer_days": _span(policy.offline_transfer_business_days, dash),
        "standard": _number(tiers["standard"]), "elevated": _number(tiers["elevated"]),
        "high_risk": _number(tiers["high_risk"]),
        "repeat_days": str(policy.reminder_repeat.days),
        "overdue_days": str(policy.overdue_after.days),
        "clearing_days": str(policy.clearing_after.days),
        "announcement_days": str(policy.announcement_days),
        "last_order_days": str(policy.last_order_days),
        "arrears_days": str(policy.arrears_offset_days),
        "reopen_months": str(policy.reopen_months),
        "topup_max": _number(policy.topup_max), "example_pay": _number(pay),
    }
