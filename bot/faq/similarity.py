"""A second similarity signal: character n-gram TF-IDF cosine (pure Python, sparse dicts).

BM25 compares whole tokens; paraphrases and typos share pieces of words instead
("withdrawn"/"withdrawal", "refunded"/"refund", 提现中/提现申请). Every text is rewritten
as the analyzer does (folded to Simplified, Chinese synonyms), then cut into features:
English words (stop words dropped) as character 2–4-grams padded with spaces, Chinese
runs as characters (function characters dropped) and character bigrams. Features weigh
(1 + log tf) × idf over all phrasings; vectors are unit length, so a dot product is the
cosine. For each document the signal mixes its nearest phrasing, its centroid (the
average of its phrasings) and a k-nearest-neighbour vote over every phrasing of every
document, which generalises better to a new wording than one best match.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from bot.faq.ranker import EN_STOP, ZH_FILLER, ZH_STOP, Analyzer

_PIECE = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+(?:'[a-z]+)?")
_HAN = re.compile(r"[\u3400-\u9fff]")

Vector = dict[str, float]


@dataclass(frozen=True)
class Weights:
    """How the nearest phrasing, the centroid and the k-NN vote mix (they sum to one)."""

    best: float = 0.5
    centroid: float = 0.25
    vote: float = 0.25
    k: int = 5


def features(text: str) -> Counter[str]:
    """Character n-grams of an already rewritten text (see the module docstring)."""
    for filler in ZH_FILLER:
        text = text.replace(filler, "。")
    out: Counter[str] = Counter()
    for piece in _PIECE.findall(text):
        if _HAN.match(piece):
            out.update(ch for ch in piece if ch not in ZH_STOP)
            out.update(piece[i:i + 2] for i in range(len(piece) - 1))
        elif piece not in EN_STOP and piece.split("'")[0] not in EN_STOP:
            padded = f" {piece} "
            out.update(padded[i:i + n] for n in (2, 3, 4) for i in range(len(padded) - n + 1))
    return out


class CharSimilarity:
    """Cosine similarity of a question to documents given as several short texts each."""

    def __init__(self, docs: Mapping[str, Iterable[str]], analyzer: Analyzer,
                 weights: Weights = Weights()) -> None:
        self.analyzer, self.weights = analyzer, weights
        raw = {key: [features(analyzer.rewrite(t)) for t in texts] for key, texts in docs.items()}
        counts = [c for cs in raw.values() for c in cs if c]
        df: Counter[str] = Counter(f for c in counts for f in c)
        n = len(counts)
        self.idf = {f: math.log((1 + n) / (1 + d)) + 1 for f, d in df.items()}
        self.phrasings: list[tuple[str, Vector]] = [
            (key, v) for key, cs in raw.items() for c in cs if (v := self._vector(c))]
        centroids: dict[str, Counter[str]] = defaultdict(Counter)
        for key, vector in self.phrasings:
            centroids[key].update(vector)
        self.keys = list(centroids)
        # one inverted index: a slot per phrasing, then one per document's centroid
        vectors = [v for _, v in self.phrasings] + [_unit(dict(centroids[k])) for k in self.keys]
        self.index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for slot, vector in enumerate(vectors):
            for f, w in vector.items():
                self.index[f].append((slot, w))
        # the same postings as numpy arrays: one vector operation per question feature
        self._postings = {f: (np.array([s for s, _ in p], dtype=np.intp),
                              np.array([w for _, w in p])) for f, p in self.index.items()}
        owners = [key for key, _ in self.phrasings]  # a document's phrasings are adjacent
        self._starts = np.array([i for i, key in enumerate(owners)
                                 if i == 0 or owners[i - 1] != key], dtype=np.intp)
        self._owners = [owners[i] for i in self._starts]

    def _vector(self, counts: Counter[str]) -> Vector:
        return _unit({f: (1 + math.log(c)) * self.idf[f] for f, c in counts.items()
                      if f in self.idf})

    def vector(self, question: str) -> Vector:
        """The question's unit TF-IDF vector (features no phrasing has are left out)."""
        return self._vector(features(self.analyzer.rewrite(question)))

    def scores(self, question: str) -> dict[str, float]:
        """Every document's similarity to the question (0–1), documents sharing nothing left out."""
        w = self.weights
        return {key: w.best * best + w.centroid * centroid + w.vote * vote
                for key, (best, centroid, vote) in self.parts(question).items()}

    def parts(self, question: str) -> dict[str, tuple[float, float, float]]:
        """Per document: the nearest phrasing's cosine, the centroid's, the k-NN vote."""
        size = len(self.phrasings)
        dots = np.zeros(size + len(self.keys))
        for f, w in self.vector(question).items():
            found = self._postings.get(f)
            if found is not None:
                dots[found[0]] += w * found[1]  # slots within one posting are distinct
        nearest = np.maximum.reduceat(dots[:size], self._starts) if size else dots[:0]
        vote: dict[str, float] = defaultdict(float)
        k = self.weights.k
        if self.weights.vote:
            for slot in heapq.nlargest(k, range(size), key=dots.__getitem__):
                vote[self.phrasings[slot][0]] += float(dots[slot]) / k
        centroid = dict(zip(self.keys, dots[size:].tolist(), strict=True))
        return {key: (b, centroid[key], vote.get(key, 0.0))
                for key, b in zip(self._owners, nearest.tolist(), strict=True) if b > 0}


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {f: w / norm for f, w in vector.items()} if norm > 0 else {}
