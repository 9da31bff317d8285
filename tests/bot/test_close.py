"""/close and /reopen (SPEC §7) through the real Application and the sandbox."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.handlers.common import shop_token
from bot.sandbox.chat import Sandbox
from bot.storage.db import Database
from domain.closure_service import closure_view
from domain.policy import load_policy
from tests.bot.conftest import START, Chat, register

CODE = re.compile(r"code> verification code for shop (\S+) \(user (\d+)\): (\d{6})")
LONG_AGO = {"notice": START - timedelta(days=31), "order": START - timedelta(days=91)}


@asynccontextmanager
async def session(path: Path | str, clock: ManualClock) -> AsyncIterator[Chat]:
    """One bot process on a database file: a restart is a second session on the same file."""
    db = await Database.open(path)
    out = io.StringIO()
    box = Sandbox(Deps(db, load_policy(), clock, PrintedChannel(out)), clock, out)
    async with box.app:
        yield Chat(box, out)
    await db.close()


@pytest.fixture
async def chat(db_target: Path | str) -> AsyncIterator[Chat]:
    async with session(db_target, ManualClock(START)) as c:
        yield c


def last_code(chat: Chat) -> str:
    found = CODE.findall(chat.out.getvalue())
    assert found, "no code was sent"
    return str(found[-1][2])


def wrong_code(chat: Chat) -> str:
    return "000000" if last_code(chat) != "000000" else "111111"


async def ready_shop(chat: Chat, balance: str | None = "600", **kwargs: Any) -> None:
    """A shop whose conditions are all met: notice up 31 days, last order closed 91 days ago."""
    await register(chat, **kwargs)
    shop = kwargs.get("shop_id", "S-GB")
    await chat.event(type="closure_notice.posted", event_id=f"n-{shop}", shop_id=shop,
                     occurred_at=LONG_AGO["notice"].isoformat())
    await chat.event(type="order.updated", event_id=f"o-{shop}", shop_id=shop,
                     order_id="O-1", category="apparel", status="closed",
                     occurred_at=LONG_AGO["order"].isoformat())
    if balance is not None:
        currency = "USD" if kwargs.get("market", "GB") != "GB" else "GBP"
        await chat.event(type="payment.confirmed", event_id=f"p-{shop}", shop_id=shop,
                         payment_ref=f"REF-{shop}", amount=balance, currency=currency)


async def verified(chat: Chat) -> str:
    """Steps 1–2 done: the checklist's text."""
    await chat.say("!as 501 en", "/close", "!press Continue")
    return await chat.say(last_code(chat), "Moving to another market")


async def signed(chat: Chat) -> str:
    """Steps 1–5 done: what signing printed."""
    await verified(chat)
    await chat.say("!press Sign agreement")
    return await chat.say("!press I agree and sign")


async def submitted(chat: Chat) -> str:
    """The refund confirmed to the entity's corporate bank account."""
    await signed(chat)
    await chat.say("Acme Trading Ltd", "ICBC 6222 0000 1111")
    return await chat.say("!press Confirm refund")


async def refund_id(chat: Chat, shop_id: str = "S-GB") -> str:
    d = chat.box.deps
    view = await closure_view(d.uow(), shop_id, d.clock.now(), d.policy)
    assert view is not None and view.closure.refund_withdrawal_id is not None
    return view.closure.refund_withdrawal_id


async def test_the_whole_closure_ends_with_a_closed_shop_once_the_refund_is_paid(
        chat: Chat) -> None:
    await ready_shop(chat)

    intro = await chat.say("!as 501 en", "/close")
    identity = await chat.say("!press Continue")
    reason = await chat.say(last_code(chat))
    checklist = await chat.say("Moving to another market")
    agreement = await chat.say("!press Sign agreement")
    signing = await chat.say("!press I agree and sign")
    await chat.say("Acme Trading Ltd")
    summary = await chat.say("ICBC 6222 0000 1111")
    done = await chat.say("!press Confirm refund")
    paid = await chat.event(type="withdrawal.paid", event_id="wp1", shop_id="S-GB",
                            withdrawal_id=await refund_id(chat))
    after = await chat.say("/close")

    assert "Cautions" in intro and "[Continue] [Cancel]" in intro
    assert "code> verification code for shop S-GB (user 501)" in identity
    assert "Registered entity: Acme Trading Ltd" in identity
    assert "Market: United Kingdom (deposit in GBP)" in identity
    assert "why you are closing" in reason
    assert "Identity confirmed." in checklist and checklist.count("✅") == 6
    assert "[Sign agreement]" in checklist
    assert "the whole balance, £600.00" in agreement
    assert "Agreement signed by User 501 (Telegram ID 501) at Nov 21, 2026 10:00" in signing
    assert "The £20.00 minimum of normal withdrawals does not apply" in signing
    assert "Your company can receive it to: Corporate bank account." in signing
    assert "Amount: £600.00" in summary and "Paid out in: CNY" in summary
    assert "Full refund" in done and "submitted" in done
    assert "Expected between Nov 25, 2026 and Nov 27, 2026" in done
    assert "has been paid out" in paid
    assert "is closed" in after and "Closed on Nov 21, 2026" in after
    assert "from May 21, 2027: send /reopen then" in after


