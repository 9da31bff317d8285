"""Duplicates: a resent Telegram update, a button pressed twice, an event sent twice."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import Update

from bot import metrics
from bot.app import run_jobs
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.handlers import updates
from bot.sandbox.chat import Sandbox
from bot.storage.db import Database
from bot.storage.updates import SeenUpdates
from domain.ids import seeded_ids
from domain.policy import load_policy
from tests.bot.conftest import START, Chat, register
from tests.bot.test_topup import rates
from tests.soak import rng_seed, scaled

pytestmark = pytest.mark.reliability
OWNER = 501
ROUNDS = scaled(3, 1 / 40)  # sessions with resends: 3 in make test, DEPOSIT_SOAK/40 in soak


def message(update_id: int, text: str, user: int = OWNER) -> dict[str, Any]:
    """A private text message (a command when it starts with /) as Telegram sends it."""
    data: dict[str, Any] = {
        "message_id": 90_000 + update_id, "date": int(START.timestamp()),
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "Owner", "language_code": "en"},
        "text": text}
    if text.startswith("/"):
        data["entities"] = [{"type": "bot_command", "offset": 0,
                             "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": data}


def button(update_id: int, data: str, user: int = OWNER) -> dict[str, Any]:
    """A callback query from a button under one of the bot's messages."""
    return {"update_id": update_id, "callback_query": {
        "id": f"cq{update_id}", "from": {"id": user, "is_bot": False, "first_name": "Owner"},
        "chat_instance": "1", "data": data,
        "message": {"message_id": 1, "date": int(START.timestamp()),
                    "chat": {"id": user, "type": "private"},
                    "from": {"id": 7000000001, "is_bot": True, "first_name": "Deposit Desk"},
                    "text": "…"}}}


async def deliver(box: Sandbox, data: dict[str, Any]) -> list[str]:
    """Process one update as Telegram delivered it; the Bot API methods it called."""
    before = len(box.request.calls)
    await box.app.process_update(Update.de_json(data, box.app.bot))
    return [c.method for c in box.request.calls[before:]]


async def scalar(chat: Chat, sql: str, *args: Any) -> Any:
    async with chat.box.deps.db.conn.execute(sql, args) as cur:
        row = await cur.fetchone()
    return row[0]


async def funded(chat: Chat) -> None:
    await register(chat, market="US", shop_id="S-US", name="Acme Trading Ltd")
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-US",
                     payment_ref="R1", amount="800", currency="USD")


# --- the same Telegram update twice ------------------------------------------------------
async def test_the_same_message_update_twice_opens_one_ticket(chat: Chat) -> None:
    await funded(chat)
    dropped = metrics.value("deposit_updates_duplicate_total")
    update = message(5000, "/support my payment of 800 is missing")

    first = await deliver(chat.box, update)
    second = await deliver(chat.box, update)

    assert "sendMessage" in first
    assert second == []  # nothing answered, nothing stored
    assert await scalar(chat, "SELECT count(*) FROM tickets") == 1
    assert metrics.value("deposit_updates_duplicate_total") == dropped + 1


async def test_the_same_confirm_update_twice_submits_once_and_answers_once(chat: Chat) -> None:
    await funded(chat)
    await chat.say("!as 501 en", "/withdraw 50", "!press Corporate bank account",
                   "Acme Trading Ltd", "ICBC 6222 1234")
    data = next(b["callback_data"] for row in chat.box.shown[-1].keyboard for b in row
                if b["text"] == "Confirm withdrawal")

    first = await deliver(chat.box, button(6000, data))
    second = await deliver(chat.box, button(6000, data))

    assert "answerCallbackQuery" in first
    assert second == []
    assert await scalar(chat, "SELECT count(*) FROM withdrawals WHERE status = 'confirmed'") == 1


