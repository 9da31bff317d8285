"""Operators' commands move money exactly once, through the §9 event path, and are audited."""

from __future__ import annotations

from decimal import Decimal

from bot.storage.staff import Audit
from tests.bot.conftest import Chat
from tests.bot.staff_chat import (
    AGENT,
    OPERATOR,
    OWNER,
    balance,
    recharge_code,
    staff,
    to_user,
    two_shops,
)

__all__ = ["staff"]


async def outcomes(chat: Chat, command: str) -> list[str]:
    entries = await Audit(chat.box.deps.db).entries()
    return [e.outcome for e in reversed(entries) if e.command == command]


async def code_for_100(chat: Chat) -> str:
    await chat.say(f"!as {OPERATOR} en", "/fx GBP CNY 8.01")
    out = await chat.say(f"!as {OWNER} en", "/topup 100",
                         "!press Offline bank transfer (recharge code)")
    return recharge_code(out)


async def test_credit_confirms_a_bank_transfer_by_its_recharge_code_once(staff: Chat) -> None:
    await two_shops(staff)
    code = await code_for_100(staff)
    before = await balance(staff)

    first = await staff.say(f"!as {OPERATOR} en", f"/credit {code} 100 GBP")
    second = await staff.say(f"/credit {code} 100 GBP")

    assert "Result: applied" in first and "Acme Trading Ltd" in first
    assert "Result: rejected (payment_ref: already credited)" in second
    assert (await balance(staff)).amount - before.amount == Decimal("100")
    assert any("£100.00" in text for text in to_user(staff, OWNER)[-2:])
    audit = await outcomes(staff, "credit")
    assert audit[0].endswith(": applied") and audit[0].startswith("op-")
    assert audit[1].endswith("rejected (payment_ref: already credited)")


async def test_credit_in_the_wrong_currency_is_rejected_and_explained(staff: Chat) -> None:
    await two_shops(staff)
    code = await code_for_100(staff)

    out = await staff.say(f"!as {OPERATOR} zh-hans", f"/credit {code} 100 usd")

    assert "GBP" in out and "currency" in out
    assert (await balance(staff)).amount == Decimal("800")


async def test_credit_with_bad_arguments_shows_how_to_write_it(staff: Chat) -> None:
    await two_shops(staff)

    usage = await staff.say(f"!as {OPERATOR} en", "/credit", "/credit RC1 lots GBP")
    unknown = await staff.say("/credit RCNOPE 100 GBP")

    assert usage.count("Usage: /credit PAYMENT_REF AMOUNT CURRENCY") == 2
    assert "No top-up has the reference or recharge code RCNOPE" in unknown
    assert await outcomes(staff, "credit") == ["usage", "usage", "unknown payment_ref"]


async def test_a_deduction_waits_for_confirm_and_pressing_twice_deducts_once(
        staff: Chat) -> None:
    await two_shops(staff)

    summary = await staff.say(f"!as {OPERATOR} en",
                              "/deduct S-GB 120 consumer_compensation Empty parcel, order 5551")
    untouched = await balance(staff)
    first = await staff.say("!press Confirm deduction")
    second = await staff.say("!press Confirm deduction")

    assert "Deduct 120 GBP from Acme Trading Ltd" in summary and "Balance now: £800.00" in summary
    assert untouched.amount == Decimal("800")
    assert "Result: applied" in first
    assert "That button is no longer valid." in second
    assert (await balance(staff)).amount == Decimal("680")
    assert any("Empty parcel, order 5551" in text for text in to_user(staff, OWNER))
    audit = await outcomes(staff, "deduct-button")
    assert audit[0].endswith(": applied") and audit[1] == "stale button"


async def test_a_cancelled_deduction_deducts_nothing_and_cannot_be_confirmed_later(
        staff: Chat) -> None:
    await two_shops(staff)
    await staff.say(f"!as {OPERATOR} en", "/deduct S-GB 50 fraud coupons")
    button = staff.box.shown[-1]

    out = await staff.say("!press Cancel")
    await staff.box._callback(button, button.keyboard[0][0]["callback_data"])
    staff.box._flush()

    assert "Deduction cancelled; nothing was deducted." in out
    assert (await balance(staff)).amount == Decimal("800")


async def test_a_deduction_button_expires(staff: Chat) -> None:
    await two_shops(staff)
    await staff.say(f"!as {OPERATOR} en", "/deduct S-GB 50 fraud coupons")

    out = await staff.say("!clock +16m", "!press Confirm deduction")

    assert "That button is no longer valid." in out
    assert (await balance(staff)).amount == Decimal("800")


async def test_deduct_arguments_are_checked_before_anything_is_shown(staff: Chat) -> None:
    await two_shops(staff)

    out = await staff.say(f"!as {OPERATOR} en", "/deduct S-GB 10 because", "/deduct S-GB",
                          "/deduct S-NOPE 10 fraud x")

    assert out.count("Usage: /deduct SHOP_ID AMOUNT REASON NOTE") == 2
    assert "There is no shop S-NOPE." in out
    assert "[Confirm deduction]" not in out


