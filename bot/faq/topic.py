"""Is a question about the store deposit at all? Words of the domain decide, not scores.

A ranker always finds *some* nearest entry, and a short off-topic question ("hey whats
up", "lend me 2000 dollars") can share its only word with one. So before ranking, a
question must name the deposit domain: one strong word (deposit, top up, withdraw,
保证金, 充值, 提现…) or two different weak ones (shop + pay, 店 + 交…). English words are
compared after the analyzer (stems, synonyms, typos); Chinese ones as substrings of the
question folded to Simplified with its synonyms rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.faq.ranker import Ranker, is_han, word_stems


@dataclass(frozen=True)
class Term:
    """One domain word: English canonical tokens or word stems, or a Chinese string."""

    tokens: frozenset[str] = frozenset()
    stems: tuple[str, ...] = ()
    han: str = ""

    def key(self) -> str:
        return self.han or " ".join(sorted(self.tokens))


class TopicGate:
    """Says whether a question names the deposit domain (one strong or two weak terms)."""

    def __init__(self, ranker: Ranker, strong: Iterable[str], weak: Iterable[str]) -> None:
        self.ranker = ranker
        self.strong = [self._term(w) for w in strong]
        self.weak = [self._term(w) for w in weak]

    def _term(self, word: str) -> Term:
        analyzer = self.ranker.analyzer
        if any(is_han(ch) for ch in word):
            return Term(han=analyzer.rewrite(word))
        return Term(tokens=frozenset(analyzer.tokens(word)), stems=word_stems(word))

    def found(self, question: str) -> tuple[set[str], set[str]]:
        """The strong and the weak terms a question contains (by their keys)."""
        tokens = self.ranker.query_tokens(question)
        text = self.ranker.analyzer.rewrite(question)
        words = " " + " ".join(word_stems(question)) + " "

        def hits(terms: list[Term]) -> set[str]:
            found = {t.key() for t in terms if (t.tokens and t.tokens <= tokens)
                     or (t.stems and f" {' '.join(t.stems)} " in words)}
            return found | _spans([t.han for t in terms if t.han], text)

        return hits(self.strong), hits(self.weak)

    def on_topic(self, question: str) -> bool:
        """One strong or two weak terms; always true when no term is configured."""
        if not self.strong and not self.weak:
            return True
        strong, weak = self.found(question)
        return bool(strong) or len(weak) >= 2


def _spans(words: list[str], text: str) -> set[str]:
    """The Chinese words in a text, longest first, each span counted once (扣除 is not 扣 too)."""
    found = set()
    for word in sorted(words, key=len, reverse=True):
        if word in text:
            found.add(word)
            text = text.replace(word, "。")
    return found
