"""A chat fixture with a support group, agents and operators configured (issue #5)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.sandbox.chat import Sandbox
from bot.storage.db import Database
from domain.ledger import deposit_account
from domain.money import Money
from domain.policy import load_policy
from tests.bot.conftest import START, Chat, register

GROUP = -100500
OPERATOR, AGENT = 1, 900
OWNER, STAFF, OTHER_OWNER, STRANGER = 501, 502, 601, 701
UNKNOWN = "I don't know that command. Send /help to see what I can do."


@pytest.fixture
async def staff(db_target: Any) -> AsyncIterator[Chat]:
    db = await Database.open(db_target)
    out = io.StringIO()
    clock = ManualClock(START)
    deps = Deps(db, load_policy(), clock, PrintedChannel(out), support_chat_id=GROUP,
                operators=frozenset({OPERATOR}), agents=frozenset({AGENT}))
    box = Sandbox(deps, clock, out)
    async with box.app:
        yield Chat(box, out)
    await db.close()


async def two_shops(chat: Chat) -> None:
    """S-GB (Acme, owner 501, staff 502, £800 paid) and S-US (Other Co, owner 601)."""
    await register(chat)
    await register(chat, shop_id="S-US", user=OTHER_OWNER, market="US", name="Other Co")
    await chat.event(type="shop.member_added", event_id="mem-staff", shop_id="S-GB",
                     telegram_user_id=STAFF, role="staff")
    await chat.event(type="payment.confirmed", event_id="seed-pay", shop_id="S-GB",
                     payment_ref="P-SEED", amount="800", currency="GBP")


async def balance(chat: Chat, shop_id: str = "S-GB", currency: str = "GBP") -> Money:
    uow = chat.box.deps.uow()
    async with uow:
        return await uow.ledger.balance(deposit_account(shop_id), currency)


def group_posts(chat: Chat) -> list[dict[str, Any]]:
    return [c for c in chat.calls("sendMessage") if int(c["chat_id"]) == GROUP]


def to_user(chat: Chat, user_id: int) -> list[str]:
    return [str(c["text"]) for c in chat.calls("sendMessage") if int(c["chat_id"]) == user_id]


def recharge_code(out: str) -> str:
    found = re.search(r"RC[0-9A-Z]{10}", out)
    assert found, out
    return found.group(0)