async def test_fx_sets_the_rate_and_names_a_wrong_field(staff: Chat) -> None:
    out = await staff.say(f"!as {OPERATOR} en", "/fx gbp cny 8.02", "/fx EUR CNY 8",
                          "/fx GBP CNY eight")

    uow = staff.box.deps.uow()
    async with uow:
        rate = await uow.fx.rate("GBP", "CNY")
    assert rate is not None and rate[0] == Decimal("8.02")
    assert "Rate GBP/CNY = 8.02\n  Result: applied" in out
    assert "Result: rejected (base:" in out
    assert "Usage: /fx BASE QUOTE RATE" in out


async def test_link_issues_a_one_time_deep_link_that_binds_a_new_member(staff: Chat) -> None:
    await two_shops(staff)

    out = await staff.say(f"!as {OPERATOR} en", "/link S-GB staff")
    token = out.split("?start=")[1].split()[0]
    joined = await staff.say("!as 8080 en", f"/start {token}", "/balance")

    assert "https://t.me/deposit_desk_bot?start=" in out
    assert "One-time staff link for Acme Trading Ltd" in out
    assert "Acme Trading Ltd" in joined


async def test_remind_pushes_a_short_shop_and_spares_a_covered_one(staff: Chat) -> None:
    await two_shops(staff)  # S-GB holds £800 of £500; S-US holds nothing

    covered = await staff.say(f"!as {OPERATOR} en", "/remind S-GB")
    short = await staff.say("/remind S-US")

    assert "No reminder sent" in covered
    assert "Reminder sent to the members of Other Co" in short
    assert any("$500.00" in text or "US$500.00" in text for text in to_user(staff, 601))


async def test_grants_and_revokes_change_who_is_staff(staff: Chat) -> None:
    await two_shops(staff)

    before = await staff.say("!as 4242 en", "/lookup S-GB")
    granted = await staff.say(f"!as {OPERATOR} en", "/grant 4242 agent")
    as_agent = await staff.say("!as 4242", "/lookup S-GB", "/fx GBP CNY 9")
    revoked = await staff.say(f"!as {OPERATOR}", "/revoke 4242 agent", "/revoke 4242 agent")
    after = await staff.say("!as 4242", "/lookup S-GB")

    assert "Acme" not in before and "Acme" not in after
    assert "User 4242 is now a support agent." in granted
    assert "Acme Trading Ltd" in as_agent and "Rate GBP/CNY" not in as_agent
    assert "Role revoked for user 4242." in revoked and "has no such grant" in revoked


async def test_a_granted_operator_may_grant_and_a_configured_one_cannot_be_revoked(
        staff: Chat) -> None:
    await staff.say(f"!as {OPERATOR} en", "/grant 77 operator")

    out = await staff.say("!as 77 en", "/grant 78 agent", f"/revoke {OPERATOR} operator",
                          "/grant x agent")

    assert "User 78 is now a support agent." in out
    assert "has that role by configuration" in out
    assert "Usage: /grant USER_ID agent|operator" in out


async def test_agents_may_not_grant(staff: Chat) -> None:
    out = await staff.say(f"!as {AGENT} en", f"/grant {AGENT} operator")

    assert "I don't know that command." in out


async def test_lookup_shows_card_entries_checklist_and_tickets_read_only(staff: Chat) -> None:
    await two_shops(staff)
    await staff.say(f"!as {OWNER} en", "/support Where is my payout?")
    before = await balance(staff)

    out = await staff.say(f"!as {AGENT} en", "/lookup S-GB")

    assert "Balance: £800.00" in out and "Required: £500.00" in out
    assert "Recent entries" in out and "P-SEED" in out
    assert "Closure checklist" in out and "All marketing activities stopped" in out
    assert "#1 · S-GB · seller 501" in out
    assert await balance(staff) == before
    assert await outcomes(staff, "lookup") == ["shown"]


async def test_every_audit_entry_says_who_when_what_and_the_result(staff: Chat) -> None:
    await two_shops(staff)

    await staff.say(f"!as {OPERATOR} en", "/fx GBP CNY 8.01", "!as 501", "/fx GBP CNY 1")

    refused, applied = (await Audit(staff.box.deps.db).entries())[:2]
    assert (refused.user_id, refused.role, refused.command, refused.arguments,
            refused.outcome) == (OWNER, None, "fx", "GBP CNY 1", "refused")
    assert (applied.user_id, applied.role, applied.command, applied.arguments) == (
        OPERATOR, "operator", "fx", "GBP CNY 8.01")
    assert applied.outcome == f"op-{applied.audit_id}: applied"
    assert applied.at == staff.box.clock.now()
