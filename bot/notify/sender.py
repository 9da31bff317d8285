"""Delivers outbox pushes: each member's copy once, paced, retried, and never lost on restart.

Every push was written to the outbox in the same transaction as its cause, with one pending
delivery per member. The sender takes due deliveries in order, marks each copy as claimed
(committed) just before its Bot API call, and records each result right after the answer:

- sent: the message id is kept; a restart never sends it again;
- 403 (blocked, deactivated) and "chat not found": undeliverable, never retried;
- RetryAfter (429): the delivery waits `retry_after`, not counted as an attempt, and the
  whole drain pauses (Telegram's flood wait holds for the bot, not one chat);
- network errors and timeouts: retried with exponential backoff up to `max_attempts`;
- anything else (a malformed message): failed, logged, never retried in a loop.

Pacing is the Application's AIORateLimiter (app.py), one message every 1/rate seconds;
`lanes` deliveries are rendered, sent and recorded at once so the pace, not the round trips,
sets the rate. Claims and results are written in groups (`_Journal`): each write is one
transaction holding whatever the lanes have ready (a lane's result goes with its next claim),
so at 1,000 msg/s the database sees a few dozen transactions a second, not two per message.

Reminder waves (issue #16.3): a member's reminders of one wave (one scan, one `created_at`)
go out as one digest, each shop with its figures and its own Top up button; each shop's copy
is still decided, deduplicated and recorded on its own (a shop paid before sending drops out;
none left, nothing is sent; one left, the single-shop message). With paid broadcast on
(`PaidBroadcast`), reminders are sent with Bot API `allow_paid_broadcast` while the day's
ceiling lasts, paced at its own rate; every other push keeps the free pace.

The only window where a push can go out twice is a crash (kill -9) between Telegram
accepting it and the write that records it: the lane renders its next unit (a snapshot read,
about a millisecond) and writes the result with that unit's claim, or writes it at once when
the lane has nothing left. A crash there resends, after restart, each copy that was claimed
and not yet recorded, with the "sent again" line: at most one per lane in flight (32 with
paid broadcast, 4 at the free pace), as when every result had its own transaction. The
sender prefers that to losing a push (at-least-once there, exactly-once everywhere else).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import metrics
from bot.context import Deps
from bot.handlers.common import shop_token
from bot.i18n import Translator, translator
from bot.limits import FittingBot
from bot.notify.pace import retry_seconds
from bot.notify.reminders import Section, digest, reminder_text, topup_button, topup_keyboard
from bot.notify.render import render_notice, title
from bot.storage.db import ts
from bot.storage.deliveries import PushStore
from bot.storage.pushes import Delivery, Result
from domain import reminders
from domain.errors import UnknownShop
from domain.model import ClosureStage
from domain.money import Money
from domain.notices import Notice
from domain.services import current_snapshot, get_snapshot
from domain.status import Snapshot

log = logging.getLogger(__name__)
REPEAT_MARK = "↻ "
Pause = Callable[[float], Awaitable[bool]]
Keyboard = InlineKeyboardMarkup | dict[str, Any] | None  # a dict: the Bot API's JSON object


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


class _Journal:
    """A batch's claims and results, written together in as few transactions as the lanes
    allow. A claim must be committed before its Bot API call, so `claim` waits for the write
    that holds it; a result is written with the next claim of any lane, or by `flush` when
    its lane ends. One write at a time: the claims and results that arrive during a write go
    in the next one. At the free pace (one message every 33 ms) a write is one claim and the
    previous message's result; at 1,000 a second, what the lanes produced during the
    previous write."""

    def __init__(self, store: PushStore, clock: Callable[[], datetime],
                 recorded: Callable[[list[Result]], None]) -> None:
        self.store, self.clock, self.recorded = store, clock, recorded
        self._claims: list[tuple[list[Delivery], asyncio.Future[None]]] = []
        self._results: list[Result] = []
        self._lock = asyncio.Lock()

    def result(self, result: Result) -> None:
        """Keep an attempt's result for the next write."""
        self._results.append(result)

    async def claim(self, copies: list[Delivery]) -> None:
        """Return once the copies are marked as being sent (with whatever else is queued)."""
        done = asyncio.get_running_loop().create_future()
        self._claims.append((copies, done))
        while not done.done():
            await self._write()
        done.result()

    async def flush(self) -> None:
        """Write everything queued so far."""
        await self._write()

    def carry(self, results: list[Result]) -> None:
        """Results an earlier batch could not write, to be written first."""
        self._results[:0] = results

    def unwritten(self) -> list[Result]:
        """The results no write has taken yet (after a failed flush)."""
        results, self._results = self._results, []
        return results

    async def _write(self) -> None:
        async with self._lock:
            claims, self._claims = self._claims, []
            results, self._results = self._results, []
            if not claims and not results:
                return
            try:
                await self.store.write(results, [c for copies, _ in claims for c in copies],
                                       self.clock())
            except BaseException as exc:
                # The results stay for the next write (a copy Telegram accepted must not be
                # sent again for a lost record); the claims fail: those copies are not sent.
                self._results[:0] = results
                for _, waiting in claims:
                    waiting.set_exception(exc)
                    waiting.exception()  # raised here; the waiters need not retrieve it
                raise
            for _, waiting in claims:
                waiting.set_result(None)
        self.recorded(results)


