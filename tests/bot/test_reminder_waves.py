"""Reminder waves (issue #16.3) through the real Application and Sender, on both backends: a
member's reminders of one wave are one digest (each shop with its figures and its own Top up
button), dedup and "silent once paid" stay per shop, the digest keeps to Telegram's limits,
and paid broadcast is used only when turned on, only for reminders, up to its daily ceiling."""

from __future__ import annotations

import json
from typing import Any

from bot.limits import BUTTONS, CALLBACK_BYTES, TEXT
from bot.notify.sender import (
    PaidBroadcast,
    Sender,
    SendPolicy,
    sender_of,
    stop_until_clock_moves,
)
from bot.sandbox.recording import Failure
from tests.bot.conftest import Chat, register, shop_events
from tests.bot.test_pushes import IGNORE, pay, sends_to, statuses

HEAD = "Deposit reminders for"


async def shops_of(chat: Chat, count: int, user: int = 501, market: str = "GB") -> list[str]:
    """`count` short shops owned by one member; their ids."""
    ids = [f"S-{market}-{n}" for n in range(1, count + 1)]
    for n, shop_id in enumerate(ids, 1):
        await register(chat, shop_id=shop_id, user=user, market=market,
                       name=f"Shop {n} Trading Ltd")
    return ids


def reminders_to(chat: Chat, user: int) -> list[dict[str, Any]]:
    """Every reminder message (single or digest) sent to one chat."""
    return [c for c in sends_to(chat, user) if IGNORE in c["text"]]


async def reminder_statuses(chat: Chat) -> dict[str, int]:
    """Reminder copies by status (the payments' own pushes left out)."""
    db = chat.box.deps.db
    async with db.lock:
        rows = await db.conn.execute_fetchall(
            "SELECT d.status, count(*) FROM push_deliveries d JOIN outbox o "
            "ON o.id = d.outbox_id WHERE o.kind = 'reminder' GROUP BY d.status")
    return {r[0]: r[1] for r in rows}


def labels(call: dict[str, Any]) -> list[str]:
    """The button labels of one sendMessage call."""
    markup = call.get("reply_markup")
    if markup is None:
        return []
    rows = json.loads(markup)["inline_keyboard"] if isinstance(markup, str) \
        else markup["inline_keyboard"]
    return [button["text"] for row in rows for button in row]


def callbacks(call: dict[str, Any]) -> list[str]:
    markup = call["reply_markup"]
    rows = json.loads(markup)["inline_keyboard"] if isinstance(markup, str) \
        else markup["inline_keyboard"]
    return [button["callback_data"] for row in rows for button in row]


async def test_a_seller_with_three_short_shops_gets_one_digest_with_a_button_per_shop(
        chat: Chat) -> None:
    shops = await shops_of(chat, 3)

    out = await chat.say("!run-jobs")

    sent = sends_to(chat, 501)
    assert len(sent) == 1
    text = sent[0]["text"]
    assert f"{HEAD} 3 of your shops" in text
    for n, shop_id in enumerate(shops, 1):
        assert f"Shop {n} Trading Ltd · United Kingdom shop ({shop_id})" in text
    assert text.count("Short by: £500.00") == 3
    assert text.count("until you pay £500.00") == 3
    assert text.count(IGNORE) == 1
    assert labels(sent[0]) == [f"Top up {shop_id}" for shop_id in shops]
    assert "[Top up S-GB-2]" in out
    assert await statuses(chat) == {"sent": 3}


async def test_the_digest_names_the_amount_that_clears_each_shop_arrears_first(
        chat: Chat) -> None:
    await shops_of(chat, 2)
    await chat.event(type="payment.confirmed", event_id="p1", shop_id="S-GB-1",
                     payment_ref="REF-1", amount="300", currency="GBP")
    await chat.event(type="deduction.posted", event_id="d1", shop_id="S-GB-1",
                     deduction_id="D1", amount="400", currency="GBP", reason="fraud", note="")
    await chat.say("!run-jobs")
    before = len(sends_to(chat, 501))

    await chat.say("!clock +3d")

    repeat = sends_to(chat, 501)[before:]
    assert len(repeat) == 1
    text = repeat[0]["text"]
    assert f"{HEAD} 2 of your shops" in text
    assert "until you pay £600.00" in text  # S-GB-1: arrears 100 first, then 500
    assert ("Of £600.00, £100.00 pays your deposit arrears first (top-ups always do), then "
            "£500.00 covers the shortfall.") in text
    assert "until you pay £500.00" in text  # S-GB-2: never paid


