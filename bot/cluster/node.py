"""This instance's place in the deployment: its leadership, and on PostgreSQL its own pool.

`Node.open(target, …)` is the one place that decides between the single SQLite process
(always the leader, PTB's own pace) and one of several PostgreSQL instances (the advisory
lock, the shared pace, the webhook inbox, per-update conversation state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cluster.inbox import Handle, Inbox
from bot.cluster.leader import Leadership, PgLeadership, is_postgres
from bot.cluster.pace import SharedPace, SharedRateLimiter

POLLING_REFUSED = ("another instance holds the leadership of this PostgreSQL database: long "
                   "polling works on one instance only. Stop it, or run every instance with "
                   "--http HOST:PORT --webhook-url URL (docs/deployment.md)")
SECRET_REQUIRED = ("TELEGRAM_WEBHOOK_SECRET is not set: with PostgreSQL every instance must "
                   "share one (docs/deployment.md)")


def db_target(value: object) -> str:
    """The database as text; a URL that went through Path keeps its two slashes."""
    text = str(value)
    for scheme in ("postgresql:", "postgres:"):
        if text.startswith(scheme + "/") and not text.startswith(scheme + "//"):
            return scheme + "//" + text[len(scheme) + 1:]
    return text


@dataclass
class Node:
    """The leadership, and the asyncpg pool of the cluster's own statements (PostgreSQL)."""

    leadership: Leadership
    pool: Any = None

    @classmethod
    async def open(cls, target: str, job_interval: float) -> Node:
        """Single SQLite process, or an instance of a PostgreSQL deployment."""
        if not is_postgres(target):
            return cls(Leadership())
        import asyncpg

        pool = await asyncpg.create_pool(target, min_size=1, max_size=12,
                                         server_settings={"application_name": "deposit-bot"})
        return cls(PgLeadership(target, check=max(job_interval / 3, 0.2)), pool)

    @property
    def shared(self) -> bool:
        """Several instances may share the database."""
        return self.pool is not None

    def limiter(self, rate: float, flood_retries: int) -> SharedRateLimiter | None:
        """The deployment-wide pace (None: the Application's own)."""
        if self.pool is None:
            return None
        return SharedRateLimiter(SharedPace(self.pool, rate), flood_retries)

    def inbox(self, handle: Handle) -> Inbox | None:
        """The webhook inbox (None: updates are handled as they come)."""
        if self.pool is None:
            return None
        return Inbox(self.pool, handle, self.leadership.instance)

    async def close(self) -> None:
        """Leadership handed on first, so another instance takes over at once."""
        await self.leadership.stop()
        if self.pool is not None:
            await self.pool.close()
