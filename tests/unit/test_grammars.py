"""Issue #13 items 10, 11: one grammar for amounts typed in chat, one for events, and the shop
id's characters; each tested against a corpus of bad inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.parsing import AmountUnreadable, parse_amount
from domain.errors import EventRejected
from domain.events import parse_event

BAD_AMOUNTS = ["1_000", "1e2", "1E2", "+5", ".5", "5.", "١٠٠", "۱۰۰", "𝟏𝟎𝟎", "𝟙𝟘𝟘", "१००",
               "5..0", "1,00", "--5", "0x10", "Infinity", "NaN", "5 5", "½", "²"]
GOOD_CHAT = {"100": "100", "100.50": "100.50", "１００": "100", "1,000": "1000", "£100": "100",
             "100英镑": "100", "１００．５": "100.5", "100 GBP": "100"}


@pytest.mark.parametrize("text", BAD_AMOUNTS)
def test_the_chat_grammar_refuses(text: str) -> None:
    with pytest.raises(AmountUnreadable):
        parse_amount(text)


@pytest.mark.parametrize(("text", "value"), GOOD_CHAT.items())
def test_the_chat_grammar_reads(text: str, value: str) -> None:
    assert parse_amount(text).amount == Decimal(value)


def payment(**changes: Any) -> dict[str, Any]:
    base = {"type": "payment.confirmed", "event_id": "e1", "shop_id": "S-GB",
            "occurred_at": "2026-11-21T10:00:00+08:00", "payment_ref": "P1",
            "amount": "100", "currency": "GBP"}
    return {**base, **changes}


def rejected(raw: dict[str, Any]) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(raw)
    return caught.value


@pytest.mark.parametrize("amount", [*BAD_AMOUNTS, " 5", "5 ", ""])
def test_the_event_grammar_refuses_amounts(amount: str) -> None:
    assert rejected(payment(amount=amount)).field == "amount"


@pytest.mark.parametrize("moment", [1763690400, "1763690400", 1763690400.5, True,
                                    "2026-11-21", "21/11/2026 10:00"])
def test_occurred_at_must_be_an_iso_string(moment: Any) -> None:
    assert rejected(payment(occurred_at=moment)).field == "occurred_at"


@pytest.mark.parametrize("shop_id", [" S-GB", "S-GB ", "S GB", "", "-S", "S/GB", "S\u200bGB",
                                     "店铺1", "x" * 129, "S-GB\n", 12345, ":S"])
def test_shop_ids_outside_the_alphabet_are_rejected_naming_the_field(shop_id: Any) -> None:
    assert rejected(payment(shop_id=shop_id)).field == "shop_id"


@pytest.mark.parametrize("shop_id", ["S-GB", "GB-0000001", "shop_1.a", "TT:GB:123", "x" * 128])
def test_platform_shaped_shop_ids_pass(shop_id: str) -> None:
    assert parse_event(payment(shop_id=shop_id)).shop_id == shop_id  # type: ignore[union-attr]
