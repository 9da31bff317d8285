"""Pushes through the real Application: reminder stages, silence once paid, and delivery
that survives 403, 429, network errors and restarts (issue #4)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.sandbox.chat import Sandbox
from bot.sandbox.recording import Failure
from bot.storage.db import Database
from domain.policy import TierTable, load_policy
from tests.bot.conftest import START, Chat, register, shop_events

IGNORE = "Already paid? You can ignore this reminder"


def sends_to(chat: Chat, user: int) -> list[dict[str, Any]]:
    """Every sendMessage to one chat, including the refused ones."""
    return [c for c in chat.calls("sendMessage") if int(c["chat_id"]) == user]


async def pay(chat: Chat, ref: str, amount: str, shop_id: str = "S-GB") -> str:
    return await chat.event(type="payment.confirmed", event_id=f"e-{ref}", shop_id=shop_id,
                            payment_ref=ref, amount=amount, currency="GBP")


async def statuses(chat: Chat) -> dict[str, int]:
    db = chat.box.deps.db
    async with db.lock:
        rows = await db.conn.execute_fetchall(
            "SELECT status, count(*) FROM push_deliveries GROUP BY status")
    return {r[0]: r[1] for r in rows}


async def test_a_new_short_shop_gets_the_first_reminder_with_top_up_and_ignore_line(
        chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!run-jobs")

    assert "Your deposit is now short of the required amount." in out
    assert IGNORE in out
    assert "Short by: £500.00" in out
    assert "Acme Trading Ltd · United Kingdom shop (S-GB)" in out
    assert "[Top up]" in out


async def test_the_reminder_is_pushed_once_however_often_the_jobs_run(chat: Chat) -> None:
    await register(chat)

    await chat.say("!run-jobs", "!run-jobs", "!clock +1h", "!clock +2d")

    reminders = [c for c in sends_to(chat, 501) if IGNORE in c["text"]]
    assert len(reminders) == 1


async def test_reminders_repeat_every_three_days_while_short(chat: Chat) -> None:
    await register(chat)
    await chat.say("!run-jobs")

    day2 = await chat.say("!clock +2d")
    day3 = await chat.say("!clock +1d")
    day6 = await chat.say("!clock +3d")

    assert IGNORE not in day2
    assert "Reminder: your deposit is still short" in day3
    assert "Reminder: your deposit is still short" in day6


async def test_thirty_days_short_escalates_to_overdue_once(chat: Chat) -> None:
    await register(chat)
    await pay(chat, "P1", "100")
    await chat.say("!run-jobs", "!clock +29d")

    day30 = await chat.say("!clock +1d")
    again = await chat.say("!run-jobs")

    assert "Overdue: your deposit has been short for 30 days." in day30
    assert "Existing products may be delisted" in day30
    assert day30.count(IGNORE) == 1
    assert IGNORE not in again


async def test_no_reminder_once_the_shortfall_is_covered(chat: Chat) -> None:
    await register(chat)
    await chat.say("!run-jobs")

    await pay(chat, "P1", "500")
    later = await chat.say("!clock +3d", "!clock +30d", "!run-jobs")

    assert IGNORE not in later


async def test_a_reminder_queued_before_payment_is_dropped_when_sent_after_it(
        chat: Chat) -> None:
    await register(chat)
    chat.box.request.fail(501, Failure(429, "Too Many Requests: retry after 60", 60))
    await chat.say("!run-jobs")
    assert (await statuses(chat)).get("pending") == 1

    await pay(chat, "P1", "500")
    out = await chat.say("!clock +2m")

    assert IGNORE not in out
    assert (await statuses(chat)).get("obsolete") == 1


async def test_a_shortfall_after_payment_starts_a_new_series(chat: Chat) -> None:
    await register(chat)
    await pay(chat, "P1", "500")
    await chat.say("!run-jobs")

    await chat.event(type="deduction.posted", event_id="d1", shop_id="S-GB",
                     deduction_id="D1", amount="100", currency="GBP", reason="fraud", note="")
    out = await chat.say("!run-jobs")

    assert "Your deposit is now short of the required amount." in out
    assert "Short by: £100.00" in out


async def test_a_never_paid_shop_is_warned_before_clearing_and_told_when_cleared(
        chat: Chat) -> None:
    await register(chat)
    await chat.say("!run-jobs")

    warning = await chat.say("!clock +23d")
    cleared = await chat.say("!clock +7d")

    assert "If it is still unpaid on Dec 21, 2026, the shop faces clearing" in warning
    assert "never paid its deposit and now faces clearing" in cleared


async def test_every_member_gets_the_reminder_in_their_own_language(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="shop.member_added", event_id="m2", shop_id="S-GB",
                     telegram_user_id=502, role="staff")
    await chat.say("!as 502 zh-hant", "/start", "!as 503 en")

    out = await chat.say("!run-jobs")

    assert "bot@501> Acme Trading Ltd · United Kingdom shop (S-GB)" in out
    assert "bot@502> Acme Trading Ltd · 英國店鋪（S-GB）" in out
    assert "催繳通知" in out
    assert "已繳納？請忽略本提醒" in out


async def test_the_reminders_top_up_button_opens_the_top_up_flow(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "!run-jobs")

    out = await chat.say("!press Top up")

    assert "How much" in out or "amount" in out.lower()


async def test_no_reminders_while_a_closure_past_identity_is_under_way(chat: Chat) -> None:
    from tests.bot.test_close import last_code

    await register(chat)
    await pay(chat, "P1", "500")
    await chat.say("!as 501 en", "/close", "!press Continue")
    await chat.say(last_code(chat), "Moving to another market")
    await chat.event(type="deduction.posted", event_id="d1", shop_id="S-GB",
                     deduction_id="D1", amount="100", currency="GBP", reason="fraud", note="")

    out = await chat.say("!run-jobs", "!clock +3d")

    assert IGNORE not in out


async def test_a_deduction_push_names_reason_amount_balance_and_shortfall(chat: Chat) -> None:
    await register(chat)
    await pay(chat, "P1", "500")

    out = await chat.event(type="deduction.posted", event_id="d1", shop_id="S-GB",
                           deduction_id="D1", amount="120", currency="GBP",
                           reason="consumer_compensation", note="Empty parcels")

    assert "The platform deducted £120.00 from your deposit." in out
    assert "compensation to consumers" in out
    assert "Empty parcels" in out
    assert "New balance: £380.00" in out
    assert "Shortfall: £120.00" in out
    assert "[Top up]" in out


async def test_a_failed_payment_is_pushed_with_its_reason(chat: Chat) -> None:
    await register(chat)

    out = await chat.event(type="payment.failed", event_id="f1", shop_id="S-GB",
                           payment_ref="P9", reason="payer name does not match")

    assert "Payment P9 failed: payer name does not match" in out
    assert "Nothing was credited" in out


async def test_a_blocked_member_is_marked_undeliverable_and_the_other_still_gets_it(
        chat: Chat) -> None:
    await register(chat)
    await chat.event(type="shop.member_added", event_id="m2", shop_id="S-GB",
                     telegram_user_id=502, role="staff")
    chat.box.request.fail(501, Failure(403, "Forbidden: bot was blocked by the user"))

    out = await chat.say("!run-jobs")
    again = await chat.say("!clock +1h")

    assert "bot@502>" in out and IGNORE in out
    assert len(sends_to(chat, 501)) == 1
    assert IGNORE not in again
    assert await statuses(chat) == {"sent": 1, "undeliverable": 1}


async def test_a_flood_wait_delays_the_push_until_retry_after_and_sends_it_once(
        chat: Chat) -> None:
    await register(chat)
    chat.box.request.fail(501, Failure(429, "Too Many Requests: retry after 30", 30))

    first = await chat.say("!run-jobs")
    early = await chat.say("!clock +20s")
    late = await chat.say("!clock +15s")
    after = await chat.say("!run-jobs", "!clock +1h")

    assert IGNORE not in first and IGNORE not in early
    assert late.count(IGNORE) == 1
    assert IGNORE not in after
    assert await statuses(chat) == {"sent": 1}


async def test_a_network_error_is_retried_with_backoff(chat: Chat) -> None:
    await register(chat)
    chat.box.request.fail(501, Failure(502, "Bad Gateway"))
    chat.box.request.fail(501, Failure(502, "Bad Gateway"))

    first = await chat.say("!run-jobs")
    second = await chat.say("!clock +16s")
    third = await chat.say("!clock +31s")

    assert IGNORE not in first and IGNORE not in second
    assert third.count(IGNORE) == 1
    assert await statuses(chat) == {"sent": 1}


async def test_a_push_that_keeps_failing_is_given_up_after_the_last_attempt(
        chat: Chat) -> None:
    await register(chat)
    for _ in range(20):
        chat.box.request.fail(501, Failure(502, "Bad Gateway"))

    for _ in range(10):
        await chat.say("!clock +2h")

    assert await statuses(chat) == {"failed": 1}
    assert len(sends_to(chat, 501)) == 8


# -- restarts: the outbox is the only memory that counts ----------------------------------

@pytest.fixture
def db_path(db_target: Path | str) -> Path | str:
    return db_target


async def session(path: Path, lines: list[str], policy: Any = None) -> tuple[str, Sandbox]:
    """One process life: open the database, handle lines, close everything."""
    db = await Database.open(path)
    out = io.StringIO()
    clock = ManualClock(START)
    box = Sandbox(Deps(db, policy or load_policy(), clock, PrintedChannel(out)), clock, out)
    async with box.app:
        for line in lines:
            await box.handle(line)
    await db.close()
    return out.getvalue(), box


def event_line(event: dict[str, Any]) -> str:
    import json

    return "!event " + json.dumps({"occurred_at": START.isoformat(), **event})


async def test_a_push_written_before_a_crash_is_delivered_once_after_restart(
        db_path: Path) -> None:
    # the platform's event lands and the process dies before the sender runs
    db = await Database.open(db_path)
    clock = ManualClock(START)
    deps = Deps(db, load_policy(), clock, PrintedChannel(io.StringIO()))
    from domain.apply import apply_event

    for event in [*shop_events(), {"type": "payment.confirmed", "event_id": "p1",
                                   "shop_id": "S-GB", "payment_ref": "R1", "amount": "600",
                                   "currency": "GBP"}]:
        await apply_event(deps.uow(), {"occurred_at": START.isoformat(), **event}, START,
                          deps.policy)
    await db.close()

    first, _ = await session(db_path, ["!echo restarted"])
    second, _ = await session(db_path, ["!echo again", "!run-jobs"])

    assert first.count("Top-up received: £600.00") == 1
    assert "Top-up received" not in second


async def test_reminders_are_not_sent_again_after_a_restart(db_path: Path) -> None:
    lines = [event_line(e) for e in shop_events()] + ["!run-jobs"]

    first, _ = await session(db_path, lines)
    second, _ = await session(db_path, ["!run-jobs", "!clock +1h"])

    assert first.count(IGNORE) == 1
    assert IGNORE not in second


async def test_a_new_tier_table_that_raises_required_starts_reminders(db_path: Path) -> None:
    base = load_policy()
    raised = TierTable(date(2026, 12, 1), {"standard": Decimal("800"),
                                           "elevated": Decimal("1500"),
                                           "high_risk": Decimal("3000")})
    policy = replace(base, tiers={**base.tiers, "*": (*base.tiers["*"], raised)})
    lines = [event_line(e) for e in shop_events()] + [
        event_line({"type": "payment.confirmed", "event_id": "p1", "shop_id": "S-GB",
                    "payment_ref": "R1", "amount": "500", "currency": "GBP"}),
        "!run-jobs", "!echo before", "!clock 2026-11-30T23:00+08:00", "!echo tier day",
        "!clock 2026-12-01T00:30+08:00"]

    out, _ = await session(db_path, lines, policy)

    before, after = out.split("tier day")
    assert IGNORE not in before
    assert "Your deposit is now short of the required amount." in after
    assert "Short by: £300.00" in after


async def test_a_push_claimed_by_a_process_that_died_is_sent_again_saying_so(
        chat: Chat) -> None:
    await register(chat)
    chat.box.request.fail(501, Failure(429, "Too Many Requests: retry after 5", 5))
    await chat.say("!run-jobs")  # queued; the 429 left it pending and unclaimed
    db = chat.box.deps.db
    async with db.lock:  # as a kill -9 during the Bot API call leaves it
        await db.conn.execute("UPDATE push_deliveries SET claimed_at = '2026-11-21'")

    out = await chat.say("!clock +10s")

    assert out.count(IGNORE) == 1
    assert "↻ Sent again after an interruption" in out
    assert await statuses(chat) == {"sent": 1}


async def test_a_push_sent_normally_carries_no_repeat_line(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!run-jobs")

    assert IGNORE in out and "Sent again" not in out


async def test_a_push_whose_record_failed_to_be_written_is_not_sent_again(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram accepted the copy, then the write recording it failed once (a lost
    connection, a lock held past the timeout): the result is written by the next write, and
    the copy, still claimed meanwhile, is not sent a second time (the review found it sent
    again with the "sent again" line)."""
    import sqlite3

    from bot.storage.deliveries import PushStore

    real = PushStore.write
    failed: list[int] = []

    async def flaky(self: PushStore, results: Any, claims: Any, now: Any) -> None:
        if results and not failed:
            failed.append(len(results))
            raise sqlite3.OperationalError("database is locked")
        await real(self, results, claims, now)

    monkeypatch.setattr(PushStore, "write", flaky)
    await register(chat)

    first = await chat.say("!run-jobs")
    later = await chat.say("!clock +1h", "!run-jobs", "!clock +1d")

    assert failed == [1]
    assert first.count(IGNORE) == 1
    assert IGNORE not in later and "Sent again" not in later
    assert await statuses(chat) == {"sent": 1}