@dataclass
class _Round:
    """One batch's state shared by its lanes."""

    store: PushStore
    languages: dict[int, str | None]
    journal: _Journal


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
        self._unwritten: list[Result] = []  # results a failed write left for the next batch

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
        """One batch; True when more may be due at once. Results a failed write left behind
        (a lost connection, a lock held too long) are written before anything is read as
        due: otherwise the copies they record, still claimed, would be sent again."""
        store, now = self._store(), self.d.clock.now()

        def recorded(results: list[Result]) -> None:
            for result in results:
                field = "retrying" if result.status == "pending" else result.status
                setattr(report, field, getattr(report, field) + 1)
                metrics.inc(f"deposit_pushes_{field}_total")

        journal = _Journal(store, self.d.clock.now, recorded)
        journal.carry(self._unwritten)
        self._unwritten = []
        try:
            await journal.flush()
        finally:
            self._unwritten = journal.unwritten()
        due = await store.due(now, self.policy.batch)
        full = len(due) == self.policy.batch
        due += await store.wave_mates(due, now)
        if not due:
            return full
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

        languages = await store.languages(list(dict.fromkeys(d.user_id for d in due)))
        r = _Round(store, languages, journal)
        floods: list[float] = []
        try:
            await asyncio.gather(*(self._lane(bot, r, lane, floods)
                                   for lane in lanes.values()))
        finally:
            try:
                await journal.flush()
            finally:
                self._unwritten = journal.unwritten()
        if floods:  # what the lanes had not started stays pending for the next drain
            self._again = False
            return await self.pause(max(floods))
        return full

    async def _lane(self, bot: Bot, r: _Round, units: list[list[Delivery]],
                    floods: list[float]) -> None:
        """Send one lane's units in order; every lane stops at the first 429. A result is
        written with the lane's next claim (its next unit is rendered first, a millisecond),
        and the lane's last one as the lane ends: a copy Telegram accepted waits about as
        long for its record as when each had its own transaction."""
        try:
            for unit in units:
                if floods:
                    return
                flood = await (self._one(bot, r, unit[0]) if len(unit) == 1
                               else self._wave(bot, r, unit))
                if flood is not None:
                    floods.append(flood)
                    return
        finally:
            await r.journal.flush()

    def _translator(self, r: _Round, user_id: int) -> Translator:
        return translator(r.languages.get(user_id) or self.d.default_language)

    async def _one(self, bot: Bot, r: _Round, delivery: Delivery) -> float | None:
        """Send one copy and record the result; the flood wait in seconds on a 429."""
        try:
            rendered = await self._render(r, delivery)
        except Exception as exc:  # a notice that cannot be rendered must not jam the queue
            log.exception("push %s cannot be rendered", delivery.notice.key)
            r.journal.result(Result(delivery, "failed", error=repr(exc)))
            return None
        if rendered is None:
            r.journal.result(Result(delivery, "obsolete", attempted=False))
            return None
        text, markup = rendered
        return await self._send(bot, r, [delivery], text, markup,
                                delivery.notice.kind == reminders.KIND)

    async def _wave(self, bot: Bot, r: _Round, unit: list[Delivery]) -> float | None:
        """A member's reminders of one wave as one digest (split only past Telegram's limits);
        a shop no longer due drops out; the flood wait in seconds on a 429."""
        d = self.d
        t = self._translator(r, unit[0].user_id)
        snaps = await self._snapshots([c.notice.shop_id for c in unit])
        sections: list[Section] = []
        kept: list[Delivery] = []
        for delivery in unit:
            try:
                section = self._section(delivery, snaps[delivery.notice.shop_id], t)
            except Exception as exc:  # one shop that cannot be rendered must not jam the rest
                log.exception("push %s cannot be rendered", delivery.notice.key)
                r.journal.result(Result(delivery, "failed", error=repr(exc)))
                continue
            if section is None:
                r.journal.result(Result(delivery, "obsolete", attempted=False))
                continue
            sections.append(section)
            kept.append(delivery)
        if not kept:  # every shop of the wave paid (or closed) before sending: nothing
            return None
        if len(kept) == 1:  # the single-shop reminder, as for a member with one shop
            return await self._one(bot, r, kept[0])
        reserve = len(_again("", True, t))
        for part in digest(sections, t, d.policy, reserve=reserve):
            copies = [kept[n] for n in part.sections]
            text = _again(part.text, _any_uncertain(copies), t)
            flood = await self._send(bot, r, copies, text, part.markup, True)
            if flood is not None:
                return flood
        return None

    async def _snapshots(self, shop_ids: list[str]) -> dict[str, Snapshot | Exception | None]:
        """Each shop's snapshot now (None: the shop is gone), all in one read transaction:
        the shop is read once, by the snapshot itself."""
        uow, now = self.d.uow(), self.d.clock.now()
        found: dict[str, Snapshot | Exception | None] = {}
        async with uow.reading():
            for shop_id in dict.fromkeys(shop_ids):
                try:
                    found[shop_id] = await current_snapshot(uow, shop_id, now, self.d.policy)
                except UnknownShop:
                    found[shop_id] = None
                except Exception as exc:  # rendering that shop fails, not the others
                    found[shop_id] = exc
        return found

    def _section(self, delivery: Delivery, snap: Snapshot | Exception | None,
                 t: Translator) -> Section | None:
        """One shop's lines of a digest; None when its reminder no longer applies."""
        if isinstance(snap, Exception):
            raise snap
        if snap is None:
            return None
        stage = delivery.notice.data.get("stage", "")
        if not reminders.still_due(stage, snap):
            return None
        shop = snap.facts.shop
        return Section(shop.shop_id, [title(shop, t), *reminder_text(
            stage, snap, t, self.d.policy, ignore=False)])

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

    async def _send(self, bot: Bot, r: _Round, copies: list[Delivery], text: str,
                    markup: Keyboard, reminder: bool) -> float | None:
        """One message for `copies` (one member's); every copy records its result."""
        await r.journal.claim(copies)
        paid = reminder and await self._use_paid()
        user, keys = copies[0].user_id, ", ".join(c.notice.key for c in copies)
        results: list[Result]
        wait: float | None = None
        try:  # None leaves the parameter out of the request
            message_id = await _send_text(bot, user, text, markup, True if paid else None)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            log.warning("flood wait %s s; push %s waits", wait, keys)
            retry_at = self.d.clock.now() + timedelta(seconds=wait)
            results = [Result(c, "pending", error="429", attempted=False, retry_at=retry_at)
                       for c in copies]
        except Forbidden as exc:
            results = [Result(c, "undeliverable", error=exc.message) for c in copies]
        except BadRequest as exc:
            gone = "chat not found" in exc.message.lower()
            results = [Result(c, "undeliverable" if gone else "failed", error=exc.message)
                       for c in copies]
        except (NetworkError, TelegramError) as exc:
            results = [self._retry_later(c, exc) for c in copies]
        else:
            results = [Result(c, "sent", message_id=message_id) for c in copies]
            if paid:
                metrics.inc("deposit_pushes_paid_total")
        for result in results:
            r.journal.result(result)
        return wait

    def _retry_later(self, delivery: Delivery, exc: TelegramError) -> Result:
        attempts = delivery.attempts + 1
        if attempts >= self.policy.max_attempts:
            log.error("push %s to %s failed %d times: %s", delivery.notice.key,
                      delivery.user_id, attempts, exc)
            return Result(delivery, "failed", error=str(exc))
        retry_at = self.d.clock.now() + self.policy.backoff(attempts)
        return Result(delivery, "pending", error=str(exc), retry_at=retry_at)

    async def _render(self, r: _Round, delivery: Delivery
                      ) -> tuple[str, Keyboard] | None:
        """Text and buttons in the member's language; None when the push no longer applies."""
        notice, d = delivery.notice, self.d
        t = self._translator(r, delivery.user_id)
        if notice.kind == reminders.KIND:  # the shop and its facts: one statement
            try:
                snap: Snapshot | None = await get_snapshot(d.uow(), notice.shop_id,
                                                           d.clock.now(), d.policy)
            except UnknownShop:
                snap = None
            stage = notice.data.get("stage", "")
            if snap is None or not reminders.still_due(stage, snap):
                return None
            body = reminder_text(stage, snap, t, d.policy)
            return _again("\n".join([title(snap.facts.shop, t), *body]), delivery.uncertain,
                          t), topup_keyboard(notice.shop_id, t)
        shop, closure = await r.store.shop_and_closure(notice.shop_id)
        if shop is None:
            return None
        if notice.kind == "closure_ready" and (
                closure is None or closure.stage is not ClosureStage.VERIFIED):
            return None
        return _again(render_notice(notice, shop, t), delivery.uncertain, t), \
            _markup(notice, shop.shop_id, t)


async def _send_text(bot: Bot, chat_id: int, text: str, markup: Keyboard,
                     paid: bool | None) -> int:
    """The message id; the Application's FittingBot does not build a Message from the answer
    (bot/limits.py), any other Bot sends as usual."""
    if isinstance(bot, FittingBot):
        return await bot.send_text(chat_id, text, markup, allow_paid_broadcast=paid)
    message = await bot.send_message(chat_id, text, reply_markup=markup,  # type: ignore[arg-type]
                                     allow_paid_broadcast=paid)
    return message.message_id


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


def sender_of(bot_data: dict[str, object]) -> Sender:
    """The Application's one sender."""
    found = bot_data["sender"]
    assert isinstance(found, Sender)
    return found
