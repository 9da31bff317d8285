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
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

import opencc

_HAN = re.compile(r"[\u3400-\u9fff]+")
_WORD = r"[a-z0-9]+(?:'[a-z]+)?(?:\.[0-9]+)?|[£$]"
_PIECE = re.compile(r"[\u3400-\u9fff]+|" + _WORD)
_WORDS = re.compile(_WORD)
_NUMBER = re.compile(r"[0-9.]+")
_EN_STOP_WORDS = """
a an the is are am was were be been being do does did doing done i me my mine myself we
our ours us you your yours it its this that these those there here what whats which who
whom how why when can could would should will shall may might must to of in on at
by for with from about into onto as and or but if so than then just also too very please
pls plz hi hello hey dear thanks thank thx tell know want wanna like any some anything
something have has had having t s m ve ll re d im ive
ok okay still yet ever really actually kind sort bit let lets one ones much many more
there'd i'd i'm got get gets getting go going make made say said see seen show explain
understand question ask asking help need needs needed happen happens happened
anyway thing things stuff guys sir madam money all every platform tiktok douyin
seller sellers merchant merchants normal another anyone now per
today today's yesterday tomorrow tonight morning afternoon evening lately recently
again already wtf lol omg
guys u ur pls hmm um btw anyway anyways one two three four five six seven eight nine ten
"""
EN_STOP = frozenset(_EN_STOP_WORDS.split())
# Chat filler that carries no topic ("today", "just now"): cut out before bigrams are made.
ZH_FILLER = ("今天", "昨天", "明天", "前天", "刚才", "刚刚", "搞什么", "到底")
ZH_STOP = frozenset("的了吗嘛呢吧啊呀哦么我你您他她它们是在有和与及或就都也还又要请问想这那个些一下"
                    "什怎为如何能会可以到底干用来去给让把被从该得着过啦哈呗呢"
                    "啲嘢喎囉啰㗎吖噃咁嚟咧喇嘞")  # Cantonese particles


# Bigrams that straddle two words are noise, so an unknown one says less than a word.
HAN_UNKNOWN = 0.6
STOP_BIGRAM = 0.8
# An amount nobody wrote in the knowledge base ("I have 15 dollars") is detail, not topic.
NUMBER_UNKNOWN = 0.25


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Full-width to half-width, lowercase, traditional Chinese to simplified."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return _to_simplified().convert(text)


_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("sses", "ss"),
             ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("s", ""))


def stem(word: str) -> str:
    """A light suffix stemmer: enough to make charge/charges/charged one token."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and not word.endswith(("ss", "us", "is")) \
                and len(word) - len(suffix) >= 3:
            word = word[: len(word) - len(suffix)] + repl
            if suffix in {"ing", "ed"} and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # stopping → stop
            break
    return word[:-1] if word.endswith("e") and len(word) >= 4 else word


def word_stems(text: str) -> tuple[str, ...]:
    """The stems of a text's English words, stop words kept, no synonyms applied."""
    return tuple(stem(w) for w in _WORDS.findall(normalise(text)))


@dataclass(frozen=True)
class Amounts:
    """Which figures of the policy a number in a question may be: a number becomes its
    kind, so "2000 pounds" meets the tier amounts and "809.01" the worked example."""

    minimum: Decimal = Decimal("20")
    tiers: frozenset[Decimal] = frozenset()
    examples: frozenset[Decimal] = frozenset()

    def kind(self, token: str) -> str | None:
        """#example, #tier, #minimum, #cents (a figure with decimals), or None."""
        try:
            value = Decimal(token)
        except ArithmeticError:
            return None
        if value in self.examples:
            return "#example"
        if value in self.tiers:
            return "#tier"
        if value == self.minimum:
            return "#minimum"
        # numbers below the minimum are not marked: "6 days", "3 times" are not amounts
        return "#cents" if value != value.to_integral_value() else None


