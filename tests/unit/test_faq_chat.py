"""How sellers really type: requests for a person, amounts and methods named, figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.faq.asked import Quoted, named_methods, quoted_amount
from bot.faq.person import asks_for_person
from bot.faq.ranker import Amounts, Analyzer

ASKING = ["i want to talk to a human", "我要找人工", "我要搵真人客服", "human pls", "转人工",
          "connect me to a live agent", "let me talk to ur manager", "有冇真人", "人工!!!",
          "i need a real person not a bot", "call me pls", "請幫我轉接人工", "打電話俾我"]
NOT_ASKING = ["can staff withdraw money", "客服说三天到账", "员工能提现吗", "how do I top up",
              "我係staff 點解撳唔到提現", "why is my deposit 2000 pounds", "可以用PayPal嗎"]


@pytest.mark.parametrize("text", ASKING)
def test_an_explicit_request_for_a_person_is_recognised_in_any_language(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize("text", NOT_ASKING)
def test_a_question_that_mentions_staff_or_support_is_not_a_request(text: str) -> None:
    assert not asks_for_person(text)


def test_the_amount_a_seller_quotes_is_read_with_its_currency() -> None:
    example = frozenset({Decimal("809.01")})

    assert quoted_amount("充值1000美元要付多少人民币") == Quoted(Decimal("1000"), "USD")
    assert quoted_amount("top up £100 how much rmb") == Quoted(Decimal("100"), "GBP")
    assert quoted_amount("how is the 809.01 calculated", example) is None
    assert quoted_amount("withdrawal takes 3 days?") is None
    assert quoted_amount("is the fee 1%") is None


def test_payment_methods_are_recognised_by_name() -> None:
    assert named_methods("可以用PayPal嗎") == ("paypal",)
    assert named_methods("pay with visa credit card?") == ("credit_card",)
    assert named_methods("支付宝还是派安盈") == ("personal_alipay", "payoneer")


def test_a_number_becomes_the_policy_figure_it_matches() -> None:
    amounts = Amounts(Decimal("20"), frozenset({Decimal("500"), Decimal("2000")}),
                      frozenset({Decimal("809.01")}))
    analyzer = Analyzer(amounts=amounts)

    assert analyzer.tokens("2000 deposit") == ["#tier", "deposit"]
    assert analyzer.tokens("809.01") == ["#example"]
    assert analyzer.tokens("below 20") == ["below", "#minimum"]
    assert analyzer.tokens("12.34") == ["#cents"]
    assert analyzer.tokens("6 days") == ["6", "day"]


def test_a_typo_of_a_synonym_snaps_to_its_canonical_word() -> None:
    from bot.faq.ranker import Ranker

    analyzer = Analyzer({"short": ["shortfall"], "withdraw": ["withdrawal"]})
    ranker = Ranker({"a": ["what is short", "how to withdraw"]}, analyzer)

    assert ranker.query_tokens("shortfal") == {"short"}
    assert ranker.query_tokens("withdrawel") == {"withdraw"}