async def test_a_resent_withdraw_amount_does_not_move_the_flow_twice(chat: Chat) -> None:
    await funded(chat)
    await deliver(chat.box, message(7000, "/withdraw"))
    amount = message(7001, "50")

    await deliver(chat.box, amount)
    await deliver(chat.box, amount)
    texts = [str(c.params.get("text", "")) for c in chat.box.request.calls]

    assert await scalar(chat, "SELECT count(*) FROM withdrawals") == 1
    assert sum("is now held for this withdrawal" in t for t in texts) == 1
    assert not any("not an amount I can read" in t for t in texts)


async def test_a_resent_update_is_dropped_after_a_restart_and_new_ids_go_on(
        chat: Chat) -> None:
    await funded(chat)
    update = message(8000, "/support first message")
    await deliver(chat.box, update)

    restarted = Sandbox(chat.box.deps, chat.box.clock, io.StringIO())
    async with restarted.app:
        resent = await deliver(restarted, update)
        await restarted.handle("/support a second, new message")

    assert resent == []
    assert await scalar(chat, "SELECT count(*) FROM ticket_messages "
                              "WHERE text LIKE '%first message%'") == 1
    assert await scalar(chat, "SELECT count(*) FROM ticket_messages "
                              "WHERE text LIKE '%second, new%'") == 1
    assert await SeenUpdates(chat.box.deps.db).newest() == 8001


async def test_an_update_whose_handling_did_not_finish_runs_again(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """At-least-once: the id is marked only after every handler ran (crash = not marked)."""
    await funded(chat)
    update = message(9000, "/balance")

    async def crashed_before_the_end(*_: Any) -> None:
        return None

    monkeypatch.setattr(updates, "mark_completed", crashed_before_the_end)
    first = await deliver(chat.box, update)
    monkeypatch.undo()
    again = await deliver(chat.box, update)
    third = await deliver(chat.box, update)

    assert "sendMessage" in first and "sendMessage" in again
    assert third == []


async def test_the_jobs_forget_update_ids_older_than_two_days(chat: Chat) -> None:
    await funded(chat)
    await deliver(chat.box, message(9100, "/balance"))
    context = SimpleNamespace(bot_data=chat.box.app.bot_data, bot=chat.box.app.bot)

    await run_jobs(context)  # type: ignore[arg-type]
    kept = await scalar(chat, "SELECT count(*) FROM seen_updates WHERE update_id = 9100")
    chat.box.clock.advance_to(START + updates.KEEP + timedelta(seconds=1))
    await run_jobs(context)  # type: ignore[arg-type]

    assert kept == 1
    assert await scalar(chat, "SELECT count(*) FROM seen_updates WHERE update_id = 9100") == 0


# --- a button pressed twice (two updates) ------------------------------------------------
async def test_a_payment_method_pressed_twice_keeps_one_reference(chat: Chat) -> None:
    await register(chat)
    await rates(chat)
    await chat.say("!as 501 en", "/topup 100")
    card = chat.box.shown[-1]
    data = next(b["callback_data"] for row in card.keyboard for b in row
                if b["text"] == "Payoneer")

    first = await deliver(chat.box, button(9200, data))
    second = await deliver(chat.box, button(9201, data))
    quotes = await scalar(chat, "SELECT count(*) FROM quotes")
    methods = await scalar(chat, "SELECT count(DISTINCT method) FROM quotes")

    assert first and second  # each press is answered
    assert (quotes, methods) == (1, 1)


async def test_credit_sent_twice_credits_once(chat: Chat) -> None:
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p-dup", shop_id="S-GB",
                     payment_ref="PAY-1", amount="100", currency="GBP")
    again = await chat.event(type="payment.confirmed", event_id="p-dup2", shop_id="S-GB",
                             payment_ref="PAY-1", amount="100", currency="GBP")

    assert "rejected (payment_ref" in again
    assert await scalar(chat, "SELECT count(*) FROM transfers WHERE kind = 'topup'") == 1


