"""Closing the shop (SPEC §7): checklist, identity, signing, cancelling, reopening."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain import closure as closing
from domain.closure import Condition
from domain.errors import ClosureStepRefused, ReopenTooEarly, WrongVerificationCode
from domain.model import Closure, ClosureStage, Shop, ShopFacts
from domain.money import Money
from domain.policy import load_policy

POLICY = load_policy()
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
OWNER = 4242


def gbp(value: str) -> Money:
    return Money.of(value, "GBP")


def ready_facts(**shop_changes: object) -> ShopFacts:
    shop = Shop("s-1", "Sunrise Trading Ltd", "GB", "GBP", "CN", "CN", ("apparel",),
                "Asia/Shanghai", datetime(2025, 1, 1, tzinfo=UTC),
                closure_notice_at=NOW - timedelta(days=31)).with_changes(**shop_changes)
    return ShopFacts(shop, gbp("500"), (), {}, (), 0, NOW - timedelta(days=91), {},
                     gbp("0"))


def status_of(facts: ShopFacts, condition: Condition) -> closing.ConditionStatus:
    return next(c for c in closing.checklist(facts, NOW, POLICY) if c.condition is condition)


def verified() -> Closure:
    issued = closing.issue_code(closing.start("s-1", OWNER, NOW), "123456", NOW, POLICY)
    return closing.verify(issued, "123456", "moving to another platform", NOW)


def test_a_shop_meeting_everything_has_every_condition_met() -> None:
    conditions = closing.checklist(ready_facts(), NOW, POLICY)

    assert [c.condition for c in conditions] == list(Condition)
    assert all(c.met for c in conditions)


def test_active_campaigns_and_bound_creators_are_counted() -> None:
    facts = ready_facts(active_campaigns=2, bound_creators=5)

    marketing = status_of(facts, Condition.MARKETING)
    creators = status_of(facts, Condition.CREATORS)

    assert (marketing.met, marketing.count) == (False, 2)
    assert (creators.met, creators.count) == (False, 5)


def test_the_notice_condition_is_met_thirty_days_after_it_went_up() -> None:
    posted = NOW - timedelta(days=12)

    notice = status_of(ready_facts(closure_notice_at=posted), Condition.NOTICE)
    on_the_day = status_of(ready_facts(closure_notice_at=NOW - timedelta(days=30)),
                           Condition.NOTICE)

    assert not notice.met
    assert notice.met_on == posted + timedelta(days=30)
    assert on_the_day.met


def test_without_a_notice_the_condition_has_no_date() -> None:
    notice = status_of(ready_facts(closure_notice_at=None), Condition.NOTICE)

    assert not notice.met
    assert notice.met_on is None


def test_the_orders_condition_is_met_ninety_days_after_the_latest_order_ended() -> None:
    ended = NOW - timedelta(days=40)
    facts = replace(ready_facts(), latest_order_end=ended)

    orders = status_of(facts, Condition.ORDERS)
    on_the_day = status_of(replace(facts, latest_order_end=NOW - timedelta(days=90)),
                           Condition.ORDERS)

    assert not orders.met
    assert orders.met_on == ended + timedelta(days=90)
    assert on_the_day.met


def test_an_open_order_leaves_the_orders_condition_unmet_with_no_date() -> None:
    facts = replace(ready_facts(), open_orders_count=3)

    orders = status_of(facts, Condition.ORDERS)

    assert (orders.met, orders.met_on, orders.count) == (False, None, 3)


def test_a_shop_that_never_had_an_order_meets_the_orders_condition() -> None:
    facts = replace(ready_facts(), latest_order_end=None)

    assert status_of(facts, Condition.ORDERS).met


def test_owed_commission_leaves_the_commission_condition_unmet() -> None:
    facts = replace(ready_facts(), reported_arrears={"commission": gbp("35.20")})

    commission = status_of(facts, Condition.COMMISSION)

    assert (commission.met, commission.amount) == (False, gbp("35.20"))
    assert status_of(facts, Condition.SETTLED).met


def test_invoices_and_deposit_arrears_leave_payments_unsettled() -> None:
    facts = replace(ready_facts(), reported_arrears={"invoice": gbp("10"),
                                                     "deposit": gbp("2.50")},
                    ledger_arrears=gbp("7.50"))

    settled = status_of(facts, Condition.SETTLED)

    assert (settled.met, settled.amount) == (False, gbp("17.50"))
    assert status_of(facts, Condition.COMMISSION).met
    assert closing.arrears_owed(facts) == gbp("17.50")


def test_reported_deposit_arrears_and_the_ledgers_are_one_debt_not_two() -> None:
    facts = replace(ready_facts(), reported_arrears={"deposit": gbp("100")},
                    ledger_arrears=gbp("100"))

    assert closing.arrears_owed(facts) == gbp("100")


def test_the_right_code_and_a_reason_verify_the_identity() -> None:
    closure = verified()

    assert closure.stage is ClosureStage.VERIFIED
    assert closure.reason == "moving to another platform"
    assert closure.verified_at == NOW
    assert closure.code_digest is None


def test_the_code_is_stored_only_as_a_digest() -> None:
    issued = closing.issue_code(closing.start("s-1", OWNER, NOW), "123456", NOW, POLICY)

    assert issued.code_digest is not None and "123456" not in issued.code_digest
    assert issued.code_expires_at == NOW + timedelta(minutes=10)


def test_a_wrong_code_is_refused_with_the_attempts_left() -> None:
    issued = closing.issue_code(closing.start("s-1", OWNER, NOW), "123456", NOW, POLICY)

    with pytest.raises(WrongVerificationCode) as refused:
        closing.verify(issued, "654321", "moving", NOW)

    assert refused.value.attempts_left == closing.MAX_CODE_ATTEMPTS - 1


def test_an_expired_code_is_refused() -> None:
    issued = closing.issue_code(closing.start("s-1", OWNER, NOW), "123456", NOW, POLICY)

    with pytest.raises(ClosureStepRefused) as refused:
        closing.verify(issued, "123456", "moving", NOW + timedelta(minutes=10))

    assert refused.value.reason == "code_expired"


def test_a_code_used_up_by_wrong_attempts_is_refused_even_when_right() -> None:
    issued = closing.issue_code(closing.start("s-1", OWNER, NOW), "123456", NOW, POLICY)
    exhausted = issued.with_changes(code_attempts=closing.MAX_CODE_ATTEMPTS)

    with pytest.raises(ClosureStepRefused):
        closing.verify(exhausted, "123456", "moving", NOW)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(reason: str) -> None:
    issued = closing.issue_code(closing.start("s-1", OWNER, NOW), "123456", NOW, POLICY)

    with pytest.raises(ClosureStepRefused) as refused:
        closing.verify(issued, "123456", reason, NOW)

    assert refused.value.reason == "reason_missing"


def test_signing_records_who_and_when_once_every_condition_is_met() -> None:
    conditions = closing.checklist(ready_facts(), NOW, POLICY)

    signed = closing.sign(verified(), conditions, OWNER, NOW)

    assert signed.stage is ClosureStage.SIGNED
    assert (signed.signed_by, signed.signed_at) == (OWNER, NOW)


def test_signing_is_refused_while_any_condition_is_unmet() -> None:
    conditions = closing.checklist(ready_facts(bound_creators=1), NOW, POLICY)

    with pytest.raises(ClosureStepRefused) as refused:
        closing.sign(verified(), conditions, OWNER, NOW)

    assert refused.value.step == "sign"


def test_signing_is_refused_before_the_identity_is_verified() -> None:
    conditions = closing.checklist(ready_facts(), NOW, POLICY)

    with pytest.raises(ClosureStepRefused):
        closing.sign(closing.start("s-1", OWNER, NOW), conditions, OWNER, NOW)


def test_arrears_are_scheduled_for_deduction_after_ten_natural_days() -> None:
    scheduled = closing.schedule_offset(verified(), NOW, POLICY)
    again = closing.schedule_offset(scheduled, NOW + timedelta(days=3), POLICY)

    assert scheduled.arrears_due_at == NOW + timedelta(days=10)
    assert again.arrears_due_at == NOW + timedelta(days=10)


@pytest.mark.parametrize("make", [lambda: closing.start("s-1", OWNER, NOW), verified])
def test_a_closure_can_be_cancelled_before_signing(make) -> None:
    cancelled = closing.cancel(make(), NOW)

    assert cancelled.stage is ClosureStage.CANCELLED
    assert cancelled.ended_at == NOW


def test_a_signed_closure_cannot_be_cancelled() -> None:
    conditions = closing.checklist(ready_facts(), NOW, POLICY)
    signed = closing.sign(verified(), conditions, OWNER, NOW)

    with pytest.raises(ClosureStepRefused) as refused:
        closing.cancel(signed, NOW)

    assert refused.value.step == "cancel"


def test_reopening_is_refused_before_six_months_after_closing() -> None:
    closed_at = datetime(2025, 8, 31, 15, 30, tzinfo=UTC)

    with pytest.raises(ReopenTooEarly) as refused:
        closing.check_reopen(closed_at, datetime(2026, 2, 28, 15, 29, tzinfo=UTC), POLICY)

    assert refused.value.allowed_from == datetime(2026, 2, 28, 15, 30, tzinfo=UTC)


def test_reopening_is_allowed_exactly_six_months_after_closing() -> None:
    closed_at = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)

    closing.check_reopen(closed_at, datetime(2026, 7, 10, 8, 0, tzinfo=UTC), POLICY)

    assert closing.reopen_from(closed_at, POLICY) == datetime(2026, 7, 10, 8, 0, tzinfo=UTC)
