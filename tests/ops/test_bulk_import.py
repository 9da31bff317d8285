"""The bulk import (bot/bulk.py) gives every event the outcome apply_event one by one gives it
and leaves the same rows, on random event streams, on both backends.

Streams mix every event kind over a few shops (one never registered), reuse event ids with
the same content (duplicates) and with other content (conflicts), repeat earlier lines,
put orders' updates out of order (stale ones), break lines, make shops short and covered,
and run in two imports at two moments (so a shop comes into the second one already short
since an earlier moment). On PostgreSQL the bulk path writes by COPY from the first row.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.bulk import apply_bulk
from bot.channels import LoggedChannel
from bot.clock import ManualClock
from bot.context import Deps
from bot.ingest import apply_batch, parse_line
from bot.storage import bulkdb
from bot.storage.db import Database, open_sync
from domain.apply import EventResult
from domain.policy import load_policy
from tests import pgtest
from tests.conftest import require_postgres
from tests.ops.test_fast_import import TABLES

NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")
LATER = NOW + timedelta(days=40)
SHOPS = {"GB-1": "GB", "US-3": "US", "XX-9": "GB"}  # XX-9 is never registered
CURRENCY = {"GB": "GBP", "US": "USD"}
MOMENTS = [(NOW - timedelta(days=d, hours=h)).isoformat()
           for d in (30, 20, 10, 3, 1) for h in (0, 5)]


@st.composite
def an_event(draw: st.DrawFn) -> dict[str, Any]:
    shop = draw(st.sampled_from(["GB-1", "GB-1", "US-3", "XX-9"]))
    market = SHOPS[shop]
    cur = CURRENCY[market]
    kind = draw(st.sampled_from([
        "shop.registered", "shop.member_added", *["listing.changed"] * 5,
        *["order.updated"] * 4, "payment.confirmed", "payment.confirmed",
        "payment.failed", "deduction.posted", "arrears.updated",
        "marketing.changed", "creators.changed", "closure_notice.posted", "fx.rate",
        "withdrawal.paid"]))
    base: dict[str, Any] = {"type": kind, "occurred_at": draw(st.sampled_from(MOMENTS))}
    if kind != "fx.rate":
        base["shop_id"] = shop
    amount = draw(st.sampled_from(["5", "30", "600", "2500"]))
    body: dict[str, Any] = {
        "shop.registered": lambda: {
            "entity_name": "Shop " + shop, "company_region": "CN",
            "legal_rep_id_region": "CN",
            "market": market if draw(st.integers(0, 9)) else "US",  # 1 in 10: market change
            "scope_categories": draw(st.lists(st.sampled_from(
                ["apparel", "apparel", "beauty", "supplements"]), min_size=1, max_size=2))},
        "shop.member_added": lambda: {"telegram_user_id": draw(st.integers(1, 4)),
                                      "role": draw(st.sampled_from(["owner", "staff"]))},
        "listing.changed": lambda: {
            "category": draw(st.sampled_from(["apparel", "beauty", "supplements"])),
            "live_listings": draw(st.sampled_from([0, 0, 3]))},
        "order.updated": lambda: {
            "order_id": draw(st.sampled_from(["O1", "O2", "O3"])),
            "category": draw(st.sampled_from(["apparel", "beauty", "supplements"])),
            "status": draw(st.sampled_from(["open", "completed", "closed"])),
            "dispute_open": draw(st.booleans()),
            **({"after_sales_ends_at": draw(st.sampled_from(
                [(NOW + timedelta(days=5)).isoformat(), (NOW - timedelta(days=2)).isoformat()]))}
               if draw(st.booleans()) else {})},
        "payment.confirmed": lambda: {
            "payment_ref": draw(st.sampled_from(["P1", "P2", "P3", "P4", "P5", "P6"])),
            "amount": amount,
            "currency": cur if draw(st.integers(0, 9)) else "HKD"},
        "payment.failed": lambda: {"payment_ref": draw(st.sampled_from(["P1", "P5"])),
                                   "reason": "declined"},
        "deduction.posted": lambda: {
            "deduction_id": draw(st.sampled_from(["D1", "D2", "D3"])), "amount": amount,
            "currency": cur, "reason": "fraud"},
        "arrears.updated": lambda: {"kind": draw(st.sampled_from(["commission", "deposit"])),
                                    "amount": draw(st.sampled_from(["0", "50"])),
                                    "currency": cur},
        "marketing.changed": lambda: {"active_campaigns": draw(st.integers(0, 2))},
        "creators.changed": lambda: {"bound_creators": draw(st.integers(0, 40))},
        "closure_notice.posted": lambda: {},
        "fx.rate": lambda: {"base": "GBP", "quote": "CNY",
                            "rate": draw(st.sampled_from(["9.1", "9.2", "0"]))},
        "withdrawal.paid": lambda: {"withdrawal_id": "W-NONE"},
    }[kind]()
    return {**base, **body}


@st.composite
def streams(draw: st.DrawFn) -> list[str]:
    """JSON lines: events with ids from a small pool, exact repeats and broken lines; most
    streams register their shops first."""
    lines: list[str] = []
    if draw(st.integers(0, 4)):
        for shop in ("GB-1", "US-3"):
            lines.append(json.dumps({
                "type": "shop.registered", "event_id": f"reg-{shop}", "shop_id": shop,
                "occurred_at": MOMENTS[0], "entity_name": shop, "market": SHOPS[shop],
                "company_region": "CN", "legal_rep_id_region": "CN",
                "scope_categories": ["apparel"]}))
    for n in range(draw(st.integers(1, 60))):
        choice = draw(st.integers(0, 19))
        if choice == 19:
            lines.append("{not json")
        elif choice == 18 and lines:
            lines.append(draw(st.sampled_from(lines)))  # the same line again
        else:
            event = draw(an_event())
            reused = draw(st.integers(0, 5)) == 5
            event["event_id"] = f"r{draw(st.integers(0, 4))}" if reused else f"e{n}"
            lines.append(json.dumps(event))
    return lines


async def _open(target: str | Path, sqlite_sync: bool) -> Database:
    return await (open_sync(target) if sqlite_sync else Database.open(target))


async def _run(target: str | Path, lines: list[str], split: int, size: int, *, bulk: bool,
               sqlite_sync: bool) -> list[EventResult]:
    """The stream in two imports (before split at NOW, the rest at LATER), size per batch."""
    results: list[EventResult] = []
    for part, moment in ((lines[:split], NOW), (lines[split:], LATER)):
        db = await _open(target, sqlite_sync)
        d = Deps(db, load_policy(), ManualClock(moment), LoggedChannel())
        try:
            for start in range(0, len(part), size):
                raws = [parse_line(text) for text in part[start:start + size]]
                apply = apply_bulk if bulk else apply_batch
                results += await apply(d, raws)
        finally:
            await db.close()
    return results


async def _dump(target: str | Path) -> dict[str, list[str]]:
    db = await Database.open(target)
    try:
        return {t: sorted(repr(tuple(r)) for r in await db.conn.execute_fetchall(
            f"SELECT * FROM {t}")) for t in TABLES}
    finally:
        await db.close()


async def _compare(backend: str, folder: Path, lines: list[str], split: int,
                   size: int) -> None:
    if backend == "sqlite":
        for name in ("one.db", "bulk.db"):
            (folder / name).unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                (folder / (name + suffix)).unlink(missing_ok=True)
        one: str | Path = folder / "one.db"
        bulk: str | Path = folder / "bulk.db"
    else:
        one, bulk = await pgtest.fresh_database("one"), await pgtest.fresh_database("bulk")
    try:
        sync = backend == "sqlite"
        expected = await _run(one, lines, split, size, bulk=False, sqlite_sync=sync)
        got = await _run(bulk, lines, split, size, bulk=True, sqlite_sync=sync)
        assert got == expected
        before, after = await _dump(one), await _dump(bulk)
        for table in TABLES:
            assert after[table] == before[table], table
    finally:
        if backend != "sqlite":
            await pgtest.drop(str(one))
            await pgtest.drop(str(bulk))


PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@PROPERTY
@given(lines=streams(), split=st.integers(0, 60), size=st.integers(1, 12))
def test_bulk_import_equals_one_by_one(backend: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, lines: list[str],
                                       split: int, size: int) -> None:
    if backend == "postgres":
        require_postgres()
        monkeypatch.setattr(bulkdb, "COPY_AT", 1)  # the COPY path on every write
    asyncio.run(_compare(backend, tmp_path, lines, min(split, len(lines)), size))


def test_a_demo_import_is_the_same_both_ways(backend: str, tmp_path: Path) -> None:
    """800 lines of demo data plus a tail that repeats, conflicts and refers to no shop."""
    import io

    from bot.demo_data import write_demo

    if backend == "postgres":
        require_postgres()
    out = io.StringIO()
    write_demo(out, 100, 5, load_policy())
    lines = out.getvalue().splitlines()
    first = json.loads(lines[6])
    lines += [lines[6], json.dumps({**first, "occurred_at": MOMENTS[0]}),
              json.dumps({**first, "event_id": "ghost", "shop_id": "XX-404"})]
    asyncio.run(_compare(backend, tmp_path, lines, len(lines) // 2, 250))


def test_a_shop_short_since_an_earlier_import_gets_this_import_s_moment(
        backend: str, tmp_path: Path) -> None:
    """Short since NOW; by LATER an order's after-sales period has ended, so the shop is
    covered until a listing in this import makes it short again: since LATER, not NOW."""
    if backend == "postgres":
        require_postgres()
    at = MOMENTS[0]

    def line(n: int, kind: str, **fields: Any) -> str:
        return json.dumps({"type": kind, "event_id": f"s{n}", "shop_id": "GB-1",
                           "occurred_at": at, **fields})

    lines = [
        line(1, "shop.registered", entity_name="A", market="GB", company_region="CN",
             legal_rep_id_region="CN", scope_categories=["apparel"]),
        line(2, "payment.confirmed", payment_ref="P1", amount="1000", currency="GBP"),
        line(3, "order.updated", order_id="O1", category="supplements", status="completed",
             after_sales_ends_at=(NOW + timedelta(days=5)).isoformat()),
        # LATER: the order no longer counts; covered, then short again
        line(4, "listing.changed", category="apparel", live_listings=3),
        line(5, "listing.changed", category="beauty", live_listings=3),
        line(6, "listing.changed", category="supplements", live_listings=3),
    ]
    asyncio.run(_compare(backend, tmp_path, lines, 3, 10))


def test_orders_of_a_funded_shop_finish_with_and_without_a_drop(backend: str,
                                                                 tmp_path: Path) -> None:
    """A funded shop's orders finish: while another order, a listing or the scope keeps
    their category counted the bulk path defers them (domain.apply.counted_kept); the one
    that ends the last pin drops the required amount and its push is the same both ways."""
    if backend == "postgres":
        require_postgres()
    at = MOMENTS[0]

    def line(n: int, kind: str, **fields: Any) -> str:
        return json.dumps({"type": kind, "event_id": f"f{n}", "shop_id": "GB-1",
                           "occurred_at": at, **fields})

    def order(n: int, order_id: str, status: str, category: str = "supplements") -> str:
        return line(n, "order.updated", order_id=order_id, category=category, status=status)

    lines = [
        line(1, "shop.registered", entity_name="A", market="GB", company_region="CN",
             legal_rep_id_region="CN", scope_categories=["apparel"]),
        line(2, "payment.confirmed", payment_ref="P1", amount="2500", currency="GBP"),
        order(3, "O1", "open"), order(4, "O2", "open"), order(5, "O3", "open", "apparel"),
        line(6, "listing.changed", category="beauty", live_listings=2),
        order(7, "O4", "open", "beauty"),
        order(8, "O1", "completed"),  # O2 still pins supplements: kept
        order(9, "O3", "closed", "apparel"),  # in scope: kept
        order(10, "O4", "closed", "beauty"),  # listed: kept
        order(11, "O2", "closed"),  # the last pin: required drops, push
        line(12, "listing.changed", category="beauty", live_listings=0),  # drops again
    ]
    asyncio.run(_compare(backend, tmp_path, lines, 0, 20))


# The seams of the in-memory unit of work (bot/storage/bulkmem.py): state loaded per batch,
# rows written at its end, ids taken for the batch, and the database path for a shop with a
# closure. One scenario, run bulk and one by one on two databases, compared as above.

SOON = NOW + timedelta(hours=1)


def _line(n: int | str, type_: str, shop: str | None = "GB-1", at: str = MOMENTS[0],
          **fields: Any) -> str:
    return json.dumps({"type": type_, "event_id": f"m{n}", "occurred_at": at,
                       **({"shop_id": shop} if shop else {}), **fields})


FIRST = [
    _line(1, "fx.rate", None, base="GBP", quote="CNY", rate="9.1"),
    _line(2, "shop.registered", entity_name="Shop A", market="GB", company_region="CN",
          legal_rep_id_region="CN", scope_categories=["apparel"]),
    _line(3, "shop.member_added", telegram_user_id=1, role="owner"),
    _line(4, "payment.confirmed", payment_ref="P1", amount="2500", currency="GBP"),
    _line(5, "shop.registered", "US-3", entity_name="Shop B", market="US",
          company_region="CN", legal_rep_id_region="CN", scope_categories=["apparel"]),
    _line(6, "shop.member_added", "US-3", telegram_user_id=2, role="owner"),
    _line(7, "payment.confirmed", "US-3", payment_ref="P2", amount="600", currency="USD"),
]


async def _seller_acts(d: Deps) -> dict[str, str]:
    """What sellers do between the imports: a held and a confirmed withdrawal, a quote with
    a method, a closure started; the ids are seeded, so the same on both databases."""
    from decimal import Decimal

    from domain import closure_service, services
    from domain.ids import seeded_ids
    from domain.model import Destination

    ids, policy = seeded_ids("bulk"), d.policy
    held = await services.start_withdrawal(d.uow(), "GB-1", Decimal(100), SOON, policy,
                                           ids=ids)
    paid = await services.start_withdrawal(d.uow(), "GB-1", Decimal(200), SOON, policy,
                                           ids=ids)
    await services.confirm_withdrawal(d.uow(), "GB-1", paid.withdrawal_id,
                                      Destination("corporate_bank", "Shop A", "6222 0000 1111"),
                                      SOON, policy)
    method = policy.methods("CN", "CN")[0]
    quote = await services.create_quote(d.uow(), "GB-1", Decimal(300), method, SOON, policy,
                                        ids)
    failing = await services.create_quote(d.uow(), "GB-1", Decimal(40), method, SOON, policy,
                                          ids)
    await closure_service.start_closure(d.uow(), "US-3", 2, SOON)
    return {"held": held.withdrawal_id, "paid": paid.withdrawal_id, "quote": quote.ref,
            "failing": failing.ref}


async def _another_writer(d: Deps, n: int) -> None:
    """A writer between two batches: a notice (an outbox id) and a payment (ledger rows)."""
    from domain.apply import apply_event
    from domain.notices import Notice

    async with d.uow() as uow:
        await uow.outbox.add(Notice("GB-1", "other", f"other:{n}", SOON, {}))
        await uow.commit()
    await apply_event(d.uow(), json.loads(_line(f"w{n}", "payment.confirmed",
                                                payment_ref=f"PW{n}", amount="30",
                                                currency="GBP")), SOON, d.policy)


def _second(refs: dict[str, str]) -> list[str]:
    later = SOON.isoformat()
    return [
        # a deduction releases the held withdrawal; the confirmed one is paid out
        _line(10, "deduction.posted", at=later, deduction_id="D1", amount="50",
              currency="GBP", reason="fraud"),
        _line(11, "withdrawal.paid", at=later, withdrawal_id=refs["paid"]),
        _line(12, "payment.confirmed", at=later, payment_ref=refs["quote"], amount="300",
              currency="GBP"),
        _line(13, "payment.failed", at=later, payment_ref=refs["failing"], reason="declined"),
        # a rejected event after changes of its own shop in the same batch, then more
        _line(14, "listing.changed", at=later, category="beauty", live_listings=3),
        _line(15, "payment.confirmed", at=later, payment_ref="P1", amount="30",
              currency="GBP"),  # already credited: rejected
        _line(16, "order.updated", at=later, order_id="O1", category="beauty",
              status="completed", dispute_open=False),
        _line(17, "payment.confirmed", at=later, payment_ref="P7", amount="30",
              currency="USD"),  # wrong currency: rejected
        _line(18, "listing.changed", at=later, category="beauty", live_listings=0),
        # the same id twice in one batch (a duplicate, then a conflict); ids already stored
        _line(19, "shop.member_added", at=later, telegram_user_id=3, role="staff"),
        _line(19, "shop.member_added", at=later, telegram_user_id=3, role="staff"),
        _line(19, "shop.member_added", at=later, telegram_user_id=4, role="staff"),
        FIRST[3], _line(4, "payment.confirmed", payment_ref="P1", amount="1", currency="GBP"),
        # a shop with a closure: through the database, between the others
        _line(20, "listing.changed", "US-3", at=later, category="beauty", live_listings=3),
        _line(21, "payment.confirmed", "US-3", at=later, payment_ref="P8", amount="30",
              currency="USD"),
        _line(22, "arrears.updated", "US-3", at=later, kind="commission", amount="50",
              currency="USD"),
        _line(26, "deduction.posted", "US-3", at=later, deduction_id="D2", amount="5",
              currency="USD", reason="fraud"),
        # the payment ref and the deduction id the closure's shop just used: taken
        _line(27, "payment.confirmed", at=later, payment_ref="P8", amount="30",
              currency="GBP"),
        _line(28, "deduction.posted", at=later, deduction_id="D2", amount="5",
              currency="GBP", reason="fraud"),
        _line(23, "payment.confirmed", at=later, payment_ref="P9", amount="30",
              currency="GBP"),
        _line(24, "fx.rate", None, at=later, base="GBP", quote="CNY", rate="9.3"),
        _line(25, "shop.registered", at=later, entity_name="Shop A2", market="GB",
              company_region="CN", legal_rep_id_region="CN", scope_categories=["beauty"]),
    ]


async def _scenario(target: str | Path, *, bulk: bool, sqlite_sync: bool,
                    size: int) -> list[EventResult]:
    apply = apply_bulk if bulk else apply_batch
    db = await _open(target, sqlite_sync)
    results: list[EventResult] = []
    try:
        d = Deps(db, load_policy(), ManualClock(NOW), LoggedChannel())
        results += await apply(d, [parse_line(t) for t in FIRST])
        d = Deps(db, load_policy(), ManualClock(SOON), LoggedChannel())
        refs = await _seller_acts(d)
        lines = _second(refs)
        for n, start in enumerate(range(0, len(lines), size)):
            results += await apply(d, [parse_line(t) for t in lines[start:start + size]])
            await _another_writer(d, n)
    finally:
        await db.close()
    return results


@pytest.mark.parametrize("size", [3, 30])
def test_seller_actions_and_other_writers_between_batches(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Withdrawals held and confirmed, quotes, a closure, another writer's notices and
    ledger rows between batches; a rejection after its shop's changes in the same batch;
    an id twice in a batch and ids already stored."""
    if backend == "postgres":
        require_postgres()
        monkeypatch.setattr(bulkdb, "COPY_AT", 1)

    async def compare() -> None:
        if backend == "sqlite":
            one: str | Path = tmp_path / "one.db"
            bulk: str | Path = tmp_path / "bulk.db"
        else:
            one, bulk = await pgtest.fresh_database("one"), await pgtest.fresh_database("bulk")
        try:
            sync = backend == "sqlite"
            expected = await _scenario(one, bulk=False, sqlite_sync=sync, size=size)
            got = await _scenario(bulk, bulk=True, sqlite_sync=sync, size=size)
            assert got == expected
            outcomes = [r.outcome.value for r in got]
            assert "rejected" in outcomes and "conflict" in outcomes
            assert "already applied" in outcomes
            before, after = await _dump(one), await _dump(bulk)
            for table in TABLES:
                assert after[table] == before[table], table
            assert before["withdrawals"] and before["closures"] and before["push_deliveries"]
        finally:
            if backend != "sqlite":
                await pgtest.drop(str(one))
                await pgtest.drop(str(bulk))

    asyncio.run(compare())
