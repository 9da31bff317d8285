"""domain.apply.counted_kept (the bulk import's test for a listing or order event that cannot
lower the required amount, issue #16.2): when it says kept, every category that counted
before the event still counts after it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain import events as ev
from domain.apply import counted_kept, order_after
from domain.model import Order, OrderStatus
from domain.policy import load_policy
from domain.required import counted_categories

POLICY = load_policy()
NOW = datetime(2026, 11, 21, 2, tzinfo=UTC)
CATEGORIES = ["apparel", "beauty", "supplements"]
ENDS = [None, NOW + timedelta(days=3), NOW - timedelta(days=1)]
AT = [NOW - timedelta(days=2), NOW - timedelta(hours=1)]


@st.composite
def orders(draw: st.DrawFn, order_id: str) -> Order:
    status = draw(st.sampled_from(list(OrderStatus)))
    return Order(order_id, draw(st.sampled_from(CATEGORIES)), status,
                 draw(st.sampled_from(ENDS)), draw(st.booleans()), draw(st.sampled_from(AT)),
                 None if status is OrderStatus.OPEN else AT[0])


@st.composite
def events(draw: st.DrawFn) -> Any:
    base = {"event_id": "e", "shop_id": "GB-1",
            "occurred_at": draw(st.sampled_from(AT)).isoformat(),
            "category": draw(st.sampled_from(CATEGORIES))}
    if draw(st.booleans()):
        return ev.parse_event({**base, "type": "listing.changed",
                               "live_listings": draw(st.sampled_from([0, 0, 2]))})
    end = draw(st.sampled_from(ENDS))
    return ev.parse_event({
        **base, "type": "order.updated", "order_id": draw(st.sampled_from(["O1", "O2"])),
        "status": draw(st.sampled_from(["open", "completed", "closed"])),
        "dispute_open": draw(st.booleans()),
        **({"after_sales_ends_at": end.isoformat()} if end else {})})


def _counted(scope: tuple[str, ...], listings: dict[str, int], shop_orders: dict[str, Order]
             ) -> set[str]:
    return {c.category for c in counted_categories(
        POLICY, "GB", NOW.date(), scope, listings, tuple(shop_orders.values()), NOW)}


@given(scope=st.lists(st.sampled_from(CATEGORIES), max_size=2).map(tuple),
       listings=st.dictionaries(st.sampled_from(CATEGORIES), st.integers(0, 2)),
       o1=orders("O1"), o2=orders("O2"), present=st.sampled_from(["", "O1", "O2", "O1O2"]),
       event=events())
def test_kept_means_no_counted_category_goes(scope: tuple[str, ...], listings: dict[str, int],
                                            o1: Order, o2: Order, present: str,
                                            event: Any) -> None:
    shop_orders = {o.order_id: o for o in (o1, o2) if o.order_id in present}
    before = _counted(scope, listings, shop_orders)
    after_listings, after_orders = dict(listings), dict(shop_orders)
    if isinstance(event, ev.ListingChanged):
        after_listings[event.category] = event.live_listings
    else:
        changed = order_after(shop_orders.get(event.order_id), event)
        if changed is not None:
            after_orders[event.order_id] = changed
    if counted_kept(event, scope, listings, shop_orders, NOW):
        assert before <= _counted(scope, after_listings, after_orders)


def test_an_order_that_finishes_the_last_pin_of_its_category_is_not_kept() -> None:
    pin = Order("O1", "supplements", OrderStatus.OPEN, None, False, AT[0])
    done = ev.parse_event({"type": "order.updated", "event_id": "e", "shop_id": "GB-1",
                           "occurred_at": AT[1].isoformat(), "order_id": "O1",
                           "category": "supplements", "status": "closed"})
    assert not counted_kept(done, ("apparel",), {}, {"O1": pin}, NOW)
    assert counted_kept(done, ("apparel",), {"supplements": 1}, {"O1": pin}, NOW)
    other = Order("O2", "supplements", OrderStatus.OPEN, None, False, AT[0])
    assert counted_kept(done, ("apparel",), {}, {"O1": pin, "O2": other}, NOW)