@dataclass(frozen=True)
class Analyzer:
    """Text → tokens, with synonyms given as {canonical: [variants]} per script."""

    en_synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    zh_synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    amounts: Amounts | None = None

    def __post_init__(self) -> None:
        phrases: dict[tuple[str, ...], list[str]] = {}
        for canonical, variants in self.en_synonyms.items():
            for variant in variants:
                phrases[word_stems(variant)] = list(word_stems(canonical))
        zh = {normalise(v): normalise(c) for c, vs in self.zh_synonyms.items() for v in vs}
        zh |= {c: c for c in zh.values()}  # a canonical form is never rewritten inside
        object.__setattr__(self, "_phrases", phrases)
        object.__setattr__(self, "_longest", max(map(len, phrases), default=1))
        object.__setattr__(self, "_zh", zh)
        object.__setattr__(self, "_zh_re", _alternation(zh, "", ""))

    def rewrite(self, text: str) -> str:
        """The normalised text with every Chinese synonym replaced by its canonical form."""
        text = normalise(text)
        zh: dict[str, str] = self._zh  # type: ignore[attr-defined]
        if zh:
            text = self._zh_re.sub(lambda m: zh[m.group(0)], text)  # type: ignore[attr-defined]
        return text

    def tokens(self, text: str) -> list[str]:
        """English word stems and Chinese character bigrams of a text."""
        text = self.rewrite(text)
        for filler in ZH_FILLER:
            text = text.replace(filler, "。")
        out: list[str] = []
        words: list[str] = []
        for piece in _PIECE.findall(text) + ["。"]:
            if _HAN.fullmatch(piece) or piece == "。":
                out += self._words(words)
                words = []
                out += han_bigrams(piece) if piece != "。" else []
            else:
                words.append(piece)
        return out

    def _words(self, words: list[str]) -> list[str]:
        """Stems of a run of words: the longest synonym phrase first, stop words dropped."""
        phrases: dict[tuple[str, ...], list[str]] = self._phrases  # type: ignore[attr-defined]
        stems = [stem(w) for w in words]
        out: list[str] = []
        i = 0
        while i < len(stems):
            for size in range(min(self._longest, len(stems) - i), 0, -1):  # type: ignore[attr-defined]
                found = phrases.get(tuple(stems[i:i + size]))
                if found is not None and (size > 1 or not _stop(words[i])):
                    out += found
                    i += size
                    break
            else:
                if not _stop(words[i]):
                    out.append(self._number(stems[i]))
                i += 1
        return out

    def _number(self, token: str) -> str:
        """A figure the policy knows as its kind (#tier, #example…), other words as they are."""
        if self.amounts is None or not token[:1].isdigit() or not _NUMBER.fullmatch(token):
            return token
        return self.amounts.kind(token.rstrip(".")) or token


def _damping(token: str) -> float:
    """Bigrams with a function character (是怎, 么退) match by chance more than by topic."""
    return STOP_BIGRAM if is_function(token) else 1.0


def is_function(token: str) -> bool:
    """A Chinese bigram with a function character (怎么, 么申): grammar more than topic."""
    return is_han(token) and any(ch in ZH_STOP for ch in token)


def _stop(word: str) -> bool:
    """A stop word, also with a clitic: what's, it's, I'm."""
    return word in EN_STOP or word.split("'")[0] in EN_STOP


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
    evidence: float = 0.0
    matched: frozenset[str] = frozenset()


