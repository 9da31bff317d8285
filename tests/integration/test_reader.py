"""Reads outside the writing connection (a SQLite file's reader, PostgreSQL's reader
connection, bot/storage/db.py): they do not wait for this process's own write transaction,
they see every commit made before them, and the reader itself never writes."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.storage.db import Database
from bot.storage.uow import SqliteUnitOfWork
from domain.errors import UnknownShop
from domain.services import get_snapshot
from tests.conftest import BACKENDS

from .conftest import T0, Platform


async def test_a_snapshot_does_not_wait_for_this_process_own_write_transaction(
        platform: Platform, db: Database) -> None:
    await platform.register()
    await platform.top_up("600")
    writing = SqliteUnitOfWork(db)
    async with writing:  # holds the writing connection (and its lock) meanwhile
        await writing.shops.get("S1")
        snap = await asyncio.wait_for(
            get_snapshot(SqliteUnitOfWork(db), "S1", T0, platform.policy), timeout=3)

    assert snap.balance.amount == 600


async def test_a_snapshot_sees_each_commit_made_before_it(platform: Platform,
                                                          db: Database) -> None:
    await platform.register()
    seen = []
    for amount in ("100", "250", "5"):
        await platform.top_up(amount)
        uow = SqliteUnitOfWork(db)
        async with uow.reading():  # a transaction on the reader, ended while we go on
            await uow.ledger.balance("shop:S1:deposit", "USD")
        seen.append((await platform.snapshot()).balance.amount)

    assert seen == [100, 350, 355]


async def test_a_snapshot_of_an_unknown_shop_says_so(platform: Platform) -> None:
    await platform.register()

    with pytest.raises(UnknownShop):
        await platform.snapshot("S404")


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgres"])
async def test_the_postgresql_reader_refuses_to_write(db: Database, backend: str) -> None:
    assert db.reader is not None

    with pytest.raises(sqlite3.OperationalError, match="read-only"):
        await db.reader.execute("INSERT INTO users (telegram_user_id, language) VALUES (1, 'en')")
