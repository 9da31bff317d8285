"""Questions in, answers out: the knowledge base behind the ranker, with its threshold."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from bot.faq.kb import Entry, KnowledgeBase, load_kb, policy_figures
from bot.faq.person import asks_for_person
from bot.faq.ranker import Amounts, Analyzer, Match, Ranker
from bot.faq.similarity import CharSimilarity, Weights
from bot.faq.topic import TopicGate
from domain.policy import Policy

HANDOFF = "handoff:"
MEMO = 1024  # questions whose replies one Faq keeps (the same questions come again and again)
RELATED = 2
SUGGEST = 0.5  # a "did you mean" suggestion needs this share of the threshold


@dataclass(frozen=True)
class Reply:
    """The best entry, or None when the bot is not sure (then a human should answer)."""

    entry: Entry | None
    confidence: float
    related: tuple[Entry, ...] = ()
    reason: str = ""
    human: bool = False  # the message asked for a person
    suggestions: tuple[Entry, ...] = ()  # when not sure: the closest questions (did you mean)
    candidates: tuple[tuple[str, float], ...] = ()  # the best keys and their confidence

    @property
    def declined(self) -> bool:
        return self.entry is None


class Faq:
    """Matches free text against the knowledge base and renders answers from the policy."""

    def __init__(self, kb: KnowledgeBase, policy: Policy, threshold: float | None = None):
        self.kb, self.policy = kb, policy
        self.threshold = kb.threshold if threshold is None else threshold
        docs: dict[str, list[str]] = {
            e.id: [s for t in e.texts.values() for s in (t.title, *t.ask)]
            for e in kb.entries.values()}
        handoffs = {HANDOFF + h.id: list(h.ask) for h in kb.handoffs}
        analyzer = Analyzer(kb.synonyms.get("en", {}), kb.synonyms.get("zh", {}),
                            amounts_of(policy))
        self.ranker = Ranker(docs | handoffs, analyzer, grab_bags=handoffs)
        fusion = kb.fusion
        self.similarity = CharSimilarity(
            docs | handoffs, analyzer, Weights(fusion.best, fusion.centroid, fusion.vote,
                                               fusion.k)) if fusion.enabled else None
        self.known = frozenset(t for key in docs for t in self.ranker.tf[key])
        self.gate = TopicGate(self.ranker, kb.strong_words, kb.weak_words, kb.vouch)
        # A reply depends only on the question, the knowledge base and the policy, which a
        # Faq never changes: kept per question (a Reply is frozen), the oldest forgotten first.
        self._replies: dict[str, Reply] = {}
        self._figures: dict[tuple[str, date], dict[str, str]] = {}

    def ask(self, question: str) -> Reply:
        """The answer to a question, or a decline with the reason."""
        question = question[:500]
        found = self._replies.get(question)
        if found is None:
            found = self._replies[question] = self._ask(question)
            if len(self._replies) > MEMO:
                del self._replies[next(iter(self._replies))]
        return found

    def _ask(self, question: str) -> Reply:
        if asks_for_person(question):
            return Reply(None, 1.0, reason="handoff:person", human=True)
        ranked = self.ranker.rank(question)
        if not self.gate.on_topic(question, ranked):
            return Reply(None, 0.0, reason="off topic (no deposit word)")
        matches = self._fuse(question, ranked)
        if not matches:
            return Reply(None, 0.0, reason="no match")
        top, best = matches[0], tuple((m.key, round(m.confidence, 3)) for m in matches[:3])
        if top.key.startswith(HANDOFF):
            return Reply(None, top.confidence, reason=top.key, candidates=best)
        sure = top.confidence >= self.threshold and self._covered(top, ranked)
        veto = self._veto(question, top, matches) if sure else None
        if not sure or veto is not None:
            why = f"{veto} over {top.key}" if veto else f"low confidence ({top.key})"
            return Reply(None, top.confidence, reason=why, candidates=best,
                         suggestions=self._closest(matches))
        entry = self.kb.entries[top.key]
        return Reply(entry, top.confidence, self._related(entry, matches[1:]),
                     candidates=best)

    def _covered(self, top: Match, ranked: list[Match]) -> bool:
        """Whether the entry's own words cover enough of the question (not only similarity)."""
        coverage = next((m.confidence for m in ranked if m.key == top.key), 0.0)
        return coverage >= self.kb.min_coverage

    def has_question(self, text: str) -> bool:
        """Whether a message holds a deposit question besides any request for a person."""
        return self.gate.on_topic(text, self.ranker.rank(text[:500]))

    def _closest(self, matches: list[Match]) -> tuple[Entry, ...]:
        """The entries nearest a question the bot is not sure of ("did you mean …?")."""
        floor = self.threshold * SUGGEST
        return tuple(self.kb.entries[m.key] for m in matches
                     if not m.key.startswith(HANDOFF) and m.confidence >= floor)[:RELATED]

    def _fuse(self, question: str, matches: list[Match]) -> list[Match]:
        """BM25 matches re-ordered and re-weighed with the character n-gram similarity."""
        if self.similarity is None or not matches:
            return matches
        fusion, sims = self.kb.fusion, self.similarity.scores(question)
        top_score = matches[0].score
        top_sim = max(sims.values(), default=0.0) or 1.0
        fused = []
        for m in matches:
            sim = sims.get(m.key, 0.0)
            order = (1 - fusion.alpha) * m.score / top_score + fusion.alpha * sim / top_sim
            confidence = (1 - fusion.beta) * m.confidence \
                + fusion.beta * min(sim / fusion.scale, 1.0)
            fused.append(replace(m, score=order, confidence=confidence))
        return sorted(fused, key=lambda m: (-m.score, m.key))

    def _veto(self, question: str, top: Match, matches: list[Match]) -> str | None:
        """A handoff intent that covers enough of the question with words no entry knows
        ("Amazon", "landlord"), or as much of it as the answer with words the answer leaves
        out ("close my bank account", "Alipay balance to a bank card")."""
        if top.confidence >= self.kb.sure:
            return None
        for m in matches:
            if not m.key.startswith(HANDOFF):
                continue
            foreign = self.ranker.share(question, m.matched - self.known)
            uncovered = self.ranker.share(question, m.matched - top.matched)
            if max(foreign, uncovered if m.confidence >= top.confidence else 0.0) \
                    >= self.kb.handoff_veto:
                return m.key
        return None

    def _related(self, entry: Entry, rest: list[Match]) -> tuple[Entry, ...]:
        near = [self.kb.entries[m.key] for m in rest
                if not m.key.startswith(HANDOFF) and m.confidence >= self.threshold / 2]
        siblings = [e for e in self.kb.in_topic(entry.topic) if e.id != entry.id]
        out: list[Entry] = []
        for candidate in near + siblings:
            if candidate not in out:
                out.append(candidate)
        return tuple(out[:RELATED])

    def answer(self, entry: Entry, language: str, today: date) -> str:
        """The entry's answer in a language, with the policy's figures filled in."""
        figures = self._figures.get((language, today))
        if figures is None:  # one day's figures per language (the tier table has dates)
            if len(self._figures) > 8:
                self._figures.clear()
            figures = self._figures[(language, today)] = policy_figures(self.policy, language,
                                                                        today)
        return entry.text(language).answer.format_map(figures)

    def title(self, entry: Entry, language: str) -> str:
        return entry.text(language).title


def amounts_of(policy: Policy) -> Amounts:
    """The figures a number in a question is compared with: tiers, minimum, the example."""
    tiers = {amount for tables in policy.tiers.values() for table in tables
             for amount in table.amounts.values()}
    figures = policy_figures(policy, "en", date.today())
    examples = {Decimal(figures["example_pay"].replace(",", "")), Decimal("8.01")}
    return Amounts(policy.min_withdrawal, frozenset(tiers), frozenset(examples))


@cache
def _kb(path: Path | None) -> KnowledgeBase:
    return load_kb(path)


def faq_for(policy: Policy, path: Path | None = None) -> Faq:
    """The FAQ on the shipped (or given) knowledge base; the file is read once."""
    return Faq(_kb(path), policy)
