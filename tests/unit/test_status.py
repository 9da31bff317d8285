"""The deposit snapshot (SPEC §1, §5) and the restriction states of SPEC §6."""

import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.model import (
    Closure,
    ClosureStage,
    Shop,
    ShopFacts,
    ShopStatus,
    Withdrawal,
    WithdrawalKind,
    WithdrawalStatus,
)
from domain.money import Money
from domain.policy import DEFAULT_POLICY, load_policy, parse_policy
from domain.status import Restriction, snapshot

POLICY = load_policy()
OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def usd(value: str) -> Money:
    return Money.of(value, "USD")


def shop(**changes: object) -> Shop:
    base = Shop("s-1", "Shenzhen Sunrise Trading Co., Ltd.", "US", "USD", "CN", "CN",
                ("apparel",), "Asia/Shanghai", OPENED, first_paid_at=OPENED)
    return base.with_changes(**changes)


def facts(balance: str = "0", *, withdrawals: tuple[Withdrawal, ...] = (),
          closure: Closure | None = None, **shop_changes: object) -> ShopFacts:
    return ShopFacts(shop(**shop_changes), usd(balance), withdrawals, {}, (), 0, None, {},
                     usd("0"), closure)


def hold(amount: str, created: datetime, status: WithdrawalStatus = WithdrawalStatus.HELD,
         withdrawal_id: str = "w-1") -> Withdrawal:
    return Withdrawal(withdrawal_id, "s-1", usd(amount), WithdrawalKind.NORMAL, status,
                      created_at=created, expires_at=created + timedelta(hours=2))


def test_a_shop_holding_more_than_required_can_withdraw_the_difference() -> None:
    shop_facts = facts("800.50")

    snap = snapshot(shop_facts, NOW, POLICY)

    assert snap.balance == usd("800.50")
    assert snap.required.amount == usd("500")
    assert snap.shortfall == usd("0")
    assert snap.in_withdrawal == usd("0")
    assert snap.withdrawable == usd("300.50")
    assert snap.restriction is Restriction.OK


def test_money_in_withdrawal_is_not_withdrawable_again() -> None:
    holds = (hold("100", NOW - timedelta(minutes=5)),
             hold("50", NOW - timedelta(days=1), WithdrawalStatus.CONFIRMED, "w-2"))

    snap = snapshot(facts("800", withdrawals=holds), NOW, POLICY)

    assert snap.in_withdrawal == usd("150")
    assert snap.withdrawable == usd("150")
    assert [w.withdrawal_id for w in snap.holds] == ["w-1", "w-2"]


def test_withdrawable_is_never_negative() -> None:
    holds = (hold("290", NOW - timedelta(minutes=5)),)

    snap = snapshot(facts("510", withdrawals=holds), NOW, POLICY)

    assert snap.withdrawable == usd("0")


def test_shortfall_is_required_minus_balance() -> None:
    shop_facts = facts("120", scope_categories=("beauty",), shortfall_since=NOW)

    snap = snapshot(shop_facts, NOW, POLICY)

    assert snap.required.amount == usd("1000")
    assert snap.shortfall == usd("880")
    assert snap.withdrawable == usd("0")
    assert snap.restriction is Restriction.SHORT


@pytest.mark.parametrize(("age", "counts"), [
    (timedelta(seconds=0), True),
    (timedelta(seconds=7199), True),
    (timedelta(seconds=7200), False),
    (timedelta(hours=5), False),
])
def test_an_unconfirmed_hold_counts_until_exactly_two_hours(age: timedelta,
                                                            counts: bool) -> None:
    holds = (hold("100", NOW - age),)

    snap = snapshot(facts("800", withdrawals=holds), NOW, POLICY)

    assert snap.in_withdrawal == (usd("100") if counts else usd("0"))
    assert snap.withdrawable == (usd("200") if counts else usd("300"))


def test_a_confirmed_withdrawal_keeps_counting_after_two_hours() -> None:
    holds = (hold("100", NOW - timedelta(days=3), WithdrawalStatus.CONFIRMED),)

    snap = snapshot(facts("800", withdrawals=holds), NOW, POLICY)

    assert snap.in_withdrawal == usd("100")


@pytest.mark.parametrize("ended", [WithdrawalStatus.PAID, WithdrawalStatus.FAILED,
                                   WithdrawalStatus.RELEASED])
def test_an_ended_withdrawal_no_longer_counts(ended: WithdrawalStatus) -> None:
    holds = (hold("100", NOW - timedelta(minutes=1), ended),)

    snap = snapshot(facts("800", withdrawals=holds), NOW, POLICY)

    assert snap.in_withdrawal == usd("0")


def test_a_shop_holding_required_is_ok_and_unrestricted() -> None:
    snap = snapshot(facts("500"), NOW, POLICY)

    assert snap.restriction is Restriction.OK
    assert snap.effects.can_publish and snap.effects.can_publish_new
    assert snap.effects.can_bind_creators
    assert not (snap.effects.delist_risk or snap.effects.other_markets_limited
                or snap.effects.clearing)


def test_a_short_shop_cannot_publish_new_products_but_keeps_the_rest() -> None:
    snap = snapshot(facts("499.99", shortfall_since=NOW - timedelta(days=29)), NOW, POLICY)

    assert snap.restriction is Restriction.SHORT
    assert not snap.effects.can_publish_new
    assert snap.effects.can_publish and snap.effects.can_bind_creators
    assert not (snap.effects.delist_risk or snap.effects.other_markets_limited)


