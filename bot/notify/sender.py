"""Delivers outbox pushes: each member's copy once, paced, retried, and never lost on restart.

Every push was written to the outbox in the same transaction as its cause, with one pending
delivery per member. The sender takes due deliveries in order and records each result in
its own short transaction right after the Bot API answers:

- sent: the message id is kept; a restart never sends it again;
- 403 (blocked, deactivated) and "chat not found": undeliverable, never retried;
- RetryAfter (429): the delivery waits `retry_after`, not counted as an attempt, and the
  whole drain pauses (Telegram's flood wait holds for the bot, not one chat);
- network errors and timeouts: retried with exponential backoff up to `max_attempts`;
- anything else (a malformed message): failed, logged, never retried in a loop.

Pacing is the Application's AIORateLimiter (app.py), one message every 1/rate seconds;
`lanes` deliveries are rendered, sent and recorded at once so the pace, not the round trips,
sets the rate.

Reminder waves (issue #16.3): a member's reminders of one wave (one scan, one `created_at`)
go out as one digest, each shop with its figures and its own Top up button; each shop's copy
is still decided, deduplicated and recorded on its own (a shop paid before sending drops out;
none left, nothing is sent; one left, the single-shop message). With paid broadcast on
(`PaidBroadcast`), reminders are sent with Bot API `allow_paid_broadcast` while the day's
ceiling lasts, paced at its own rate; every other push keeps the free pace.

The only window where a push can go out twice is a crash between Telegram accepting it and
the next commit (milliseconds); the sender prefers that to losing a push (at-least-once
there, exactly-once everywhere else).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import metrics
from bot.context import Deps
from bot.handlers.common import shop_token
from bot.i18n import Translator, translator
from bot.notify.reminders import Section, digest, reminder_text, topup_button
from bot.notify.render import render_notice, title
from bot.storage.db import ts
from bot.storage.deliveries import PushStore
from bot.storage.pushes import Delivery
from domain import reminders
from domain.model import ClosureStage
from domain.money import Money
from domain.notices import Notice
from domain.services import get_snapshot

log = logging.getLogger(__name__)
REPEAT_MARK = "↻ "
Pause = Callable[[float], Awaitable[bool]]


@dataclass(frozen=True)
class SendPolicy:
    """How hard the sender tries."""

    batch: int = 200
    lanes: int = 4  # deliveries in flight at once (one member's pushes stay in one lane)
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=15)
    backoff_cap: timedelta = timedelta(hours=1)

    def backoff(self, attempts: int) -> timedelta:
        """15 s, 30 s, 1 min, … up to the cap."""
        return min(self.backoff_base * (2 ** max(attempts - 1, 0)), self.backoff_cap)


@dataclass(frozen=True)
class PaidBroadcast:
    """Reminder waves with Bot API `allow_paid_broadcast`: up to `rate` messages a second
    (Telegram allows 1,000), billed in Telegram Stars to the bot owner, at most `daily_limit`
    messages a UTC day (held in the database, taken `block` at a time); past it, reminders
    go on at the free pace."""

    rate: float = 1000
    daily_limit: int = 10_000
    block: int = 100
    lanes: int = 32  # deliveries in flight at once: 4 lanes of round trips cannot fill 1,000/s


@dataclass
class SendReport:
    """What one drain did."""

    sent: int = 0
    undeliverable: int = 0
    failed: int = 0
    retrying: int = 0
    obsolete: int = 0


async def sleep_then_go_on(seconds: float) -> bool:
    """Production: wait the flood out, then keep draining."""
    await asyncio.sleep(seconds)
    return True


async def stop_until_clock_moves(seconds: float) -> bool:
    """Sandbox: time moves only with `!clock`; the delivery waits for it."""
    return False


class Sender:
    """One drain at a time; a kick during a drain makes it look again before it stops."""

    def __init__(self, d: Deps, policy: SendPolicy | None = None,
                 pause: Pause = sleep_then_go_on,
                 claimant: Callable[[], str] | None = None,
                 paid: PaidBroadcast | None = None) -> None:
        self.d, self.policy, self.pause = d, policy or SendPolicy(), pause
        self.claimant = claimant  # several instances: this leadership epoch's name
        self.paid = paid
        self._paid_day, self._paid_left = "", 0
        self._paid_lock = asyncio.Lock()  # lanes take from one block, one block at a time
        self._lock = asyncio.Lock()
        self._again = False

    async def drain(self, bot: Bot, *, wait: bool = False) -> SendReport:
        """Send everything due now; a drain already running is kicked (or, with wait, joined)."""
        report = SendReport()
        self._again = True
        if self._lock.locked() and not wait:
            return report
        async with self._lock:
            while self._again:
                self._again = False
                while await self._batch(bot, report):
                    pass
        return report

    def _store(self) -> PushStore:
        """The sender's storage; with several instances, claims in this leadership's name."""
        return PushStore(self.d.db, None if self.claimant is None else self.claimant())

    async def _batch(self, bot: Bot, report: SendReport) -> bool:
        """One batch; True when more may be due at once."""
        store, now = self._store(), self.d.clock.now()
        due = await store.due(now, self.policy.batch)
        full = len(due) == self.policy.batch
        due += await store.wave_mates(due, now)
        units: dict[tuple[Any, ...], list[Delivery]] = {}
        for delivery in due:  # a member's reminders of one wave make one unit (one digest)
            notice = delivery.notice
            key = (("wave", delivery.user_id, ts(notice.created_at))
                   if notice.kind == reminders.KIND else ("one", delivery.outbox_id,
                                                          delivery.user_id))
            units.setdefault(key, []).append(delivery)
        lanes: dict[int, list[list[Delivery]]] = {}
        for unit in units.values():  # a member's pushes keep their order inside one lane
            lanes.setdefault(unit[0].user_id % self.policy.lanes, []).append(unit)
        floods: list[float] = []
        await asyncio.gather(*(self._lane(bot, lane, report, floods)
                               for lane in lanes.values()))
        if floods:  # what the lanes had not started stays pending for the next drain
            self._again = False
            return await self.pause(max(floods))
        return full

    async def _lane(self, bot: Bot, units: list[list[Delivery]], report: SendReport,
                    floods: list[float]) -> None:
        """Send one lane's units in order; every lane stops at the first 429."""
        for unit in units:
            if floods:
                return
            flood = await (self._one(bot, unit[0], report) if len(unit) == 1
                           else self._wave(bot, unit, report))
            if flood is not None:
                floods.append(flood)
                return

    async def _one(self, bot: Bot, delivery: Delivery, report: SendReport) -> float | None:
        """Send one copy and record the result; the flood wait in seconds on a 429."""
        try:
            rendered = await self._render(delivery)
        except Exception as exc:  # a notice that cannot be rendered must not jam the queue
            log.exception("push %s cannot be rendered", delivery.notice.key)
            await self._record(delivery, "failed", report, error=repr(exc))
            return None
        if rendered is None:
            await self._record(delivery, "obsolete", report, attempted=False)
            return None
        text, markup = rendered
        return await self._send(bot, [delivery], text, markup, report,
                                delivery.notice.kind == reminders.KIND)

    async def _wave(self, bot: Bot, unit: list[Delivery], report: SendReport) -> float | None:
        """A member's reminders of one wave as one digest (split only past Telegram's limits);
        a shop no longer due drops out; the flood wait in seconds on a 429."""
        d = self.d
        t = translator(await d.users.push_language(unit[0].user_id) or d.default_language)
        sections: list[Section] = []
        kept: list[Delivery] = []
        for delivery in unit:
            try:
                section = await self._section(delivery, t)
            except Exception as exc:  # one shop that cannot be rendered must not jam the rest
                log.exception("push %s cannot be rendered", delivery.notice.key)
                await self._record(delivery, "failed", report, error=repr(exc))
                continue
            if section is None:
                await self._record(delivery, "obsolete", report, attempted=False)
                continue
            sections.append(section)
            kept.append(delivery)
        if not kept:  # every shop of the wave paid (or closed) before sending: nothing
            return None
        if len(kept) == 1:  # the single-shop reminder, as for a member with one shop
            return await self._one(bot, kept[0], report)
        reserve = len(_again("", True, t))
        for part in digest(sections, t, d.policy, reserve=reserve):
            copies = [kept[n] for n in part.sections]
            text = _again(part.text, _any_uncertain(copies), t)
            flood = await self._send(bot, copies, text, part.markup, report, True)
            if flood is not None:
                return flood
        return None

    async def _section(self, delivery: Delivery, t: Translator) -> Section | None:
        """One shop's lines of a digest; None when its reminder no longer applies."""
        notice, d = delivery.notice, self.d
        shop, _ = await self._store().shop_and_closure(notice.shop_id)
        if shop is None:
            return None
        snap = await get_snapshot(d.uow(), notice.shop_id, d.clock.now(), d.policy)
        stage = notice.data.get("stage", "")
        if not reminders.still_due(stage, snap):
            return None
        return Section(shop.shop_id, [title(shop, t), *reminder_text(stage, snap, t, d.policy,
                                                                     ignore=False)])

    async def _use_paid(self) -> bool:
        """Whether this reminder goes with allow_paid_broadcast: on, and the day's ceiling
        not reached (taken from the database `block` messages at a time)."""
        if self.paid is None:
            return False
        async with self._paid_lock:
            day = self.d.clock.now().astimezone(UTC).date().isoformat()
            if day != self._paid_day:
                self._paid_day, self._paid_left = day, 0
            if self._paid_left <= 0:
                self._paid_left = await self._store().spend_paid(day, self.paid.block,
                                                                 self.paid.daily_limit)
            if self._paid_left <= 0:
                return False
            self._paid_left -= 1
            return True

    async def _send(self, bot: Bot, copies: list[Delivery], text: str,
                    markup: InlineKeyboardMarkup | None, report: SendReport,
                    reminder: bool) -> float | None:
        """One message for `copies` (one member's); every copy records its result."""
        store = self._store()
        for delivery in copies:
            await store.claim(delivery, self.d.clock.now())
        paid = reminder and await self._use_paid()
        user, keys = copies[0].user_id, ", ".join(c.notice.key for c in copies)
        try:  # None leaves the parameter out of the request
            message = await bot.send_message(user, text, reply_markup=markup,
                                             allow_paid_broadcast=True if paid else None)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            log.warning("flood wait %s s; push %s waits", wait, keys)
            for delivery in copies:
                await self._record(delivery, "pending", report, error="429", attempted=False,
                                   retry_at=self.d.clock.now() + timedelta(seconds=wait))
            return wait
        except Forbidden as exc:
            for delivery in copies:
                await self._record(delivery, "undeliverable", report, error=exc.message)
        except BadRequest as exc:
            gone = "chat not found" in exc.message.lower()
            for delivery in copies:
                await self._record(delivery, "undeliverable" if gone else "failed", report,
                                   error=exc.message)
        except (NetworkError, TelegramError) as exc:
            for delivery in copies:
                await self._retry_later(delivery, report, exc)
        else:
            for delivery in copies:
                await self._record(delivery, "sent", report, message_id=message.message_id)
            if paid:
                metrics.inc("deposit_pushes_paid_total")
        return None

    async def _retry_later(self, delivery: Delivery, report: SendReport,
                           exc: TelegramError) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self.policy.max_attempts:
            log.error("push %s to %s failed %d times: %s", delivery.notice.key,
                      delivery.user_id, attempts, exc)
            await self._record(delivery, "failed", report, error=str(exc))
            return
        retry_at = self.d.clock.now() + self.policy.backoff(attempts)
        await self._record(delivery, "pending", report, error=str(exc), retry_at=retry_at)

    async def _record(self, delivery: Delivery, status: str, report: SendReport, *,
                      error: str | None = None, message_id: int | None = None,
                      retry_at: datetime | None = None, attempted: bool = True) -> None:
        await self._store().record(delivery, status, self.d.clock.now(), error=error,
                                          message_id=message_id, retry_at=retry_at,
                                          attempted=attempted)
        field = "retrying" if status == "pending" else status
        setattr(report, field, getattr(report, field) + 1)
        metrics.inc(f"deposit_pushes_{field}_total")

    async def _render(self, delivery: Delivery) -> tuple[str, InlineKeyboardMarkup | None] | None:
        """Text and buttons in the member's language; None when the push no longer applies."""
        notice, d = delivery.notice, self.d
        shop, closure = await self._store().shop_and_closure(notice.shop_id)
        if shop is None:
            return None
        language = await d.users.push_language(delivery.user_id)
        t = translator(language or d.default_language)
        if notice.kind == reminders.KIND:
            snap = await get_snapshot(d.uow(), notice.shop_id, d.clock.now(), d.policy)
            stage = notice.data.get("stage", "")
            if not reminders.still_due(stage, snap):
                return None
            body = reminder_text(stage, snap, t, d.policy)
            return _again("\n".join([title(shop, t), *body]), delivery.uncertain, t), \
                topup_button(shop.shop_id, t)
        if notice.kind == "closure_ready" and (
                closure is None or closure.stage is not ClosureStage.VERIFIED):
            return None
        return _again(render_notice(notice, shop, t), delivery.uncertain, t), \
            _markup(notice, shop.shop_id, t)


