"""Issue #14.14: when the required amount drops, the seller is told what is now withdrawable."""

from __future__ import annotations

from tests.bot.conftest import Chat, register


async def pay(chat: Chat, amount: str) -> None:
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="REF-1", amount=amount, currency="GBP")


async def test_a_pin_ending_pushes_what_is_now_withdrawable_with_a_withdraw_button(
        chat: Chat) -> None:
    await register(chat)
    await chat.event(type="order.updated", event_id="o1", shop_id="S-GB", order_id="O-1",
                     category="electronics", status="completed",
                     after_sales_ends_at="2026-12-15T00:00:00+08:00")
    await pay(chat, "2000")

    before = await chat.say("!clock 2026-12-14T23:00+08:00")
    after = await chat.say("!clock 2026-12-15T01:00+08:00")
    again = await chat.say("!run-jobs", "!clock +1d")

    assert "withdraw" not in before.lower()
    assert "The required amount dropped from £2,000.00 to £500.00." in after
    assert "You can now withdraw up to £1,500.00." in after
    assert "[Withdraw]" in after
    assert "dropped" not in again


async def test_a_category_leaving_pushes_what_is_now_withdrawable(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="listing.changed", event_id="l1", shop_id="S-GB",
                     category="electronics", live_listings=3)
    await pay(chat, "2000")

    out = await chat.event(type="listing.changed", event_id="l2", shop_id="S-GB",
                           category="electronics", live_listings=0)

    assert "The required amount dropped from £2,000.00 to £500.00." in out
    assert "You can now withdraw up to £1,500.00." in out
    assert "[Withdraw]" in out


async def test_a_drop_that_leaves_nothing_to_withdraw_pushes_nothing(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="listing.changed", event_id="l1", shop_id="S-GB",
                     category="electronics", live_listings=3)
    await pay(chat, "400")

    out = await chat.event(type="listing.changed", event_id="l2", shop_id="S-GB",
                           category="electronics", live_listings=0)

    assert "dropped" not in out
