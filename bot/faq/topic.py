"""Is a question about the store deposit at all? Words of the domain decide, not scores.

A ranker always finds *some* nearest entry, and a short off-topic question ("hey whats
up", "lend me 2000 dollars") can share its only word with one. So before ranking, a
question must name the deposit domain: one strong word (deposit, top up, withdraw,
保证金, 充值, 提现…) or two different weak ones (shop + pay, 店 + 交…). English words are
compared after the analyzer (stems, synonyms, typos); Chinese ones as substrings of the
question folded to Simplified with its synonyms rewritten.

Words are not the only signal: a terse question with one weak word or none ("why did
the cny amount change", "为什么冻结了50美元") can still match one entry so well, on words
few entries use, that the match itself names the domain. Such a match must be to an
entry (not a handoff intent), cover most of the question and share at least two tokens
with it, one of them distinctive (used by few documents).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.faq.ranker import Match, Ranker, is_function, is_han, word_stems

# A token used by at most this share of the documents is distinctive of its entries.
DISTINCTIVE = 0.2


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

    def __init__(self, ranker: Ranker, strong: Iterable[str], weak: Iterable[str],
                 vouch: tuple[float, float] = (1.1, 1.1)) -> None:
        self.ranker = ranker
        self.vouch = vouch  # the confidence a match needs with no weak word, with one
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

    def on_topic(self, question: str, matches: Sequence[Match] = ()) -> bool:
        """One strong or two weak terms, or a match that vouches for the question (given
        the ranking); always true when no term is configured."""
        if not self.strong and not self.weak:
            return True
        strong, weak = self.found(question)
        if strong or len(weak) >= 2:
            return True
        return bool(matches) and self.vouches(matches[0], len(weak))

    def vouches(self, top: Match, weak: int) -> bool:
        """A match to an entry on its distinctive words, sure enough for the weak words seen."""
        content = [t for t in top.matched if not is_function(t)]
        if top.key in self.ranker.grab_bags or len(content) < 2:
            return False
        rare = max(1.0, len(self.ranker.tf) * DISTINCTIVE)
        if not any(self.ranker.df[t] <= rare for t in content):
            return False
        return top.confidence >= self.vouch[min(weak, 1)]


def _spans(words: list[str], text: str) -> set[str]:
    """The Chinese words in a text, longest first, each span counted once (扣除 is not 扣 too)."""
    found = set()
    for word in sorted(words, key=len, reverse=True):
        if word in text:
            found.add(word)
            text = text.replace(word, "。")
    return found
