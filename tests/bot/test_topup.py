"""/topup through the real Application: quote, methods per company, references, re-quotes."""

from __future__ import annotations

from tests.bot.conftest import Chat, register


async def rates(chat: Chat, gbp_cny: str = "8.01") -> None:
    for number, (base, quote, rate) in enumerate([("GBP", "CNY", gbp_cny), ("USD", "HKD", "7.8"),
                                                  ("USD", "CNY", "7.2")]):
        await chat.event(type="fx.rate", event_id=f"fx{number}-{rate}", base=base, quote=quote,
                         rate=rate)


async def test_the_quote_follows_the_seed_example(chat: Chat) -> None:
    await register(chat)
    await rates(chat)

    out = await chat.say("!as 501 en", "/topup", "100")

    assert "Deposit credited: £100.00" in out
    assert "Technical service fee (1%): £1.00" in out
    assert "Exchange rate: 1 GBP = 8.01 CNY" in out
    assert "You pay: CN¥809.01 = (100.00 + 1.00) × 8.01" in out
    assert "Valid until Nov 21, 2026 10:15 (UTC+08:00)" in out


async def test_amounts_are_read_as_people_type_them(chat: Chat) -> None:
    await register(chat)
    await rates(chat)

    outs = [await chat.say("!as 501 en", f"/topup {text}") for text in
            ("£100", "100 GBP", "100英镑", "１００")]

    assert all("Deposit credited: £100.00" in out for out in outs)


async def test_a_wrong_amount_is_explained_and_asked_again(chat: Chat) -> None:
    await register(chat)
    await rates(chat)

    out = await chat.say("!as 501 en", "/topup", "a lot", "100 USD", "0", "12.345",
                         "2000000", "250")

    assert "That is not an amount I can read" in out
    assert "This shop's deposit is in GBP" in out
    assert "The amount must be more than zero." in out
    assert "Use at most two decimal places" in out
    assert "A single top-up can be at most £1,000,000.00" in out
    assert "Deposit credited: £250.00" in out


async def test_a_mainland_company_with_a_foreign_legal_rep_sees_only_corporate_channels(
        chat: Chat) -> None:
    await register(chat, rep="OTHER")
    await rates(chat)

    await chat.say("!as 501 en", "/topup 100")
    rows = chat.box.shown[-1].keyboard

    assert [b["text"] for row in rows for b in row] == [
        "Corporate online banking", "Payoneer", "Cancel"]


async def test_a_hong_kong_company_pays_in_hkd_with_its_methods(chat: Chat) -> None:
    await register(chat, region="HK", market="US", shop_id="S-US")
    await rates(chat)

    out = await chat.say("!as 501 en", "/topup 100")
    labels = [b["text"] for row in chat.box.shown[-1].keyboard for b in row]

    assert "You pay: HK$787.80" in out
    assert labels == ["PayPal", "Debit card", "Payoneer", "Cancel"]


async def test_an_online_method_gives_a_reference_and_the_top_up_shows_as_pending(
        chat: Chat) -> None:
    await register(chat)
    await rates(chat)

    out = await chat.say("!as 501 en", "/topup 100", "!press Payoneer")
    ref = out.split("Payment reference: ")[1].split()[0]
    card = await chat.say("/balance")
    await chat.event(type="payment.confirmed", event_id="pay1", shop_id="S-GB",
                     payment_ref=ref, amount="100", currency="GBP")
    after = await chat.say("/balance")

    assert f"Top-up £100.00 pending (reference {ref})" in card
    assert "Balance: £100.00" in after and "pending" not in after


async def test_the_bank_transfer_gives_a_recharge_code_payee_memo_and_window(chat: Chat) -> None:
    await register(chat)
    await rates(chat)

    out = await chat.say("!as 501 en", "/topup 100",
                         "!press Offline bank transfer (recharge code)")

    assert "Recharge code: RC" in out
    assert "Payee: Deposit Desk Platform Collections Ltd" in out
    assert "in the transfer memo (附言)" in out
    assert "Money arrives in 1–7 business days (between Nov 23, 2026 and Dec 1, 2026)" in out


async def test_an_expired_quote_is_quoted_again_with_the_reason(chat: Chat) -> None:
    await register(chat)
    await rates(chat)
    await chat.say("!as 501 en", "/topup 100")

    await chat.say("!clock +16m")
    await rates(chat, gbp_cny="8.10")
    out = await chat.say("!press Payoneer")

    assert "expired, so this is a new one at the current rate" in out
    assert "you pay CN¥818.10 instead of CN¥809.01 (rate 8.10 instead of 8.01)" in out
    assert "Payment reference" not in out


async def test_cancel_ends_the_flow_and_charges_nothing(chat: Chat) -> None:
    await register(chat)
    await rates(chat)

    out = await chat.say("!as 501 en", "/topup", "/cancel", "100")

    assert "Top-up cancelled. Nothing was charged." in out
    assert "Deposit credited" not in out


async def test_a_missing_rate_is_explained(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501 en", "/topup 100")

    assert "No exchange rate GBP/CNY is available right now" in out


async def test_each_payment_method_says_who_may_pay(chat: Chat) -> None:
    await register(chat)
    await rates(chat)

    quote = await chat.say("!as 501 en", "/topup 100")
    alipay = await chat.say("!press Personal Alipay")
    await chat.say("/topup 100")
    corporate = await chat.say("!press Corporate online banking")

    assert "the payer must be “Acme Trading Ltd”" not in quote
    assert "Personal online banking, Personal Alipay: the legal representative" in quote
    assert "Corporate online banking, Offline bank transfer (recharge code): " \
           "“Acme Trading Ltd”" in quote
    assert "Paying account holder: the legal representative named on the business " \
           "licence of “Acme Trading Ltd”" in alipay
    assert "Paying account holder: Acme Trading Ltd" in corporate


async def test_a_re_quote_at_an_unchanged_rate_does_not_compare_a_figure_with_itself(
        chat: Chat) -> None:
    await register(chat)
    await rates(chat)
    await chat.say("!as 501 en", "/topup 100")

    out = await chat.say("!clock +16m", "!press Payoneer")

    assert "instead of CN¥809.01" not in out
    assert "The rate has not changed: you still pay CN¥809.01 (rate 8.01)" in out
