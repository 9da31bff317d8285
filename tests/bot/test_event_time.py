"""Issue #14.6: history, CSV and chart date each entry by when it happened (occurred_at)."""

from __future__ import annotations

import csv
import io

from tests.bot.conftest import Chat, register


async def imported_at_once(chat: Chat) -> None:
    """Three events that happened over two weeks, all applied at the same moment."""
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="REF-1", amount="300", currency="GBP",
                     occurred_at="2026-11-01T09:00:00+08:00")
    await chat.event(type="deduction.posted", event_id="d1", shop_id="S-GB",
                     deduction_id="DED-1", amount="50", currency="GBP", reason="fraud",
                     note="", occurred_at="2026-11-10T09:00:00+08:00")
    await chat.event(type="payment.confirmed", event_id="p2", shop_id="S-GB",
                     payment_ref="REF-2", amount="100", currency="GBP",
                     occurred_at="2026-11-05T09:00:00+08:00")


def statement(chat: Chat) -> list[list[str]]:
    """The CSV's data rows (after the header), whatever the header's language."""
    raw = next(c.files["document"][1] for c in reversed(chat.box.request.calls)
               if c.method == "sendDocument")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1:]


async def test_history_dates_entries_by_when_they_happened_not_when_applied(
        chat: Chat) -> None:
    await imported_at_once(chat)

    out = await chat.say("!as 501 en", "/history")

    assert "Nov 1, 2026 09:00 (UTC+08:00) · Top-up" in out
    assert "Nov 5, 2026 09:00 (UTC+08:00) · Top-up" in out
    assert "Nov 10, 2026 09:00 (UTC+08:00) · Deduction" in out
    assert "Nov 21, 2026" not in out


async def test_entries_run_in_the_order_they_happened_with_their_balances(
        chat: Chat) -> None:
    await imported_at_once(chat)

    out = await chat.say("!as 501 en", "/history")

    newest, middle, oldest = (out.index(ref) for ref in ("DED-1", "REF-2", "REF-1"))
    assert newest < middle < oldest
    assert "balance after £350.00 · ref DED-1" in out
    assert "balance after £400.00 · ref REF-2" in out
    assert "balance after £300.00 · ref REF-1" in out


async def test_the_csv_statement_times_are_when_each_entry_happened(chat: Chat) -> None:
    await imported_at_once(chat)

    await chat.say("!as 501 en", "/history", "!press CSV statement")

    rows = statement(chat)
    assert [r[0] for r in rows] == ["2026-11-01T09:00:00+08:00",
                                         "2026-11-05T09:00:00+08:00",
                                         "2026-11-10T09:00:00+08:00"]


async def test_an_event_dated_in_the_future_is_entered_at_the_time_it_was_applied(
        chat: Chat) -> None:
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="REF-1", amount="300", currency="GBP",
                     occurred_at="2027-01-01T09:00:00+08:00")

    out = await chat.say("!as 501 en", "/history")

    assert "Nov 21, 2026 10:00 (UTC+08:00) · Top-up" in out