class Ranker:
    """BM25 over documents given as several short texts each (a question's phrasings).

    A document's score is its best phrasing's score plus `mix` times the score of all its
    phrasings together: the nearest way of asking counts most, the rest of its vocabulary
    breaks ties. idf is computed over documents, so repeating a word does not dilute it.
    """

    def __init__(self, docs: Mapping[str, Iterable[str]], analyzer: Analyzer,
                 k1: float = 1.2, b: float = 0.5, mix: float = 0.5,
                 unknown_weight: float = 0.5, grab_bags: Iterable[str] = ()) -> None:
        self.analyzer, self.k1, self.b, self.mix = analyzer, k1, b, mix
        self.grab_bags = frozenset(grab_bags)  # unrelated phrasings: cover one at a time
        self.phrases: dict[str, list[Counter[str]]] = {
            key: [Counter(analyzer.tokens(text)) for text in texts] for key, texts in docs.items()}
        self.tf = {key: sum(ps, Counter()) for key, ps in self.phrases.items()}
        self.avg_doc = _average(sum(tf.values()) for tf in self.tf.values())
        self.avg_phrase = _average(sum(p.values()) for ps in self.phrases.values() for p in ps)
        df: Counter[str] = Counter(t for tf in self.tf.values() for t in tf)
        n = len(self.tf)
        self.df = df
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) * _damping(t)
                    for t, f in df.items()}
        self.unknown = max(self.idf.values(), default=1.0) * unknown_weight
        self.words = sorted(t for t in self.idf if not is_han(t))
        # a typo of a one-word synonym ("shortfal", "withdrawl") snaps to it, then to its
        # canonical token, as long as that token is one the documents use
        self._variants = {variant[0]: found[0] for variant, found in
                          analyzer._phrases.items()  # type: ignore[attr-defined]
                          if len(variant) == 1 and len(found) == 1 and found[0] in self.idf
                          and variant[0].isalpha() and variant[0] not in self.idf}
        self._by_length: dict[int, list[str]] = defaultdict(list)
        for word in [*self.words, *self._variants]:
            self._by_length[len(word)].append(word)
        self._seen: dict[str, frozenset[str]] = {}
        self._lengths: dict[int, int] = {}  # token count of each (immutable) tf, by id
        self._index()

    def _index(self) -> None:
        """Postings token → (document, phrasing, BM25 term factor without idf): a question
        then touches only the phrasings that share one of its tokens, not all of them."""
        self._docs: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._phrasings: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
        for key, tf in self.tf.items():
            for token, factor in self._factors(tf, self.avg_doc).items():
                self._docs[token].append((key, factor))
            for slot, phrase in enumerate(self.phrases[key]):
                for token, factor in self._factors(phrase, self.avg_phrase).items():
                    self._phrasings[token].append((key, slot, factor))

    def _factors(self, tf: Counter[str], average: float) -> dict[str, float]:
        norm = self.k1 * (1 - self.b + self.b * self._length(tf) / average)
        return {t: c * (self.k1 + 1) / (c + norm) for t, c in tf.items() if c > 0}

    def query_tokens(self, query: str) -> set[str]:
        """The query's tokens, English typos mapped to the closest known word."""
        return set(self._typos(query))

    def _typos(self, query: str) -> frozenset[str]:
        """query_tokens, remembered for the last questions (gate, rank and veto ask again)."""
        found = self._seen.get(query)
        if found is None:
            found = frozenset(self._snap(t) for t in self.analyzer.tokens(query))
            if len(self._seen) >= 256:
                self._seen.clear()
            self._seen[query] = found
        return found

    def _snap(self, token: str) -> str:
        if token in self.idf or is_han(token) or len(token) < 4 or not token.isalpha():
            return token
        # a typo drops, adds or swaps a letter ("team" is not "stream"): only words within
        # one letter of its length are compared, which also keeps the search short
        near = [w for size in (len(token) - 1, len(token), len(token) + 1)
                for w in self._by_length.get(size, ())]
        close = difflib.get_close_matches(token, near, n=1, cutoff=0.8)
        return self._variants.get(close[0], close[0]) if close else token

    def weight(self, token: str) -> float:
        """How much a query token says: its idf, or a guess for a token no document has."""
        if token in self.idf:
            return self.idf[token]
        if is_han(token):
            return 0.0 if any(ch in ZH_STOP for ch in token) else self.unknown * HAN_UNKNOWN
        number = _NUMBER.fullmatch(token) or token.startswith("#")
        return self.unknown * (NUMBER_UNKNOWN if number else 1.0)

    def _bm25(self, tokens: set[str], tf: Counter[str], average: float) -> float:
        shared = [t for t in tokens if t in tf]
        if not shared:
            return 0.0
        norm = self.k1 * (1 - self.b + self.b * self._length(tf) / average)
        return sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in shared)

    def _length(self, tf: Counter[str]) -> int:
        found = self._lengths.get(id(tf))
        if found is None:
            found = self._lengths[id(tf)] = sum(tf.values())
        return found

    def share(self, query: str, tokens: frozenset[str]) -> float:
        """How much of a query's information some of its tokens carry (0–1)."""
        every = self.query_tokens(query)
        total = sum(self.weight(t) for t in every)
        return sum(self.weight(t) for t in tokens & every) / total if total > 0 else 0.0

    def rank(self, query: str) -> list[Match]:
        """Every document with a positive score, best first."""
        tokens = self.query_tokens(query)
        total = sum(self.weight(t) for t in tokens)
        if total <= 0:
            return []
        whole: dict[str, float] = defaultdict(float)
        phrase: dict[tuple[str, int], float] = defaultdict(float)
        found: dict[tuple[str, int], set[str]] = defaultdict(set)
        for t in tokens:
            idf = self.idf.get(t)
            if idf is None:
                continue
            for key, factor in self._docs[t]:
                whole[key] += idf * factor
            for key, slot, factor in self._phrasings[t]:
                phrase[key, slot] += idf * factor
                if key in self.grab_bags:
                    found[key, slot].add(t)
        best: dict[str, float] = {}
        for (key, _), score in phrase.items():
            if score > best.get(key, 0.0):
                best[key] = score
        matches = []
        for key, score in whole.items():
            if score <= 0:
                continue
            matched = self._matched(key, tokens, found)
            covered = sum(self.idf[t] for t in matched)
            matches.append(Match(key, best.get(key, 0.0) + self.mix * score,
                                 min(covered / total, 1.0), covered, matched))
        return sorted(matches, key=lambda m: (-m.score, m.key))

    def _matched(self, key: str, tokens: set[str] | frozenset[str],
                 found: dict[tuple[str, int], set[str]]) -> frozenset[str]:
        """The query tokens a document has: for a grab bag, those of its best phrasing."""
        if key not in self.grab_bags:
            return frozenset(t for t in tokens if self.tf[key][t])
        phrasings = [frozenset(got) for (owner, _), got in found.items() if owner == key]
        return max(phrasings, key=lambda got: (sum(self.idf[t] for t in got), sorted(got)),
                   default=frozenset())


def _average(values: Iterable[int]) -> float:
    items = list(values)
    return max(sum(items) / len(items), 1.0) if items else 1.0