async def test_pressing_a_shops_top_up_in_the_digest_starts_that_shops_top_up(
        chat: Chat) -> None:
    await register(chat, shop_id="S-GB", user=501)
    await register(chat, shop_id="S-US", user=501, market="US", name="Acme US Inc")
    await chat.say("!as 501 en", "!run-jobs")

    out = await chat.say("!press Top up S-US")

    assert "S-US" in out and "S-GB" not in out
    assert "$500.00" in out
    again = await chat.say("/cancel", "!press Top up S-GB")
    assert "S-GB" in again and "£500.00" in again


async def test_a_shop_paid_before_sending_drops_out_of_the_digest(chat: Chat) -> None:
    await shops_of(chat, 3)
    chat.box.request.fail(501, Failure(429, "Too Many Requests: retry after 60", 60))
    await chat.say("!run-jobs")
    assert (await statuses(chat)) == {"pending": 3}

    await pay(chat, "P1", "500", shop_id="S-GB-2")
    await chat.say("!clock +2m")

    sent = reminders_to(chat, 501)[-1]
    assert f"{HEAD} 2 of your shops" in sent["text"]
    assert "(S-GB-2)" not in sent["text"]
    assert labels(sent) == ["Top up S-GB-1", "Top up S-GB-3"]
    assert await reminder_statuses(chat) == {"sent": 2, "obsolete": 1}


async def test_one_shop_left_of_the_wave_gets_the_single_shop_reminder(chat: Chat) -> None:
    await shops_of(chat, 2)
    chat.box.request.fail(501, Failure(429, "Too Many Requests: retry after 60", 60))
    await chat.say("!run-jobs")

    await pay(chat, "P1", "500", shop_id="S-GB-1")
    await chat.say("!clock +2m")

    sent = reminders_to(chat, 501)[-1]
    assert HEAD not in sent["text"]
    assert "Your deposit is now short of the required amount." in sent["text"]
    assert labels(sent) == ["Top up"]


async def test_nothing_is_sent_when_every_shop_of_the_wave_was_paid(chat: Chat) -> None:
    await shops_of(chat, 2)
    await register(chat, shop_id="S-OTHER", user=502)  # queued after 501's wave
    for user in (501, 502):
        chat.box.request.fail(user, Failure(429, "Too Many Requests: retry after 60", 60))
    await chat.say("!run-jobs")
    tried = len(sends_to(chat, 501))

    await pay(chat, "P1", "500", shop_id="S-GB-1")
    await pay(chat, "P2", "500", shop_id="S-GB-2")
    await chat.say("!clock +2m")

    assert [c for c in sends_to(chat, 501)[tried:] if IGNORE in c["text"]] == []
    assert len(reminders_to(chat, 502)) == 2  # refused, then sent: the empty wave went by
    assert await reminder_statuses(chat) == {"obsolete": 2, "sent": 1}


async def test_a_wave_is_pushed_once_however_often_the_jobs_run(chat: Chat) -> None:
    await shops_of(chat, 2)

    await chat.say("!run-jobs", "!run-jobs", "!clock +1h", "!run-jobs")

    assert len(sends_to(chat, 501)) == 1
    assert await statuses(chat) == {"sent": 2}


async def test_each_member_gets_their_own_digest_and_a_single_shop_member_the_usual_one(
        chat: Chat) -> None:
    await shops_of(chat, 2, user=501)
    for event in shop_events(shop_id="S-SOLO", user=777):
        await chat.event(**event)
    await chat.event(type="shop.member_added", event_id="m2", shop_id="S-GB-1",
                     telegram_user_id=502, role="staff")

    await chat.say("!run-jobs")

    assert [HEAD in c["text"] for c in sends_to(chat, 501)] == [True]
    assert [HEAD in c["text"] for c in sends_to(chat, 502)] == [False]
    assert [HEAD in c["text"] for c in sends_to(chat, 777)] == [False]
    assert "(S-SOLO)" in sends_to(chat, 777)[0]["text"]


