"""A small BM25 ranker for short questions in English and Chinese (simplified or traditional).

English: lowercase words, stop words dropped, phrase and word synonyms, a light suffix
stemmer and typo tolerance. Chinese has no spaces: traditional text is converted to
simplified, then each run of Han characters becomes overlapping character bigrams.
Besides its BM25 score, each match carries a confidence: the share of the query's
information (idf-weighted tokens) that the matched document contains.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import opencc

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_HAN = re.compile(r"[\u3400-\u9fff]+")
_PIECE = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+(?:\.[0-9]+)?")
EN_STOP = frozenset("""
a an the is are am was were be been being do does did doing done i me my mine myself we
our ours us you your yours it its this that these those there here what whats which who
whom how why when where can could would should will shall may might must to of in on at
by for with from about into onto as and or but if so than then just also too very please
pls plz hi hello hey dear thanks thank thx tell know want wanna like any some anything
something have has had having don didn doesn isn aren wasn won t s m ve ll re d im ive
ok okay still yet ever really actually kind sort bit let lets one ones much many more
there'd i'd i'm got get gets getting go going make made say said see seen show explain
understand question ask asking help need needs needed no not
""".split())
ZH_STOP = frozenset("的了吗嘛呢吧啊呀哦么我你您他她它们是在有和与及或就都也还又要请问想这那个些一下")


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Full-width to half-width, lowercase, traditional Chinese to simplified."""
    return _to_simplified().convert(unicodedata.normalize("NFKC", text).lower())


def stem(word: str) -> str:
    """A light suffix stemmer: enough to make charge/charges/charged one token."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ied", "y"), ("ed", ""), ("es", ""),
                         ("s", "")):
        if word.endswith(suffix) and not word.endswith(("ss", "us", "is")) \
                and len(word) - len(suffix) >= 3:
            word = word[: len(word) - len(suffix)] + repl
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


@dataclass(frozen=True)
class Analyzer:
    """Text → tokens, with synonyms given as {canonical: [variants]} per script."""

    en_synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    zh_synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        en = {normalise(v): c for c, vs in self.en_synonyms.items() for v in vs}
        zh = {normalise(v): normalise(c) for c, vs in self.zh_synonyms.items() for v in vs}
        zh |= {c: c for c in zh.values()}  # a canonical form is never rewritten inside
        object.__setattr__(self, "_en", en)
        object.__setattr__(self, "_en_re", _alternation(en, r"(?<![a-z0-9])", r"(?![a-z0-9])"))
        object.__setattr__(self, "_zh", zh)
        object.__setattr__(self, "_zh_re", _alternation(zh, "", ""))

    def tokens(self, text: str) -> list[str]:
        """English word stems and Chinese character bigrams of a text."""
        text = normalise(text)
        en: dict[str, str] = self._en  # type: ignore[attr-defined]
        zh: dict[str, str] = self._zh  # type: ignore[attr-defined]
        if en:
            text = self._en_re.sub(lambda m: f" {en[m.group(0)]} ", text)  # type: ignore[attr-defined]
        if zh:
            text = self._zh_re.sub(lambda m: zh[m.group(0)], text)  # type: ignore[attr-defined]
        out: list[str] = []
        for piece in _PIECE.findall(text):
            if _HAN.fullmatch(piece):
                out += han_bigrams(piece)
            else:
                out += self._word(piece)
        return out

    @staticmethod
    def _word(word: str) -> list[str]:
        return [] if word in EN_STOP else [stem(word)]


def _alternation(variants: Mapping[str, str], before: str, after: str) -> re.Pattern[str]:
    """One pattern matching any variant, longest first."""
    ordered = sorted(variants, key=lambda v: (-len(v), v)) or ["(?!)"]
    return re.compile(before + "(?:" + "|".join(map(re.escape, ordered)) + ")" + after)


def han_bigrams(run: str) -> list[str]:
    """Overlapping character pairs of a run of Han characters (a lone character as itself)."""
    if len(run) == 1:
        return [] if run in ZH_STOP else [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def is_han(token: str) -> bool:
    return bool(_HAN.match(token))


@dataclass(frozen=True)
class Match:
    """One document's score for a query and how much of the query it covers (0–1)."""

    key: str
    score: float
    confidence: float


class Ranker:
    """BM25 over documents given as several short texts each (a question's phrasings)."""

    def __init__(self, docs: Mapping[str, Iterable[str]], analyzer: Analyzer,
                 k1: float = 1.2, b: float = 0.4) -> None:
        self.analyzer, self.k1, self.b = analyzer, k1, b
        self.tf: dict[str, Counter[str]] = {
            key: Counter(t for text in texts for t in analyzer.tokens(text))
            for key, texts in docs.items()}
        self.lengths = {key: sum(tf.values()) for key, tf in self.tf.items()}
        self.avg_length = sum(self.lengths.values()) / max(len(self.tf), 1)
        df: Counter[str] = Counter(t for tf in self.tf.values() for t in tf)
        n = len(self.tf)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.max_idf = max(self.idf.values(), default=1.0)
        self.words = sorted(t for t in self.idf if not is_han(t))

    def query_tokens(self, query: str) -> list[str]:
        """The query's tokens, English typos mapped to the closest known word."""
        out = []
        for token in self.analyzer.tokens(query):
            if token not in self.idf and not is_han(token) and len(token) >= 4 \
                    and not token.isdigit():
                close = difflib.get_close_matches(token, self.words, n=1, cutoff=0.8)
                token = close[0] if close else token
            out.append(token)
        return out

    def weight(self, token: str) -> float:
        """How much a query token says: its idf, or a guess for a token no document has."""
        if token in self.idf:
            return self.idf[token]
        if is_han(token) and any(ch in ZH_STOP for ch in token):
            return 0.0
        return self.max_idf * 0.6

    def rank(self, query: str) -> list[Match]:
        """Every document with a positive score, best first."""
        tokens = self.query_tokens(query)
        total = sum(self.weight(t) for t in set(tokens))
        if total <= 0:
            return []
        matches = []
        for key, tf in self.tf.items():
            norm = self.k1 * (1 - self.b + self.b * self.lengths[key] / self.avg_length)
            score = sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm)
                        for t in set(tokens) if tf[t])
            if score > 0:
                covered = sum(self.idf[t] for t in set(tokens) if tf[t])
                matches.append(Match(key, score, min(covered / total, 1.0)))
        return sorted(matches, key=lambda m: (-m.score, m.key))
