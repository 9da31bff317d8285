"""Each seller flow in Simplified or Traditional Chinese: translated text, Babel amounts."""

from __future__ import annotations

from tests.bot.conftest import START, Chat, register


async def funded(chat: Chat, amount: str = "800") -> None:
    await register(chat, market="US", shop_id="S-US")
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount=amount, currency="USD")
    await chat.event(type="fx.rate", event_id="fx", base="USD", quote="CNY", rate="7.2")


async def test_a_top_up_in_simplified_chinese(chat: Chat) -> None:
    await funded(chat)

    out = await chat.say("!as 501 zh-hans", "/topup 100美元", "!press 派安盈(Payoneer)")

    assert "技术服务费" in out and "¥727.20" in out
    assert "支付单号" in out or "单号" in out
    assert "Deposit credited" not in out and "Payment reference" not in out


async def test_a_withdrawal_in_traditional_chinese(chat: Chat) -> None:
    await funded(chat)

    out = await chat.say("!as 501 zh-hant", "/withdraw", "19", "300")

    assert "US$20.00" in out and "US$300.00" in out
    assert "低於最低提現金額。" in out
    assert "2小時" in out  # CLDR spaces zh_Hant units; the glossary writes them together
    assert "held for this withdrawal" not in out


async def test_the_closing_flow_starts_in_simplified_chinese(chat: Chat) -> None:
    await funded(chat)

    out = await chat.say("!as 501 zh-hans", "/close")

    assert "关店" in out
    assert "[继续]" in out or "继续" in out
    assert "Continue" not in out


async def test_history_in_traditional_chinese(chat: Chat) -> None:
    await funded(chat)

    out = await chat.say("!as 501 zh-hant", "/history")

    assert "US$800.00" in out
    assert "明細" in out
    assert "Top-up" not in out


async def test_help_lists_every_command_in_both_chinese_scripts(chat: Chat) -> None:
    hans = await chat.say("!as 9 zh-hans", "/help")
    hant = await chat.say("!as 10 zh-hant", "/help")

    for command in ("/balance", "/topup", "/withdraw", "/history", "/close", "/shops",
                    "/language", "/cancel"):
        assert command in hans and command in hant
    assert "提现" in hans and "提現" in hant


async def test_dates_are_formatted_for_the_chinese_locale(chat: Chat) -> None:
    await funded(chat)

    out = await chat.say("!as 501 zh-hans", "/withdraw 100")

    assert f"{START.year}年{START.month}月{START.day}日 12:00" in out