async def test_the_digest_is_in_the_members_language(chat: Chat) -> None:
    await shops_of(chat, 2)
    await chat.say("!as 501 zh-hans", "/start")

    await chat.say("!run-jobs")

    text = sends_to(chat, 501)[-1]["text"]
    assert "您有 2 家店铺的保证金催缴通知" in text
    assert "（S-GB-1）" in text and "（S-GB-2）" in text
    assert text.count("已缴纳？请忽略本提醒") == 1
    assert labels(sends_to(chat, 501)[-1]) == ["充值 S-GB-1", "充值 S-GB-2"]


async def test_a_member_with_very_many_shops_gets_the_digest_in_parts_within_limits(
        chat: Chat) -> None:
    shops = await shops_of(chat, 16)

    await chat.say("!run-jobs")

    parts = sends_to(chat, 501)
    assert len(parts) >= 2
    seen: list[str] = []
    for n, part in enumerate(parts, 1):
        text = part["text"]
        assert len(text) <= TEXT
        assert f"(part {n} of {len(parts)})" in text
        assert text.count(IGNORE) == 1
        assert len(labels(part)) <= BUTTONS
        assert all(len(data.encode()) <= CALLBACK_BYTES for data in callbacks(part))
        mine = [label.removeprefix("Top up ") for label in labels(part)]
        assert all(f"({shop_id})" in text for shop_id in mine)
        seen += mine
    assert seen == shops  # every shop once, in order, each with its own button
    assert await statuses(chat) == {"sent": 16}


async def test_a_flood_wait_on_the_digest_sends_it_once_later(chat: Chat) -> None:
    await shops_of(chat, 3)
    chat.box.request.fail(501, Failure(429, "Too Many Requests: retry after 30", 30))

    await chat.say("!run-jobs")
    await chat.say("!clock +35s", "!run-jobs", "!clock +1h")

    digests = [c for c in sends_to(chat, 501) if HEAD in c["text"]]
    assert len(digests) == 2  # the refused one and the accepted one
    assert await statuses(chat) == {"sent": 3}


def paid_flags(chat: Chat, user: int) -> list[Any]:
    return [c.get("allow_paid_broadcast") for c in sends_to(chat, user)]


async def test_paid_broadcast_is_off_by_default(chat: Chat) -> None:
    await shops_of(chat, 2)

    await chat.say("!run-jobs")

    assert paid_flags(chat, 501) == [None]


async def test_paid_broadcast_when_on_goes_with_reminders_only(chat: Chat) -> None:
    sender_of(chat.box.app.bot_data).paid = PaidBroadcast(daily_limit=100)
    await shops_of(chat, 2)
    await chat.say("!run-jobs")

    await chat.event(type="payment.failed", event_id="f1", shop_id="S-GB-1",
                     payment_ref="P-9", reason="card declined")

    assert paid_flags(chat, 501) == [True, None]


async def test_the_daily_ceiling_stops_paid_broadcast_and_the_reminders_still_go(
        chat: Chat) -> None:
    sender_of(chat.box.app.bot_data).paid = PaidBroadcast(daily_limit=2, block=1)
    for user in (501, 502, 503):
        await register(chat, shop_id=f"S-{user}", user=user)

    await chat.say("!run-jobs")

    flags = [paid_flags(chat, user) for user in (501, 502, 503)]
    assert flags == [[True], [True], [None]]
    db = chat.box.deps.db
    async with db.lock:
        rows = await db.conn.execute_fetchall("SELECT messages FROM paid_broadcast_days")
    assert [r[0] for r in rows] == [2]


async def test_the_ceiling_holds_across_a_restart_of_the_sender(chat: Chat) -> None:
    sender_of(chat.box.app.bot_data).paid = PaidBroadcast(daily_limit=1, block=1)
    await register(chat, shop_id="S-501", user=501)
    await chat.say("!run-jobs")
    chat.box.app.bot_data["sender"] = Sender(  # a new process: nothing remembered
        chat.box.deps, SendPolicy(lanes=1), pause=stop_until_clock_moves,
        paid=PaidBroadcast(daily_limit=1, block=1))

    await register(chat, shop_id="S-502", user=502)
    await chat.say("!run-jobs")

    assert paid_flags(chat, 501) == [True]
    assert paid_flags(chat, 502) == [None]