def _any_uncertain(copies: list[Delivery]) -> bool:
    return any(c.uncertain for c in copies)


def _again(text: str, uncertain: bool, t: Translator) -> str:
    """A copy whose first try died mid-call says it may be a repeat (nothing happened twice)."""
    if not uncertain:
        return text
    return text + "\n" + REPEAT_MARK + t.gettext(
        "Sent again after an interruption: if you already have this message, nothing "
        "happened twice.")


def _markup(notice: Notice, shop_id: str, t: Translator) -> InlineKeyboardMarkup | None:
    """A Top up button under a push that leaves the shop short or owing arrears; Withdraw when
    money was freed."""
    data = notice.data
    if notice.kind == "withdrawable_now":
        return InlineKeyboardMarkup([[InlineKeyboardButton(
            t.gettext("Withdraw"), callback_data=f"wd:start:{shop_token(shop_id)}")]])
    for owed in ("shortfall", "remaining"):  # remaining: arrears a failed closure left
        if owed in data and Money.of(data[owed], data[f"{owed}_currency"]).is_positive:
            return topup_button(shop_id, t)
    return None


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after is an int in PTB 22 (a timedelta with PTB_TIMEDELTA=1)."""
    with warnings.catch_warnings():  # the int form is deprecated; either form is read
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


def sender_of(bot_data: dict[str, object]) -> Sender:
    """The Application's one sender."""
    found = bot_data["sender"]
    assert isinstance(found, Sender)
    return found
