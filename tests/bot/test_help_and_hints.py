"""Item 15 of issue 14: /help by role, what to do at the identity step and for each open
closing condition, a Top up button on the closure-failed push."""

from __future__ import annotations

from tests.bot.conftest import Chat, register
from tests.bot.staff_chat import staff
from tests.bot.staff_chat import two_shops as shops
from tests.bot.test_close import ready_shop, verified

__all__ = ["staff"]


async def test_help_shows_staff_only_what_staff_can_do(staff: Chat) -> None:
    await shops(staff)

    owner = await staff.say("!as 501 en", "/help")
    member = await staff.say("!as 502 en", "/help")

    assert "/withdraw" in owner and "/close" in owner and "/reopen" in owner
    assert "/withdraw" not in member and "/close" not in member and "/reopen" not in member
    assert "/balance" in member and "/topup" in member
    assert "only the shop's owner can withdraw, close or reopen" in member


async def test_the_closure_failed_push_carries_a_top_up_button(chat: Chat) -> None:
    await ready_shop(chat, balance="500")
    await chat.event(type="arrears.updated", event_id="a1", shop_id="S-GB", kind="commission",
                     amount="800", currency="GBP")
    await verified(chat)

    await chat.say("!clock +10d")

    push = next(s for s in chat.box.shown if "the closure failed" in s.text)
    assert [b["text"] for row in push.keyboard for b in row] == ["Top up"]


async def test_the_identity_step_says_what_to_do_when_the_details_are_wrong(
        chat: Chat) -> None:
    await ready_shop(chat)

    identity = await chat.say("!as 501 en", "/close", "!press Continue")

    assert "If these details are wrong, do not continue: contact support (/support)" in identity


async def test_the_checklist_says_how_to_meet_each_open_condition(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="marketing.changed", event_id="m1", shop_id="S-GB",
                     active_campaigns=2)
    await chat.event(type="creators.changed", event_id="c1", shop_id="S-GB", bound_creators=1)
    await chat.event(type="order.updated", event_id="o1", shop_id="S-GB", order_id="O-1",
                     category="apparel", status="open")

    checklist = await verified(chat)

    assert "How to meet the open conditions:" in checklist
    assert "End every active campaign" in checklist
    assert "Unbind every creator" in checklist
    assert "Post a closure announcement on the shop's home page" in checklist
    assert "Complete or close every open order" in checklist
    assert "• Post a closure announcement" in checklist
