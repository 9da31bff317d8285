"""Storage for the HTTP service and operations: seen signatures, gauges, online backup."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

from bot.storage.db import Database, dt, ts
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


async def forget_signature(db: Database, signature: str) -> None:
    """A request that committed nothing gives its signature back: it may be sent again."""
    async with db.lock:
        await db.conn.execute("BEGIN IMMEDIATE")
        try:
            await db.conn.execute("DELETE FROM http_signatures WHERE signature = ?", (signature,))
            await db.conn.execute("COMMIT")
        except BaseException:
            await db.conn.execute("ROLLBACK")
            raise


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
        async with db.conn.execute(
                "SELECT min(o.created_at) FROM push_deliveries d JOIN outbox o "
                "ON o.id = d.outbox_id WHERE d.status = 'pending' AND d.next_attempt_at <= ?",
                (ts(now),)) as cur:
            oldest = await cur.fetchone()
    lag = (now - dt(oldest[0])).total_seconds() if oldest and oldest[0] else 0.0  # type: ignore[operator]
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
        "deposit_outbox_lag_seconds": ("Age of the oldest push due and not yet sent",
                                       max(lag, 0.0)),
    }


async def history_size(db: Database) -> int:
    """How many events and quotes the database holds (reseeds the sandbox's identifiers)."""
    async with db.lock:
        return await _count(db, "SELECT (SELECT count(*) FROM events) + "
                                "(SELECT count(*) FROM quotes)")


async def retire_pushes(db: Database) -> None:
    """Mark every queued push as already sent (the demo's pushes are history, not news)."""
    async with db.lock:
        await db.conn.execute("BEGIN IMMEDIATE")
        try:
            await db.conn.execute("UPDATE outbox SET sent_at = created_at")
            await db.conn.execute("UPDATE push_deliveries SET status = 'obsolete'")
        except BaseException:
            await db.conn.execute("ROLLBACK")
            raise
        await db.conn.execute("COMMIT")


class BackupToolMissing(RuntimeError):
    """PostgreSQL is backed up with pg_dump, and pg_dump is not on PATH."""


async def backup(db: Database, target: Path) -> None:
    """An online copy of the database at target (safe while the bot runs): SQLite's backup
    API for a file, `pg_dump --format=custom` for PostgreSQL."""
    if db.backend == "postgres":
        await pg_dump(db.path, target)
    else:
        await sqlite_backup(db, target)


async def pg_dump(url: str, target: Path) -> None:
    """`pg_dump --format=custom` of the database to target (one consistent snapshot; restore
    with `pg_restore --no-owner --dbname=URL target` into an empty database)."""
    tool = shutil.which("pg_dump")
    if tool is None:
        raise BackupToolMissing(
            "pg_dump is not on PATH: install the PostgreSQL client tools (the same major "
            f"version as the server), or run: pg_dump --format=custom --file={target} URL")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    proc = await asyncio.create_subprocess_exec(
        tool, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={url}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"pg_dump failed: {err.decode(errors='replace').strip()}")
    os.replace(partial, target)


async def sqlite_backup(db: Database, target: Path) -> None:
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