def test_paid_broadcast_settings_are_off_by_default_and_read_from_the_environment(
        monkeypatch: Any) -> None:
    from bot.config import Settings

    for name in ("DEPOSIT_PAID_BROADCAST", "DEPOSIT_PAID_BROADCAST_RATE",
                 "DEPOSIT_PAID_BROADCAST_DAILY_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(_env_file=None).paid() is None  # type: ignore[call-arg]

    monkeypatch.setenv("DEPOSIT_PAID_BROADCAST", "true")
    monkeypatch.setenv("DEPOSIT_PAID_BROADCAST_RATE", "500")
    monkeypatch.setenv("DEPOSIT_PAID_BROADCAST_DAILY_LIMIT", "2000")
    paid = Settings(_env_file=None).paid()  # type: ignore[call-arg]
    assert paid == PaidBroadcast(rate=500, daily_limit=2000)


async def test_paid_broadcast_gets_its_own_even_pace_and_more_lanes(tmp_path: Any) -> None:
    from bot.app import build_application
    from bot.channels import LoggedChannel
    from bot.clock import SystemClock
    from bot.context import Deps
    from bot.notify.pace import PUSH_HEADROOM, EvenPace
    from bot.storage.db import Database
    from domain.policy import load_policy

    db = await Database.open(tmp_path / "paid.db")
    d = Deps(db, load_policy(), SystemClock(), LoggedChannel())
    free = build_application(d, "1:free")
    paid = build_application(d, "1:paid", paid=PaidBroadcast(rate=800))
    await db.close()

    pace = paid.bot.rate_limiter._apb_limiter  # type: ignore[union-attr]
    assert isinstance(pace, EvenPace)
    assert abs(pace.spacing - 1 / (800 * (1 - PUSH_HEADROOM))) < 1e-12
    assert not isinstance(free.bot.rate_limiter._apb_limiter, EvenPace)  # type: ignore[union-attr]
    assert sender_of(paid.bot_data).policy.lanes == 32
    assert sender_of(free.bot_data).policy.lanes == 4


async def test_the_batch_limit_does_not_split_a_wave_and_mates_are_claimed(
        backend: str, db_target: Any) -> None:
    from datetime import timedelta

    from bot.storage.db import Database
    from bot.storage.deliveries import PushStore
    from bot.storage.uow import SqliteUnitOfWork
    from domain.model import Member, Shop
    from domain.policy import load_policy
    from domain.reminder_service import scan
    from tests.bot.conftest import START

    db = await Database.open(db_target)
    uow = SqliteUnitOfWork(db)
    async with uow:
        for n in (1, 2, 3):
            await uow.shops.add(Shop(f"S{n}", "E", "GB", "GBP", "CN", "CN", ("apparel",),
                                     "Asia/Shanghai", START, shortfall_since=START))
            await uow.shops.add_member(Member(f"S{n}", 501 if n < 3 else 502, "owner"))
        await uow.commit()
    await scan(SqliteUnitOfWork(db), START + timedelta(minutes=1), load_policy())
    claimant = None
    if backend == "postgres":
        rows = await db.conn.execute_fetchall(
            "SELECT pid || '@' || extract(epoch FROM backend_start) FROM pg_stat_activity "
            "WHERE pid = pg_backend_pid()")
        claimant = str(rows[0][0])
    store = PushStore(db, claimant)
    now = START + timedelta(minutes=2)

    first = await store.due(now, 1)
    mates = await store.wave_mates(first, now)
    rows = await db.conn.execute_fetchall(
        "SELECT telegram_user_id, claimed_by FROM push_deliveries ORDER BY outbox_id")
    await db.close()

    assert [(d.user_id, d.notice.shop_id) for d in first] == [(501, "S1")]
    assert [(d.user_id, d.notice.shop_id) for d in mates] == [(501, "S2")]
    assert [(r[0], r[1]) for r in rows] == [(501, claimant), (501, claimant), (502, None)]


def test_a_digest_of_short_sections_keeps_to_one_hundred_buttons_a_message() -> None:
    from bot.i18n import translator
    from bot.notify.reminders import Section, digest
    from domain.policy import load_policy

    sections = [Section(f"S-{n}", [f"<b>S-{n}</b>"]) for n in range(250)]

    parts = digest(sections, translator("en"), load_policy())

    assert [len(p.sections) for p in parts] == [100, 100, 50]
    assert all(len(p.text) <= TEXT for p in parts)
    assert [n for p in parts for n in p.sections] == list(range(250))
    assert all(len(p.markup.inline_keyboard) == len(p.sections) for p in parts)