async def test_unmet_conditions_show_what_is_missing_and_the_date_each_will_be_met(
        chat: Chat) -> None:
    await register(chat)
    await chat.event(type="closure_notice.posted", event_id="n1", shop_id="S-GB",
                     occurred_at=(START - timedelta(days=10)).isoformat())
    await chat.event(type="order.updated", event_id="o1", shop_id="S-GB", order_id="O-1",
                     category="apparel", status="closed",
                     occurred_at=(START - timedelta(days=50)).isoformat())
    await chat.event(type="marketing.changed", event_id="m1", shop_id="S-GB",
                     active_campaigns=2)
    await chat.event(type="creators.changed", event_id="c1", shop_id="S-GB", bound_creators=1)

    checklist = await verified(chat)
    await chat.event(type="order.updated", event_id="o2", shop_id="S-GB", order_id="O-2",
                     category="apparel", status="open")
    refreshed = await chat.say("!press Refresh checklist")

    assert "⏳ All marketing activities stopped — 2 campaigns still active" in checklist
    assert "⏳ All creator accounts unbound — 1 creator still bound" in checklist
    assert ("⏳ Closure announcement on the shop's home page for 30 days — met on "
            "Dec 11, 2026") in checklist
    assert ("⏳ Every order completed or closed, the latest at least 90 days ago — met on "
            "Dec 31, 2026") in checklist
    assert "✅ No affiliate commission owed" in checklist
    assert "[Sign agreement]" not in checklist
    assert "Not every condition is met yet" in checklist
    assert "— 1 order still open" in refreshed


async def test_a_closure_notice_not_yet_posted_is_named_as_such(chat: Chat) -> None:
    await register(chat)

    checklist = await verified(chat)

    assert "⏳ Closure announcement on the shop's home page for 30 days — not posted yet" in (
        checklist)


async def test_arrears_the_balance_covers_are_deducted_on_day_ten_then_the_seller_signs(
        chat: Chat) -> None:
    await ready_shop(chat)
    await chat.event(type="arrears.updated", event_id="a1", shop_id="S-GB", kind="commission",
                     amount="100", currency="GBP")

    checklist = await verified(chat)
    offset = await chat.say("!clock +10d")
    refreshed = await chat.say("!press Refresh checklist")
    signing = await chat.say("!press Sign agreement", "!press I agree and sign")

    assert "Arrears owed: £100.00 (affiliate commission £100.00)" in checklist
    assert "⏳ No affiliate commission owed — £100.00 owed" in checklist
    assert ("Balance at least the arrears: they are deducted from the deposit on "
            "Dec 1, 2026") in checklist
    assert ("Balance below the arrears: top up to at least £100.00 before Dec 1, 2026 10:00 "
            "(UTC+08:00)") in checklist
    assert "Your balance, £600.00, covers the arrears now." in checklist
    assert "[Sign agreement]" not in checklist
    assert "arrears of £100.00 were deducted" in offset
    assert "Balance: £500.00" in refreshed and "[Sign agreement]" in refreshed
    assert "Amount: £500.00, the whole balance" in signing