# --- the same event twice, and with changed content ---------------------------------------
async def test_the_same_event_twice_is_already_applied_with_one_push(chat: Chat) -> None:
    await register(chat)
    event = {"type": "deduction.posted", "event_id": "d-1", "shop_id": "S-GB",
             "deduction_id": "D-1", "amount": "30", "currency": "GBP",
             "reason": "fraud", "note": "coupon abuse"}
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="R1", amount="600", currency="GBP")

    first = await chat.event(**event)
    pushes = await scalar(chat, "SELECT count(*) FROM outbox")
    second = await chat.event(**event)

    assert "d-1: applied" in first and "d-1: already applied" in second
    assert await scalar(chat, "SELECT count(*) FROM outbox") == pushes
    assert await scalar(chat, "SELECT count(*) FROM transfers WHERE kind = 'deduction'") == 1


async def test_the_same_event_id_with_changed_content_is_a_conflict_and_applies_nothing(
        chat: Chat) -> None:
    await register(chat)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                     payment_ref="R1", amount="600", currency="GBP")
    tables = ("transfers", "outbox", "payments", "push_deliveries")
    before = [await scalar(chat, f"SELECT count(*) FROM {t}") for t in tables]

    out = await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB",
                           payment_ref="R2", amount="900", currency="GBP")

    assert "p1: conflict" in out
    assert [await scalar(chat, f"SELECT count(*) FROM {t}") for t in tables] == before


# --- a whole session with resent updates prints exactly what it prints without them -------
SESSION = [
    "!as 501 en", "/balance", "/withdraw 50", "!press Corporate bank account",
    "Acme Trading Ltd", "ICBC 6222 1234", "!press Confirm withdrawal",
    "!press Confirm withdrawal", "/topup 100", "!press Payoneer", "/history",
    "/support where is my money", "/tickets", "/withdraw", "70", "/cancel", "/balance",
    "!press Refresh", "/close", "/cancel", "/language", "/help",
]


CLEAN: list[tuple[str, list[Any]]] = []  # the session without resends, played once


@pytest.fixture
async def session_db(databases: Callable[[str], Awaitable[Path | str]]
                     ) -> AsyncIterator[Callable[[str], Awaitable[Path | str]]]:
    yield databases


async def play(fresh: Callable[[str], Awaitable[Path | str]], name: str,
               resend: random.Random | None) -> tuple[str, list[Any]]:
    """The SESSION on a fresh database; with `resend`, earlier updates come again at random.
    (The clean session is played once, on the first backend: the other must read the same.)"""
    db = await Database.open(await fresh(name))
    out, clock = io.StringIO(), ManualClock(START)
    box = Sandbox(Deps(db, load_policy(), clock, PrintedChannel(out),
                       ids=seeded_ids("dup")), clock, out)
    delivered: list[dict[str, Any]] = []
    original = box._process

    async def with_resends(data: dict[str, Any]) -> None:
        await original(data)
        delivered.append(data)
        if resend is not None:
            for _ in range(resend.choice([0, 0, 1, 2])):
                await original(resend.choice(delivered))

    box._process = with_resends  # type: ignore[method-assign]
    async with box.app:
        chat = Chat(box, out)
        await funded(chat)
        await rates(chat)
        for line in SESSION:
            await box.handle(line)
    counts = []
    for table in ("transfers", "withdrawals", "quotes", "tickets", "ticket_messages",
                  "outbox", "push_deliveries"):
        async with db.conn.execute(f"SELECT count(*) FROM {table}") as cur:
            counts.append((table, (await cur.fetchone())[0]))
    await db.close()
    return out.getvalue(), counts


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_a_session_with_resent_updates_reads_as_without_them(
        session_db: Callable[[str], Awaitable[Path | str]], round_: int) -> None:
    seed = rng_seed(round_)
    if not CLEAN:
        CLEAN.append(await play(session_db, "clean", None))
    clean, clean_counts = CLEAN[0]
    noisy, noisy_counts = await play(session_db, "noisy", random.Random(seed))

    assert "(3–5 business days)" in clean and "#1" in clean  # the session did things
    assert noisy == clean, f"replay with DEPOSIT_SEED={seed}"
    assert noisy_counts == clean_counts
