"""What a question itself says that an answer can use: an amount, payment methods named.

"how much do I pay for 1000 dollars" → 1000 USD; 可以用PayPal嗎 → paypal. Pure text work,
no arithmetic: the domain prices the amount (bot/faq/personal.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.faq.ranker import normalise
from bot.parsing import SYMBOLS, WORDS

# A figure with an optional currency before or after it; "1%" and "3 days" are not amounts.
_AMOUNT = re.compile(r"(?P<pre>£|\$|us\$)?\s*(?P<number>[0-9][0-9,]*(?:\.[0-9]{1,2})?)\s*"
                     r"(?P<post>gbp|usd|pounds?|dollars?|bucks|英镑|镑|美元|美金|刀|蚊|元)?"
                     r"(?![0-9%.]|\s*(?:%|days?|天|日|个|個|hours?|小时|minutes?|分钟|months?))")
_UNITS = {**{k: v for k, v in WORDS.items()}, **SYMBOLS, "bucks": "USD", "pound": "GBP"}
METHOD_WORDS = {
    "paypal": ("paypal",),
    "personal_alipay": ("alipay", "ali pay", "支付宝"),
    "payoneer": ("payoneer", "派安盈", "p卡"),
    "debit_card": ("debit card", "debit", "借记卡", "扣账卡"),
    "offline_transfer": ("bank transfer", "wire", "recharge code", "线下转账", "线下打款",
                         "转账", "汇款", "充值码"),
    "corporate_online_banking": ("corporate online banking", "企业网银", "对公网银"),
    "personal_online_banking": ("personal online banking", "个人网银", "网银"),
    "credit_card": ("credit card", "visa", "mastercard", "master card", "信用卡", "碌卡"),
}


@dataclass(frozen=True)
class Quoted:
    """An amount a seller quoted, in the currency named (None when none was)."""

    amount: Decimal
    currency: str | None


def quoted_amount(question: str, ignore: frozenset[Decimal] = frozenset()) -> Quoted | None:
    """The first amount in a question that is not one of `ignore` (the worked example)."""
    for match in _AMOUNT.finditer(normalise(question)):
        try:
            value = Decimal(match["number"].replace(",", ""))
        except InvalidOperation:
            continue
        if value <= 0 or value in ignore:
            continue
        unit = match["pre"] or match["post"]
        return Quoted(value, _UNITS.get(unit) if unit else None)
    return None


def named_methods(question: str) -> tuple[str, ...]:
    """The payment methods a question names, in the order of METHOD_WORDS."""
    text = normalise(question)
    found = [m for m, words in METHOD_WORDS.items() if any(w in text for w in words)]
    if "corporate_online_banking" in found and "personal_online_banking" in found \
            and not any(w in text for w in ("personal online banking", "个人网银")):
        found.remove("personal_online_banking")
    return tuple(found)
