"""The required amount (SPEC §3): the highest counted tier, who sets it, when it drops."""

from datetime import UTC, datetime, timedelta

from domain.model import Order, OrderStatus
from domain.money import Money
from domain.policy import load_policy
from domain.required import required_amount

POLICY = load_policy()
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def order(order_id: str, category: str, status: OrderStatus = OrderStatus.OPEN, *,
          ends_in: timedelta | None = None, dispute: bool = False) -> Order:
    ends = NOW + ends_in if ends_in is not None else None
    return Order(order_id, category, status, ends, dispute, updated_at=NOW)


def required(scope: tuple[str, ...] = (), listings: dict[str, int] | None = None,
             orders: tuple[Order, ...] = (), market: str = "US", now: datetime = NOW):
    return required_amount(POLICY, market, scope, listings or {}, orders, now, now.date())


def test_the_highest_tier_wins_and_tiers_are_not_summed() -> None:
    scope = ("apparel", "beauty", "electronics")

    result = required(scope)

    assert result.amount == Money.of("2000", "USD")
    assert result.tier == "high_risk"
    assert [c.category for c in result.setters] == ["electronics"]


def test_a_shop_with_no_counted_category_requires_its_markets_standard_tier() -> None:
    result = required(market="GB")

    assert result.amount == Money.of("500", "GBP")
    assert result.tier == "standard"
    assert result.by_default


def test_scope_live_listings_and_unfinished_orders_all_count() -> None:
    listings = {"beauty": 3, "jewellery": 0}
    orders = (order("o-1", "supplements"),)

    result = required(("home_goods",), listings, orders)

    assert [c.category for c in result.counted] == ["beauty", "home_goods", "supplements"]
    assert result.amount == Money.of("2000", "USD")


def test_a_category_with_no_live_listing_and_nothing_else_does_not_count() -> None:
    listings = {"electronics": 0}

    result = required(("apparel",), listings)

    assert result.amount == Money.of("500", "USD")
    assert [c.category for c in result.counted] == ["apparel"]


def test_an_unknown_category_counts_as_high_risk_and_is_reported() -> None:
    scope = ("apparel", "garden_gnomes")

    result = required(scope)

    assert result.amount == Money.of("2000", "USD")
    assert result.tier == "high_risk"
    assert result.unknown_categories == ("garden_gnomes",)


def test_known_categories_are_not_reported_as_unknown() -> None:
    result = required(("apparel", "electronics"))

    assert result.unknown_categories == ()


def test_delisting_a_high_tier_product_does_not_lower_required_while_an_order_is_unfinished(
) -> None:
    listings = {"electronics": 0}
    orders = (order("o-7", "electronics"),)

    result = required(("apparel",), listings, orders)

    assert result.amount == Money.of("2000", "USD")
    assert [c.category for c in result.setters] == ["electronics"]
    assert result.setters[0].pinned_by_orders_only
    assert [o.order_id for o in result.pinning_orders] == ["o-7"]


def test_the_explanation_says_when_required_drops_and_to_what() -> None:
    orders = (
        order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=timedelta(days=3)),
        order("o-2", "electronics", OrderStatus.CLOSED, ends_in=timedelta(days=9)),
    )

    result = required(("apparel",), {"electronics": 0}, orders)

    assert result.amount == Money.of("2000", "USD")
    assert [o.order_id for o in result.pinning_orders] == ["o-1", "o-2"]
    assert result.drops_on == NOW + timedelta(days=9)
    assert result.drops_to == Money.of("500", "USD")


def test_required_drops_to_the_next_highest_tier_still_counted() -> None:
    orders = (order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=timedelta(days=3)),)

    result = required(("apparel",), {"beauty": 2}, orders)

    assert result.drops_on == NOW + timedelta(days=3)
    assert result.drops_to == Money.of("1000", "USD")


def test_an_order_with_a_dispute_open_gives_no_drop_date() -> None:
    orders = (order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=timedelta(days=3),
                    dispute=True),)

    result = required(("apparel",), {}, orders)

    assert result.amount == Money.of("2000", "USD")
    assert result.drops_on is None
    assert result.drops_to is None


def test_an_open_order_gives_no_drop_date() -> None:
    orders = (
        order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=timedelta(days=3)),
        order("o-2", "electronics", OrderStatus.OPEN),
    )

    result = required(("apparel",), {}, orders)

    assert result.drops_on is None
    assert result.drops_to is None


def test_a_top_tier_held_by_scope_gives_no_drop_date() -> None:
    orders = (order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=timedelta(days=3)),)

    result = required(("electronics",), {}, orders)

    assert result.amount == Money.of("2000", "USD")
    assert result.drops_on is None


def test_a_finished_order_no_longer_counts() -> None:
    orders = (
        order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=timedelta(days=-1)),
        order("o-2", "supplements", OrderStatus.CLOSED),
    )

    result = required(("apparel",), {}, orders)

    assert result.amount == Money.of("500", "USD")
    assert result.pinning_orders == ()


def test_an_order_stops_counting_exactly_when_its_after_sales_window_ends() -> None:
    ends = timedelta(days=5)
    orders = (order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=ends),)

    just_before = required(("apparel",), {}, orders, now=NOW + ends - timedelta(seconds=1))
    at_the_end = required(("apparel",), {}, orders, now=NOW + ends)

    assert just_before.amount == Money.of("2000", "USD")
    assert at_the_end.amount == Money.of("500", "USD")


def test_a_completed_order_with_a_dispute_still_counts_after_its_window() -> None:
    orders = (order("o-1", "electronics", OrderStatus.COMPLETED, ends_in=timedelta(days=-1),
                    dispute=True),)

    result = required(("apparel",), {}, orders)

    assert result.amount == Money.of("2000", "USD")


def test_an_order_that_is_still_open_counts_whatever_its_window() -> None:
    orders = (order("o-1", "beauty", OrderStatus.OPEN, ends_in=timedelta(days=-1)),)

    result = required(("apparel",), {}, orders)

    assert result.amount == Money.of("1000", "USD")
