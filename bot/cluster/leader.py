"""Leadership: exactly one instance runs the jobs, drains the outbox and sets the webhook.

On SQLite the one process is always the leader. On PostgreSQL the leader is the instance
whose own connection holds a session advisory lock (`pg_try_advisory_lock(LEADER_KEY)`):

- every instance tries for the lock every `check` seconds (a third of the job interval), so
  when the leader dies — its connection closes, PostgreSQL releases the lock — another one
  takes it within one job interval, by itself;
- the leader checks its own connection at the same pace; when the check fails (the database
  went away, the network broke) it stops leading at once and tries again from scratch;
- the claimant ("pid@start" of the lock connection's backend) names this leadership epoch:
  a push claimed by a claimant whose backend is gone was interrupted mid-call.

Callbacks registered with `on_gain` run every time this instance becomes the leader (run the
jobs now, set the webhook, drain the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from bot.storage.pg import LEADER_LOCK

log = logging.getLogger(__name__)
WAKE_CHANNEL = "deposit_outbox"  # NOTIFY: pushes were written, the leader drains at once
Callback = Callable[[], Awaitable[None]]


def is_postgres(target: object) -> bool:
    """True for a postgresql:// (or postgres://) database URL."""
    return str(target).startswith(("postgresql://", "postgres://"))


def instance_name() -> str:
    """host:pid, for logs, /healthz and metric labels."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """The single process (SQLite): always the leader."""

    shared = False

    def __init__(self) -> None:
        self.instance = instance_name()
        self.claimant = f"solo:{os.getpid()}"
        self.is_leader = True
        self._gain: list[Callback] = []

    def on_gain(self, callback: Callback) -> None:
        """Run callback whenever this instance becomes the leader."""
        self._gain.append(callback)

    async def start(self) -> None:
        """Nothing to win: run the gain callbacks once."""
        await self._gained()

    async def stop(self) -> None:
        """Nothing to give up."""

    def on_wake(self, callback: Callable[[], None]) -> None:
        """One process: whoever writes pushes drains them itself."""

    async def wake_leader(self) -> None:
        """One process: nobody else to wake."""

    async def _gained(self) -> None:
        for callback in self._gain:
            try:
                await callback()
            except Exception:  # one failed callback (a refused setWebhook) stops none
                log.exception("leadership callback failed")


class PgLeadership(Leadership):
    """The advisory lock on a connection of its own; tried and checked every `check` s."""

    shared = True

    def __init__(self, dsn: str, check: float, *, connect: Any = None) -> None:
        super().__init__()
        self.dsn, self.check = dsn, check
        self.is_leader = False
        self.claimant = ""
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connect = connect
        self._wake: Callable[[], None] | None = None

    def on_wake(self, callback: Callable[[], None]) -> None:
        """Call callback (on the leader) when any instance wrote pushes (LISTEN/NOTIFY)."""
        self._wake = callback

    async def wake_leader(self) -> None:
        """Tell the leader there are pushes to send (NOTIFY; its polling is the fallback)."""
        if self._conn is None or self._conn.is_closed():
            return
        with contextlib.suppress(Exception):
            await self._conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)

    async def start(self) -> None:
        """One attempt now (so a caller knows at once), then the loop in the background."""
        await self.attempt()
        self._task = asyncio.create_task(self._loop(), name="leadership")

    async def attempt(self) -> bool:
        """Connect if needed, take the lock if free, check it if held; True when leading."""
        was = self.is_leader
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._open()
                self.is_leader = False
            if self.is_leader:
                await self._conn.fetchval("SELECT 1")
            else:
                self.is_leader = bool(await self._conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", LEADER_LOCK))
        except Exception as exc:  # the database or the network: lead no more
            if was:
                log.error("leadership lost (%s): jobs and pushes stop here", exc)
            self.is_leader = False
            await self._drop()
            return False
        if self.is_leader and not was:
            log.info("this instance (%s, %s) is the leader", self.instance, self.claimant)
            await self._gained()
        return self.is_leader

    async def _open(self) -> Any:
        import asyncpg

        conn = await (self._connect or asyncpg.connect)(self.dsn)
        self.claimant = str(await conn.fetchval(  # the form bot/storage/pushes.py compares
            "SELECT pid || '@' || extract(epoch FROM backend_start) FROM pg_stat_activity "
            "WHERE pid = pg_backend_pid()"))
        await conn.add_listener(WAKE_CHANNEL, self._heard)
        return conn

    def _heard(self, *args: object) -> None:
        if self.is_leader and self._wake is not None:
            self._wake()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.check)
            await self.attempt()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    async def stop(self) -> None:
        """Stop trying; closing the connection hands the lock to the next instance."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
        self._conn, self.is_leader = None, False

    async def holder(self) -> bool:
        """True when some instance (maybe this one) holds the leadership now."""
        conn = self._conn or await self._open()
        held = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1", LEADER_LOCK)
        return bool(held)
