"""/history through the real Application: entries, paging, filters, CSV, chart, refusals."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest

from bot.handlers.common import shop_token
from domain.model import Destination
from domain.services import confirm_withdrawal, start_withdrawal
from tests.bot.conftest import Chat, register

ENTITY = "Acme Trading Ltd"


@pytest.fixture
def hchat(chat: Chat) -> Chat:
    """The chat; /history is registered by bot/app.py like every other command."""
    return chat


async def top_up(chat: Chat, ref: str, amount: str, shop_id: str = "S-GB") -> None:
    out = await chat.event(type="payment.confirmed", event_id=f"e-{ref}", shop_id=shop_id,
                           payment_ref=ref, amount=amount, currency="GBP",
                           occurred_at=chat.box.clock.now().isoformat())  # entries date by it
    assert ": applied" in out, out


async def deduct(chat: Chat, ref: str, amount: str, reason: str = "fraud",
                 note: str = "") -> None:
    out = await chat.event(type="deduction.posted", event_id=f"e-{ref}", shop_id="S-GB",
                           deduction_id=ref, amount=amount, currency="GBP", reason=reason,
                           note=note, occurred_at=chat.box.clock.now().isoformat())
    assert ": applied" in out, out


async def pay_out(chat: Chat, amount: str) -> str:
    """A withdrawal held, confirmed and paid: the payout entry."""
    d = chat.box.deps
    w = await start_withdrawal(d.uow(), "S-GB", Decimal(amount), d.clock.now(), d.policy)
    bank = Destination("corporate_bank", ENTITY, "6222 0000 1111 2222")
    await confirm_withdrawal(d.uow(), "S-GB", w.withdrawal_id, bank, d.clock.now(), d.policy)
    out = await chat.event(type="withdrawal.paid", event_id=f"e-{w.withdrawal_id}",
                           shop_id="S-GB", withdrawal_id=w.withdrawal_id,
                           occurred_at=d.clock.now().isoformat())
    assert ": applied" in out, out
    return w.withdrawal_id


def last_upload(chat: Chat, method: str, key: str) -> tuple[str, bytes]:
    return next(c.files[key] for c in reversed(chat.box.request.calls) if c.method == method)


def statement(chat: Chat) -> list[dict[str, str]]:
    _, raw = last_upload(chat, "sendDocument", "document")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def all_callback_data(chat: Chat) -> list[str]:
    return [b["callback_data"] for method in ("sendMessage", "editMessageText")
            for p in chat.calls(method) if p.get("reply_markup")
            for row in p["reply_markup"]["inline_keyboard"] for b in row]


async def test_history_lists_each_entry_with_its_kind_reason_amount_and_balance_after(
        hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "1000")
    await deduct(hchat, "DED-1", "150.50", "consumer_compensation", "Empty parcel on O-9")
    await pay_out(hchat, "300")

    out = await hchat.say("!as 501 en", "/history")

    assert "Acme Trading Ltd · United Kingdom shop (S-GB)" in out
    assert "Deposit history · All · All time" in out
    assert "3 entries · newest first" in out
    assert "Nov 21, 2026 10:00 (UTC+08:00) · Top-up\n  +£1,000.00 · balance after £1,000.00 · " \
           "ref REF-1" in out
    assert ("Deduction: compensation to consumers for the shop's faults\n"
            "  -£150.50 · balance after £849.50 · ref DED-1\n"
            "  Note: Empty parcel on O-9") in out
    assert "Payout of a withdrawal\n  -£300.00 · balance after £549.50 · ref W-" in out
    assert out.index("Payout") < out.index("Deduction") < out.index("Top-up")
    assert "[• All] [Top-ups] [Deductions] [Payouts]" in out
    assert "[30 days] [90 days] [• All time]" in out
    assert "[CSV statement] [Chart]" in out
    assert "Older" not in out and "Newer" not in out


async def test_arrears_movements_show_what_is_owed_and_leave_the_balance_unchanged(
        hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "100")
    await deduct(hchat, "DED-1", "250", "platform_advance", "Shipping fees")
    await top_up(hchat, "REF-2", "400")

    out = await hchat.say("!as 501 en", "/history")

    assert "Deduction: losses or advances the platform covered (e.g. shipping fees)\n" \
           "  -£100.00 · balance after £0.00 · ref DED-1" in out
    assert "Deduction the balance did not cover, owed as arrears: losses or advances the " \
           "platform covered (e.g. shipping fees)\n  arrears owed +£150.00 · balance " \
           "unchanged at £0.00 · ref DED-1" in out
    assert "Arrears paid by a top-up\n  arrears owed -£150.00 · balance unchanged at £0.00 · " \
           "ref REF-2" in out
    assert "Top-up\n  +£250.00 · balance after £250.00 · ref REF-2" in out


async def test_references_and_notes_are_escaped_in_html(hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "<b>R&1</b>", "100")
    await deduct(hchat, "D<1>", "10", "fraud", "<script>x</script> & more")

    await hchat.say("!as 501 en", "/history")

    text = hchat.calls("sendMessage")[-1]["text"]
    assert "ref &lt;b&gt;R&amp;1&lt;/b&gt;" in text
    assert "ref D&lt;1&gt;" in text
    assert "Note: &lt;script&gt;x&lt;/script&gt; &amp; more" in text
    assert "<script>" not in text


async def test_more_than_ten_entries_page_by_editing_the_same_message(hchat: Chat) -> None:
    await register(hchat)
    for n in range(1, 24):
        await top_up(hchat, f"REF-{n:02d}", "10")

    first = await hchat.say("!as 501 en", "/history")
    second = await hchat.say("!press Older ▶")
    third = await hchat.say("!press Older ▶")
    back = await hchat.say("!press ◀ Newer")

    assert "23 entries · showing 1–10, newest first" in first
    assert "REF-23" in first and "REF-14" in first and "REF-13" not in first
    assert "[Older ▶]" in first and "Newer" not in first
    assert "showing 11–20" in second and "REF-13" in second and "REF-04" in second
    assert "[◀ Newer] [Older ▶]" in second
    assert "showing 21–23" in third and "REF-01" in third and "REF-04" not in third
    assert "[◀ Newer]" in third and "Older" not in third
    assert "balance after £10.00 · ref REF-01" in third
    assert "showing 11–20" in back
    assert len(hchat.calls("editMessageText")) == 3
    assert len([p for p in hchat.calls("sendMessage") if "Deposit history" in p["text"]]) == 1


async def test_the_kind_filter_keeps_only_top_ups_deductions_or_payouts(hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "900")
    await deduct(hchat, "DED-1", "50")
    withdrawal_id = await pay_out(hchat, "100")
    await hchat.say("!as 501 en", "/history")

    top_ups = await hchat.say("!press Top-ups")
    deductions = await hchat.say("!press Deductions")
    payouts = await hchat.say("!press Payouts")
    everything = await hchat.say("!press All")

    assert "REF-1" in top_ups and "DED-1" not in top_ups and withdrawal_id not in top_ups
    assert "Deposit history · Top-ups · All time" in top_ups and "[• Top-ups]" in top_ups
    assert "DED-1" in deductions and "REF-1" not in deductions
    assert withdrawal_id in payouts and "REF-1" not in payouts and "DED-1" not in payouts
    assert "balance after £750.00" in payouts
    assert "3 entries" in everything


async def test_the_period_filter_counts_back_from_the_sandbox_clock(hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "OLD-1", "100")
    await hchat.say("!clock +60d")
    await top_up(hchat, "MID-1", "100")
    await hchat.say("!clock +40d")
    await top_up(hchat, "NEW-1", "100")
    await hchat.say("!as 501 en", "/history")

    last_30 = await hchat.say("!press 30 days")
    last_90 = await hchat.say("!press 90 days")
    all_time = await hchat.say("!press All time")

    assert "NEW-1" in last_30 and "MID-1" not in last_30 and "OLD-1" not in last_30
    assert "balance after £300.00 · ref NEW-1" in last_30
    assert "NEW-1" in last_90 and "MID-1" in last_90 and "OLD-1" not in last_90
    assert "balance after £200.00 · ref MID-1" in last_90
    assert "OLD-1" in all_time and "3 entries" in all_time


async def test_a_filter_with_nothing_in_it_says_so_and_keeps_the_buttons(hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "100")
    await hchat.say("!as 501 en", "/history")

    out = await hchat.say("!press Payouts")

    assert "No entries match this filter and period." in out
    assert "[• Payouts]" in out and "[CSV statement] [Chart]" in out


async def test_the_csv_statement_has_every_entry_of_the_filter_with_a_bom(hchat: Chat) -> None:
    await register(hchat)
    for n in range(1, 13):
        await top_up(hchat, f"REF-{n:02d}", "10")
    await deduct(hchat, "DED-1", "5.25", "off_platform", "=HYPERLINK(\"x\")")
    await hchat.say("!as 501 en", "/history")

    out = await hchat.say("!press CSV statement")
    name, raw = last_upload(hchat, "sendDocument", "document")
    rows = statement(hchat)

    assert name == "deposit-S-GB-20261121.csv"
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "[document: deposit-S-GB-20261121.csv]" in out
    assert "Deposit statement: 13 entries (All · All time)." in out
    assert list(rows[0]) == ["Time", "Entry", "Balance change", "Balance after",
                             "Arrears owed change", "Currency", "Reference", "Note"]
    assert len(rows) == 13
    assert rows[0] == {"Time": "2026-11-21T10:00:00+08:00", "Entry": "Top-up",
                       "Balance change": "10.00", "Balance after": "10.00",
                       "Arrears owed change": "", "Currency": "GBP",
                       "Reference": "REF-01", "Note": ""}
    assert rows[-1]["Entry"] == "Deduction: an off-platform trade with written evidence"
    assert (rows[-1]["Balance change"], rows[-1]["Balance after"]) == ("-5.25", "114.75")
    assert rows[-1]["Note"] == "'=HYPERLINK(\"x\")"


async def test_the_csv_statement_follows_the_selected_filter(hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "100")
    await deduct(hchat, "DED-1", "40")
    await hchat.say("!as 501 en", "/history", "!press Deductions")

    out = await hchat.say("!press CSV statement")

    assert "Deposit statement: 1 entry (Deductions · All time)." in out
    assert [r["Reference"] for r in statement(hchat)] == ["DED-1"]


async def test_times_follow_the_shops_timezone(hchat: Chat) -> None:
    await hchat.event(type="shop.registered", event_id="reg-L", shop_id="S-GB",
                      entity_name=ENTITY, market="GB", company_region="HK",
                      legal_rep_id_region="OTHER", scope_categories=["apparel"],
                      timezone="Europe/London")
    await hchat.event(type="shop.member_added", event_id="mem-L", shop_id="S-GB",
                      telegram_user_id=501, role="owner")
    await top_up(hchat, "REF-1", "100")

    out = await hchat.say("!as 501 en", "/history", "!press CSV statement")

    assert "Nov 21, 2026 02:00 (UTC+00:00) · Top-up" in out
    assert statement(hchat)[0]["Time"] == "2026-11-21T02:00:00+00:00"


async def test_the_chart_is_a_png_of_the_balance_against_the_required_amount(
        hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "300")
    await hchat.say("!clock +3d")
    await deduct(hchat, "DED-1", "120")
    await hchat.say("!as 501 en", "/history")

    out = await hchat.say("!press Chart")
    name, png = last_upload(hchat, "sendPhoto", "photo")

    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert name == "deposit-S-GB-20261124.png"
    assert "[photo: deposit-S-GB-20261124.png]" in out
    assert "against the amount required now, £500.00" in out
    assert "Past required amounts are not stored" in out


async def test_an_empty_history_says_nothing_is_recorded_and_how_to_top_up(
        hchat: Chat) -> None:
    await register(hchat)

    out = await hchat.say("!as 501 en", "/history")

    assert "Nothing is recorded for this shop yet" in out
    assert "/topup" in out
    assert "[" not in out
    assert hchat.calls("sendMessage")[-1].get("reply_markup") is None


async def test_a_user_without_a_shop_is_told_how_to_get_linked(hchat: Chat) -> None:
    out = await hchat.say("!as 42 en", "/history")

    assert "No shop is linked to your Telegram account" in out


async def test_forged_or_foreign_history_buttons_reveal_nothing(hchat: Chat) -> None:
    await register(hchat)
    await register(hchat, shop_id="S-OTHER", user=777, name="Secret Rival Ltd")
    await top_up(hchat, "RIVAL-9", "999", shop_id="S-OTHER")
    await top_up(hchat, "REF-1", "100")
    await hchat.say("!as 501 en", "/history")
    shown = hchat.box.shown[-1]
    before = (len(hchat.calls("sendMessage")), len(hchat.calls("editMessageText")),
              len(hchat.calls("sendDocument")), len(hchat.calls("sendPhoto")))
    rival = shop_token("S-OTHER")

    for data in (f"hi:p:{rival}:all:all:0", f"hi:csv:{rival}:all:all:0",
                 f"hi:ch:{rival}:all:all:0", "hi:p:S-OTHER:all:all:0",
                 f"hi:p:{shop_token('S-GB')}:all:forever:0", "hi:drop:tables", "hi:"):
        await hchat.box._callback(shown, data)
    out = await hchat.say("!echo done")

    answers = [a.get("text") for a in hchat.calls("answerCallbackQuery")[-7:]]
    assert answers == ["That button is no longer valid."] * 7
    assert (len(hchat.calls("sendMessage")), len(hchat.calls("editMessageText")),
            len(hchat.calls("sendDocument")), len(hchat.calls("sendPhoto"))) == before
    assert "Secret Rival" not in out and "RIVAL" not in out and "999" not in out


async def test_callback_data_is_short_and_carries_no_shop_id(hchat: Chat) -> None:
    long_id = "TT:GB:" + "x" * 90
    await register(hchat, shop_id=long_id)
    await top_up(hchat, "REF-1", "100", shop_id=long_id)
    for n in range(2, 13):
        await top_up(hchat, f"REF-{n}", "1", shop_id=long_id)

    await hchat.say("!as 501 en", "/history", "!press Older ▶", "!press Deductions")
    data = all_callback_data(hchat)

    assert any(d.startswith("hi:") for d in data)
    assert all(d.startswith(("hi:", "tu:start:")) for d in data)  # pushes carry Top up
    assert all(len(d.encode()) < 64 for d in data)
    assert not any("xxxx" in d or "TT" in d for d in data)


async def test_a_page_past_the_end_shows_the_last_page(hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "100")
    await hchat.say("!as 501 en", "/history")
    shown: Any = hchat.box.shown[-1]

    await hchat.box._callback(shown, f"hi:p:{shop_token('S-GB')}:all:all:99999")
    out = await hchat.say("!echo done")

    assert "REF-1" in out and "1 entry · newest first" in out


async def test_the_chart_copes_with_dollar_signs_and_markup_in_the_entity_name(
        hchat: Chat) -> None:
    await register(hchat, name="$Big$ <Deals> & Co")
    await top_up(hchat, "REF-1", "100")
    await hchat.say("!clock +2d")
    await deduct(hchat, "DED-1", "500")
    await hchat.say("!as 501 en", "/history", "!press 30 days")

    out = await hchat.say("!press Chart")
    _, png = last_upload(hchat, "sendPhoto", "photo")

    assert png.startswith(b"\x89PNG")
    assert "Sorry" not in out


async def test_the_balance_cards_history_button_opens_the_history(hchat: Chat) -> None:
    await register(hchat)
    await top_up(hchat, "REF-1", "100")
    await hchat.say("!as 501 en", "/balance")

    out = await hchat.say("!press History")
    filtered = await hchat.say("!press Top-ups")

    assert "Deposit history · All · All time" in out and "ref REF-1" in out
    assert "Deposit history · Top-ups · All time" in filtered


async def test_long_references_are_shortened_so_a_page_fits_one_message(hchat: Chat) -> None:
    await register(hchat)
    for n in range(10):
        await top_up(hchat, f"{n}-" + "R" * 180, "1")

    await hchat.say("!as 501 en", "/history", "!press CSV statement")

    text = hchat.calls("sendMessage")[-1]["text"]
    assert len(text) < 4096 and "R…" in text
    assert all(len(r["Reference"]) == 182 for r in statement(hchat))
