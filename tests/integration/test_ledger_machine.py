"""A hypothesis state machine driving the real storage against an independent model.

It runs on SQLite, and on PostgreSQL with two connections (two instances' worth) taking
turns: every unit of work goes to the other connection than the one before, and the
concurrent rules (two holds at once, one event sent twice at once) race across them.

Sizes: 40 examples of 30 steps in `make test`; DEPOSIT_SOAK=N runs N examples (DEPOSIT_STEPS
sets the steps per example, 30 by default).
Replay: every run is driven by one seed (tests/soak.py); a failure's message ends with
"replay with DEPOSIT_SEED=S" — run the same command with that variable (and the same
DEPOSIT_SOAK) to get exactly the same examples again.
"""

from __future__ import annotations

import asyncio
import calendar
import os
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.storage.db import Database
from domain import errors
from domain.apply import Outcome
from domain.closure_service import cancel_closure, reopen_shop, sign_agreement, verify_identity
from domain.jobs import run_due
from domain.model import Withdrawal
from domain.policy import load_policy
from domain.services import (
    cancel_withdrawal,
    confirm_withdrawal,
    send_closure_code,
    start_refund,
    start_withdrawal,
)
from tests import pgtest
from tests.conftest import BACKENDS, require_postgres
from tests.soak import SOAK, rng_seed

from .conftest import BANK, OWNER, T0, Clock, Platform, RecordingChannel

pytestmark = pytest.mark.reliability
EXAMPLES = SOAK or 40
STEPS = int(os.environ.get("DEPOSIT_STEPS", "30"))  # 60 doubles a soak (~36 min at 2,000)
TIER = {"home_goods": 500, "beauty": 1000, "jewellery": 1000, "electronics": 2000}
HOLD, MIN = timedelta(hours=2), Decimal(20)
ACTIVE = {"started", "verified", "signed", "refunding"}
ZERO = Decimal(0)
AMOUNTS = st.sampled_from(["0.01", "1", "19.99", "20", "20.01", "100", "480", "499.99", "500",
                           "500.01", "520", "1000", "1020", "2000"])


def six_months_after(moment: datetime) -> datetime:
    month = moment.month + 5
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Alternating(Platform):
    """A platform whose units of work take turns between two connections."""

    def __init__(self, dbs: tuple[Database, Database], clock: Clock, policy: Any) -> None:
        super().__init__(dbs[0], clock, policy)
        self.dbs, self.turn = dbs, 0

    def uow(self) -> Any:
        self.turn += 1
        return type(super().uow())(self.dbs[self.turn % 2])


