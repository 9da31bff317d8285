"""Telegram update ids handled to the end, so a resent update is dropped (at-least-once in)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime

from bot.storage.db import SEEN_MARK, Database, ts

log = logging.getLogger(__name__)
_MARK = SEEN_MARK


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
        process died before: a resent copy of that update runs again (at-least-once).

        PostgreSQL: always so — the mark is written in the background, after the update's
        reply, without waiting for the disk (db.SEEN_MARK_PG); the update does not wait for
        that round trip. Several instances behind a load balancer drop a second copy by
        their webhook inbox (bot/cluster/inbox.py) in any case."""
        if self.db.backend == "postgres":
            self._later(update_id, now)
            return
        if self.db.marker is not None:
            if not self.db.pending_marks:
                try:
                    self.db.marker.execute(_MARK, (update_id, ts(now)))
                    self.db.committed()
                    return
                except sqlite3.OperationalError:  # locked by another writer: do not wait
                    pass
            self._later(update_id, now)
            return
        async with self.db.lock:
            await self.db.conn.execute(_MARK, (update_id, ts(now)))

    def _later(self, update_id: int, now: datetime) -> None:
        """Keep the mark in memory (`completed` reads it) until a background task writes it."""
        self.db.pending_marks[update_id] = str(ts(now))
        if self.db.marks_task is None or self.db.marks_task.done():
            self.db.marks_task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        try:
            await self.flush()
        except sqlite3.OperationalError:  # the connection was lost: the next mark retries
            log.warning("handled marks not written yet", exc_info=True)

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
