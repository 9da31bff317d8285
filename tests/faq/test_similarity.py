"""The second similarity signal: character n-gram TF-IDF cosine, and its fusion with BM25."""

from __future__ import annotations

import dataclasses

import pytest

from bot.faq.engine import Faq
from bot.faq.kb import Fusion, load_kb
from bot.faq.ranker import Analyzer, Ranker
from bot.faq.similarity import CharSimilarity, Weights, features
from domain.policy import load_policy

ANALYZER = Analyzer({"shop": ["store"]}, {"店铺": ["店"]})
DOCS = {
    "withdraw": ["How long does a withdrawal take?", "提现多久到账"],
    "refund": ["How do I get my deposit refunded after closing?", "关店后保证金怎么退"],
    "topup": ["How do I top up the deposit?", "怎么充值保证金"],
}


def test_english_words_become_padded_character_ngrams_without_stop_words() -> None:
    grams = features("the fee")

    assert {" f", "fe", "ee", "e ", " fe", "fee", "ee ", " fee", "fee "} == set(grams)


def test_chinese_becomes_characters_and_bigrams_without_function_characters() -> None:
    assert set(features("提现的")) == {"提", "现", "提现", "现的"}


def test_an_identical_phrasing_is_fully_similar_and_unrelated_text_not_at_all() -> None:
    sim = CharSimilarity(DOCS, ANALYZER, Weights(best=1.0, centroid=0.0, vote=0.0))

    assert sim.scores("How long does a withdrawal take?")["withdraw"] == pytest.approx(1.0)
    assert sim.scores("zzz qqq") == {}


def test_word_pieces_match_where_whole_tokens_do_not() -> None:
    sim = CharSimilarity(DOCS, ANALYZER)
    ranker = Ranker(DOCS, ANALYZER)
    question = "is it refundable"  # no token of it is in any phrasing

    assert ranker.rank(question) == []
    assert max(sim.scores(question).items(), key=lambda kv: kv[1])[0] == "refund"


def test_traditional_and_simplified_chinese_are_equally_similar() -> None:
    sim = CharSimilarity(DOCS, ANALYZER)

    assert sim.scores("提現要多久") == pytest.approx(sim.scores("提现要多久"))


def test_the_parts_are_nearest_phrasing_centroid_and_neighbour_vote() -> None:
    sim = CharSimilarity(DOCS, ANALYZER, Weights(k=2))
    best, centroid, vote = sim.parts("提现多久到账")["withdraw"]

    assert best == pytest.approx(1.0)
    assert 0 < centroid < best
    assert 0 < vote <= 1.0


@pytest.fixture(scope="module")
def faqs() -> tuple[Faq, Faq]:
    kb = load_kb()
    off = dataclasses.replace(kb, fusion=dataclasses.replace(kb.fusion, enabled=False))
    return Faq(kb, load_policy()), Faq(off, load_policy())


def test_the_shipped_knowledge_base_fuses_the_similarity(faqs: tuple[Faq, Faq]) -> None:
    fused, plain = faqs

    assert fused.kb.fusion.enabled and fused.similarity is not None
    assert plain.similarity is None
    assert Fusion() == Fusion(enabled=False, alpha=0.3, beta=0.3, scale=0.5)  # off unless set


@pytest.mark.parametrize(("question", "entry"), [
    ("應繳額是怎麼算出來的", "required_how"),
    ("我想看以前的充值紀錄", "records"),
    ("why do sellers have to pay a guarantee at all", "what_is_deposit"),
    ("how long after closing the shop does the refund land", "get_deposit_back"),
])
def test_fusion_picks_the_entry_a_paraphrase_means(faqs: tuple[Faq, Faq], question: str,
                                                   entry: str) -> None:
    reply = faqs[0].ask(question)

    assert reply.entry is not None and reply.entry.id == entry, reply.reason


def test_fusion_keeps_declining_off_topic_questions(faqs: tuple[Faq, Faq]) -> None:
    fused, _ = faqs

    for question in ("hey whats up", "Can you lend me 2000 dollars?", "香港公司每年要怎麼報稅?",
                     "What is today's USD to CNY exchange rate?"):
        assert fused.ask(question).declined, question


def test_fused_confidence_stays_between_zero_and_one(faqs: tuple[Faq, Faq]) -> None:
    for m in faqs[0]._fuse("how long does a withdrawal take", faqs[0].ranker.rank(
            "how long does a withdrawal take")):
        assert 0.0 <= m.confidence <= 1.0 and 0.0 <= m.score <= 1.0