def test_a_shop_with_nothing_paid_in_cannot_publish_or_bind_creators() -> None:
    snap = snapshot(facts("0", shortfall_since=NOW - timedelta(days=1)), NOW, POLICY)

    assert snap.restriction is Restriction.NOT_PAID
    assert not (snap.effects.can_publish or snap.effects.can_publish_new
                or snap.effects.can_bind_creators)
    assert not snap.effects.clearing


def test_a_shop_still_short_thirty_days_after_the_first_reminder_is_overdue() -> None:
    since = NOW - timedelta(days=30)

    at_thirty = snapshot(facts("100", shortfall_since=since), NOW, POLICY)
    a_second_before = snapshot(facts("100", shortfall_since=since),
                               NOW - timedelta(seconds=1), POLICY)

    assert at_thirty.restriction is Restriction.OVERDUE
    assert at_thirty.effects.delist_risk and at_thirty.effects.other_markets_limited
    assert not at_thirty.effects.can_publish_new
    assert a_second_before.restriction is Restriction.SHORT


def test_an_overdue_shortfall_that_is_covered_is_ok_again() -> None:
    snap = snapshot(facts("500", shortfall_since=NOW - timedelta(days=40)), NOW, POLICY)

    assert snap.restriction is Restriction.OK


def test_a_new_shop_never_paid_thirty_days_after_opening_is_cleared() -> None:
    never_paid = facts("0", first_paid_at=None)

    at_thirty = snapshot(never_paid, OPENED + timedelta(days=30), POLICY)
    a_day_before = snapshot(never_paid, OPENED + timedelta(days=29), POLICY)

    assert at_thirty.restriction is Restriction.CLEARED
    assert at_thirty.effects.clearing and at_thirty.effects.delist_risk
    assert not at_thirty.effects.can_publish
    assert a_day_before.restriction is Restriction.NOT_PAID


def test_a_shop_that_once_paid_is_never_cleared() -> None:
    snap = snapshot(facts("0", first_paid_at=OPENED + timedelta(days=1)),
                    OPENED + timedelta(days=31), POLICY)

    assert snap.restriction is Restriction.NOT_PAID


def test_a_closed_shop_is_closed_with_everything_refused() -> None:
    shop_facts = facts("0", status=ShopStatus.CLOSED, closed_at=NOW - timedelta(days=1))

    snap = snapshot(shop_facts, NOW, POLICY)

    assert snap.restriction is Restriction.CLOSED
    assert snap.shortfall == usd("0")
    assert not (snap.effects.can_publish or snap.effects.can_publish_new
                or snap.effects.can_bind_creators)


def test_after_signing_the_closure_the_whole_balance_is_withdrawable() -> None:
    closure = Closure("s-1", ClosureStage.SIGNED, started_at=NOW, started_by=1)

    snap = snapshot(facts("740.25", closure=closure, scope_categories=("electronics",)),
                    NOW, POLICY)

    assert snap.withdrawable == usd("740.25")
    assert snap.shortfall == usd("0")


def test_arrears_take_the_larger_of_reported_and_ledger_deposit_arrears() -> None:
    shop_facts = replace(facts("100"),
                         reported_arrears={"commission": usd("12"), "deposit": usd("3"),
                                           "invoice": usd("0")},
                         ledger_arrears=usd("5"))

    snap = snapshot(shop_facts, NOW, POLICY)

    assert snap.arrears == {"commission": usd("12"), "deposit": usd("5")}
    assert snap.arrears_total == usd("17")


def test_a_tier_table_change_creates_a_shortfall_from_its_date_in_the_shops_timezone(
) -> None:
    with open(DEFAULT_POLICY, "rb") as fh:
        raw = tomllib.load(fh)
    raw["tiers"]["*"].append({"effective_from": "2026-03-03", "standard": "1500",
                              "elevated": "3000", "high_risk": "4000"})
    policy = parse_policy(raw)

    # 16:00 UTC on 2 March is midnight of 3 March in Asia/Shanghai, the shop's timezone.
    before = snapshot(facts("500"), datetime(2026, 3, 2, 15, 59, tzinfo=UTC), policy)
    after = snapshot(facts("500"), datetime(2026, 3, 2, 16, 0, tzinfo=UTC), policy)

    assert before.shortfall == usd("0")
    assert after.required.amount == usd("1500")
    assert after.shortfall == usd("1000")


def test_the_payment_due_is_deposit_arrears_first_then_the_shortfall() -> None:
    owing = replace(facts("200"), ledger_arrears=usd("120"),
                    reported_arrears={"commission": usd("40")})

    due = snapshot(owing, NOW, POLICY).payment_due

    assert (due.arrears, due.shortfall, due.total) == (usd("120"), usd("300"), usd("420"))


def test_topping_up_exactly_the_payment_due_leaves_the_shop_ok() -> None:
    from domain import ledger

    owing = replace(facts("200"), ledger_arrears=usd("120"))
    due = snapshot(owing, NOW, POLICY).payment_due

    moves = ledger.topup("s-1", due.total, owing.ledger_arrears, "p", NOW)
    credited = sum((m.amount for m in moves if m.kind is ledger.TransferKind.TOPUP), usd("0"))
    after = snapshot(replace(owing, balance=owing.balance + credited,
                             ledger_arrears=usd("0")), NOW, POLICY)

    assert after.restriction is Restriction.OK


def test_nothing_is_due_without_a_shortfall_even_with_arrears() -> None:
    owing = replace(facts("600"), ledger_arrears=usd("50"))

    assert snapshot(owing, NOW, POLICY).payment_due.total == usd("0")
