"""Every platform event of SPEC §9 applied to a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

from domain.apply import Outcome
from domain.events import EVENT_TYPES
from domain.money import Money
from domain.services import confirm_withdrawal, start_withdrawal

from .conftest import BANK, D


async def test_a_registered_shop_holds_nothing_and_requires_its_standard_tier(platform):
    await platform.register(market="GB")

    snap = await platform.snapshot()

    assert snap.balance == Money.of("0", "GBP")
    assert snap.required.amount == Money.of("500", "GBP")
    assert snap.shortfall == Money.of("500", "GBP")


async def test_every_event_type_of_the_contract_is_applied_and_logged(platform, policy):
    await platform.register()
    await platform.top_up("600")
    withdrawal = await start_withdrawal(platform.uow(), "S1", D("50"), platform.clock.now(),
                                        policy)
    await confirm_withdrawal(platform.uow(), "S1", withdrawal.withdrawal_id, BANK,
                             platform.clock.now(), policy)
    failing = await start_withdrawal(platform.uow(), "S1", D("20"), platform.clock.now(),
                                     policy)
    await confirm_withdrawal(platform.uow(), "S1", failing.withdrawal_id, BANK,
                             platform.clock.now(), policy)
    events = [
        ("shop.member_added", {"telegram_user_id": 42, "role": "owner"}),
        ("listing.changed", {"category": "beauty", "live_listings": 3}),
        ("order.updated", {"order_id": "O1", "category": "beauty", "status": "open"}),
        ("payment.failed", {"payment_ref": "PAY-X", "reason": "card declined"}),
        ("deduction.posted", {"deduction_id": "DD1", "amount": "1.00", "currency": "USD",
                              "reason": "platform_advance", "note": "shipping"}),
        ("withdrawal.paid", {"withdrawal_id": withdrawal.withdrawal_id}),
        ("withdrawal.failed", {"withdrawal_id": failing.withdrawal_id, "reason": "bank"}),
        ("marketing.changed", {"active_campaigns": 2}),
        ("creators.changed", {"bound_creators": 5}),
        ("closure_notice.posted", {}),
        ("arrears.updated", {"kind": "invoice", "amount": "12.50", "currency": "USD"}),
        ("fx.rate", {"base": "USD", "quote": "CNY", "rate": "7.123456"}),
    ]

    outcomes = [(await platform.apply(t, **fields)).outcome for t, fields in events]

    assert outcomes == [Outcome.APPLIED] * len(events)
    logged = {r[0] for r in await platform.rows("SELECT type FROM events")}
    assert logged == set(EVENT_TYPES)


async def test_a_registered_shop_cannot_move_to_another_market(platform):
    await platform.register(market="US")

    result = await platform.apply("shop.registered", entity_name="X", market="GB",
                                  company_region="CN", legal_rep_id_region="CN",
                                  scope_categories=[])

    assert (result.outcome, result.field) == (Outcome.REJECTED, "market")
    assert await platform.rows("SELECT market, entity_name FROM shops") == [
        ("US", "Shenzhen Example Trading Co., Ltd.")]


async def test_a_re_registration_updates_the_business_scope(platform):
    await platform.register(scope=("home_goods",))

    await platform.register(scope=("home_goods", "jewellery"))

    assert (await platform.snapshot()).required.amount == Money.of("1000", "USD")


async def test_a_member_added_can_act_for_the_shop(platform):
    await platform.register()

    await platform.apply("shop.member_added", telegram_user_id=7001, role="staff")

    async with platform.uow() as uow:
        shops = await uow.shops.shops_of(7001)
        members = await uow.shops.members("S1")
    assert [s.shop_id for s in shops] == ["S1"]
    assert [(m.telegram_user_id, m.role) for m in members] == [(7001, "staff")]


async def test_a_live_listing_in_a_higher_tier_raises_required_to_that_tier(platform):
    await platform.register()

    await platform.apply("listing.changed", category="electronics", live_listings=1)

    snap = await platform.snapshot()
    assert snap.required.amount == Money.of("2000", "USD")
    assert snap.required.tier == "high_risk"


async def test_an_open_order_keeps_required_up_after_its_category_is_delisted(platform):
    await platform.register()
    await platform.apply("listing.changed", category="beauty", live_listings=2)
    await platform.apply("order.updated", order_id="O1", category="beauty", status="open")

    await platform.apply("listing.changed", category="beauty", live_listings=0)

    snap = await platform.snapshot()
    assert snap.required.amount == Money.of("1000", "USD")
    assert [o.order_id for o in snap.required.pinning_orders] == ["O1"]


async def test_an_order_update_older_than_the_stored_one_is_ignored(platform, clock):
    await platform.register()
    stale = platform.event("order.updated", order_id="O1", category="supplements",
                           status="completed")
    clock.advance(minutes=5)
    await platform.apply("order.updated", order_id="O1", category="supplements", status="open")

    result = await platform.send(stale)

    assert result.outcome is Outcome.APPLIED
    assert await platform.rows("SELECT status FROM orders WHERE order_id = 'O1'") == [("open",)]
    assert (await platform.snapshot()).required.amount == Money.of("2000", "USD")


async def test_an_order_completed_without_after_sales_lowers_required_again(platform):
    await platform.register()
    await platform.apply("order.updated", order_id="O1", category="supplements", status="open")

    await platform.apply("order.updated", order_id="O1", category="supplements",
                         status="completed")

    assert (await platform.snapshot()).required.amount == Money.of("500", "USD")


async def test_an_fx_rate_older_than_the_stored_one_does_not_overwrite_it(platform, clock):
    older = platform.event("fx.rate", base="GBP", quote="CNY", rate="8.01")
    clock.advance(minutes=1)
    await platform.apply("fx.rate", base="GBP", quote="CNY", rate="8.05")

    result = await platform.send(older)

    assert result.outcome is Outcome.APPLIED
    async with platform.uow() as uow:
        rate, _ = await uow.fx.rate("GBP", "CNY")
    assert rate == D("8.05")


async def test_marketing_creators_and_the_closure_notice_are_stored_on_the_shop(platform, clock):
    await platform.register()
    posted_at = clock.now() - timedelta(days=3)

    await platform.apply("marketing.changed", active_campaigns=2)
    await platform.apply("creators.changed", bound_creators=4)
    await platform.apply("closure_notice.posted", occurred_at=posted_at.isoformat())

    async with platform.uow() as uow:
        shop = await uow.shops.get("S1")
    assert (shop.active_campaigns, shop.bound_creators) == (2, 4)
    assert shop.closure_notice_at == posted_at


async def test_arrears_updated_reports_what_the_shop_owes_now(platform):
    await platform.register()
    await platform.apply("arrears.updated", kind="commission", amount="30.00", currency="USD")

    await platform.apply("arrears.updated", kind="commission", amount="12.00", currency="USD")

    snap = await platform.snapshot()
    assert snap.arrears == {"commission": Money.of("12", "USD")}


async def test_payment_confirmed_credits_the_amount_and_notifies_once(platform):
    await platform.register()

    result = await platform.top_up("123.45", ref="PAY-1")

    assert result.outcome is Outcome.APPLIED
    assert (await platform.snapshot()).balance == Money.of("123.45", "USD")
    assert await platform.deposit_sum() == D("123.45")
    assert [r[1] for r in await platform.outbox("payment_confirmed")] == [
        "payment_confirmed:PAY-1"]


async def test_payment_failed_tells_the_seller_why_and_credits_nothing(platform):
    await platform.register()

    result = await platform.apply("payment.failed", payment_ref="PAY-9",
                                  reason="payer is not the registered entity")

    assert result.outcome is Outcome.APPLIED
    assert await platform.deposit_sum() == D("0")
    [(_, _, data)] = await platform.outbox("payment_failed")
    assert "payer is not the registered entity" in data


async def test_withdrawal_paid_lowers_the_balance_and_ends_the_hold(platform, policy):
    await platform.register()
    await platform.top_up("600")
    w = await start_withdrawal(platform.uow(), "S1", D("100"), platform.clock.now(), policy)
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK,
                             platform.clock.now(), policy)

    result = await platform.apply("withdrawal.paid", withdrawal_id=w.withdrawal_id)

    snap = await platform.snapshot()
    assert result.outcome is Outcome.APPLIED
    assert snap.balance == Money.of("500", "USD")
    assert snap.in_withdrawal == Money.of("0", "USD")
    assert len(await platform.outbox("withdrawal_paid")) == 1


async def test_withdrawal_failed_releases_the_hold_and_keeps_the_balance(platform, policy):
    await platform.register()
    await platform.top_up("600")
    w = await start_withdrawal(platform.uow(), "S1", D("100"), platform.clock.now(), policy)
    await confirm_withdrawal(platform.uow(), "S1", w.withdrawal_id, BANK,
                             platform.clock.now(), policy)

    result = await platform.apply("withdrawal.failed", withdrawal_id=w.withdrawal_id,
                                  reason="account closed")

    snap = await platform.snapshot()
    assert result.outcome is Outcome.APPLIED
    assert snap.balance == Money.of("600", "USD")
    assert snap.in_withdrawal == Money.of("0", "USD")
    assert snap.withdrawable == Money.of("100", "USD")
    assert "account closed" in (await platform.outbox("withdrawal_failed"))[0][2]


async def test_withdrawal_paid_for_a_withdrawal_not_yet_confirmed_is_rejected(platform, policy):
    await platform.register()
    await platform.top_up("600")
    w = await start_withdrawal(platform.uow(), "S1", D("100"), platform.clock.now(), policy)

    result = await platform.apply("withdrawal.paid", withdrawal_id=w.withdrawal_id)

    assert (result.outcome, result.field) == (Outcome.REJECTED, "withdrawal_id")
    assert await platform.deposit_sum() == D("600")
