"""The double-entry ledger (SPEC §4, §6, §7): top-ups, deductions, immutable transfers."""

from datetime import UTC, datetime

import pytest

from domain.ledger import (
    Transfer,
    TransferKind,
    arrears_account,
    clearing_account,
    deduction,
    deposit_account,
    payout,
    revenue_account,
    topup,
)
from domain.money import Money

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def gbp(value: str) -> Money:
    return Money.of(value, "GBP")


def balance(transfers: list[Transfer], account: str) -> Money:
    total = Money.zero("GBP")
    for transfer in transfers:
        total = total + transfer.signed_for(account)
    return total


def test_a_top_up_without_arrears_goes_wholly_to_the_deposit() -> None:
    moves = topup("s-1", gbp("100"), gbp("0"), "PAY-1", AT)

    assert [(m.kind, m.amount) for m in moves] == [(TransferKind.TOPUP, gbp("100"))]
    assert moves[0].debit == clearing_account("GBP")
    assert moves[0].credit == deposit_account("s-1")


def test_a_top_up_pays_arrears_before_the_deposit() -> None:
    moves = topup("s-1", gbp("100"), gbp("30.50"), "PAY-1", AT)

    assert [(m.kind, m.amount) for m in moves] == [
        (TransferKind.ARREARS_PAYMENT, gbp("30.50")), (TransferKind.TOPUP, gbp("69.50"))]
    assert moves[0].credit == arrears_account("s-1")
    assert balance(moves, deposit_account("s-1")) == gbp("69.50")


def test_a_top_up_smaller_than_the_arrears_goes_wholly_to_the_arrears() -> None:
    moves = topup("s-1", gbp("20"), gbp("75"), "PAY-1", AT)

    assert [(m.kind, m.amount) for m in moves] == [(TransferKind.ARREARS_PAYMENT, gbp("20"))]
    assert balance(moves, deposit_account("s-1")) == gbp("0")


def test_a_deduction_the_balance_covers_is_taken_from_the_deposit() -> None:
    moves = deduction("s-1", gbp("40"), gbp("500"), "D-1", AT, "short parcel")

    assert [(m.kind, m.amount) for m in moves] == [(TransferKind.DEDUCTION, gbp("40"))]
    assert moves[0].debit == deposit_account("s-1")
    assert moves[0].credit == revenue_account("GBP")
    assert moves[0].note == "short parcel"


def test_a_deduction_beyond_the_balance_records_the_rest_as_deposit_arrears() -> None:
    moves = deduction("s-1", gbp("700"), gbp("500"), "D-1", AT, "fraud")

    assert [(m.kind, m.amount) for m in moves] == [
        (TransferKind.DEDUCTION, gbp("500")), (TransferKind.DEDUCTION_ARREARS, gbp("200"))]
    assert moves[1].debit == arrears_account("s-1")


def test_a_deduction_with_nothing_available_is_all_arrears() -> None:
    moves = deduction("s-1", gbp("80"), gbp("-5"), "D-1", AT, "")

    assert [(m.kind, m.amount) for m in moves] == [(TransferKind.DEDUCTION_ARREARS, gbp("80"))]


def test_arrears_from_a_deduction_are_paid_by_the_next_top_up() -> None:
    deducted = deduction("s-1", gbp("700"), gbp("500"), "D-1", AT, "fraud")
    owed = -balance(deducted, arrears_account("s-1"))

    paid = topup("s-1", gbp("250"), owed, "PAY-2", AT)
    everything = deducted + paid

    assert owed == gbp("200")
    assert balance(everything, arrears_account("s-1")) == gbp("0")
    assert balance(everything, deposit_account("s-1")) == gbp("-450")


def test_a_payout_lowers_the_deposit() -> None:
    move = payout("s-1", gbp("120"), "w-1", AT)

    assert move.kind is TransferKind.PAYOUT
    assert move.signed_for(deposit_account("s-1")) == gbp("-120")


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_a_transfer_of_a_non_positive_amount_is_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        Transfer("t-1", "a", "b", gbp(amount), TransferKind.TOPUP, "s-1", "r", AT)


def test_a_transfer_between_the_same_account_is_refused() -> None:
    with pytest.raises(ValueError, match="different accounts"):
        Transfer("t-1", "a", "a", gbp("1"), TransferKind.TOPUP, "s-1", "r", AT)


def test_transfer_ids_are_deterministic_per_kind_and_reference() -> None:
    first = topup("s-1", gbp("100"), gbp("30"), "PAY-1", AT)
    again = topup("s-1", gbp("100"), gbp("30"), "PAY-1", datetime(2027, 1, 1, tzinfo=UTC))

    assert [m.transfer_id for m in first] == ["arrears_payment:PAY-1", "topup:PAY-1"]
    assert [m.transfer_id for m in again] == [m.transfer_id for m in first]


def test_a_transfer_cannot_be_changed() -> None:
    move = payout("s-1", gbp("1"), "w-1", AT)

    with pytest.raises(AttributeError):
        move.amount = gbp("2")  # type: ignore[misc]
