"""The scanner's one SQL statement decides exactly what `due_reminder` decides, per shop, on
both backends (PostgreSQL runs its own form of the statement, bot/storage/pushes.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.closure import start
from domain.model import ClosureStage, Member, Shop, ShopStatus
from domain.policy import load_policy
from domain.reminders import Candidate, Rules, due_reminder

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
RULES = Rules.of(load_policy())
seconds = st.integers(min_value=-60 * 86400, max_value=60 * 86400)
shop_rows = st.lists(st.tuples(
    seconds,                                  # opened, relative to now
    st.one_of(st.none(), seconds),            # shortfall_since
    st.booleans(),                            # ever paid
    st.sampled_from([None, ClosureStage.STARTED, ClosureStage.VERIFIED, ClosureStage.SIGNED,
                     ClosureStage.CANCELLED, "closed"]),
), min_size=1, max_size=25)


def at(offset: int) -> datetime:
    return NOW + timedelta(seconds=offset)


async def scan_keys(rows: list[tuple[int, int | None, bool, object]], later: int,
                    target: str | Path | None = None
                    ) -> tuple[set[str], set[str], set[str], set[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(target or Path(tmp) / "scan.db")
        try:
            await _wipe(db)
            expected_now, expected_later = set(), set()
            uow = SqliteUnitOfWork(db)
            async with uow:
                for i, (opened, since, paid, closure) in enumerate(rows):
                    shop = Shop(f"S{i}", "E", "GB", "GBP", "CN", "CN", ("apparel",),
                                "Asia/Shanghai", at(opened),
                                status=ShopStatus.CLOSED if closure == "closed"
                                else ShopStatus.OPEN,
                                shortfall_since=None if since is None else at(since),
                                first_paid_at=at(opened) if paid else None)
                    await uow.shops.add(shop)
                    await uow.shops.add_member(Member(shop.shop_id, 100 + i, "owner"))
                    if isinstance(closure, ClosureStage):
                        c = start(shop.shop_id, 1, at(opened))
                        await uow.closures.save(c.with_changes(stage=closure))
                    cand = Candidate(shop.shop_id, shop.opened_at, shop.shortfall_since,
                                     shop.first_paid_at, closed=closure == "closed",
                                     closing=closure in {ClosureStage.VERIFIED,
                                                         ClosureStage.SIGNED})
                    for moment, bucket in ((NOW, expected_now), (at(later), expected_later)):
                        due = due_reminder(cand, moment, RULES)
                        if due:
                            bucket.add(due.key)
                await uow.reminders.enqueue_due(NOW, RULES)
                first = {r[0] for r in await db.conn.execute_fetchall(
                    "SELECT dedup_key FROM outbox")}
                await uow.reminders.enqueue_due(at(later), RULES)
                both = {r[0] for r in await db.conn.execute_fetchall(
                    "SELECT dedup_key FROM outbox")}
                # no foreign key says so since migration 070: every delivery is a member's
                # copy of a notice that exists, about that member's shop
                strays = await db.conn.execute_fetchall(
                    "SELECT d.outbox_id FROM push_deliveries d WHERE NOT EXISTS ("
                    "SELECT 1 FROM outbox o JOIN members m ON m.shop_id = o.shop_id "
                    "WHERE o.id = d.outbox_id AND m.telegram_user_id = d.telegram_user_id)")
                assert not list(strays)
                await uow.commit()
            return first, both, expected_now, expected_now | expected_later
        finally:
            await db.close()


async def _wipe(db: Database) -> None:
    """One PostgreSQL database serves every example of a run: each starts empty."""
    async with db.lock:
        for table in ("push_deliveries", "outbox", "closures", "members", "shops"):
            await db.conn.execute(f"DELETE FROM {table}")


@pytest.fixture(scope="module")
def scan_target(module_databases: Callable[[], str | Path]) -> str | Path | None:
    """PostgreSQL: one database for the module (wiped per example); SQLite: None, a new
    file per example."""
    target = module_databases()
    return target if isinstance(target, str) else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=shop_rows, later=st.integers(min_value=0, max_value=10 * 86400))
def test_the_sql_scanner_queues_exactly_the_reminders_the_rule_says(
        scan_target: str | Path | None, rows: list[tuple[int, int | None, bool, object]],
        later: int) -> None:
    import asyncio

    first, both, expected_first, expected_both = asyncio.run(
        scan_keys(rows, later, scan_target))

    assert first == expected_first
    assert both == expected_both


async def test_every_member_gets_a_delivery_row_and_a_shop_without_members_none(
        db_target: str | Path) -> None:
    db = await Database.open(db_target)
    uow = SqliteUnitOfWork(db)
    async with uow:
        for sid, members in (("A", (1, 2, 3)), ("B", ())):
            await uow.shops.add(Shop(sid, "E", "GB", "GBP", "CN", "CN", ("apparel",),
                                     "Asia/Shanghai", NOW, shortfall_since=NOW))
            for m in members:
                await uow.shops.add_member(Member(sid, m, "staff"))
        queued = await uow.reminders.enqueue_due(NOW, RULES)
        await uow.commit()
    rows = await db.conn.execute_fetchall(
        "SELECT o.shop_id, o.sent_at IS NOT NULL, count(d.telegram_user_id) FROM outbox o "
        "LEFT JOIN push_deliveries d ON d.outbox_id = o.id GROUP BY o.id ORDER BY o.shop_id")
    await db.close()

    assert queued == 2
    assert [tuple(r) for r in rows] == [("A", 0, 3), ("B", 1, 0)]
