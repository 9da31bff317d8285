"""Telegram update ids handled to the end, so a resent update is dropped (at-least-once in)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime

from bot.storage.db import SEEN_MARK, Database, ts

_MARK = SEEN_MARK
# PostgreSQL: the mark is committed without waiting for its WAL flush (synchronous_commit
# off for this one statement's transaction). A server crash may then forget the last marks
# of the past fraction of a second, never anything written before them (WAL is replayed in
# order): their updates, if Telegram sends them again, run again, exactly as when the bot
# dies between an update's handlers and its mark (the documented at-least-once). It saves a
# disk flush per update, the largest single cost of an update there.
_MARK_PG = ("WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)) "
            "INSERT INTO seen_updates (update_id, completed_at) SELECT ?, ? FROM quick "
            "ON CONFLICT (update_id) DO NOTHING")


class SeenUpdates:
    """The seen_updates table: ids of updates whose handlers all ran."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def completed(self, update_id: int) -> bool:
        """True when this update was handled to the end before."""
        if update_id in self.db.pending_marks:
            return True
        async with self.db.lock, self.db.conn.execute(
                "SELECT 1 FROM seen_updates WHERE update_id = ?", (update_id,)) as cur:
            return await cur.fetchone() is not None

    async def complete(self, update_id: int, now: datetime) -> None:
        """Remember that every handler of this update ran.

        SQLite file: written at once on this thread (Database.marker) unless another writer
        holds the lock (an import's batch, a transaction of the main connection); then the
        mark waits in memory (`pending_marks`, which `completed` and `newest` also read) and
        a background task writes it when the lock is free, instead of the update waiting for
        the lock. A mark not yet written when the process dies is lost like a mark the
        process died before: a resent copy of that update runs again (at-least-once)."""
        if self.db.marker is not None:
            if not self.db.pending_marks:
                try:
                    self.db.marker.execute(_MARK, (update_id, ts(now)))
                    self.db.committed()
                    return
                except sqlite3.OperationalError:  # locked by another writer: do not wait
                    pass
            self.db.pending_marks[update_id] = str(ts(now))
            if self.db.marks_task is None or self.db.marks_task.done():
                self.db.marks_task = asyncio.get_running_loop().create_task(self.flush())
            return
        sql = _MARK_PG if self.db.backend == "postgres" else _MARK
        async with self.db.lock:
            await self.db.conn.execute(sql, (update_id, ts(now)))

    async def flush(self) -> None:
        """Write the pending marks (waiting for the lock as every write does)."""
        await self.db.flush_marks()

    async def prune(self, before: datetime) -> int:
        """Forget ids completed before `before`; how many were forgotten."""
        async with self.db.lock, self.db.conn.execute(
                "DELETE FROM seen_updates WHERE completed_at < ?", (ts(before),)) as cur:
            return cur.rowcount

    async def newest(self) -> int:
        """The highest id remembered (0 when none)."""
        async with self.db.lock, self.db.conn.execute(
                "SELECT coalesce(max(update_id), 0) FROM seen_updates") as cur:
            row = await cur.fetchone()
        return max([int(row[0]) if row else 0, *self.db.pending_marks])
