"""/start, /help, /language and /balance through the real Application."""

from __future__ import annotations

from bot.handlers.common import shop_token
from tests.bot.conftest import Chat, register


async def test_a_user_without_a_shop_is_told_how_to_get_linked(chat: Chat) -> None:
    out = await chat.say("!as 42 en", "/balance")

    assert "No shop is linked to your Telegram account" in out
    assert "Balance" not in out


async def test_the_balance_card_shows_every_figure_and_why_required_is_what_it_is(
        chat: Chat) -> None:
    await register(chat)
    await chat.event(type="order.updated", event_id="o1", shop_id="S-GB", order_id="O-77",
                     category="electronics", status="completed",
                     after_sales_ends_at="2026-12-15T00:00:00+08:00")
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="REF-1", amount="1200.50", currency="GBP")

    out = await chat.say("!as 501 en", "/balance")

    assert "Acme Trading Ltd · United Kingdom shop (S-GB)" in out
    assert "Balance: £1,200.50" in out
    assert "Required: £2,000.00" in out
    assert "Shortfall: £799.50" in out
    assert "In withdrawal: £0.00" in out
    assert "Electronics: 1 unfinished order (O-77)" in out
    assert "Expected to drop to £500.00 on Dec 15, 2026" in out
    assert "Status: short — you cannot publish new products until you top up £799.50." in out
    assert "[Top up] [Withdraw]\n[History] [Why this amount]\n[Refresh]" in out


async def test_withdrawable_is_shown_only_above_zero(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="REF-1", amount="500", currency="GBP")

    at_required = await chat.say("!as 501 en", "/balance")
    await chat.event(type="payment.confirmed", event_id="p2", shop_id="S-GB",
                     payment_ref="REF-2", amount="30", currency="GBP")
    above = await chat.say("/balance")

    assert "Withdrawable" not in at_required
    assert "Withdrawable: £30.00" in above


async def test_the_card_speaks_simplified_chinese_to_a_zh_hans_user(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501 zh-hans", "/balance")

    assert "保证金余额" in out or "余额" in out
    assert "£0.00" in out
    assert "Balance:" not in out


async def test_the_card_speaks_traditional_chinese_to_a_zh_hant_user(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501 zh-hant", "/balance")

    assert "餘額" in out
    assert "Balance:" not in out


async def test_language_choice_overrides_telegram_language(chat: Chat) -> None:
    await register(chat)

    await chat.say("!as 501 en", "/language")
    confirm = await chat.say("!press 繁體中文")
    card = await chat.say("/balance")

    assert "繁體中文" in confirm
    assert "餘額" in card


async def test_a_seller_with_two_shops_switches_between_them(chat: Chat) -> None:
    await register(chat)
    await register(chat, shop_id="S-US", market="US")

    first = await chat.say("!as 501 en", "/balance")
    switched = await chat.say("!press Switch to United States · S-US")
    again = await chat.say("/balance")

    assert "(S-GB)" in first and "[Switch to United States · S-US]" in first
    assert "United States shop (S-US)" in switched
    assert "United States shop (S-US)" in again


async def test_a_forged_button_for_someone_elses_shop_reveals_nothing(chat: Chat) -> None:
    await register(chat)
    await register(chat, shop_id="S-OTHER", user=777, name="Secret Rival Ltd")
    await chat.event(type="payment.confirmed", event_id="p9", shop_id="S-OTHER",
                     payment_ref="REF-9", amount="999", currency="GBP")
    await chat.say("!as 501 en", "/balance")
    shown = chat.box.shown[-1]
    sent_before = len(chat.calls("sendMessage"))

    await chat.box._callback(shown, f"bal:show:{shop_token('S-OTHER')}")
    await chat.box._callback(shown, "bal:why:S-OTHER")
    out = await chat.say("!echo done")

    answers = chat.calls("answerCallbackQuery")
    assert [a.get("text") for a in answers[-2:]] == ["That button is no longer valid."] * 2
    assert len(chat.calls("sendMessage")) == sent_before
    assert "Secret Rival" not in out and "999" not in out


async def test_user_supplied_names_are_escaped_in_html(chat: Chat) -> None:
    await register(chat, name="<b>Evil & Co</b>")

    await chat.say("!as 501 en", "/balance")

    text = chat.calls("sendMessage")[-1]["text"]
    assert "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in text
    assert chat.calls("sendMessage")[-1]["parse_mode"] == "HTML"


async def test_a_failing_handler_apologises_without_internal_detail(chat: Chat) -> None:
    await register(chat)
    async with chat.box.deps.db.lock:
        await chat.box.deps.db.conn.execute("UPDATE shops SET market = 'XX' WHERE shop_id = 'S-GB'")

    out = await chat.say("!as 501 en", "/balance")

    assert "Sorry, something went wrong on our side" in out
    assert "Traceback" not in out and "KeyError" not in out


async def test_unknown_commands_and_free_text_get_a_localized_hint(chat: Chat) -> None:
    out = await chat.say("!as 9 zh-hans", "/nonsense", "随便说点什么")

    assert "/help" in out
    assert "I don't know" not in out


async def test_start_names_the_users_shops(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501 en", "/start")

    assert "Acme Trading Ltd · United Kingdom shop (S-GB)" in out


async def test_a_push_uses_the_language_declared_with_as_before_any_message(
        chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 zh-hant")

    out = await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                           payment_ref="REF-1", amount="100", currency="GBP")

    assert "bot> " in out
    assert "£100.00" in out and "Top-up received" not in out


async def test_buttons_work_for_long_shop_ids_with_colons(chat: Chat) -> None:
    long_id = "TT:GB:" + "x" * 90
    await register(chat, shop_id=long_id)

    await chat.say("!as 501 en", "/balance")
    out = await chat.say("!press Why this amount")

    assert "Why £500.00 is required" in out
    assert all(len(b["callback_data"].encode()) <= 64
               for p in chat.calls("sendMessage") if p.get("reply_markup")
               for row in p["reply_markup"]["inline_keyboard"] for b in row)
