"""required_amount remembers its answers (issue #16.2): what it gives again is what a fresh
derivation gives, moments in their own time zones included."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from domain.model import Order, OrderStatus
from domain.policy import load_policy
from domain.required import _required_amount, required_amount

POLICY = load_policy()
NOW = datetime(2026, 11, 21, 2, tzinfo=UTC)
ZONES = [UTC, timezone(timedelta(hours=8))]
CATEGORIES = ["apparel", "beauty", "supplements", "mystery"]


@st.composite
def orders(draw: st.DrawFn) -> Order:
    zone = draw(st.sampled_from(ZONES))
    end = draw(st.sampled_from([None, NOW + timedelta(days=3), NOW - timedelta(days=1)]))
    return Order(draw(st.sampled_from(["O1", "O2"])), draw(st.sampled_from(CATEGORIES)),
                 draw(st.sampled_from(list(OrderStatus))),
                 end.astimezone(zone) if end else None, draw(st.booleans()),
                 NOW.astimezone(zone))


@given(calls=st.lists(st.tuples(
    st.sampled_from([(), ("apparel",), ("beauty", "supplements")]),
    st.dictionaries(st.sampled_from(CATEGORIES), st.integers(0, 2), max_size=3),
    st.lists(orders(), max_size=3).map(tuple),
    st.sampled_from([NOW, NOW + timedelta(days=5)]), st.sampled_from(["GB", "US"])),
    min_size=1, max_size=6))
def test_a_remembered_answer_is_a_fresh_one(calls: list[tuple]) -> None:  # type: ignore[type-arg]
    for scope, listings, unfinished, now, market in calls * 2:
        args = (POLICY, market, scope, listings, unfinished, now, now.date())
        got, fresh = required_amount(*args), _required_amount(*args)
        assert got == fresh
        if got.drops_on is not None:
            assert got.drops_on.tzinfo == fresh.drops_on.tzinfo  # type: ignore[union-attr]


def test_the_same_instant_in_another_zone_is_not_the_remembered_answer() -> None:
    end = NOW + timedelta(days=3)
    for zone in ZONES:
        order = Order("O1", "supplements", OrderStatus.COMPLETED, end.astimezone(zone), False,
                      NOW)
        got = required_amount(POLICY, "GB", (), {}, (order,), NOW, NOW.date())
        assert got.drops_on is not None and got.drops_on.tzinfo is zone
