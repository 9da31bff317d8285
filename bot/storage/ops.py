"""Storage for the HTTP service and operations: seen signatures, gauges, online backup."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

from bot.storage.db import Database, ts
from bot.storage.desk import desk_gauges
from bot.storage.pushes import SqlitePushes


async def remember_signature(db: Database, signature: str, expires_at: datetime,
                             now: datetime) -> bool:
    """Record a request's signature; False when it was seen before (a replay)."""
    async with db.lock:
        await db.conn.execute("BEGIN IMMEDIATE")
        try:
            await db.conn.execute("DELETE FROM http_signatures WHERE expires_at < ?", (ts(now),))
            async with db.conn.execute(
                    "INSERT INTO http_signatures (signature, expires_at) VALUES (?, ?) "
                    "ON CONFLICT (signature) DO NOTHING",
                    (signature, ts(expires_at))) as cur:
                fresh = cur.rowcount == 1
            await db.conn.execute("COMMIT")
        except BaseException:
            await db.conn.execute("ROLLBACK")
            raise
    return fresh


async def _count(db: Database, sql: str, *args: object) -> int:
    async with db.conn.execute(sql, args) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def gauges(db: Database, now: datetime) -> dict[str, tuple[str, float]]:
    """Figures read at scrape time: push deliveries by state, active holds, shops."""
    async with db.lock:
        pushes = await SqlitePushes(db.conn).counts()
        holds = await _count(db, "SELECT count(*) FROM withdrawals WHERE status = 'confirmed' "
                                 "OR (status = 'held' AND expires_at > ?)", ts(now))
        shops = await _count(db, "SELECT count(*) FROM shops")
    return await desk_gauges(db, now) | {
        "deposit_pushes_pending": ("Push deliveries waiting to be sent (one per member)",
                                   pushes.pending),
        "deposit_pushes_sent": ("Push deliveries Telegram accepted", pushes.sent),
        "deposit_pushes_failed": ("Push deliveries given up after their last attempt",
                                  pushes.failed),
        "deposit_pushes_undeliverable": ("Push deliveries to chats that blocked the bot or do "
                                         "not exist", pushes.undeliverable),
        "deposit_holds_active": ("Withdrawals holding money (2-hour holds and payouts)", holds),
        "deposit_shops": ("Shops known to the bot", shops),
    }


async def backup(db: Database, target: Path) -> None:
    """Copy the live database to target with SQLite's online backup API (safe while it runs).

    The copy is written next to target and renamed into place, so target is never half a
    database; it is a single file (rollback journal, not WAL).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    dest = sqlite3.connect(str(partial), check_same_thread=False)  # used on aiosqlite's thread
    try:
        async with db.lock:  # no transaction of this process is half-way through the copy
            await db.conn.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")
        problems = dest.execute("PRAGMA integrity_check").fetchone()
    finally:
        dest.close()
    if not problems or problems[0] != "ok":
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"backup failed its integrity check: {problems}")
    os.replace(partial, target)