async def test_arrears_above_the_balance_take_the_whole_deposit_and_fail_the_closure(
        chat: Chat) -> None:
    await ready_shop(chat, balance="500")
    await chat.event(type="arrears.updated", event_id="a1", shop_id="S-GB", kind="commission",
                     amount="800", currency="GBP")

    checklist = await verified(chat)
    failed = await chat.say("!clock +10d")
    resumed = await chat.say("/close")
    top_up = await chat.event(type="payment.confirmed", event_id="p2", shop_id="S-GB",
                              payment_ref="REF-2", amount="100", currency="GBP")

    assert "Your balance, £500.00, does not cover the arrears now." in checklist
    assert ("Balance below the arrears: top up at least £300.00 before Dec 1, 2026 10:00 "
            "(UTC+08:00); otherwise the whole deposit is deducted, the closure fails") in (
        checklist)
    assert "the whole deposit was deducted and the closure failed" in failed
    assert "Your last closing application failed." in resumed
    assert "Arrears still owed: £300.00. Every top-up pays them first." in resumed
    assert "[Start a new application]" in resumed
    assert "£100.00" in top_up


async def test_a_wrong_code_says_how_many_attempts_are_left_and_the_right_one_then_works(
        chat: Chat) -> None:
    await ready_shop(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")

    refused = await chat.say(wrong_code(chat))
    accepted = await chat.say(last_code(chat), "Moving to another market")

    assert "That code is not right. 4 attempts left." in refused
    assert "Send the code again." in refused and "[Send a new code]" in refused
    assert "Identity confirmed." in accepted and "Closing conditions" in accepted


async def test_an_expired_code_is_refused_and_a_new_one_can_be_sent(chat: Chat) -> None:
    await ready_shop(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")
    first = last_code(chat)

    expired = await chat.say("!clock +11m", first)
    resent = await chat.say("!press Send a new code")
    accepted = await chat.say(last_code(chat), "Moving to another market")

    assert "The verification code expired or was tried too often" in expired
    assert "[Send a new code]" in expired
    assert "code> verification code for shop S-GB (user 501)" in resent
    assert "Identity confirmed." in accepted


async def test_cancel_before_signing_withdraws_the_application(chat: Chat) -> None:
    await ready_shop(chat)
    await verified(chat)

    cancelled = await chat.say("/cancel")
    again = await chat.say("/close")
    by_button = await chat.say("!press Cancel")

    assert "Closing cancelled. Your shop stays open" in cancelled
    assert "There is nothing to cancel" not in cancelled
    assert "Step 1 · Close the shop" in again
    assert "Closing cancelled." in by_button


async def test_cancel_at_the_code_step_ends_the_application(chat: Chat) -> None:
    await ready_shop(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")

    cancelled = await chat.say("!press Cancel closing")
    code_now = await chat.say(last_code(chat))

    assert "Closing cancelled." in cancelled
    assert "Identity confirmed" not in code_now


async def test_after_signing_cancel_explains_the_refund_continues(chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)

    refused = await chat.say("/cancel")
    still = await chat.say("Acme Trading Ltd")

    assert "You signed the closure agreement, so closing can no longer be cancelled" in refused
    assert "Send the bank name and account number" in still


async def test_close_sent_again_resumes_at_the_step_reached(chat: Chat) -> None:
    await ready_shop(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")
    codes_sent = len(CODE.findall(chat.out.getvalue()))

    at_code = await chat.say("/balance", "/close")
    at_reason = await chat.say(last_code(chat), "/close")
    at_checklist = await chat.say("Moving to another market", "/close")
    await chat.say("!press Sign agreement", "!press I agree and sign")
    at_name = await chat.say("/close")
    at_account = await chat.say("Acme Trading Ltd", "/close")
    at_confirm = await chat.say("ICBC 6222 0000 1111", "/close")

    assert "Send it here before Nov 21, 2026 10:10" in at_code
    assert len(CODE.findall(chat.out.getvalue())) == codes_sent
    assert at_reason.endswith("why you are closing the shop.\n")
    assert at_checklist.count("Closing conditions") == 2
    assert "Send the account holder's name" in at_name
    assert at_account.count("Send the bank name and account number") == 2
    assert at_confirm.count("[Confirm refund]") == 2


async def test_the_flow_resumes_after_the_bot_restarts(db_target: Path | str) -> None:
    clock = ManualClock(START)
    async with session(db_target, clock) as first:
        await ready_shop(first)
        await first.say("!as 501 en", "/close", "!press Continue")
        code = last_code(first)

    async with session(db_target, clock) as second:
        out = await second.say("!as 501 en", code, "Moving to another market")

    assert "Identity confirmed." in out


async def test_an_account_holder_other_than_the_entity_is_refused(chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)

    refused = await chat.say("Someone Else Ltd")
    accepted = await chat.say("ACME trading ltd.")

    assert "The account holder must be your registered entity “Acme Trading Ltd”" in refused
    assert "Send the bank name and account number" in accepted


async def test_a_double_tap_on_confirm_submits_the_refund_once(chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)
    await chat.say("Acme Trading Ltd", "ICBC 6222 0000 1111")

    first = await chat.say("!press Confirm refund")
    second = await chat.say("!press Confirm refund")

    uow = chat.box.deps.uow()
    async with uow:
        live = await uow.withdrawals.live("S-GB")
    assert "submitted" in first
    assert "already submitted or ended; nothing more was done" in second
    assert [w.amount.amount for w in live] == [600]


async def test_change_account_asks_for_the_account_again_and_keeps_one_hold(
        chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)
    await chat.say("Acme Trading Ltd", "ICBC 6222 0000 1111")

    again = await chat.say("!press Change account")
    summary = await chat.say("Acme Trading Ltd", "ICBC 6222 0000 9999")

    uow = chat.box.deps.uow()
    async with uow:
        live = await uow.withdrawals.live("S-GB")
    assert "Send the account holder's name" in again
    assert "To: Corporate bank account, Acme Trading Ltd, ICBC 6222 0000 9999" in summary
    assert len(live) == 1


async def test_a_hold_that_ran_out_is_placed_again_before_anything_is_submitted(
        chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)
    await chat.say("Acme Trading Ltd", "ICBC 6222 0000 1111")

    late = await chat.say("!clock +2h", "!press Confirm refund")
    done = await chat.say("!press Confirm refund")

    assert "The 2-hour hold ran out before you confirmed, so nothing was submitted" in late
    assert "held until Nov 21, 2026 14:00" in late
    assert "submitted" in done


async def test_confirming_at_the_end_of_the_hold_submits_nothing_and_holds_again(
        chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)
    await chat.say("Acme Trading Ltd", "ICBC 6222 0000 1111")
    chat.box.clock.advance_to(START + timedelta(hours=2))  # the release job has not run yet

    late = await chat.say("!press Confirm refund")

    assert "The 2-hour hold ran out before you confirmed, so nothing was submitted" in late
    assert "[Confirm refund]" in late


async def test_a_zero_balance_closes_the_shop_at_signing(chat: Chat) -> None:
    await ready_shop(chat, balance=None)

    out = await signed(chat)

    assert "There is no balance to refund, so the shop is closed now." in out
    assert "from May 21, 2027" in out


async def test_a_hong_kong_company_may_take_the_refund_by_paypal_in_dollars(chat: Chat) -> None:
    await ready_shop(chat, shop_id="S-US", market="US", region="HK", rep="OTHER",
                     name="Pearl Gadgets Ltd")

    choice = await signed(chat)
    await chat.say("!press PayPal account", "Pearl Gadgets Ltd")
    summary = await chat.say("pay@pearl.example")

    assert "Amount: $600.00, the whole balance" in choice
    assert "[PayPal account]\n[Corporate bank account]" in choice
    assert "To: PayPal account, Pearl Gadgets Ltd, pay@pearl.example" in summary
    assert "Paid out in: USD" in summary


async def test_reopen_is_refused_before_six_months_and_allowed_after(chat: Chat) -> None:
    await ready_shop(chat)
    await submitted(chat)
    await chat.event(type="withdrawal.paid", event_id="wp1", shop_id="S-GB",
                     withdrawal_id=await refund_id(chat))

    early = await chat.say("!clock +90d", "/reopen")
    late = await chat.say("!clock 2027-05-21T10:00+08:00", "/reopen")
    fresh = await chat.say("/close")

    assert "6 months after closing: from May 21, 2027" in early
    assert "is open again with your original account" in late
    assert "Step 1 · Close the shop" in fresh


async def test_reopen_on_an_open_shop_says_it_is_not_closed(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501 en", "/reopen")

    assert "This shop is not closed." in out


async def test_buttons_carry_a_shop_token_not_the_shop_id_and_stay_within_64_bytes(
        chat: Chat) -> None:
    await ready_shop(chat)

    await verified(chat)

    data = [b["callback_data"] for p in chat.calls("sendMessage") if p.get("reply_markup")
            for row in p["reply_markup"]["inline_keyboard"] for b in row
            if b["callback_data"].startswith("cl:")]
    assert data and all(d.endswith(":" + shop_token("S-GB")) for d in data)
    assert all("S-GB" not in d and len(d.encode()) <= 64 for d in data)


async def test_a_button_for_another_shop_is_refused(chat: Chat) -> None:
    await ready_shop(chat)
    await register(chat, shop_id="S-OTHER", user=777, name="Secret Rival Ltd")
    await verified(chat)
    shown = chat.box.shown[-1]

    await chat.box._callback(shown, f"cl:sign:{shop_token('S-OTHER')}")
    out = await chat.say("!echo done")

    assert chat.calls("answerCallbackQuery")[-1].get("text") == "That button is no longer valid."
    assert "Closure agreement" not in out and "Secret Rival" not in out


async def test_someone_without_a_shop_is_told_how_to_get_linked(chat: Chat) -> None:
    out = await chat.say("!as 42 en", "/close")

    assert "No shop is linked to your Telegram account" in out


async def test_account_text_is_escaped_in_html(chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)

    await chat.say("Acme Trading Ltd", "<b>ICBC</b> & co 6222 0000")

    text = chat.calls("sendMessage")[-1]["text"]
    assert "&lt;b&gt;ICBC&lt;/b&gt; &amp; co 6222 0000" in text


async def test_a_button_from_an_earlier_step_points_back_to_close(chat: Chat) -> None:
    await ready_shop(chat)
    await verified(chat)

    out = await chat.say("!press Continue")

    assert "That step is over. Send /close to continue where you are." in out
    assert "code>" not in out


async def test_the_balance_card_says_the_shop_is_closing_once_the_agreement_is_signed(
        chat: Chat) -> None:
    await ready_shop(chat)
    await signed(chat)

    out = await chat.say("/balance")

    assert "Closing: the closure agreement is signed" in out


READY = "Every closing condition is now met."


async def test_the_seller_is_told_once_when_the_last_condition_is_met(chat: Chat) -> None:
    await ready_shop(chat)
    await chat.event(type="marketing.changed", event_id="m1", shop_id="S-GB",
                     active_campaigns=1)
    checklist = await verified(chat)

    met = await chat.event(type="marketing.changed", event_id="m2", shop_id="S-GB",
                           active_campaigns=0)
    later = await chat.say("!run-jobs", "!clock +1d")

    assert READY not in checklist
    assert met.count(READY) == 1
    assert READY not in later


async def test_a_time_based_condition_met_later_is_pushed_by_the_jobs(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="closure_notice.posted", event_id="n1", shop_id="S-GB",
                     occurred_at=(START - timedelta(days=25)).isoformat())
    await chat.event(type="order.updated", event_id="o1", shop_id="S-GB", order_id="O-1",
                     category="apparel", status="closed",
                     occurred_at=(START - timedelta(days=100)).isoformat())
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="R1", amount="600", currency="GBP")
    await verified(chat)

    early = await chat.say("!clock +4d")
    day5 = await chat.say("!clock +1d")

    assert READY not in early
    assert day5.count(READY) == 1


async def test_no_ready_push_when_the_checklist_is_complete_at_verification(
        chat: Chat) -> None:
    await ready_shop(chat)

    checklist = await verified(chat)
    later = await chat.say("!run-jobs", "!clock +1d")

    assert "[Sign agreement]" in checklist
    assert READY not in checklist + later


async def test_a_wrong_code_is_refused_when_typed_and_the_reason_is_asked_only_after_a_right_one(
        chat: Chat) -> None:
    await ready_shop(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")

    refused = await chat.say(wrong_code(chat))
    accepted = await chat.say(last_code(chat))

    assert "That code is not right. 4 attempts left." in refused
    assert "why you are closing" not in refused and "Thank you" not in refused
    assert "The code is right" in accepted and "why you are closing" in accepted


async def test_a_right_code_typed_late_leaves_time_to_give_the_reason(chat: Chat) -> None:
    await ready_shop(chat)
    await chat.say("!as 501 en", "/close", "!press Continue")

    await chat.say("!clock +9m", last_code(chat))
    out = await chat.say("!clock +5m", "Moving to another market")

    assert "Identity confirmed." in out