class LedgerMachine(RuleBasedStateMachine):
    """Top-ups, withdrawals, deductions, orders, closure steps and clock jumps on one US shop."""

    backend = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.loop = asyncio.new_event_loop()
        self.policy = load_policy()
        self.clock = Clock(T0)
        self.url: str | None = None
        if self.backend == "postgres":
            self.url = self.run(pgtest.fresh_database("machine"))
            self.db = self.run(Database.open(self.url))
            self.other: Database | None = self.run(Database.open(self.url))
            self.p = Alternating((self.db, self.other), self.clock, self.policy)
        else:
            self.db = self.run(Database.open(Path(self.tmp.name) / "machine.db"))
            self.other = None
            self.p = Platform(self.db, self.clock, self.policy)
        self.channel = RecordingChannel()
        self.balance = self.arrears = self.topped = self.paid_out = ZERO
        self.reported: dict[str, Decimal] = {"commission": ZERO, "invoice": ZERO}
        self.holds: dict[str, list[Any]] = {}  # id -> [amount, kind, status, created_at]
        self.listings: dict[str, int] = {}
        self.orders: dict[str, tuple[str, str, datetime | None]] = {}
        self.refs: list[str] = []
        self.applied: list[dict[str, Any]] = []
        self.notices = {"payment_confirmed": 0, "deduction_posted": 0, "withdrawal_paid": 0,
                        "withdrawal_failed": 0, "hold_expired": 0}
        self.stage: str | None = None
        self.due: datetime | None = None
        self.closed_at: datetime | None = None
        self.run(self.p.register())
        self.send(self.p.event("closure_notice.posted",
                               occurred_at=(T0 - timedelta(days=31)).isoformat()))

    def teardown(self) -> None:
        self.run(self.db.close())
        if self.other is not None:
            self.run(self.other.close())
        if self.url is not None:
            self.run(pgtest.drop(self.url))
        self.loop.close()
        self.tmp.cleanup()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def together(self, *coros: Any) -> list[Any]:
        """Run coroutines at once on the machine's loop; exceptions come back as results."""
        async def gathered() -> list[Any]:
            return list(await asyncio.gather(*coros, return_exceptions=True))
        return self.run(gathered())

    def attempt(self, coro: Any) -> Any:
        try:
            return self.run(coro)
        except errors.DepositError as exc:
            return exc

    def send(self, raw: dict[str, Any], outcome: Outcome = Outcome.APPLIED,
             field: str | None = None) -> None:
        result = self.run(self.p.send(raw))
        assert (result.outcome, result.field) == (outcome, field), result
        if outcome is Outcome.APPLIED:
            self.applied.append(raw)

    # --- the independent model -------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.clock.now()

    def required(self) -> Decimal:
        cats = {"home_goods"} | {c for c, n in self.listings.items() if n > 0}
        cats |= {cat for status, cat, _ in self.orders.values() if status == "open"}
        return Decimal(max(TIER[c] for c in cats))

    def active(self) -> Decimal:
        return sum((h[0] for h in self.holds.values() if h[2] == "confirmed"
                    or (h[2] == "held" and self.now < h[3] + HOLD)), ZERO)

    def confirmed(self) -> Decimal:
        return sum((h[0] for h in self.holds.values() if h[2] == "confirmed"), ZERO)

    def reserve(self) -> Decimal:
        """What may not be withdrawn: required, except once signed or closed (whole balance)."""
        whole = self.stage in {"signed", "refunding"} or self.closed_at is not None
        return ZERO if whole else self.required()

    def withdrawable(self) -> Decimal:
        return max(self.balance - self.active() - self.reserve(), ZERO)

    def release_held(self) -> None:
        for h in self.holds.values():
            if h[2] == "held":
                h[2] = "released"

    def owed(self) -> Decimal:
        return self.arrears + sum(self.reported.values())

    # --- money in and out ------------------------------------------------------------
    @initialize(amount=st.sampled_from(["0", "500", "519.99", "520", "540", "560", "600",
                                        "1020"]))
    def opening_deposit(self, amount: str) -> None:
        if amount != "0":
            self.top_up(amount, "new")

    @rule(amount=AMOUNTS, mode=st.sampled_from(["new"] * 5 + ["same_ref", "currency", "zero"]))
    def top_up(self, amount: str, mode: str) -> None:
        if mode == "same_ref" and self.refs:
            raw = self.p.event("payment.confirmed", payment_ref=self.refs[-1], amount=amount,
                               currency="USD")
            field = "shop_id" if self.closed_at else "payment_ref"
            return self.send(raw, Outcome.REJECTED, field)
        if mode in {"currency", "zero"}:
            bad = {"currency": "GBP"} if mode == "currency" else {"amount": "0"}
            raw = {**self.p.event("payment.confirmed", payment_ref=f"R{len(self.refs)}",
                                  amount=amount, currency="USD"), **bad}
            return self.send(raw, Outcome.REJECTED, "amount" if mode == "zero" else "currency")
        ref = f"R{len(self.refs)}"
        raw = self.p.event("payment.confirmed", payment_ref=ref, amount=amount, currency="USD")
        if self.closed_at is not None:
            return self.send(raw, Outcome.REJECTED, "shop_id")
        self.send(raw)
        value = Decimal(amount)
        to_arrears = min(value, self.arrears)
        self.refs.append(ref)
        self.arrears -= to_arrears
        self.balance += value - to_arrears
        self.topped += value
        self.notices["payment_confirmed"] += 1

    @rule(extra=st.sampled_from(["-0.01", "0", "19.99", "20", "20.01", "21", "60"]))
    def fund_tightly(self, extra: str) -> None:
        """Top up to exactly required + holds + `extra` (arrears are paid first)."""
        target = self.reserve() + self.active() + Decimal(extra)
        self.top_up(str(max(target - self.balance + self.arrears, Decimal("0.01"))), "new")

    @rule(amount=st.sampled_from(["1", "20", "100", "499.99", "600", "1500", "2500"]))
    def deduction(self, amount: str) -> None:
        self.send(self.p.event("deduction.posted", deduction_id=f"D{len(self.applied)}",
                               amount=amount, currency="USD", reason="fraud", note=""))
        self.release_held()
        taken = min(Decimal(amount), max(self.balance - self.confirmed(), ZERO))
        self.balance -= taken
        self.arrears += Decimal(amount) - taken
        self.notices["deduction_posted"] += 1
        self.schedule_offset()

    def schedule_offset(self) -> None:
        if self.stage == "verified" and self.due is None and self.owed() > 0:
            self.due = self.now + timedelta(days=10)

    @rule(amount=st.sampled_from(["all", "all", "over", "1", "19", "20", "20.5", "50", "101"]),
          edge=st.sampled_from([None, 7199, 7200, 7201]))
    def start(self, amount: str, edge: int | None) -> None:
        """Enter an amount; sometimes jump to the hold's edge at once and try to confirm."""
        allowed = self.withdrawable()
        high = allowed.to_integral_value(rounding=ROUND_FLOOR)
        value = {"all": high, "over": high + 1}[amount] if amount in {"all", "over"} \
            else Decimal(amount)
        expected: type | None = None
        if self.closed_at is not None:
            expected = errors.ShopClosed
        elif self.stage in {"signed", "refunding"}:
            expected = errors.ClosureStepRefused
        elif high < MIN:
            expected = errors.NothingWithdrawable
        elif value > high:
            expected = errors.AboveWithdrawable
        elif value < MIN:
            expected = errors.BelowMinimumWithdrawal
        elif value != value.to_integral_value():
            expected = errors.WithdrawalNotWhole
        outcome = self.attempt(start_withdrawal(self.p.uow(), "S1", value, self.now,
                                                self.policy))
        if expected is None:
            self.hold(outcome, value, "normal")
            if edge is not None:
                self.clock.advance(seconds=edge)
                self.confirm_one(outcome.withdrawal_id)
            return
        assert isinstance(outcome, expected), (outcome, expected)
        event(f"start refused: {expected.__name__}")
        if isinstance(outcome, errors.NothingWithdrawable):
            assert (outcome.minimum.amount, outcome.withdrawable.amount) == (MIN, allowed)
        elif hasattr(outcome, "minimum"):
            assert (outcome.minimum.amount, outcome.maximum.amount) == (MIN, high)

    @precondition(lambda self: self.stage == "signed" and not self.live("refund"))
    @rule()
    def start_refund(self) -> None:
        value = self.withdrawable()
        outcome = self.attempt(start_refund(self.p.uow(), "S1", self.now, self.policy))
        if value == 0:
            assert isinstance(outcome, errors.BelowMinimumWithdrawal), outcome
        else:
            self.hold(outcome, value, "refund")

    def live(self, kind: str) -> bool:
        return any(h[1] == kind and h[2] in {"held", "confirmed"} for h in self.holds.values())

    def hold(self, w: Withdrawal, value: Decimal, kind: str) -> None:
        assert isinstance(w, Withdrawal), w
        assert w.amount.amount == value and w.created_at == self.now
        self.holds[w.withdrawal_id] = [value, kind, "held", self.now]
        event(f"{kind} hold started")
        assert self.active() <= self.balance - self.reserve()

    def pick(self, index: int, statuses: set[str]) -> str | None:
        ids = [i for i, h in self.holds.items() if h[2] in statuses]
        return ids[index % len(ids)] if ids else None

    @rule(index=st.integers(0, 7))
    def confirm(self, index: int) -> None:
        wid = self.pick(index, {"held", "confirmed"})
        if wid is not None:
            self.confirm_one(wid)

    def confirm_one(self, wid: str) -> None:
        h = self.holds[wid]
        outcome = self.attempt(confirm_withdrawal(self.p.uow(), "S1", wid, BANK, self.now,
                                                  self.policy))
        if h[2] != "held":
            assert isinstance(outcome, errors.WithdrawalNotPending), outcome
        elif self.now >= h[3] + HOLD:
            assert isinstance(outcome, errors.HoldExpired), outcome
            event(f"confirm refused at +{(self.now - h[3]).total_seconds():.0f}s")
        else:
            assert isinstance(outcome, Withdrawal), outcome
            event(f"confirmed at +{(self.now - h[3]).total_seconds():.0f}s"
                  if self.now - h[3] > timedelta(hours=1) else "confirmed")
            h[2] = "confirmed"
            if h[1] == "refund" and self.stage == "signed":
                self.stage = "refunding"

    @rule(index=st.integers(0, 7))
    def cancel(self, index: int) -> None:
        wid = self.pick(index, {"held", "confirmed"})
        if wid is None:
            return
        outcome = self.attempt(cancel_withdrawal(self.p.uow(), "S1", wid, self.now))
        if self.holds[wid][2] == "held":
            assert isinstance(outcome, Withdrawal), outcome
            self.holds[wid][2] = "released"
        else:
            assert isinstance(outcome, errors.WithdrawalNotPending), outcome

    @rule(index=st.integers(0, 7), paid=st.booleans())
    def payout_result(self, index: int, paid: bool) -> None:
        wid = self.pick(index, {"held", "confirmed", "paid", "released", "failed"})
        if wid is None:
            return
        h = self.holds[wid]
        kind = "withdrawal.paid" if paid else "withdrawal.failed"
        raw = self.p.event(kind, withdrawal_id=wid, **({} if paid else {"reason": "bank"}))
        if h[2] != "confirmed":
            return self.send(raw, Outcome.REJECTED, "withdrawal_id")
        self.send(raw)
        h[2] = "paid" if paid else "failed"
        self.notices["withdrawal_paid" if paid else "withdrawal_failed"] += 1
        if paid:
            self.balance -= h[0]
            self.paid_out += h[0]
        if h[1] == "refund" and self.stage == "refunding":
            event(f"refund {'paid' if paid else 'failed'}")
            emptied = paid and self.balance == 0
            self.stage = "closed" if emptied else "signed"
            self.closed_at = self.now if emptied else None

    # --- several operations at once on the one database ------------------------------
    @rule(copies=st.integers(2, 4), amount=st.sampled_from(["20", "50", "100", "250"]))
    def concurrent_starts(self, copies: int, amount: str) -> None:
        """Several withdrawals of one amount started at once: as many as fit are held."""
        value, allowed = Decimal(amount), self.withdrawable()
        results = self.together(*(start_withdrawal(self.p.uow(), "S1", value, self.now,
                                                   self.policy) for _ in range(copies)))
        held = [r for r in results if isinstance(r, Withdrawal)]
        fit = 0 if self.closed_at or self.stage in {"signed", "refunding"} \
            else min(copies, int(allowed // value))
        assert len(held) == fit, (results, allowed)
        assert all(isinstance(r, errors.DepositError) for r in results if r not in held)
        for w in held:
            self.hold(w, value, "normal")
        event(f"concurrent starts: {fit} of {copies} held")

    @rule(amount=AMOUNTS)
    def concurrent_same_payment(self, amount: str) -> None:
        """The platform sends one payment twice at once: credited once."""
        if self.closed_at is not None:
            return
        ref = f"R{len(self.refs)}"
        raw = self.p.event("payment.confirmed", payment_ref=ref, amount=amount, currency="USD")
        results = self.together(self.p.send(raw), self.p.send(raw))
        assert sorted(r.outcome for r in results) == sorted([Outcome.APPLIED,
                                                             Outcome.DUPLICATE]), results
        self.applied.append(raw)
        value = Decimal(amount)
        to_arrears = min(value, self.arrears)
        self.refs.append(ref)
        self.arrears -= to_arrears
        self.balance += value - to_arrears
        self.topped += value
        self.notices["payment_confirmed"] += 1

    @precondition(lambda self: self.closed_at is None and self.stage not in {"signed",
                                                                            "refunding"})
    @rule(amount=st.sampled_from(["1", "100", "2500"]))
    def deduction_during_hold(self, amount: str) -> None:
        """A deduction lands between holding and confirming: the hold is gone at confirm."""
        allowed = self.withdrawable().to_integral_value(rounding=ROUND_FLOOR)
        if allowed < MIN:
            return
        hold = self.run(start_withdrawal(self.p.uow(), "S1", allowed, self.now, self.policy))
        self.hold(hold, allowed, "normal")
        self.deduction(amount)
        self.confirm_one(hold.withdrawal_id)
        assert self.holds[hold.withdrawal_id][2] == "released"

    # --- what sets required, and arrears ---------------------------------------------
    @rule(category=st.sampled_from(sorted(TIER)), live=st.sampled_from([0, 1]))
    def listing(self, category: str, live: int) -> None:
        self.send(self.p.event("listing.changed", category=category, live_listings=live))
        self.listings[category] = live

    @rule(order=st.sampled_from(["O1", "O2"]), category=st.sampled_from(sorted(TIER)),
          status=st.sampled_from(["open", "completed"]))
    def order(self, order: str, category: str, status: str) -> None:
        self.send(self.p.event("order.updated", order_id=order, category=category,
                               status=status))
        ended = self.orders.get(order, (None, None, None))[2]
        self.orders[order] = (status, category, None if status == "open" else ended or self.now)

    @rule(kind=st.sampled_from(["commission", "invoice"]),
          amount=st.sampled_from(["0", "5", "20", "300", "700"]))
    def arrears_reported(self, kind: str, amount: str) -> None:
        self.send(self.p.event("arrears.updated", kind=kind, amount=amount, currency="USD"))
        self.reported[kind] = Decimal(amount)
        self.schedule_offset()

    @rule(index=st.integers(0, 200), change=st.booleans())
    def replay(self, index: int, change: bool) -> None:
        raw = self.applied[index % len(self.applied)]
        if change:
            moved = datetime.fromisoformat(raw["occurred_at"]) + timedelta(seconds=1)
            raw = {**raw, "occurred_at": moved.isoformat()}
        before = self.run(self.p.counts())
        result = self.run(self.p.send(raw))
        assert result.outcome is (Outcome.CONFLICT if change else Outcome.DUPLICATE)
        assert self.run(self.p.counts()) == before

    # --- time ------------------------------------------------------------------------
    @rule(seconds=st.sampled_from([7199, 7200, 7201]), then_confirm=st.booleans())
    def jump_to_hold_edge(self, seconds: int, then_confirm: bool) -> None:
        held = [i for i, h in self.holds.items() if h[2] == "held"] or list(self.holds)
        if not held:
            return
        newest = max(held, key=lambda i: self.holds[i][3])
        target = self.holds[newest][3] + timedelta(seconds=seconds)
        if target >= self.now:
            self.clock.set(target)
            if then_confirm:
                self.confirm_one(newest)

    @rule(minutes=st.sampled_from([1, 30, 119, 121, 60 * 24, 60 * 24 * 10, 60 * 24 * 91]))
    def jump(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @rule()
    def jobs(self) -> None:
        self.run(run_due(self.p.uow(), self.now, self.policy))
        for h in self.holds.values():
            if h[2] == "held" and self.now >= h[3] + HOLD:
                h[2] = "released"
                self.notices["hold_expired"] += 1
        if self.stage == "verified" and self.due is not None and self.due <= self.now:
            self.settle()

    def settle(self) -> None:
        self.release_held()
        left, unpaid = max(self.balance - self.confirmed(), ZERO), ZERO
        for kind in ("commission", "invoice"):
            taken = min(self.reported[kind], left)
            left, self.balance = left - taken, self.balance - taken
            unpaid += self.reported[kind] - taken
            self.reported[kind] = ZERO
        taken = min(self.arrears, left)
        self.balance, self.arrears = self.balance - taken, self.arrears - taken + unpaid
        self.stage, self.due = ("failed" if self.arrears > 0 else "verified"), None
        event(f"closure offset: {self.stage}")

    # --- closure ---------------------------------------------------------------------
    @precondition(lambda self: self.stage not in ACTIVE - {"started"} and self.closed_at is None)
    @rule(verify=st.booleans())
    def closure_identity(self, verify: bool) -> None:
        self.run(send_closure_code(self.p.uow(), "S1", OWNER, self.now, self.policy,
                                   self.channel))
        self.stage = "started"
        if verify:
            self.run(verify_identity(self.p.uow(), "S1", self.channel.last_code, "r",
                                     self.now, self.policy))
            self.stage = "verified"
            self.due = self.now + timedelta(days=10) if self.owed() > 0 else None

    @precondition(lambda self: self.stage in {"started", "verified"})
    @rule()
    def closure_cancel(self) -> None:
        self.run(cancel_closure(self.p.uow(), "S1", self.now))
        self.stage, self.due = "cancelled", None

    @precondition(lambda self: self.stage == "verified" and not self.live("normal"))
    @rule()
    def closure_sign(self) -> None:
        ends = [end for status, _, end in self.orders.values() if end is not None]
        orders_ok = all(s != "open" for s, _, _ in self.orders.values()) and (
            not ends or max(ends) + timedelta(days=90) <= self.now)
        ok = orders_ok and self.owed() == 0
        outcome = self.attempt(sign_agreement(self.p.uow(), "S1", OWNER, self.now, self.policy))
        if not ok:
            assert isinstance(outcome, errors.ClosureStepRefused), outcome
            return
        assert not isinstance(outcome, errors.DepositError), outcome
        event("closure signed")
        self.stage = "signed"
        if self.balance == 0:
            self.stage, self.closed_at = "closed", self.now

    @precondition(lambda self: self.closed_at is not None)
    @rule(edge=st.sampled_from([None, -1, 0]))
    def reopen(self, edge: int | None) -> None:
        allowed = six_months_after(self.closed_at)
        if edge is not None and allowed + timedelta(seconds=edge) >= self.now:
            self.clock.set(allowed + timedelta(seconds=edge))
        outcome = self.attempt(reopen_shop(self.p.uow(), "S1", self.now, self.policy))
        if self.now < allowed:
            assert isinstance(outcome, errors.ReopenTooEarly), outcome
            assert outcome.allowed_from == allowed
        else:
            assert outcome is None, outcome
            event("shop reopened")
            self.closed_at = None

    # --- invariants ------------------------------------------------------------------
    @invariant()
    def books_agree_with_the_model(self) -> None:
        snap = self.run(self.p.snapshot())
        raw = self.run(self.p.deposit_sum())
        assert snap.balance.amount == raw == self.balance
        assert raw >= 0
        arrears = self.run(self.p.scalar(
            "SELECT coalesce(sum(CASE WHEN debit = ?1 THEN amount_minor ELSE -amount_minor END),"
            " 0) FROM transfers WHERE debit = ?1 OR credit = ?1", "shop:S1:arrears"))
        assert Decimal(arrears) / 100 == self.arrears
        nets = self.run(self.p.rows(
            "SELECT account, sum(delta) FROM (SELECT credit AS account, amount_minor AS delta "
            "FROM transfers UNION ALL SELECT debit, -amount_minor FROM transfers) "
            "GROUP BY account"))
        net = {a: Decimal(n) / 100 for a, n in nets}
        assert sum(net.values()) == 0
        assert -net.get("platform:clearing:USD", ZERO) == self.topped
        assert net.get("platform:payouts:USD", ZERO) == self.paid_out
        revenue = self.topped - self.balance - self.paid_out + self.arrears
        assert net.get("platform:revenue:USD", ZERO) == revenue
        self.holds_never_exceed_the_balance(snap)

    def holds_never_exceed_the_balance(self, snap: Any) -> None:
        confirmed, active = self.run(self.p.rows(
            "SELECT coalesce(sum(CASE WHEN status = 'confirmed' THEN amount_minor END), 0), "
            "coalesce(sum(amount_minor), 0) FROM withdrawals WHERE status = 'confirmed' "
            "OR (status = 'held' AND expires_at > ?)", utc_text(self.now)))[0]
        assert Decimal(confirmed) / 100 <= self.balance
        assert Decimal(active) / 100 == self.active() <= self.balance
        assert snap.in_withdrawal.amount == self.active()
        assert snap.withdrawable.amount == self.withdrawable() >= 0
        assert snap.required.amount.amount == self.required()

    @invariant()
    def every_balance_is_the_sum_of_its_entries(self) -> None:
        """What the storage reports for each account equals Σ of its transfers."""
        nets = self.run(self.p.rows(
            "SELECT account, sum(delta) FROM (SELECT credit AS account, amount_minor AS delta "
            "FROM transfers UNION ALL SELECT debit, -amount_minor FROM transfers) "
            "GROUP BY account"))

        async def reported() -> dict[str, int]:
            async with self.p.uow() as uow:
                return {a: (await uow.ledger.balance(a, "USD")).minor for a, _ in nets}

        assert self.run(reported()) == dict(nets)
        assert dict(nets).get("shop:S1:arrears", 0) <= 0  # arrears are owed, never a credit

    @invariant()
    def each_push_is_queued_once(self) -> None:
        keys, distinct = self.run(self.p.rows(
            "SELECT count(*), count(DISTINCT dedup_key) FROM outbox"))[0]
        assert keys == distinct
        orphans = self.run(self.p.scalar(
            "SELECT count(*) FROM push_deliveries WHERE outbox_id NOT IN "
            "(SELECT id FROM outbox)"))
        assert orphans == 0

    @invariant()
    def states_and_notices_match(self) -> None:
        rows = self.run(self.p.rows("SELECT withdrawal_id, status FROM withdrawals"))
        assert dict(rows) == {i: h[2] for i, h in self.holds.items()}
        stage = self.run(self.p.rows("SELECT stage FROM closures ORDER BY started_at DESC "
                                     "LIMIT 1"))
        assert (stage[0][0] if stage else None) == self.stage
        status = self.run(self.p.scalar("SELECT status FROM shops"))
        assert status == ("closed" if self.closed_at else "open")
        kinds = dict(self.run(self.p.rows("SELECT kind, count(*) FROM outbox GROUP BY kind")))
        assert {k: kinds.get(k, 0) for k in self.notices} == self.notices


class PostgresLedgerMachine(LedgerMachine):
    """The same machine on PostgreSQL, two connections taking turns."""

    backend = "postgres"


MACHINES = {"sqlite": LedgerMachine, "postgres": PostgresLedgerMachine}
SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_ledger_machine_agrees_with_the_model(backend: str) -> None:
    if backend == "postgres":
        require_postgres()
    chosen = rng_seed(0)
    try:
        run_state_machine_as_test(seed(chosen)(MACHINES[backend]), settings=SETTINGS)
    except BaseException as exc:
        exc.add_note(f"replay with DEPOSIT_SEED={chosen} DEPOSIT_SOAK={SOAK or ''} "
                     f"({EXAMPLES} examples of {STEPS} steps, {backend})")
        raise
