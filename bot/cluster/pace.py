"""One send budget for the whole deployment, and a 429 seen anywhere pauses everyone.

Telegram's 30 messages a second hold for the bot, not for one instance. On PostgreSQL every
message that names a chat takes the next slot from one row (`cluster_pace.next_at`,
microseconds since the epoch on the database's clock): slot = max(next_at, now),
next_at = slot + 1/rate, in one statement, so two instances never take the same slot and
together never exceed the rate. A 429 moves `next_at` to now + retry_after: every
instance's next message waits for it. The per-group limit (20 a minute) stays
AIORateLimiter's, per instance.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from telegram.error import RetryAfter

from bot.notify.pace import PUSH_HEADROOM, FloodLimiter, retry_seconds

_NOW = "CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS BIGINT)"  # microseconds
_TAKE = f"""
INSERT INTO cluster_pace AS p (id, next_at) VALUES (1, {_NOW} + $1)
ON CONFLICT (id) DO UPDATE SET next_at = greatest(p.next_at, {_NOW}) + $1
RETURNING next_at - $1 AS slot, next_at - $1 - {_NOW} AS wait
"""
_PAUSE = f"""
INSERT INTO cluster_pace AS p (id, next_at) VALUES (1, {_NOW} + $1)
ON CONFLICT (id) DO UPDATE SET next_at = greatest(p.next_at, {_NOW} + $1)
"""


class SharedPace:
    """`async with pace:` waits for this message's slot in the deployment-wide grid."""

    def __init__(self, pool: Any, rate: float) -> None:
        self.pool = pool
        self.spacing = round(1_000_000 / (rate * (1 - PUSH_HEADROOM)))  # microseconds

    async def take(self) -> tuple[int, float]:
        """This message's slot (microseconds since the epoch on the database's clock) and the
        seconds until it."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_TAKE, self.spacing)
        return int(row["slot"]), int(row["wait"]) / 1_000_000

    async def __aenter__(self) -> None:
        _, wait = await self.take()
        if wait > 0:
            await asyncio.sleep(wait)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    async def pause(self, seconds: float) -> None:
        """No instance sends before now + seconds."""
        async with self.pool.acquire() as conn:
            await conn.execute(_PAUSE, round(seconds * 1_000_000))


class SharedRateLimiter(FloodLimiter):
    """AIORateLimiter whose overall pace is the shared grid and whose 429 pauses all."""

    def __init__(self, pace: SharedPace, flood_retries: int) -> None:
        super().__init__(max_retries=flood_retries)
        self.pace = pace
        self._base_limiter = pace  # type: ignore[assignment]

    async def _run_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._run_request(*args, **kwargs)
        except RetryAfter as exc:
            await self.pace.pause(retry_seconds(exc) + 0.1)
            raise
